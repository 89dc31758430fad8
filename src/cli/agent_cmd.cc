// `rampart agent`: the node agent. On a real node it runs the pods bound to it (cli/agent_node.h,
// agent/node/agent.h); with `--simulate N` it registers N hollow nodes that renew their Leases and
// report their pods Running (agent/simulator.h), so the control plane can be driven and measured
// without running anything.

#include <cstdio>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "agent/simulator.h"
#include "cli/agent_node.h"
#include "base/duration.h"
#include "base/log.h"
#include "cli/cli.h"
#include "kube/http_client.h"
#include "kube/kubeconfig.h"
#include "runtime/daemon.h"

namespace rampart::cli {
namespace {
namespace asio = boost::asio;
using json = nlohmann::json;

struct AgentFlags {
  std::string kubeconfig;
  int simulate = 0;
  std::string name_prefix = "sim-";
  std::string labels;
  std::string zones;
  std::string renew_interval = "200ms";
  std::string lease_duration;  // default: 4 × the renew interval (the kubelet's ratio)
  std::string cpu = "8";
  std::string memory = "32Gi";
  int max_pods = 110;
  int max_in_flight = 32;
  std::string request_timeout = "10s";
};

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart agent: %s\n", message.c_str());
  return kUsageError;
}

Result<agent::SimulatorOptions> simulatorOptions(const AgentFlags& flags) {
  agent::SimulatorOptions options;
  if (flags.simulate < 1 || flags.simulate > agent::kMaxSimulatedNodes) {
    return fail(ErrorCode::InvalidArgument,
                "--simulate: Invalid value: ", std::to_string(flags.simulate), ": must be 1..",
                std::to_string(agent::kMaxSimulatedNodes));
  }
  options.nodes = flags.simulate;
  auto interval = parseDuration(flags.renew_interval);
  if (!interval || *interval < std::chrono::milliseconds(10)) {
    return fail(ErrorCode::InvalidArgument, "--lease-renew-interval: Invalid value: \"",
                flags.renew_interval, "\": must be a duration of at least 10ms");
  }
  options.renew_interval = *interval;
  options.spec.lease_duration = *interval * 4;
  if (!flags.lease_duration.empty()) {
    auto duration = parseDuration(flags.lease_duration);
    if (!duration || *duration <= *interval) {
      return fail(ErrorCode::InvalidArgument, "--lease-duration: Invalid value: \"",
                  flags.lease_duration,
                  "\": must be a duration longer than --lease-renew-interval");
    }
    options.spec.lease_duration = *duration;
  }
  options.spec.name_prefix = flags.name_prefix;
  auto labels = agent::parseLabels(flags.labels);
  if (!labels) {
    return fail(labels.error());
  }
  options.spec.labels = std::move(*labels);
  auto zones = agent::parseZones(flags.zones);
  if (!zones) {
    return fail(zones.error());
  }
  options.spec.zones = std::move(*zones);
  options.spec.cpu = flags.cpu;
  options.spec.memory = flags.memory;
  options.spec.max_pods = flags.max_pods;
  if (auto valid = agent::validate(options.spec); !valid) {
    return fail(valid.error());
  }
  if (flags.max_in_flight < 1 || flags.max_in_flight > 1024) {
    return fail(ErrorCode::InvalidArgument,
                "--max-in-flight: Invalid value: ", std::to_string(flags.max_in_flight),
                ": must be 1..1024");
  }
  options.max_in_flight = flags.max_in_flight;
  return options;
}

void printEvent(const json& event) {
  std::printf("%s\n", event.dump().c_str());
  std::fflush(stdout);
}

json statsJson(const agent::SimulatorStats& s) {
  return json{{"nodes_registered", s.nodes_registered},
              {"leases_renewed", s.leases_renewed},
              {"lease_failures", s.lease_failures},
              {"lease_slots_missed", s.lease_slots_missed},
              {"pods_started", s.pods_started},
              {"pods_deleted", s.pods_deleted},
              {"pod_write_conflicts", s.pod_write_conflicts},
              {"pod_write_failures", s.pod_write_failures},
              {"watch_restarts", s.watch_restarts},
              {"relists", s.relists}};
}

int runSimulated(const AgentFlags& flags) {
  if (flags.kubeconfig.empty()) {
    return usage("--kubeconfig is required");
  }
  auto options = simulatorOptions(flags);
  if (!options) {
    return usage(options.error().message);
  }
  auto timeout = parseDuration(flags.request_timeout);
  if (!timeout || *timeout <= Duration::zero()) {
    return usage("--request-timeout: Invalid value: \"" + flags.request_timeout +
                 "\": must be a positive duration");
  }
  auto config = kube::loadKubeConfig(flags.kubeconfig);
  if (!config) {
    return usage(config.error().message);
  }
  runtime::Daemon daemon("agent");
  kube::HttpClientOptions client_options;
  client_options.request_timeout = *timeout;
  client_options.user_agent = "rampart-agent";
  auto client = kube::HttpClient::make(daemon.io().get_executor(), *config, client_options);
  if (!client) {
    return usage(client.error().message);
  }
  agent::Simulator simulator(
      daemon.io().get_executor(), **client, SteadyClock::instance(),
      [] { return std::chrono::system_clock::now(); }, *options);
  bool done = false;
  daemon.onShutdown([&]() -> asio::awaitable<void> {
    // Stop renewing first; then give in-flight calls up to a request timeout to finish.
    simulator.stop();
    asio::steady_timer wait(daemon.io());
    auto until = std::chrono::steady_clock::now() + *timeout;
    while (!done && std::chrono::steady_clock::now() < until) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  });
  return daemon.run([&]() -> asio::awaitable<int> {
    auto started = std::chrono::steady_clock::now();
    auto registered = co_await simulator.registerNodes();
    if (!registered) {
      done = true;
      if (registered.error().code == ErrorCode::Cancelled) {
        co_return 0;
      }
      log::get("agent")->error("cannot register the simulated nodes: {}",
                               registered.error().message);
      co_return 1;
    }
    auto took = std::chrono::steady_clock::now() - started;
    log::get("agent")->info("registered simulated nodes count={} prefix={} took={:.0f}ms",
                            options->nodes, options->spec.name_prefix, toMillis(took));
    printEvent({{"event", "registered"},
                {"nodes", options->nodes},
                {"prefix", options->spec.name_prefix},
                {"ms", toMillis(took)}});
    daemon.setReady(true);
    co_await simulator.run();
    printEvent({{"event", "stopped"}, {"stats", statsJson(simulator.stats())}});
    done = true;
    co_return 0;
  });
}

}  // namespace

