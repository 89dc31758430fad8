#include "api/service_node_port.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

namespace rampart::api {
using json = nlohmann::json;

namespace {

bool parseNumber(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

int intOf(const json& value) { return value.is_number_integer() ? value.get<int>() : 0; }

const json& portsOf(const json& service) {
  static const json kNone = json::array();
  if (!service.is_object() || !service.contains("spec") || !service["spec"].is_object()) {
    return kNone;
  }
  const json& spec = service["spec"];
  return spec.contains("ports") && spec["ports"].is_array() ? spec["ports"] : kNone;
}

std::string typeOf(const json& service) {
  if (!service.is_object() || !service.contains("spec") || !service["spec"].is_object()) {
    return "ClusterIP";
  }
  const json& type = service["spec"].value("type", json("ClusterIP"));
  return type.is_string() ? type.get<std::string>() : "";
}

std::string at(size_t index) { return "spec.ports[" + std::to_string(index) + "].nodePort"; }

}  // namespace

Result<PortRange> PortRange::parse(std::string_view text) {
  int low = 0;
  int high = 0;
  auto hyphen = text.find('-');
  auto plus = text.find('+');
  bool ok = false;
  if (hyphen != std::string_view::npos && plus == std::string_view::npos) {
    ok = parseNumber(text.substr(0, hyphen), low) && parseNumber(text.substr(hyphen + 1), high);
  } else if (plus != std::string_view::npos && hyphen == std::string_view::npos) {
    int offset = 0;
    ok = parseNumber(text.substr(0, plus), low) && parseNumber(text.substr(plus + 1), offset) &&
         offset >= 0 && offset <= 65535;
    high = low + offset;
  } else if (hyphen == std::string_view::npos) {
    ok = parseNumber(text, low);
    high = low;
  }
  if (!ok) {
    return fail(ErrorCode::InvalidArgument, "unable to parse port range: \"", text,
                "\" (like 30000-32767)");
  }
  // Port 0 means "unset" in a nodePort, so a range holding it could hand out nothing usable.
  if (low < 1 || high > 65535) {
    return fail(ErrorCode::InvalidArgument, "the port range must lie within 1-65535: \"", text,
                "\"");
  }
  if (high < low) {
    return fail(ErrorCode::InvalidArgument, "end port cannot be less than start port: \"", text,
                "\"");
  }
  PortRange range;
  range.base_ = low;
  range.size_ = high - low + 1;
  return range;
}

int PortRange::staticBandSize() const {
  // Kubernetes' calculateRangeOffset: min(max(16, size/32), 128), none for ranges of <= 16.
  if (size_ <= 16) {
    return 0;
  }
  return std::min(std::max(16, size_ / 32), 128);
}

std::string PortRange::toString() const {
  return std::to_string(base_) + "-" + std::to_string(base_ + size_ - 1);
}

PortRange defaultNodePortRange() { return *PortRange::parse("30000-32767"); }

bool needsNodePorts(const json& service) {
  std::string type = typeOf(service);
  return type == "NodePort" || type == "LoadBalancer";
}

std::vector<NodePortWish> nodePortWishesOf(const json& service) {
  std::vector<NodePortWish> wishes;
  // A requested port is a wish whatever the type (ClusterIP ones are refused by validation), so
  // that every nodePort a stored Service shows is one it holds a claim for.
  bool allocate =
      typeOf(service) == "NodePort" ||
      (typeOf(service) == "LoadBalancer" &&
       service["spec"].value("allocateLoadBalancerNodePorts", json(true)) != json(false));
  const json& ports = portsOf(service);
  for (size_t i = 0; i < ports.size(); ++i) {
    if (!ports[i].is_object()) {
      continue;
    }
    int node_port = intOf(ports[i].value("nodePort", json(0)));
    if (node_port == 0 && !allocate) {
      continue;  // not allocated, but a requested one is respected
    }
    wishes.push_back(NodePortWish{i, intOf(ports[i].value("port", json(0))), node_port});
  }
  return wishes;
}

FieldErrors validateNodePorts(const json& service) {
  FieldErrors errors;
  bool cluster_ip = typeOf(service) == "ClusterIP";
  std::set<std::pair<std::string, int>> seen;
  const json& ports = portsOf(service);
  for (size_t i = 0; i < ports.size(); ++i) {
    if (!ports[i].is_object() || !ports[i].contains("nodePort")) {
      continue;
    }
    const json& value = ports[i]["nodePort"];
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 65535) {
      errors.push_back(invalidField(at(i), value, "must be between 1 and 65535, inclusive"));
      continue;
    }
    int node_port = value.get<int>();
    if (node_port == 0) {
      continue;
    }
    if (cluster_ip) {
      errors.push_back(forbiddenField(at(i), "may not be used when `type` is 'ClusterIP'"));
      continue;
    }
    std::string protocol = ports[i].value("protocol", json("TCP")).is_string()
                               ? ports[i].value("protocol", std::string("TCP"))
                               : "";
    if (!seen.insert({protocol, node_port}).second) {
      errors.push_back(
          FieldError{FieldError::Type::Duplicate, at(i), json(node_port), std::string()});
    }
  }
  return errors;
}

std::set<int> nodePortsOf(const json& service) {
  std::set<int> held;
  for (const auto& p : portsOf(service)) {
    if (p.is_object()) {
      if (int n = intOf(p.value("nodePort", json(0))); n > 0) {
        held.insert(n);
      }
    }
  }
  return held;
}

void keepNodePorts(json& next, const json& current) {
  if (!next.contains("spec") || !next["spec"].is_object() || !next["spec"].contains("ports") ||
      !next["spec"]["ports"].is_array()) {
    return;
  }
  json& ports = next["spec"]["ports"];
  if (needsNodePorts(current) && !needsNodePorts(next)) {
    // Only when the update left them alone: a changed nodePort on a ClusterIP Service is the
    // user's mistake, which validation names.
    if (nodePortsOf(next) == nodePortsOf(current)) {
      for (auto& p : ports) {
        if (p.is_object()) {
          p.erase("nodePort");
        }
      }
    }
    return;
  }
  if (!needsNodePorts(current) || !needsNodePorts(next)) {
    return;
  }
  std::set<int> used = nodePortsOf(next);
  std::map<std::string, int> by_name;
  for (const auto& p : portsOf(current)) {
    if (p.is_object()) {
      by_name[p.value("name", json("")).is_string() ? p.value("name", std::string()) : ""] =
          intOf(p.value("nodePort", json(0)));
    }
  }
  for (auto& p : ports) {
    if (!p.is_object() || intOf(p.value("nodePort", json(0))) != 0) {
      continue;
    }
    std::string name = p.value("name", json("")).is_string() ? p.value("name", std::string()) : "";
    auto it = by_name.find(name);
    if (it != by_name.end() && it->second > 0 && !used.count(it->second)) {
      p["nodePort"] = it->second;
    }
  }
}

std::optional<int> pickFreePort(const PortRange& range, const std::set<int>& taken,
                                uint64_t random) {
  int static_end = std::min(range.staticBandSize(), range.size());
  auto scan = [&](int from, int to) -> std::optional<int> {
    if (from >= to) {
      return std::nullopt;
    }
    uint64_t n = static_cast<uint64_t>(to - from);
    uint64_t start = random % n;
    for (uint64_t i = 0; i < n; ++i) {
      int port = range.base() + from + static_cast<int>((start + i) % n);
      if (!taken.count(port)) {
        return port;
      }
    }
    return std::nullopt;
  };
  if (auto port = scan(static_end, range.size())) {
    return port;
  }
  return scan(0, static_end);
}

NodePortAllocation allocateNodePorts(const std::vector<NodePortWish>& wishes,
                                     const PortRange& range, const std::set<int>& own,
                                     const std::set<int>& taken, uint64_t random) {
  NodePortAllocation out;
  // Requested ports first, so that an unset entry can share one (same Service port number).
  for (const auto& wish : wishes) {
    if (wish.node_port == 0) {
      continue;
    }
    int port = wish.node_port;
    if (!own.count(port) && !out.held.count(port)) {
      if (!range.contains(port)) {
        out.errors.push_back(nodePortNotInRange(wish.index, port, range));
        continue;
      }
      if (taken.count(port)) {
        out.errors.push_back(nodePortAlreadyAllocated(wish.index, port));
        continue;
      }
    }
    out.node_ports[wish.index] = port;
    out.held.insert(port);
  }
  if (!out.errors.empty()) {
    return out;
  }
  std::map<int, int> by_service_port;  // Service port → the node port its entries share
  for (const auto& wish : wishes) {
    if (wish.node_port != 0) {
      by_service_port.emplace(wish.port, wish.node_port);
    }
  }
  std::set<int> unavailable = taken;
  unavailable.insert(out.held.begin(), out.held.end());
  for (const auto& wish : wishes) {
    if (wish.node_port != 0) {
      continue;
    }
    if (auto shared = by_service_port.find(wish.port); shared != by_service_port.end()) {
      out.node_ports[wish.index] = shared->second;
      continue;
    }
    auto port = pickFreePort(range, unavailable, random);
    if (!port) {
      out.full = true;
      return out;
    }
    unavailable.insert(*port);
    by_service_port.emplace(wish.port, *port);
    out.node_ports[wish.index] = *port;
    out.held.insert(*port);
  }
  return out;
}

void setNodePorts(json& service, const NodePortAllocation& allocation) {
  json& ports = service["spec"]["ports"];
  for (const auto& [index, port] : allocation.node_ports) {
    if (ports.is_array() && index < ports.size() && ports[index].is_object()) {
      ports[index]["nodePort"] = port;
    }
  }
}

FieldError nodePortNotInRange(size_t index, int port, const PortRange& range) {
  return invalidField(
      at(index), port,
      "provided port is not in the valid range. The range of valid ports is " + range.toString());
}

FieldError nodePortAlreadyAllocated(size_t index, int port) {
  return invalidField(at(index), port, "provided port is already allocated");
}

}  // namespace rampart::api
