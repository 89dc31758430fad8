#include "agent/services/service_plan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace rampart::agent::services {
namespace {
using json = nlohmann::json;

bool isIpv4(const std::string& text) {
  in_addr addr{};
  return ::inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

// A port field: an integer 1..65535, else "".
bool validPort(const json& value, uint16_t* out) {
  if (!value.is_number_integer()) {
    return false;
  }
  auto n = value.get<int64_t>();
  if (n < 1 || n > 65535) {
    return false;
  }
  *out = static_cast<uint16_t>(n);
  return true;
}

// An optional string field: absent or null gives `fallback`; any other non-string is invalid.
bool optionalString(const json& object, const char* key, const std::string& fallback,
                    std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    *out = fallback;
    return true;
  }
  if (!it->is_string()) {
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

std::string keyOf(const json& object) {
  if (!object.is_object()) {
    return "";
  }
  const json& meta = object.value("metadata", json::object());
  if (!meta.is_object()) {
    return "";
  }
  auto ns = meta.find("namespace");
  auto name = meta.find("name");
  if (ns == meta.end() || name == meta.end() || !ns->is_string() || !name->is_string() ||
      ns->get<std::string>().empty() || name->get<std::string>().empty()) {
    return "";
  }
  return ns->get<std::string>() + "/" + name->get<std::string>();
}

std::string portText(uint16_t port, const std::string& protocol) {
  return std::to_string(port) + "/" + protocol;
}

// The ready backends of one Service port: every subset's addresses with that subset's port of
// the same name (and protocol TCP). Problems go to `skipped`.
std::vector<lb::BackendConfig> backendsFor(const json* endpoints, const std::string& port_name,
                                           const std::string& where,
                                           std::set<std::string>& skipped) {
  std::vector<lb::BackendConfig> out;
  if (endpoints == nullptr) {
    return out;  // not written yet (or no selector and nobody wrote it): no backends
  }
  auto subsets = endpoints->find("subsets");
  if (subsets == endpoints->end() || subsets->is_null()) {
    return out;
  }
  if (!subsets->is_array()) {
    skipped.insert(where + ": Endpoints subsets is not a list");
    return out;
  }
  std::set<std::string> seen;
  for (const json& subset : *subsets) {
    if (!subset.is_object()) {
      skipped.insert(where + ": an Endpoints subset is not an object");
      continue;
    }
    const json& ports = subset.value("ports", json::array());
    if (!ports.is_array()) {
      skipped.insert(where + ": Endpoints subset ports is not a list");
      continue;
    }
    std::optional<uint16_t> target;
    for (const json& p : ports) {
      std::string name;
      std::string protocol;
      if (!p.is_object() || !optionalString(p, "name", "", &name) ||
          !optionalString(p, "protocol", "TCP", &protocol)) {
        skipped.insert(where + ": an Endpoints port is malformed");
        continue;
      }
      if (name != port_name || protocol != "TCP") {
        continue;
      }
      uint16_t number = 0;
      if (!validPort(p.value("port", json()), &number)) {
        skipped.insert(where + ": Endpoints port '" + name + "' has an invalid port " +
                       p.value("port", json()).dump());
        continue;
      }
      target = number;
      break;
    }
    if (!target) {
      continue;  // this subset's pods do not serve this port (e.g. a named targetPort missing)
    }
    const json& addresses = subset.value("addresses", json::array());
    if (!addresses.is_array()) {
      skipped.insert(where + ": Endpoints subset addresses is not a list");
      continue;
    }
    for (const json& a : addresses) {
      std::string ip;
      if (!a.is_object() || !optionalString(a, "ip", "", &ip) || !isIpv4(ip)) {
        skipped.insert(where + ": endpoint address " +
                       (a.is_object() ? a.value("ip", json()).dump() : a.dump()) +
                       " is not an IPv4 address");
        continue;
      }
      lb::BackendConfig backend;
      backend.address = net::Endpoint{ip, *target};
      if (seen.insert(backend.address.toString()).second) {
        out.push_back(std::move(backend));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.address.toString() < b.address.toString();
  });
  return out;
}

lb::VirtualServerConfig virtualServer(std::string name, net::Endpoint listen, lb::Policy policy,
                                      std::vector<lb::BackendConfig> backends) {
  lb::VirtualServerConfig vs;
  vs.name = std::move(name);
  vs.listen = std::move(listen);
  vs.policy = policy;
  // Readiness is the Endpoints' business (the agents' readiness probes): checking again here
  // would only add load and a second, disagreeing opinion.
  vs.health.enabled = false;
  // A backend that refuses (its pod just died, the Endpoints not yet updated) is skipped by
  // the next connections for health.interval (1 s; then it is tried again: no check would
  // bring it back), and this connection is retried on another backend.
  vs.passive_ejection = true;
  vs.health.interval = std::chrono::seconds(1);
  vs.backends = std::move(backends);
  return vs;
}

}  // namespace

ServicePlan planServices(const std::vector<json>& services, const std::vector<json>& endpoints,
                         const ServicePlanOptions& options) {
  ServicePlan plan;
  plan.config.mode = lb::Mode::User;
  plan.config.workers = options.workers;
  std::set<std::string> skipped;

  std::map<std::string, const json*> endpoints_by_key;
  for (const json& e : endpoints) {
    std::string key = keyOf(e);
    if (!key.empty()) {
      endpoints_by_key[key] = &e;
    }
  }
  std::map<std::string, const json*> services_by_key;
  for (const json& s : services) {
    std::string key = keyOf(s);
    if (key.empty()) {
      skipped.insert("a Service without namespace or name");
      continue;
    }
    services_by_key[key] = &s;
  }

  std::set<std::string> listens;  // no two virtual servers on one address
  for (const auto& [key, service] : services_by_key) {
    const json& spec = service->value("spec", json::object());
    if (!spec.is_object()) {
      skipped.insert(key + ": spec is not an object");
      continue;
    }
    std::string type;
    std::string cluster_ip;
    std::string affinity;
    if (!optionalString(spec, "type", "ClusterIP", &type)) {
      skipped.insert(key + ": spec.type is not a string");
      continue;
    }
    if (type == "ExternalName") {
      continue;  // a DNS alias: nothing to proxy
    }
    if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer") {
      skipped.insert(key + ": spec.type \"" + type + "\" is not a Service type");
      continue;
    }
    if (!optionalString(spec, "clusterIP", "", &cluster_ip)) {
      skipped.insert(key + ": spec.clusterIP is not a string");
      continue;
    }
    if (cluster_ip.empty() || cluster_ip == "None") {
      continue;  // headless, or no address (yet): clients reach the pods directly
    }
    if (!isIpv4(cluster_ip)) {
      skipped.insert(key + ": spec.clusterIP \"" + cluster_ip + "\" is not an IPv4 address");
      continue;
    }
    if (!optionalString(spec, "sessionAffinity", "None", &affinity) ||
        (affinity != "None" && affinity != "ClientIP")) {
      skipped.insert(key + ": spec.sessionAffinity must be None or ClientIP");
      continue;
    }
    lb::Policy policy = affinity == "ClientIP" ? lb::Policy::SourceHash : lb::Policy::RoundRobin;
    bool node_ports = type == "NodePort" || type == "LoadBalancer";
    const json& ports = spec.value("ports", json::array());
    if (!ports.is_array()) {
      skipped.insert(key + ": spec.ports is not a list");
      continue;
    }
    auto found = endpoints_by_key.find(key);
    const json* eps = found == endpoints_by_key.end() ? nullptr : found->second;
    for (const json& p : ports) {
      std::string name;
      std::string protocol;
      uint16_t port = 0;
      if (!p.is_object() || !optionalString(p, "name", "", &name) ||
          !optionalString(p, "protocol", "TCP", &protocol)) {
        skipped.insert(key + ": port " + p.dump() +
                       " is malformed (name and protocol must be strings)");
        continue;
      }
      if (!validPort(p.value("port", json()), &port)) {
        skipped.insert(key + ": port " + p.value("port", json()).dump() +
                       " is not a port number (1..65535)");
        continue;
      }
      std::string where = key + " port " + portText(port, protocol);
      if (protocol == "UDP" || protocol == "SCTP") {
        skipped.insert(where + ": only TCP is served");
        continue;
      }
      if (protocol != "TCP") {
        skipped.insert(where + ": unknown protocol");
        continue;
      }
      auto backends = backendsFor(eps, name, where, skipped);
      std::string vs_name = key + ":" + std::to_string(port);
      net::Endpoint listen{cluster_ip, port};
      if (!listens.insert(listen.toString()).second) {
        skipped.insert(where + ": " + listen.toString() + " is served for another Service");
        continue;
      }
      auto vs = virtualServer(vs_name, listen, policy, backends);
      vs.vip_interface = options.vip_interface;
      plan.config.virtual_servers.push_back(std::move(vs));
      if (!node_ports || options.node_ip.empty()) {
        continue;
      }
      uint16_t node_port = 0;
      if (!validPort(p.value("nodePort", json()), &node_port)) {
        skipped.insert(where + ": nodePort " + p.value("nodePort", json()).dump() +
                       " is not a port number (1..65535)");
        continue;
      }
      net::Endpoint node_listen{options.node_ip, node_port};
      if (!listens.insert(node_listen.toString()).second) {
        skipped.insert(where + ": node port " + node_listen.toString() +
                       " is served for another Service");
        continue;
      }
      // The node's own address: already on its interface, nothing to claim.
      plan.config.virtual_servers.push_back(
          virtualServer(vs_name + "/node-port", node_listen, policy, std::move(backends)));
    }
  }
  plan.skipped.assign(skipped.begin(), skipped.end());
  plan.fingerprint = fingerprintOf(plan.config);
  return plan;
}

std::string fingerprintOf(const lb::LbConfig& config) {
  std::string out = "workers=" + std::to_string(config.workers) + "\n";
  for (const auto& vs : config.virtual_servers) {
    out += vs.name + " " + vs.listen.toString() + "@" + vs.vip_interface + " " +
           std::string(lb::policyName(vs.policy)) + " [";
    for (size_t i = 0; i < vs.backends.size(); ++i) {
      out += (i > 0 ? "," : "") + vs.backends[i].address.toString();
    }
    out += "]\n";
  }
  return out;
}

}  // namespace rampart::agent::services
