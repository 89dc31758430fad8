#include "cluster/lab_network.h"

#include <dirent.h>
#include <sys/stat.h>

#include <sstream>

#include "runtime/process.h"

namespace rampart::cluster {
namespace {

constexpr auto kIpTimeout = std::chrono::seconds(5);

Result<void> ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  auto r = runtime::runCommand(args, kIpTimeout);
  if (r.exit_code != 0) {
    std::string line;
    for (const auto& a : args) {
      line += (line.empty() ? "" : " ") + a;
    }
    return fail(ErrorCode::Unavailable, "`", line, "` failed: ", r.output);
  }
  return ok();
}

bool linkExists(const std::string& netns, const std::string& link) {
  return runtime::runCommand({"ip", "-n", netns, "link", "show", "dev", link}, kIpTimeout)
             .exit_code == 0;
}

}  // namespace

std::string netnsPath(const std::string& name) { return "/run/netns/" + name; }

bool netnsExists(const std::string& name) {
  struct stat st {};
  return ::stat(netnsPath(name).c_str(), &st) == 0;
}

std::vector<std::string> listNetns() {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir("/run/netns")) {
    while (dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") {
        names.push_back(name);
      }
    }
    ::closedir(dir);
  }
  return names;
}

Result<void> createHub(const std::string& cluster) {
  std::string hub = hubNamespace(cluster);
  if (!netnsExists(hub)) {
    if (auto r = ip({"netns", "add", hub}); !r) {
      return r;
    }
  }
  if (auto r = ip({"-n", hub, "link", "set", "lo", "up"}); !r) {
    return r;
  }
  if (!linkExists(hub, kHubBridge)) {
    if (auto r = ip({"-n", hub, "link", "add", kHubBridge, "type", "bridge"}); !r) {
      return r;
    }
    std::string address = std::string(kHubAddress) + "/" + std::to_string(kLabPrefix);
    if (auto r = ip({"-n", hub, "addr", "add", address, "dev", kHubBridge}); !r) {
      return r;
    }
  }
  return ip({"-n", hub, "link", "set", kHubBridge, "up"});
}

Result<void> createNodeNetwork(const std::string& cluster, const NodeSpec& node) {
  std::string hub = hubNamespace(cluster);
  std::string link = hubLinkName(node.ordinal);
  if (!netnsExists(node.name)) {
    if (auto r = ip({"netns", "add", node.name}); !r) {
      return r;
    }
  }
  if (!linkExists(node.name, kNodeLink)) {
    if (linkExists(hub, link)) {
      // A veth whose peer went with an earlier namespace of this name: replace it.
      if (auto r = ip({"-n", hub, "link", "del", link}); !r) {
        return r;
      }
    }
    if (auto r = ip({"-n", hub, "link", "add", link, "type", "veth", "peer", "name", kNodeLink,
                     "netns", node.name});
        !r) {
      return r;
    }
    std::string address = nodeAddress(node.ordinal) + "/" + std::to_string(kLabPrefix);
    if (auto r = ip({"-n", node.name, "addr", "add", address, "dev", kNodeLink}); !r) {
      return r;
    }
  }
  for (auto args : std::vector<std::vector<std::string>>{
           {"-n", hub, "link", "set", link, "master", kHubBridge, "up"},
           {"-n", node.name, "link", "set", kNodeLink, "up"},
           {"-n", node.name, "link", "set", "lo", "up"}}) {
    if (auto r = ip(args); !r) {
      return r;
    }
  }
  return ok();
}

Result<void> removeNodeNetwork(const std::string& cluster, const NodeSpec& node) {
  std::string hub = hubNamespace(cluster);
  if (netnsExists(hub) && linkExists(hub, hubLinkName(node.ordinal))) {
    if (auto r = ip({"-n", hub, "link", "del", hubLinkName(node.ordinal)}); !r) {
      return r;
    }
  }
  if (netnsExists(node.name)) {
    return ip({"netns", "del", node.name});
  }
  return ok();
}

Result<void> removeHub(const std::string& cluster) {
  std::string hub = hubNamespace(cluster);
  if (netnsExists(hub)) {
    return ip({"netns", "del", hub});
  }
  return ok();
}

std::vector<pid_t> netnsPids(const std::string& name) {
  std::vector<pid_t> pids;
  if (!netnsExists(name)) {
    return pids;
  }
  auto r = runtime::runCommand({"ip", "netns", "pids", name}, kIpTimeout);
  std::istringstream in(r.output);
  pid_t pid = 0;
  while (in >> pid) {
    pids.push_back(pid);
  }
  return pids;
}

}  // namespace rampart::cluster
