#pragma once
// The node's service proxy plan (kube-proxy's job, done by Rampart's own balancer): from the
// Services and Endpoints as the API serves them, the lb::LbConfig every node runs. Pure: no I/O,
// no clock; the same input gives the same config and the same fingerprint.
//   - one virtual server per (ClusterIP, port) of protocol TCP, named "<ns>/<svc>:<port>",
//     listening on clusterIP:port, the address put on `vip_interface` (the node's loopback);
//   - backends: the ready addresses (subsets[].addresses[], never notReadyAddresses) of the
//     Service's Endpoints, each with the port of that subset whose name is the Service port's
//     name (the Endpoints controller has already resolved targetPort into it); an address
//     listed twice is used once;
//   - no active health checks (readiness comes from the Endpoints), passive ejection on (a
//     refused connect moves the client to the next backend), round-robin, or source-hash for
//     sessionAffinity ClientIP;
//   - type NodePort (and LoadBalancer, which has node ports too) also listens on
//     <node_ip>:<nodePort>, as "<ns>/<svc>:<port>/node-port";
//   - headless Services (clusterIP None), Services without a ClusterIP and ExternalName
//     Services are not served, silently; anything else not served (a UDP or SCTP port, an
//     invalid IP, port or field of the wrong type) is left out and named in `skipped`, and the
//     rest of the Service and of the plan still stands.
// Every field read is validated: IPv4 literals, ports 1..65535, protocol strings.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lb/config.h"

namespace rampart::agent::services {

struct ServicePlanOptions {
  std::string node_ip;                // NodePorts listen here; "" = no NodePorts
  std::string vip_interface = "lo";   // where ClusterIPs are put
  int workers = 1;                    // the balancer's data-path threads
};

struct ServicePlan {
  lb::LbConfig config;  // may have no virtual server (nothing to serve)
  // What was left out and why, one line each ("default/dns port 53/UDP: ..."), sorted.
  std::vector<std::string> skipped;
  // A canonical text of `config`: equal fingerprints mean equal configs (a re-apply is
  // skipped).
  std::string fingerprint;
};

ServicePlan planServices(const std::vector<nlohmann::json>& services,
                         const std::vector<nlohmann::json>& endpoints,
                         const ServicePlanOptions& options);

// The canonical text of a config as planServices() makes it (names, listens, policy, backends).
std::string fingerprintOf(const lb::LbConfig& config);

}  // namespace rampart::agent::services
