#include "cluster/processes.h"

#include "cluster/credentials.h"

namespace rampart::cluster {
namespace {

std::string hostPort(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

// The API servers' health check, shared by every balancer in front of them. A frozen or cut-off
// server stops answering: after `interval` + `timeout` (≤ 0.5 s) one failed check takes it out
// (fall 1; a refused connect takes it out at once). A server that comes back takes traffic after
// one passed check. Connections to a server taken out are cut once it has sent nothing on them
// for 500 ms (on_down: close_stalled): a request or an HTTP/2 connection (kubectl, informers)
// waiting on a frozen or cut-off server fails over after ≤ 0.5 s + 0.5 s + 50 ms instead of
// waiting for the client's own timeout (kubectl has none by default); a watch the server still
// feeds (bookmarks every 250 ms) is never cut by a flapping check. A connection whose server
// died or stalled before sending its first byte (the TLS handshake not yet answered) moves to
// the next server with the client's bytes instead of failing (retry_unanswered): a master's
// death then costs no request, not even the one whose handshake it had in hand.
std::string apiBackends(const ClusterState& state) {
  std::string out =
      "    on_down: close_stalled\n"
      "    stalled_after: 500ms\n"
      "    retry_unanswered: true\n"
      "    connect_timeout: 500ms\n"
      "    health:\n"
      "      type: https\n"
      "      path: /readyz\n"
      "      interval: 200ms\n"
      "      outage_interval: 100ms\n"
      "      timeout: 300ms\n"
      "      rise: 1\n"
      "      fall: 1\n"
      "    backends:\n";
  for (const auto* m : state.masters()) {
    out += "      - { address: " + hostPort(nodeAddress(m->spec.ordinal), kApiPort) + " }\n";
  }
  return out;
}

}  // namespace

std::string etcdEndpoints(const ClusterState& state, const std::string& first) {
  std::string list;
  auto add = [&](const NodeState* m) {
    list += (list.empty() ? "" : ",") + std::string("https://") +
            hostPort(nodeAddress(m->spec.ordinal), kEtcdClientPort);
  };
  for (const auto* m : state.masters()) {
    if (m->spec.name == first) {
      add(m);
    }
  }
  for (const auto* m : state.masters()) {
    if (m->spec.name != first) {
      add(m);
    }
  }
  return list;
}

std::string etcdInitialCluster(const std::vector<const NodeState*>& masters) {
  std::string list;
  for (const auto* m : masters) {
    list += (list.empty() ? "" : ",") + m->spec.name + "=https://" +
            hostPort(nodeAddress(m->spec.ordinal), kEtcdPeerPort);
  }
  return list;
}

std::string vipConfigFile(const std::string& dir, const std::string& node) {
  return nodeDir(dir, node) + "/vip.yaml";
}

std::string gatewayConfigFile(const std::string& dir) { return dir + "/gateway.yaml"; }

std::string vipConfig(const ClusterState& state, const NodeSpec& node) {
  return "# The API VIP of node " + node.name + " (written by rampart up)\n" +
         "admin: { listen: " + hostPort(nodeAddress(node.ordinal), kVipAdminPort) + " }\n" +
         "workers: 1\n"
         "virtual_servers:\n"
         "  - name: api\n"
         "    listen: " + hostPort(kApiVip, kApiPort) + "\n" +
         "    vip_interface: lo\n" + apiBackends(state);
}

std::string gatewayConfig(const ClusterState& state) {
  return "# kubectl's way into the lab network (written by rampart up): the listen socket is\n"
         "# made on the host's loopback and handed over; this balancer runs in the hub.\n"
         "admin: { listen: 127.0.0.1:" + std::to_string(kVipAdminPort) + " }\n" +
         "workers: 1\n"
         "virtual_servers:\n"
         "  - name: api\n"
         "    listen: " + hostPort("127.0.0.1", state.gateway_port) + "\n" + apiBackends(state);
}

std::vector<ProcessPlan> nodeProcesses(const std::string& dir, const std::string& binary,
                                       const ClusterState& state, const NodeState& node,
                                       const EtcdBootstrap& etcd) {
  const auto& n = node.spec;
  std::string nd = nodeDir(dir, n.name);
  std::string address = nodeAddress(n.ordinal);
  std::vector<ProcessPlan> plans;
  auto plan = [&](const char* kind, std::vector<std::string> argv) {
    plans.push_back({kind, std::move(argv), nd + "/" + kind + ".log", n.name});
  };
  if (n.role == Role::Master) {
    std::string client = "https://" + hostPort(address, kEtcdClientPort);
    std::string peer = "https://" + hostPort(address, kEtcdPeerPort);
    // Lab timing as in lab/etcd_cluster.h: the members share one machine, so a 10 ms heartbeat
    // and 100 ms election timeout are safe and make a lost leader cost ~0.1-0.2 s of writes.
    // Pre-vote: a member cut off from the others campaigns without raising its term, so when
    // the cut heals it does not depose the leader the others elected meanwhile (without it, a
    // healed partition costs a second election and a second stall of linearizable reads).
    // TLS both ways with client certificates, for clients and peers (issue 17: every cluster
    // command uses TLS by default).
    plan(kEtcd, {"etcd", "--name", n.name, "--data-dir", nd + "/etcd", "--listen-client-urls",
                 client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", etcd.initial_cluster, "--initial-cluster-state",
                 etcd.existing ? "existing" : "new", "--initial-cluster-token",
                 "rampart-" + state.name + "-" + state.created, "--heartbeat-interval", "10",
                 "--election-timeout", "100", "--pre-vote", "--snapshot-count", "10000", "--log-level",
                 "warn", "--client-cert-auth", "--trusted-ca-file", caFile(dir), "--cert-file",
                 etcdCertFile(dir, n.name), "--key-file", etcdKeyFile(dir, n.name),
                 "--peer-client-cert-auth", "--peer-trusted-ca-file", caFile(dir),
                 "--peer-cert-file", etcdCertFile(dir, n.name), "--peer-key-file",
                 etcdKeyFile(dir, n.name)});
    auto etcd_tls = etcdClientTls(dir);
    plan(kServer, {binary, "server", "--etcd-servers", etcdEndpoints(state, n.name),
                   "--etcd-cafile", etcd_tls.ca, "--etcd-certfile", etcd_tls.cert,
                   "--etcd-keyfile", etcd_tls.key,
                   "--bind-address", address, "--secure-port", std::to_string(kApiPort),
                   "--token-auth-file", tokenFile(dir), "--tls-cert-file",
                   serverCertFile(dir, n.name), "--tls-private-key-file",
                   serverKeyFile(dir, n.name), "--service-cluster-ip-range", kServiceRange,
                   // Logs and exec go to the agents' node API: verified against the cluster
                   // CA, and the server shows its own certificate as the client's.
                   "--kubelet-certificate-authority", caFile(dir),
                   "--kubelet-client-certificate", serverCertFile(dir, n.name),
                   "--kubelet-client-key", serverKeyFile(dir, n.name)});
  }
  plan(kVip, {binary, "lb", "--config", vipConfigFile(dir, n.name)});
  if (n.role == Role::Master) {
    // The database controller hands PostgresCluster members the cluster's etcd (the shared
    // client certificate: least privilege per database is later work) and a data directory
    // under the cluster's own directory.
    auto db_etcd = etcdClientTls(dir);
    plan(kController, {binary, "controller", "--kubeconfig",
                       componentKubeconfig(dir, n.name, "controller"),
                       "--leader-elect-identity", n.name, "--admin",
                       hostPort(address, kControllerAdminPort), "--database-etcd-servers",
                       etcdEndpoints(state), "--database-etcd-cafile", db_etcd.ca,
                       "--database-etcd-certfile", db_etcd.cert, "--database-etcd-keyfile",
                       db_etcd.key, "--database-data-dir", dir + "/databases"});
  }
  std::string labels = "topology.kubernetes.io/zone=" + n.zone;
  std::vector<std::string> agent = {binary, "agent", "--kubeconfig",
                                    componentKubeconfig(dir, n.name, "agent"), "--node-name",
                                    n.name, "--node-ip", address, "--pod-cidr",
                                    podCidr(n.ordinal), "--root-dir", nd + "/agent", "--port",
                                    std::to_string(kNodeApiPort), "--tls-cert-file",
                                    nodeCertFile(dir, n.name), "--tls-private-key-file",
                                    nodeKeyFile(dir, n.name), "--client-ca-file", caFile(dir)};
  if (n.role == Role::Master) {
    labels += ",node-role.kubernetes.io/control-plane=";
    agent.insert(agent.end(), {"--register-with-taints",
                               "node-role.kubernetes.io/control-plane=:NoSchedule"});
  }
  agent.insert(agent.end(), {"--labels", labels});
  plan(kAgent, agent);
  return plans;
}

ProcessPlan gatewayProcess(const std::string& dir, const std::string& binary,
                           const ClusterState& state) {
  return {"gateway", {binary, "lb", "--config", gatewayConfigFile(dir)}, dir + "/gateway.log",
          hubNamespace(state.name)};
}

}  // namespace rampart::cluster
