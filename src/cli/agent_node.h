#pragma once
// `rampart agent` on a real node (agent/node/agent.h): the flags and the command. Flag names are
// the kubelet's where it has one (--node-ip, --pod-cidr, --root-dir, --system-reserved,
// --register-with-taints, --node-labels as --labels, --max-pods as --node-max-pods, --port,
// --address, --tls-cert-file, --tls-private-key-file, --client-ca-file).

#include <optional>
#include <string>

namespace rampart::cli {

struct NodeAgentFlags {
  std::string kubeconfig;
  std::string node_name;  // default: the host name
  std::string labels;
  std::string node_ip;    // default: 127.0.0.1
  std::string pod_cidr;   // "" → no pod network (hostNetwork pods only)
  std::string root_dir = "/var/lib/rampart/agent";
  std::string system_reserved;
  std::string taints;
  int max_pods = 110;
  int port = 10250;
  std::string address;  // node API bind address (default: --node-ip)
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string client_ca_file;
  std::string renew_interval = "200ms";
  std::string lease_duration;  // default: 4 × the renew interval
  std::string status_interval = "10s";
  std::string crash_loop_initial_delay = "10s";
  std::string fence_after = "1s";  // the controller's --node-fence-after
  std::string request_timeout = "10s";
  // Serve every Service's ClusterIP on this node (agent/services/). Unset: on with --pod-cidr
  // (pods have their own namespaces), off without (agents of a test share the host's namespace
  // and must not all claim the same ClusterIPs).
  std::optional<bool> services;
  int service_proxy_workers = 1;
};

int runNodeAgent(const NodeAgentFlags& flags);

}  // namespace rampart::cli
