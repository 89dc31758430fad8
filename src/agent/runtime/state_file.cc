#include "agent/runtime/state_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rampart::agent::runtime {
namespace {
using json = nlohmann::json;

int64_t toNanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
WallTime fromNanos(int64_t ns) {
  return WallTime{} + std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns));
}

// nlohmann throws on type mismatches; no exception leaves this file.
template <typename T, typename F>
Result<T> decodeJson(std::string_view text, const char* what, F&& f) {
  try {
    auto j = json::parse(text);
    return f(j);
  } catch (const std::exception& e) {
    return fail(ErrorCode::InvalidArgument, "bad ", what, ": ", e.what());
  }
}

json encodeConfig(const ContainerConfig& c) {
  json env = json::array();
  for (const auto& [k, v] : c.env) {
    env.push_back(json::array({k, v}));
  }
  json mounts = json::array();
  for (const auto& m : c.mounts) {
    mounts.push_back({{"source", m.source}, {"target", m.target}, {"read_only", m.read_only}});
  }
  json j = {{"pod_uid", c.pod_uid},
            {"pod_namespace", c.pod_namespace},
            {"pod_name", c.pod_name},
            {"name", c.name},
            {"attempt", c.attempt},
            {"argv", c.argv},
            {"env", env},
            {"working_dir", c.working_dir},
            {"netns_path", c.netns_path},
            {"mounts", mounts},
            {"resources",
             {{"memory_limit_bytes", c.resources.memory_limit_bytes},
              {"cpu_request_milli", c.resources.cpu_request_milli},
              {"cpu_limit_milli", c.resources.cpu_limit_milli},
              {"pids_limit", c.resources.pids_limit}}}};
  if (!c.fence_file.empty()) {
    j["fence_file"] = c.fence_file;
  }
  if (c.run_as_user) {
    j["run_as_user"] = *c.run_as_user;
  }
  if (c.run_as_group) {
    j["run_as_group"] = *c.run_as_group;
  }
  return j;
}

ContainerConfig decodeConfig(const json& j) {
  ContainerConfig c;
  c.pod_uid = j.at("pod_uid").get<std::string>();
  c.pod_namespace = j.at("pod_namespace").get<std::string>();
  c.pod_name = j.at("pod_name").get<std::string>();
  c.name = j.at("name").get<std::string>();
  c.attempt = j.at("attempt").get<int>();
  c.argv = j.at("argv").get<std::vector<std::string>>();
  for (const auto& kv : j.at("env")) {
    c.env.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
  }
  c.working_dir = j.at("working_dir").get<std::string>();
  c.netns_path = j.at("netns_path").get<std::string>();
  for (const auto& m : j.at("mounts")) {
    c.mounts.push_back(Mount{m.at("source").get<std::string>(), m.at("target").get<std::string>(),
                             m.at("read_only").get<bool>()});
  }
  const auto& r = j.at("resources");
  c.resources.memory_limit_bytes = r.at("memory_limit_bytes").get<int64_t>();
  c.resources.cpu_request_milli = r.at("cpu_request_milli").get<int64_t>();
  c.resources.cpu_limit_milli = r.at("cpu_limit_milli").get<int64_t>();
  c.resources.pids_limit = r.at("pids_limit").get<int64_t>();
  if (j.contains("fence_file")) {
    c.fence_file = j.at("fence_file").get<std::string>();
  }
  if (j.contains("run_as_user")) {
    c.run_as_user = j.at("run_as_user").get<uint32_t>();
  }
  if (j.contains("run_as_group")) {
    c.run_as_group = j.at("run_as_group").get<uint32_t>();
  }
  return c;
}
}  // namespace

std::string encodeShimSpec(const ShimSpec& spec) {
  json j = {{"config", encodeConfig(spec.config)}, {"log_path", spec.log_path},
            {"log_max_bytes", spec.log_max_bytes}, {"log_max_files", spec.log_max_files},
            {"cgroup_root", spec.cgroup_root},     {"cgroup_name", spec.cgroup_name}};
  return j.dump();
}

Result<ShimSpec> decodeShimSpec(std::string_view text) {
  return decodeJson<ShimSpec>(text, "shim spec", [](const json& j) {
    ShimSpec s;
    s.config = decodeConfig(j.at("config"));
    s.log_path = j.at("log_path").get<std::string>();
    s.log_max_bytes = j.at("log_max_bytes").get<int64_t>();
    s.log_max_files = j.at("log_max_files").get<int>();
    s.cgroup_root = j.at("cgroup_root").get<std::string>();
    s.cgroup_name = j.at("cgroup_name").get<std::string>();
    return Result<ShimSpec>(std::move(s));
  });
}

std::string encodeStarted(const StartedRecord& r) {
  json j = {{"shim_pid", r.shim_pid},
            {"shim_start_ticks", r.shim_start_ticks},
            {"container_pid", r.container_pid},
            {"container_start_ticks", r.container_start_ticks},
            {"started_at_ns", toNanos(r.started_at)}};
  return j.dump();
}

