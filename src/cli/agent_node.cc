#include "cli/agent_node.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/node/agent.h"
#include "agent/node_spec.h"
#include "agent/nodeapi/node_api_server.h"
#include "agent/podnet/pod_network.h"
#include "agent/runtime/enter.h"
#include "agent/runtime/runtime.h"
#include "agent/services/service_proxy.h"
#include "base/duration.h"
#include "base/log.h"
#include "cli/cli.h"
#include "kube/http_client.h"
#include "kube/kubeconfig.h"
#include "net/pki.h"
#include "runtime/daemon.h"

namespace rampart::cli {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart agent: %s\n", message.c_str());
  return kUsageError;
}

bool isIpv4(const std::string& text) {
  in_addr addr{};
  return ::inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

Result<Duration> durationFlag(const std::string& name, const std::string& text, Duration min) {
  auto d = parseDuration(text);
  if (!d || *d < min) {
    return fail(ErrorCode::InvalidArgument, name, ": Invalid value: \"", text,
                "\": must be a duration of at least ", formatDuration(min));
  }
  return *d;
}

Result<agent::node::AgentOptions> agentOptions(const NodeAgentFlags& flags) {
  agent::node::AgentOptions options;
  auto& node = options.node;
  node.name = flags.node_name;
  if (node.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    node.name = host;
  }
  if (node.name.empty() || node.name.size() > 63) {
    return fail(ErrorCode::InvalidArgument, "--node-name: Invalid value: \"", node.name,
                "\": must be 1..63 characters");
  }
  auto labels = agent::parseLabels(flags.labels);
  if (!labels) {
    return fail(labels.error());
  }
  node.labels = std::move(*labels);
  node.internal_ip = flags.node_ip.empty() ? "127.0.0.1" : flags.node_ip;
  if (!isIpv4(node.internal_ip)) {
    return fail(ErrorCode::InvalidArgument, "--node-ip: Invalid value: \"", node.internal_ip,
                "\": must be an IPv4 address");
  }
  node.pod_cidr = flags.pod_cidr;
  auto reserved = agent::node::parseReserved(flags.system_reserved);
  if (!reserved) {
    return fail(reserved.error());
  }
  node.reserved_cpu_milli = reserved->first;
  node.reserved_memory_bytes = reserved->second;
  auto taints = agent::node::parseTaints(flags.taints);
  if (!taints) {
    return fail(taints.error());
  }
  node.taints = std::move(*taints);
  if (flags.max_pods < 1 || flags.max_pods > 1000) {
    return fail(ErrorCode::InvalidArgument, "--node-max-pods: Invalid value: ",
                std::to_string(flags.max_pods), ": must be 1..1000");
  }
  node.max_pods = flags.max_pods;
  if (flags.port < 0 || flags.port > 65535) {
    return fail(ErrorCode::InvalidArgument, "--port: Invalid value: ", std::to_string(flags.port),
                ": must be 0..65535");
  }
  node.port = flags.port;
  options.root_dir = flags.root_dir;
  auto renew = durationFlag("--lease-renew-interval", flags.renew_interval,
                            std::chrono::milliseconds(10));
  if (!renew) {
    return fail(renew.error());
  }
  options.renew_interval = *renew;
  options.lease_duration = *renew * 4;
  if (!flags.lease_duration.empty()) {
    auto duration = parseDuration(flags.lease_duration);
    if (!duration || *duration <= *renew) {
      return fail(ErrorCode::InvalidArgument, "--lease-duration: Invalid value: \"",
                  flags.lease_duration,
                  "\": must be a duration longer than --lease-renew-interval");
    }
    options.lease_duration = *duration;
  }
  auto status = durationFlag("--node-status-update-frequency", flags.status_interval,
                             std::chrono::milliseconds(100));
  if (!status) {
    return fail(status.error());
  }
  options.status_interval = *status;
  auto initial = durationFlag("--crash-loop-initial-delay", flags.crash_loop_initial_delay,
                              std::chrono::milliseconds(10));
  if (!initial) {
    return fail(initial.error());
  }
  options.backoff.initial = *initial;
  // The fence must outlast a poll and the margin, or no unique pod could ever run.
  auto fence = durationFlag("--node-fence-after", flags.fence_after, std::chrono::milliseconds(300));
  if (!fence) {
    return fail(fence.error());
  }
  options.fence_after = *fence;
  if (flags.service_proxy_workers < 1 || flags.service_proxy_workers > 64) {
    return fail(ErrorCode::InvalidArgument, "--service-proxy-workers: Invalid value: ",
                std::to_string(flags.service_proxy_workers), ": must be 1..64");
  }
  options.services.workers = flags.service_proxy_workers;
  options.services.node_ip = node.internal_ip;
  return options;
}

// The node API's certificate: the given one, else one signed by a CA the agent keeps under
// <root>/pki (made once). Plain HTTP only on a loopback address, where the API server also
// speaks plain HTTP to it (api/log_proxy.h).
Result<std::optional<net::TlsFiles>> nodeApiTls(const NodeAgentFlags& flags,
                                                const std::string& address) {
  if (flags.tls_cert_file.empty() != flags.tls_private_key_file.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "--tls-cert-file and --tls-private-key-file must be given together");
  }
  net::TlsFiles tls;
  tls.ca = flags.client_ca_file;
  if (!flags.tls_cert_file.empty()) {
    tls.cert = flags.tls_cert_file;
    tls.key = flags.tls_private_key_file;
    return std::optional<net::TlsFiles>(tls);
  }
  if (address.rfind("127.", 0) == 0) {
    return std::optional<net::TlsFiles>();
  }
  std::string dir = flags.root_dir + "/pki";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::exists(dir + "/ca.pem")) {
    if (auto made = net::makeCa(dir, "rampart-agent-ca"); !made) {
      return fail(made.error());
    }
  }
  tls.cert = dir + "/agent.crt";
  tls.key = dir + "/agent.key";
  if (!fs::exists(tls.cert) || !fs::exists(tls.key)) {
    net::CertificateSpec spec;
    spec.common_name = "rampart-agent";
    spec.ip_addresses = {address, "127.0.0.1"};
    spec.client_auth = false;
    if (auto issued = net::issueCertificate(dir, spec, tls.cert, tls.key); !issued) {
      return fail(issued.error());
    }
  }
  return std::optional<net::TlsFiles>(tls);
}

}  // namespace

