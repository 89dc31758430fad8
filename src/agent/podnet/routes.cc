#include "agent/podnet/routes.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "agent/podnet/ipv4.h"

namespace rampart::agent::podnet {

namespace {

std::string stringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return "";
  }
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string internalIp(const nlohmann::json& node) {
  if (!node.is_object() || !node.contains("status") || !node["status"].is_object()) {
    return "";
  }
  const auto& status = node["status"];
  auto addresses = status.find("addresses");
  if (addresses == status.end() || !addresses->is_array()) {
    return "";
  }
  for (const auto& address : *addresses) {
    if (stringAt(address, "type") == "InternalIP" && parseIpv4(stringAt(address, "address"))) {
      return stringAt(address, "address");
    }
  }
  return "";
}

}  // namespace

std::vector<NodeRoute> desiredRoutes(std::string_view self,
                                     const std::vector<nlohmann::json>& nodes) {
  std::vector<NodeRoute> candidates;
  for (const auto& node : nodes) {
    if (!node.is_object()) {
      continue;
    }
    std::string name = node.contains("metadata") ? stringAt(node["metadata"], "name") : "";
    std::string cidr = node.contains("spec") ? stringAt(node["spec"], "podCIDR") : "";
    std::string via = internalIp(node);
    auto range = parseCidr(cidr);
    if (name == self || !range || via.empty()) {
      continue;
    }
    // The canonical spelling, so "10.64.02.0/24" cannot look like a different route.
    candidates.push_back(NodeRoute{range->toString(), via, name});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const NodeRoute& a, const NodeRoute& b) { return a.node < b.node; });
  std::vector<NodeRoute> routes;
  std::set<std::string> taken;
  for (auto& route : candidates) {
    if (taken.insert(route.pod_cidr).second) {  // first by node name wins a contested range
      routes.push_back(std::move(route));
    }
  }
  std::sort(routes.begin(), routes.end(),
            [](const NodeRoute& a, const NodeRoute& b) { return a.pod_cidr < b.pod_cidr; });
  return routes;
}

RoutePlan planRoutes(const std::vector<NodeRoute>& desired,
                     const std::map<std::string, std::string>& installed,
                     const std::set<std::string>& foreign) {
  RoutePlan plan;
  std::set<std::string> wanted;
  for (const auto& route : desired) {
    wanted.insert(route.pod_cidr);
    auto ours = installed.find(route.pod_cidr);
    if (ours != installed.end()) {
      if (ours->second != route.via) {
        plan.replace.push_back(route);
      }
    } else if (foreign.count(route.pod_cidr)) {
      plan.conflicts.push_back(route);
    } else {
      plan.add.push_back(route);
    }
  }
  for (const auto& [cidr, via] : installed) {
    if (!wanted.count(cidr)) {
      plan.remove.push_back(cidr);
    }
  }
  return plan;
}

}  // namespace rampart::agent::podnet
