#pragma once
// The processes of a real `rampart agent`'s pods, found through the cgroups its runtime makes
// ("/sys/fs/cgroup/<controller>/rampart-<node>/pod<uid>/<container>"), for tests and benches
// that fault a node (kill or freeze what runs there) and clean up after it. An agent leaves its
// pods running when it stops (a new agent re-adopts them), so whoever started the agent in a
// test removes them with killNodePods(). Blocking; for tests only.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace rampart::testing {

inline std::vector<pid_t> nodePodProcesses(const std::string& node) {
  std::vector<pid_t> pids;
  std::error_code ec;
  std::string root = "/sys/fs/cgroup/pids/rampart-" + node;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
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

inline void signalNodePods(const std::string& node, int signal) {
  for (pid_t pid : nodePodProcesses(node)) {
    ::kill(pid, signal);
  }
}

// SIGKILLs (after SIGCONT, in case they were frozen) every process of the node's pods and
// removes its cgroup trees, waiting up to a second for them to empty.
inline void killNodePods(const std::string& node) {
  signalNodePods(node, SIGCONT);
  signalNodePods(node, SIGKILL);
  for (const char* controller : {"pids", "memory", "cpu", "cpuacct", "freezer"}) {
    std::string root = std::string("/sys/fs/cgroup/") + controller + "/rampart-" + node;
    std::error_code ec;
    if (!std::filesystem::exists(root, ec)) {
      continue;
    }
    std::vector<std::filesystem::path> dirs;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) {
        dirs.push_back(it->path());
      }
    }
    // Deepest first, so each directory is empty when it is removed.
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) {
      return a.string().size() > b.string().size();
    });
    dirs.push_back(root);
    for (int attempt = 0; attempt < 50; ++attempt) {
      bool all = true;
      for (const auto& d : dirs) {
        if (std::filesystem::exists(d, ec) && ::rmdir(d.c_str()) != 0) {
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

}  // namespace rampart::testing