Result<StartedRecord> decodeStarted(std::string_view text) {
  return decodeJson<StartedRecord>(text, "started record", [](const json& j) {
    StartedRecord r;
    r.shim_pid = j.at("shim_pid").get<pid_t>();
    r.shim_start_ticks = j.at("shim_start_ticks").get<uint64_t>();
    r.container_pid = j.at("container_pid").get<pid_t>();
    r.container_start_ticks = j.at("container_start_ticks").get<uint64_t>();
    r.started_at = fromNanos(j.at("started_at_ns").get<int64_t>());
    if (r.shim_pid <= 0 || r.container_pid <= 0) {
      return Result<StartedRecord>(
          fail(ErrorCode::InvalidArgument, "bad started record: PIDs must be positive"));
    }
    return Result<StartedRecord>(r);
  });
}

std::string encodeShimRecord(const StartedRecord& r) {
  json j = {{"shim_pid", r.shim_pid}, {"shim_start_ticks", r.shim_start_ticks}};
  return j.dump();
}

Result<StartedRecord> decodeShimRecord(std::string_view text) {
  return decodeJson<StartedRecord>(text, "shim record", [](const json& j) {
    StartedRecord r;
    r.shim_pid = j.at("shim_pid").get<pid_t>();
    r.shim_start_ticks = j.at("shim_start_ticks").get<uint64_t>();
    if (r.shim_pid <= 0) {
      return Result<StartedRecord>(fail(ErrorCode::InvalidArgument, "bad shim record: PID"));
    }
    return Result<StartedRecord>(r);
  });
}

std::string encodeExitStatus(const ExitStatus& s) {
  json j = {{"exit_code", s.exit_code},   {"signal", s.signal},
            {"oom_killed", s.oom_killed}, {"finished_at_ns", toNanos(s.finished_at)},
            {"reason", s.reason},         {"message", s.message}};
  return j.dump();
}

Result<ExitStatus> decodeExitStatus(std::string_view text) {
  return decodeJson<ExitStatus>(text, "exit status", [](const json& j) {
    ExitStatus s;
    s.exit_code = j.at("exit_code").get<int>();
    s.signal = j.at("signal").get<int>();
    s.oom_killed = j.at("oom_killed").get<bool>();
    s.finished_at = fromNanos(j.at("finished_at_ns").get<int64_t>());
    s.reason = j.at("reason").get<std::string>();
    s.message = j.at("message").get<std::string>();
    return Result<ExitStatus>(std::move(s));
  });
}

ExitStatus exitStatusFromWait(int wait_status, bool oom_kills_rose, WallTime finished_at) {
  ExitStatus s;
  s.finished_at = finished_at;
  if (WIFSIGNALED(wait_status)) {
    s.signal = WTERMSIG(wait_status);
    s.exit_code = 128 + s.signal;  // what a shell and Kubernetes report for a signalled process
  } else {
    s.exit_code = WEXITSTATUS(wait_status);
  }
  // The memory cgroup's OOM killer sends SIGKILL; a rise of its counter tells it from `kill -9`.
  s.oom_killed = s.signal == SIGKILL && oom_kills_rose;
  s.reason = s.oom_killed ? kReasonOomKilled : s.exit_code == 0 ? kReasonCompleted : kReasonError;
  return s;
}

ExitStatus startErrorStatus(std::string message, WallTime finished_at) {
  ExitStatus s;
  s.exit_code = 128;
  s.finished_at = finished_at;
  s.reason = kReasonStartError;
  s.message = std::move(message);
  return s;
}

Result<uint64_t> startTicksFromStat(std::string_view stat_line) {
  auto close = stat_line.rfind(')');
  if (close == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "bad /proc stat line");
  }
  // After ')': field 3 (state) … field 22 (starttime) is the 20th token.
  std::istringstream rest{std::string(stat_line.substr(close + 1))};
  std::string token;
  for (int i = 0; i < 20; ++i) {
    if (!(rest >> token)) {
      return fail(ErrorCode::InvalidArgument, "short /proc stat line");
    }
  }
  try {
    return static_cast<uint64_t>(std::stoull(token));
  } catch (const std::exception&) {
    return fail(ErrorCode::InvalidArgument, "bad start time '", token, "' in /proc stat line");
  }
}

Result<uint64_t> processStartTicks(pid_t pid) {
  auto stat = readWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return fail(ErrorCode::NotFound, "process ", std::to_string(pid), " is gone");
  }
  return startTicksFromStat(*stat);
}

Result<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Unavailable, "read ", path, ": ",
                std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<void> writeFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crash could carry a wider mode
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return fail(ErrorCode::Unavailable, "open ", tmp, ": ", std::strerror(errno));
  }
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(ErrorCode::Unavailable, "write ", tmp, ": ", std::strerror(err));
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return fail(ErrorCode::Unavailable, "fsync ", tmp, ": ", std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::Unavailable, "rename ", tmp, ": ", std::strerror(errno));
  }
  return ok();
}

}  // namespace rampart::agent::runtime
