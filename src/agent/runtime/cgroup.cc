#include "agent/runtime/cgroup.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/runtime/state_file.h"

namespace rampart::agent::runtime {
namespace fs = std::filesystem;

int64_t cpuSharesFromMilli(int64_t request_milli) {
  if (request_milli <= 0) {
    return kMinCpuShares;
  }
  // 1000 milli = one CPU = 1024 shares (the kernel's default weight of a cgroup).
  int64_t shares = request_milli * 1024 / 1000;
  return std::clamp(shares, kMinCpuShares, kMaxCpuShares);
}

int64_t cpuQuotaFromMilli(int64_t limit_milli) {
  if (limit_milli <= 0) {
    return -1;
  }
  // limit_milli/1000 CPUs of each 100 ms period: e.g. 250m → 25000 µs per 100000 µs.
  int64_t quota = limit_milli * kCpuPeriodUs / 1000;
  return std::max(quota, kMinCpuQuotaUs);
}

std::vector<CgroupWrite> cgroupWrites(const Resources& r) {
  std::vector<CgroupWrite> w;
  w.push_back({"cpu", "cpu.shares", std::to_string(cpuSharesFromMilli(r.cpu_request_milli))});
  w.push_back({"cpu", "cpu.cfs_period_us", std::to_string(kCpuPeriodUs)});
  w.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(cpuQuotaFromMilli(r.cpu_limit_milli))});
  // memsw (memory+swap) must stay ≥ the memory limit at every step: lift it first, then set the
  // memory limit, then lower memsw to the same value so that swap cannot stand in for memory.
  w.push_back({"memory", "memory.memsw.limit_in_bytes", "-1"});
  std::string memory = r.memory_limit_bytes > 0 ? std::to_string(r.memory_limit_bytes) : "-1";
  w.push_back({"memory", "memory.limit_in_bytes", memory});
  if (r.memory_limit_bytes > 0) {
    w.push_back({"memory", "memory.memsw.limit_in_bytes", memory});
  }
  w.push_back({"pids", "pids.max", r.pids_limit > 0 ? std::to_string(r.pids_limit) : "max"});
  return w;
}

int64_t oomKillsFromControl(const std::string& oom_control) {
  std::istringstream in(oom_control);
  std::string key;
  int64_t value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") {
      return value;
    }
  }
  return 0;
}

namespace {
Result<void> writeControl(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (!out) {
    return fail(ErrorCode::Unavailable, "write '", value, "' to ", path, ": ",
                std::strerror(errno));
  }
  return ok();
}
}  // namespace

ContainerCgroups::ContainerCgroups(std::string root, std::string cgroup_name, std::string pod_uid,
                                   std::string container)
    : root_(std::move(root)),
      cgroup_name_(std::move(cgroup_name)),
      pod_uid_(std::move(pod_uid)),
      container_(std::move(container)) {}

std::string ContainerCgroups::dir(const std::string& controller) const {
  std::error_code ec;
  std::string mount = root_ + "/" + controller;
  if (!fs::is_directory(mount, ec) || !fs::exists(mount + "/cgroup.procs", ec)) {
    return "";
  }
  return mount + "/" + cgroup_name_ + "/pod" + pod_uid_ + "/" + container_;
}

std::vector<std::string> ContainerCgroups::dirs() const {
  std::vector<std::string> out;
  for (const auto& c : kContainerControllers) {
    if (auto d = dir(c); !d.empty()) {
      out.push_back(d);
    }
  }
  return out;
}

Result<std::vector<std::string>> ContainerCgroups::create(const Resources& resources) {
  std::vector<std::string> missing;
  for (const auto& c : kContainerControllers) {
    std::string d = dir(c);
    if (d.empty()) {
      missing.push_back(c);
      continue;
    }
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) {
      return fail(ErrorCode::Unavailable, "create cgroup ", d, ": ", ec.message());
    }
  }
  for (const auto& w : cgroupWrites(resources)) {
    std::string d = dir(w.controller);
    std::error_code ec;
    if (d.empty() || !fs::exists(d + "/" + w.file, ec)) {
      continue;  // controller or file absent (e.g. memsw without swap accounting)
    }
    if (auto r = writeControl(d + "/" + w.file, w.value); !r) {
      return fail(r.error());
    }
  }
  return missing;
}

std::vector<pid_t> ContainerCgroups::procs() const {
  std::vector<pid_t> out;
  for (const auto& d : dirs()) {
    std::ifstream in(d + "/cgroup.procs");
    for (long pid = 0; in >> pid;) {
      out.push_back(static_cast<pid_t>(pid));
    }
    return out;  // the first mounted controller holds every process of the container
  }
  return out;
}

bool processInCgroup(pid_t pid, const std::string& controller, const std::string& relative_path) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // "4:memory:/rampart/podX/c"; the controller list may name several ("cpu,cpuacct").
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) {
      continue;
    }
    std::string list = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
    if (list.find("," + controller + ",") != std::string::npos) {
      return line.substr(c2 + 1) == relative_path;
    }
  }
  return false;
}

int ContainerCgroups::signalAll(int signal) const {
  std::string controller;
  for (const auto& c : kContainerControllers) {
    if (!dir(c).empty()) {
      controller = c;
      break;
    }
  }
  if (controller.empty()) {
    return 0;
  }
  std::string relative = "/" + cgroup_name_ + "/pod" + pod_uid_ + "/" + container_;
  int sent = 0;
  for (pid_t pid : procs()) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
      continue;  // gone
    }
    // The pidfd pins the process: if it is in the cgroup now, the signal reaches that process
    // and never a later holder of the PID.
    if (processInCgroup(pid, controller, relative) &&
        ::syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0) == 0) {
      ++sent;
    }
    ::close(fd);
  }
  return sent;
}

int64_t ContainerCgroups::oomKills() const {
  std::string d = memoryDir();
  if (d.empty()) {
    return 0;
  }
  auto text = readWholeFile(d + "/memory.oom_control");
  return text ? oomKillsFromControl(*text) : 0;
}

Result<void> ContainerCgroups::remove() const {
  for (const auto& d : dirs()) {
    if (::rmdir(d.c_str()) != 0 && errno != ENOENT) {
      return fail(ErrorCode::Unavailable, "rmdir ", d, ": ", std::strerror(errno));
    }
  }
  return ok();
}

Result<void> ContainerCgroups::removePod() const {
  for (const auto& c : kContainerControllers) {
    std::string d = dir(c);
    if (d.empty()) {
      continue;
    }
    std::string pod_dir = fs::path(d).parent_path().string();
    std::error_code ec;
    // Children first: every container's directory, then the pod's.
    for (const auto& entry : fs::directory_iterator(pod_dir, ec)) {
      if (entry.is_directory() && ::rmdir(entry.path().c_str()) != 0 && errno != ENOENT) {
        return fail(ErrorCode::Unavailable, "rmdir ", entry.path().string(), ": ",
                    std::strerror(errno));
      }
    }
    if (::rmdir(pod_dir.c_str()) != 0 && errno != ENOENT) {
      return fail(ErrorCode::Unavailable, "rmdir ", pod_dir, ": ", std::strerror(errno));
    }
  }
  return ok();
}

}  // namespace rampart::agent::runtime
