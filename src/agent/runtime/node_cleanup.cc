#include "agent/runtime/node_cleanup.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "runtime/process.h"

namespace rampart::agent::runtime {
namespace fs = std::filesystem;

namespace {

std::string nodeCgroup(const std::string& controller, const std::string& node) {
  return "/sys/fs/cgroup/" + controller + "/rampart-" + node;
}

}  // namespace

std::vector<pid_t> nodePodProcesses(const std::string& node) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(nodeCgroup("pids", node), ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == "cgroup.procs") {
      std::ifstream in(it->path());
      pid_t pid = 0;
      while (in >> pid) {
        pids.push_back(pid);
      }
    }
  }
  return pids;
}

void signalNodePods(const std::string& node, int signal) {
  for (pid_t pid : nodePodProcesses(node)) {
    ::kill(pid, signal);
  }
}

void killNodePods(const std::string& node) {
  signalNodePods(node, SIGCONT);
  signalNodePods(node, SIGKILL);
  for (const char* controller : {"pids", "memory", "cpu", "cpuacct", "freezer"}) {
    std::string root = nodeCgroup(controller, node);
    std::error_code ec;
    if (!fs::exists(root, ec)) {
      continue;
    }
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) {
        dirs.push_back(it->path());
      }
    }
    // Deepest first, so each directory is empty when it is removed.
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) {
      return a.string().size() > b.string().size();
    });
    dirs.push_back(root);
    // A killed process leaves its cgroup a moment later: up to 50 × 20 ms.
    for (int attempt = 0; attempt < 50; ++attempt) {
      bool all = true;
      for (const auto& d : dirs) {
        if (fs::exists(d, ec) && ::rmdir(d.c_str()) != 0) {
          all = false;
        }
      }
      if (all) {
        break;
      }
      ::usleep(20000);
    }
  }
}

int removeNodePodNetworks(const std::string& node) {
  std::string prefix = "rampart-" + node + "_";
  std::vector<std::string> names;
  if (DIR* dir = ::opendir("/run/netns")) {
    while (dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name.starts_with(prefix)) {
        names.push_back(name);
      }
    }
    ::closedir(dir);
  }
  int removed = 0;
  for (const auto& name : names) {
    if (rampart::runtime::runCommand({"ip", "netns", "del", name}, std::chrono::seconds(5))
            .exit_code == 0) {
      ++removed;
    }
  }
  return removed;
}

}  // namespace rampart::agent::runtime
