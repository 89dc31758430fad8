#include "controller/endpoints.h"

#include <algorithm>
#include <map>

#include "api/selector.h"
#include "controller/pod_util.h"
#include "controller/replicaset.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

// The pod's port for one Service port, or -1 when the pod has no container port by that name.
int64_t resolvePort(const json& pod, const json& service_port) {
  int64_t port = service_port.value("port", int64_t{0});
  auto target = service_port.find("targetPort");
  if (target == service_port.end() || target->is_null()) {
    return port;
  }
  if (target->is_number_integer()) {
    int64_t n = target->get<int64_t>();
    return n > 0 ? n : port;
  }
  if (!target->is_string()) {
    return -1;
  }
  const std::string name = target->get<std::string>();
  std::string protocol = service_port.value("protocol", "TCP");
  for (const char* list : {"/spec/containers", "/spec/initContainers"}) {
    json::json_pointer at(list);
    if (!pod.contains(at) || !pod[at].is_array()) {
      continue;
    }
    for (const auto& c : pod[at]) {
      for (const auto& p : c.value("ports", json::array())) {
        if (p.value("name", "") == name && p.value("protocol", "TCP") == protocol) {
          return p.value("containerPort", int64_t{-1});
        }
      }
    }
  }
  return -1;
}

bool portLess(const json& a, const json& b) {
  std::string na = a.value("name", "");
  std::string nb = b.value("name", "");
  if (na != nb) {
    return na < nb;
  }
  return a.value("port", int64_t{0}) < b.value("port", int64_t{0});
}

}  // namespace

EndpointsDecision decideEndpoints(const json& service, const std::vector<json>& pods,
                                  const json& existing) {
  EndpointsDecision d;
  api::Labels selector_map = stringMap(service, "/spec/selector");
  if (selector_map.empty()) {
    d.reason = "service has no selector: its endpoints are not managed";
    return d;
  }
  api::LabelSelector selector = api::labelSelectorFromMap(selector_map);
  std::string ns = service.value("/metadata/namespace"_json_pointer, std::string("default"));
  std::string name = service.value("/metadata/name"_json_pointer, std::string());
  bool publish_not_ready = service.value("/spec/publishNotReadyAddresses"_json_pointer, false);
  bool headless = service.value("/spec/clusterIP"_json_pointer, std::string()) == "None";
  json service_ports = service.value("/spec/ports"_json_pointer, json::array());

  // ports key → (ports, ready addresses, not-ready addresses)
  struct Subset {
    json ports = json::array();
    std::vector<json> ready;
    std::vector<json> not_ready;
  };
  std::map<std::string, Subset> subsets;
  size_t matched = 0;
  for (const auto& pod : pods) {
    if (pod.value("/metadata/namespace"_json_pointer, std::string("default")) != ns ||
        !selector.matches(stringMap(pod, "/metadata/labels"))) {
      continue;
    }
    std::string ip = pod.value("/status/podIP"_json_pointer, std::string());
    if (ip.empty() || !isActivePod(pod)) {
      continue;
    }
    ++matched;
    json address = {{"ip", ip},
                    {"targetRef",
                     {{"kind", "Pod"},
                      {"namespace", ns},
                      {"name", pod.value("/metadata/name"_json_pointer, std::string())},
                      {"uid", pod.value("/metadata/uid"_json_pointer, std::string())}}}};
    std::string node = pod.value("/spec/nodeName"_json_pointer, std::string());
    if (!node.empty()) {
      address["nodeName"] = node;
    }
    std::string hostname = pod.value("/spec/hostname"_json_pointer, std::string());
    if (!hostname.empty() && pod.value("/spec/subdomain"_json_pointer, std::string()) == name) {
      address["hostname"] = hostname;
    }
    json ports = json::array();
    for (const auto& sp : service_ports) {
      int64_t port = resolvePort(pod, sp);
      if (port <= 0) {
        continue;
      }
      json p = {{"port", port}, {"protocol", sp.value("protocol", "TCP")}};
      if (std::string port_name = sp.value("name", ""); !port_name.empty()) {
        p["name"] = port_name;
      }
      if (sp.contains("appProtocol")) {
        p["appProtocol"] = sp["appProtocol"];
      }
      ports.push_back(p);
    }
    if (ports.empty() && !(headless && service_ports.empty())) {
      continue;  // no port of the Service resolves on this pod
    }
    std::sort(ports.begin(), ports.end(), portLess);
    Subset& s = subsets[ports.dump()];
    s.ports = ports;
    (publish_not_ready || isPodReady(pod) ? s.ready : s.not_ready).push_back(std::move(address));
  }

  auto byIpThenUid = [](const json& a, const json& b) {
    if (a["ip"] != b["ip"]) {
      return a["ip"].get<std::string>() < b["ip"].get<std::string>();
    }
    return a["targetRef"]["uid"].get<std::string>() < b["targetRef"]["uid"].get<std::string>();
  };
  json out_subsets = json::array();
  size_t ready_total = 0;
  size_t not_ready_total = 0;
  for (auto& [key, s] : subsets) {
    json subset = json::object();
    std::sort(s.ready.begin(), s.ready.end(), byIpThenUid);
    std::sort(s.not_ready.begin(), s.not_ready.end(), byIpThenUid);
    if (!s.ready.empty()) {
      subset["addresses"] = s.ready;
    }
    if (!s.not_ready.empty()) {
      subset["notReadyAddresses"] = s.not_ready;
    }
    if (!s.ports.empty()) {
      subset["ports"] = s.ports;
    }
    ready_total += s.ready.size();
    not_ready_total += s.not_ready.size();
    out_subsets.push_back(std::move(subset));
  }

  json labels = service.value("/metadata/labels"_json_pointer, json::object());
  if (headless) {
    labels["service.kubernetes.io/headless"] = "";
  }
  d.reason = std::to_string(matched) + " pods selected: " + std::to_string(ready_total) +
             " ready, " + std::to_string(not_ready_total) + " not ready";
  if (existing.is_null()) {
    d.action = EndpointsDecision::Action::Create;
    d.endpoints = {{"apiVersion", "v1"},
                   {"kind", "Endpoints"},
                   {"metadata", {{"name", name}, {"namespace", ns}}},
                   {"subsets", out_subsets}};
    if (!labels.empty()) {
      d.endpoints["metadata"]["labels"] = labels;
    }
    return d;
  }
  json have_subsets = existing.value("subsets", json::array());
  json have_labels = existing.value("/metadata/labels"_json_pointer, json::object());
  if (have_subsets == out_subsets && have_labels == labels) {
    d.reason += "; unchanged";
    return d;
  }
  d.action = EndpointsDecision::Action::Update;
  d.endpoints = existing;
  d.endpoints["subsets"] = out_subsets;
  if (labels.empty()) {
    d.endpoints["metadata"].erase("labels");
  } else {
    d.endpoints["metadata"]["labels"] = labels;
  }
  return d;
}

}  // namespace rampart::controller