int runNodeAgent(const NodeAgentFlags& flags) {
  if (flags.kubeconfig.empty()) {
    return usage("--kubeconfig is required");
  }
  auto options = agentOptions(flags);
  if (!options) {
    return usage(options.error().message);
  }
  auto timeout = parseDuration(flags.request_timeout);
  if (!timeout || *timeout <= Duration::zero()) {
    return usage("--request-timeout: Invalid value: \"" + flags.request_timeout +
                 "\": must be a positive duration");
  }
  if (::geteuid() != 0) {
    return usage(
        "needs root: it runs pods under cgroups, as other users and in their own network "
        "namespaces (for simulated nodes without root, use --simulate N)");
  }
  auto config = kube::loadKubeConfig(flags.kubeconfig);
  if (!config) {
    return usage(config.error().message);
  }
  std::error_code ec;
  for (const char* sub : {"", "/state", "/logs", "/pods"}) {
    fs::create_directories(options->root_dir + sub, ec);
    if (ec) {
      return usage("--root-dir " + options->root_dir + ": " + ec.message());
    }
  }
  fs::permissions(options->root_dir, fs::perms(0755), ec);

  std::unique_ptr<agent::podnet::PodNetwork> network;
  if (!options->node.pod_cidr.empty()) {
    agent::podnet::Config net_config;
    net_config.node_name = options->node.name;
    net_config.pod_cidr = options->node.pod_cidr;
    auto made = agent::podnet::PodNetwork::create(net_config);
    if (!made) {
      return usage("--pod-cidr " + options->node.pod_cidr + ": " + made.error().message);
    }
    network = std::move(*made);
  }

  runtime::Daemon daemon("agent");
  kube::HttpClientOptions client_options;
  client_options.request_timeout = *timeout;
  client_options.user_agent = "rampart-agent";
  // As for the controllers: a watch silent for 2 s (bookmarks come every 250 ms) is held by a
  // stalled API server and is replaced through the VIP.
  client_options.watch_idle_timeout = std::chrono::seconds(2);
  auto client = kube::HttpClient::make(daemon.io().get_executor(), *config, client_options);
  if (!client) {
    return usage(client.error().message);
  }
  // The Lease's client: a renewal answered after lease_duration − renew_interval is too late to
  // keep the node alive anyway (see AgentOptions::lease_client).
  kube::HttpClientOptions lease_options = client_options;
  lease_options.request_timeout = std::min(
      *timeout, std::max(options->renew_interval, options->lease_duration - options->renew_interval));
  auto lease_client = kube::HttpClient::make(daemon.io().get_executor(), *config, lease_options);
  if (!lease_client) {
    return usage(lease_client.error().message);
  }
  options->lease_client = lease_client->get();
  agent::runtime::RuntimeOptions runtime_options;
  runtime_options.state_dir = options->root_dir + "/state";
  runtime_options.log_dir = options->root_dir + "/logs";
  // One cgroup tree per node, so several nodes of a lab on one machine never share one.
  runtime_options.cgroup_name = "rampart-" + options->node.name;
  agent::runtime::Runtime runtime(daemon.io().get_executor(), runtime_options);

  std::string address = flags.address.empty() ? options->node.internal_ip : flags.address;
  auto tls = nodeApiTls(flags, address);
  if (!tls) {
    return usage(tls.error().message);
  }
  // Declared before the agent, which uses it until it is destroyed.
  std::unique_ptr<agent::services::ServiceProxy> proxy;
  if (flags.services.value_or(!options->node.pod_cidr.empty())) {
    proxy = std::make_unique<agent::services::ServiceProxy>(
        daemon.metrics(), options->root_dir + "/services-vips");
  }
  std::unique_ptr<agent::node::Agent> agent;
  agent::nodeapi::NodeApiOptions api_options;
  api_options.listen = net::Endpoint{address, static_cast<uint16_t>(options->node.port)};
  api_options.tls = *tls;
  auto lookup = [&agent](const std::string& ns, const std::string& pod,
                         const std::string& container) -> std::optional<agent::nodeapi::ContainerRef> {
    if (!agent) {
      return std::nullopt;
    }
    return agent->lookup(ns, pod, container);
  };
  auto spawn = [](const agent::nodeapi::ContainerRef& ref, std::vector<std::string> argv,
                  int in_fd, int out_fd, int err_fd) -> Result<pid_t> {
    agent::runtime::EnterOptions enter;
    enter.target = ref.pid;
    enter.argv = std::move(argv);
    enter.stdin_fd = in_fd;
    enter.stdout_fd = out_fd;
    enter.stderr_fd = err_fd;
    return agent::runtime::spawnInContainer(enter);
  };
  agent::nodeapi::NodeApiServer api(daemon.io().get_executor(), lookup, spawn, api_options);
  auto bound = api.start();
  if (!bound) {
    return usage("node API on " + address + ":" + std::to_string(options->node.port) + ": " +
                 bound.error().message);
  }
  options->node.port = bound->port;
  agent = std::make_unique<agent::node::Agent>(
      daemon.io().get_executor(), **client, SteadyClock::instance(),
      [] { return std::chrono::system_clock::now(); }, *options, runtime, network.get(), proxy.get());

  bool done = false;
  daemon.onShutdown([&]() -> asio::awaitable<void> {
    // Pods keep running: the agent stops watching and renewing, its containers' shims stay.
    agent->stop();
    api.stop();
    asio::steady_timer wait(daemon.io());
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done && std::chrono::steady_clock::now() < until) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  });
  return daemon.run([&]() -> asio::awaitable<int> {
    auto started = co_await agent->start();
    if (!started) {
      done = true;
      log::get("agent")->error("cannot start: {}", started.error().message);
      co_return 1;
    }
    log::get("agent")->info("node {} ready ip={} pod-cidr={} api={}:{} services={}",
                            options->node.name, options->node.internal_ip,
                            options->node.pod_cidr.empty() ? "none" : options->node.pod_cidr,
                            address, options->node.port, proxy ? "on" : "off");
    std::printf("{\"event\":\"ready\",\"node\":\"%s\",\"port\":%d}\n", options->node.name.c_str(),
                options->node.port);
    std::fflush(stdout);
    daemon.setReady(true);
    co_await agent->run();
    done = true;
    co_return 0;
  });
}

}  // namespace rampart::cli
