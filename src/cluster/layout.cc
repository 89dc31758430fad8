#include "cluster/layout.h"

#include <algorithm>
#include <map>
#include <set>

namespace rampart::cluster {
namespace {

bool isDnsLabel(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max || s.front() == '-' || s.back() == '-') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string nodeName(const std::string& cluster, Role role, int k) {
  return cluster + (role == Role::Master ? "-m" : "-w") + std::to_string(k);
}

}  // namespace

std::string_view roleName(Role role) { return role == Role::Master ? "master" : "worker"; }

Result<Role> parseRole(std::string_view text) {
  if (text == "master") {
    return Role::Master;
  }
  if (text == "worker") {
    return Role::Worker;
  }
  return fail(ErrorCode::InvalidArgument, "role '", text, "': must be master or worker");
}

Result<void> validateClusterName(std::string_view name) {
  if (!isDnsLabel(name, 20)) {
    return fail(ErrorCode::InvalidArgument, "cluster name '", name,
                "': must be 1-20 characters of a-z, 0-9 and '-', starting and ending with a "
                "letter or digit");
  }
  return ok();
}

Result<void> validateSpec(const ClusterSpec& spec) {
  if (auto r = validateClusterName(spec.name); !r) {
    return r;
  }
  if (spec.masters < 1 || spec.masters > 7 || spec.masters % 2 == 0) {
    return fail(ErrorCode::InvalidArgument, "--masters ", std::to_string(spec.masters),
                ": must be 1, 3, 5 or 7 (etcd needs an odd count to keep a majority)");
  }
  if (spec.workers < 0 || spec.workers > 100) {
    return fail(ErrorCode::InvalidArgument, "--workers ", std::to_string(spec.workers), ": must be 0..100");
  }
  if (spec.zones.empty() || spec.zones.size() > 10) {
    return fail(ErrorCode::InvalidArgument, "--zones: give 1 to 10 zones");
  }
  std::set<std::string> seen;
  for (const auto& z : spec.zones) {
    if (!isDnsLabel(z, 63)) {
      return fail(ErrorCode::InvalidArgument, "--zones: '", z,
                  "' is not a DNS label (a-z, 0-9, '-')");
    }
    if (!seen.insert(z).second) {
      return fail(ErrorCode::InvalidArgument, "--zones: '", z, "' is given twice");
    }
  }
  return ok();
}

std::vector<NodeSpec> planNodes(const ClusterSpec& spec) {
  std::vector<NodeSpec> nodes;
  int ordinal = 0;
  for (int i = 0; i < spec.masters; ++i) {
    nodes.push_back({nodeName(spec.name, Role::Master, i + 1), Role::Master,
                     spec.zones[i % spec.zones.size()], ++ordinal});
  }
  for (int i = 0; i < spec.workers; ++i) {
    nodes.push_back({nodeName(spec.name, Role::Worker, i + 1), Role::Worker,
                     spec.zones[i % spec.zones.size()], ++ordinal});
  }
  return nodes;
}

Result<NodeSpec> nextNode(const std::string& cluster, const std::vector<NodeSpec>& nodes,
                          int max_ordinal, Role role, const std::string& zone,
                          const std::vector<std::string>& zones) {
  if (max_ordinal >= kMaxOrdinal) {
    return fail(ErrorCode::OutOfRange, "this cluster has used all ", std::to_string(kMaxOrdinal),
                " node addresses");
  }
  std::string chosen = zone;
  if (chosen.empty()) {
    if (zones.empty()) {
      return fail(ErrorCode::InvalidArgument, "no zones to choose from");
    }
    std::map<std::string, int> count;
    for (const auto& n : nodes) {
      if (n.role == role) {
        ++count[n.zone];
      }
    }
    chosen = zones.front();
    for (const auto& z : zones) {
      if (count[z] < count[chosen]) {
        chosen = z;
      }
    }
  } else if (!isDnsLabel(chosen, 63)) {
    return fail(ErrorCode::InvalidArgument, "--zone '", chosen, "' is not a DNS label");
  }
  // The next free number of this role: names are never reused while a node of that name exists.
  int k = 1;
  std::set<std::string> names;
  for (const auto& n : nodes) {
    names.insert(n.name);
  }
  while (names.count(nodeName(cluster, role, k))) {
    ++k;
  }
  return NodeSpec{nodeName(cluster, role, k), role, chosen, max_ordinal + 1};
}

std::string nodeAddress(int ordinal) { return "10.240.0." + std::to_string(10 + ordinal); }
std::string podCidr(int ordinal) { return "10.64." + std::to_string(ordinal) + ".0/24"; }
std::string hubNamespace(std::string_view cluster) { return std::string(cluster) + "-lab"; }
std::string hubLinkName(int ordinal) { return "v" + std::to_string(ordinal); }

}  // namespace rampart::cluster
