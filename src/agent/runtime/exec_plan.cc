#include "agent/runtime/exec_plan.h"

#include <string.h>
#include <unistd.h>

#include <cerrno>

namespace rampart::agent::runtime {

void prepareExec(ExecPlan& plan, const std::vector<std::string>& argv,
                 const std::vector<std::pair<std::string, std::string>>& env) {
  plan.argv_storage = argv;
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& [k, v] : env) {
    plan.env_storage.push_back(k + "=" + v);
    if (k == "PATH") {
      path = v;  // the container's PATH, as runc looks argv[0] up
    }
  }
  if (!argv.empty()) {
    if (argv[0].find('/') != std::string::npos) {
      plan.candidates.push_back(argv[0]);
    } else {
      size_t start = 0;
      while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos) {
          end = path.size();
        }
        std::string dir = path.substr(start, end - start);
        plan.candidates.push_back((dir.empty() ? "." : dir) + "/" + argv[0]);
        start = end + 1;
      }
    }
  }
  for (auto& a : plan.argv_storage) {
    plan.argv.push_back(a.data());
  }
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env_storage) {
    plan.envp.push_back(e.data());
  }
  plan.envp.push_back(nullptr);
}

namespace {
void writeAll(int fd, const char* s) {
  size_t n = ::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w <= 0) {
      return;
    }
    s += w;
    n -= static_cast<size_t>(w);
  }
}
}  // namespace

void childFail(int error_fd, const char* step, int err) {
  writeAll(error_fd, step);
  writeAll(error_fd, ": ");
  const char* text = ::strerrordesc_np(err);  // a static string: async-signal-safe
  writeAll(error_fd, text ? text : "unknown error");
  ::_exit(127);
}

void execPlanned(const ExecPlan& plan, int error_fd) {
  int err = ENOENT;
  for (const auto& candidate : plan.candidates) {
    ::execve(candidate.c_str(), plan.argv.data(), plan.envp.data());
    // Like execvp: a missing file tries the next directory, anything else is the answer.
    if (errno != ENOENT && errno != ENOTDIR) {
      err = errno;
      break;
    }
  }
  const char* name = plan.argv_storage.empty() ? "" : plan.argv_storage[0].c_str();
  writeAll(error_fd, "exec ");
  childFail(error_fd, name, err);  // "exec <name>: <error>"
}

}  // namespace rampart::agent::runtime