void addAgent(CLI::App& app, Action& action) {
  auto flags = std::make_shared<AgentFlags>();
  auto node = std::make_shared<NodeAgentFlags>();
  auto* cmd = app.add_subcommand(
      "agent",
      "Node agent: runs the pods bound to this node (root), or --simulate N hollow nodes");
  cmd->add_option("--kubeconfig", flags->kubeconfig, "credentials and server of the API");
  cmd->add_option("--simulate", flags->simulate,
                  "register N simulated nodes that renew their Leases and report bound pods "
                  "Running");
  cmd->add_option("--node-name-prefix", flags->name_prefix, "simulated nodes are PREFIX0..N-1")
      ->capture_default_str();
  cmd->add_option("--labels", flags->labels, "extra node labels, k=v,k2=v2");
  cmd->add_option("--zones", flags->zones,
                  "topology.kubernetes.io/zone values, given round-robin (a,b,c)");
  cmd->add_option("--lease-renew-interval", flags->renew_interval,
                  "each node renews its Lease this often (spread over the interval)")
      ->capture_default_str();
  cmd->add_option("--lease-duration", flags->lease_duration,
                  "the Leases' duration (default: 4 x the renew interval)");
  cmd->add_option("--node-cpu", flags->cpu, "capacity and allocatable cpu")->capture_default_str();
  cmd->add_option("--node-memory", flags->memory, "capacity and allocatable memory")
      ->capture_default_str();
  cmd->add_option("--node-max-pods", flags->max_pods, "capacity and allocatable pods")
      ->capture_default_str();
  cmd->add_option("--max-in-flight", flags->max_in_flight, "concurrent API writes")
      ->capture_default_str();
  cmd->add_option("--request-timeout", flags->request_timeout, "deadline of each API call")
      ->capture_default_str();
  cmd->add_option("--node-name", node->node_name, "this node's name (default: the host name)");
  cmd->add_option("--node-ip", node->node_ip, "this node's InternalIP (default 127.0.0.1)");
  cmd->add_option("--pod-cidr", node->pod_cidr,
                  "this node's pod range (e.g. 10.64.3.0/24): each pod gets a network namespace "
                  "and an address from it; without it only hostNetwork pods run");
  cmd->add_option("--root-dir", node->root_dir, "pods' volumes, state and logs")
      ->capture_default_str();
  cmd->add_option("--system-reserved", node->system_reserved,
                  "cpu and memory kept from pods: cpu=500m,memory=1Gi");
  cmd->add_option("--register-with-taints", node->taints,
                  "taints the node registers with: key=value:Effect,...");
  cmd->add_option("--port", node->port, "node API port (logs, exec); 0 picks a free one")
      ->capture_default_str();
  cmd->add_option("--address", node->address, "node API address (default: --node-ip)");
  cmd->add_option("--tls-cert-file", node->tls_cert_file,
                  "node API certificate (default: one made under --root-dir/pki)");
  cmd->add_option("--tls-private-key-file", node->tls_private_key_file,
                  "its private key");
  cmd->add_option("--client-ca-file", node->client_ca_file,
                  "require node API clients (the API servers) to present a certificate this CA "
                  "signed");
  cmd->add_option("--node-status-update-frequency", node->status_interval,
                  "how often the node's conditions are refreshed")
      ->capture_default_str();
  cmd->add_option("--crash-loop-initial-delay", node->crash_loop_initial_delay,
                  "the first back-off delay of a crashing container (doubling, up to 300s)")
      ->capture_default_str();
  cmd->add_option("--node-fence-after", node->fence_after,
                  "the controller's --node-fence-after: a pod that must not run twice is killed "
                  "on this node this long after the last Lease renewal that reached the API, "
                  "less a margin")
      ->capture_default_str();
  auto services = std::make_shared<bool>(false);
  auto* services_option = cmd->add_flag(
      "--services", *services,
      "serve every Service's ClusterIP (and NodePort) on this node, kube-proxy's job "
      "(--services=false to turn off; default: on with --pod-cidr)");
  cmd->add_option("--service-proxy-workers", node->service_proxy_workers,
                  "data-path threads of the Services' balancer")
      ->capture_default_str();
  cmd->callback([&action, flags, node, services, services_option] {
    if (services_option->count() > 0) {
      node->services = *services;
    }
    action = [flags, node] {
      if (flags->simulate == 0) {
        NodeAgentFlags real = *node;
        real.kubeconfig = flags->kubeconfig;
        real.labels = flags->labels;
        real.max_pods = flags->max_pods;
        real.renew_interval = flags->renew_interval;
        real.lease_duration = flags->lease_duration;
        real.request_timeout = flags->request_timeout;
        return runNodeAgent(real);
      }
      return runSimulated(*flags);
    };
  });
}

}  // namespace rampart::cli
