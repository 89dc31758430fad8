// `rampart server`: the Kubernetes-compatible API server over etcd, with kube-apiserver's flag
// names where they exist. Stateless: several may serve one etcd cluster.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "api/server.h"
#include "base/duration.h"
#include "base/log.h"
#include "cli/cli.h"
#include "kube/kubeconfig.h"
#include "net/pki.h"
#include "runtime/daemon.h"
#include "runtime/secret_file.h"
#include "store/etcd_codec.h"
#include "store/etcd_store.h"

namespace rampart::cli {
namespace {
namespace fs = std::filesystem;

struct ServerFlags {
  std::string etcd_servers;
  std::string etcd_cafile;
  std::string etcd_certfile;
  std::string etcd_keyfile;
  std::string etcd_prefix = "/registry";
  std::string bind_address = "0.0.0.0";
  int secure_port = 6443;
  std::string token_auth_file;
  std::string cert_dir = "/var/run/rampart";
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string client_ca_file;
  std::vector<std::string> tls_sans;
  std::string write_kubeconfig;
  std::string watch_bookmark_interval = "250ms";
  std::string kubeconfig_server;
  std::string service_cluster_ip_range = "10.96.0.0/12";
  std::string service_node_port_range = "30000-32767";
  std::string kubelet_certificate_authority;
  std::string kubelet_client_certificate;
  std::string kubelet_client_key;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart server: %s\n", message.c_str());
  return kUsageError;
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::InvalidArgument, "cannot read ", path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The serving certificate: the given one, or one under --cert-dir signed by a CA made there
// (kept across restarts, so kubeconfigs stay valid). Returns the CA a client should trust.
Result<std::string> servingCertificate(const ServerFlags& flags, net::TlsFiles& tls) {
  if (!flags.tls_cert_file.empty() || !flags.tls_private_key_file.empty()) {
    if (flags.tls_cert_file.empty() || flags.tls_private_key_file.empty()) {
      return fail(ErrorCode::InvalidArgument,
                  "--tls-cert-file and --tls-private-key-file must be given together");
    }
    tls.cert = flags.tls_cert_file;
    tls.key = flags.tls_private_key_file;
    return flags.tls_cert_file;
  }
  std::error_code ec;
  fs::create_directories(flags.cert_dir, ec);
  if (ec) {
    return fail(ErrorCode::InvalidArgument, "--cert-dir ", flags.cert_dir, ": ", ec.message());
  }
  std::string ca = flags.cert_dir + "/ca.pem";
  std::string cert = flags.cert_dir + "/apiserver.crt";
  std::string key = flags.cert_dir + "/apiserver.key";
  if (!fs::exists(ca)) {
    if (auto made = net::makeCa(flags.cert_dir, "rampart-apiserver-ca"); !made) {
      return fail(made.error());
    }
    fs::remove(cert, ec);
  }
  if (!fs::exists(cert) || !fs::exists(key)) {
    net::CertificateSpec spec;
    spec.common_name = "rampart-apiserver";
    spec.dns_names = {"localhost", "kubernetes", "kubernetes.default",
                      "kubernetes.default.svc"};
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
      spec.dns_names.push_back(host);
    }
    spec.ip_addresses = {"127.0.0.1"};
    if (flags.bind_address != "0.0.0.0" && flags.bind_address != "127.0.0.1" &&
        flags.bind_address != "::") {
      spec.ip_addresses.push_back(flags.bind_address);
    }
    for (const auto& san : flags.tls_sans) {
      bool is_ip = san.find_first_not_of("0123456789.:") == std::string::npos;
      (is_ip ? spec.ip_addresses : spec.dns_names).push_back(san);
    }
    spec.client_auth = false;
    if (auto issued = net::issueCertificate(flags.cert_dir, spec, cert, key); !issued) {
      return fail(issued.error());
    }
    log::get("server")->info("made a serving certificate cert={} ca={}", cert, ca);
  }
  tls.cert = cert;
  tls.key = key;
  return ca;
}

int runServer(const ServerFlags& flags) {
  if (flags.etcd_servers.empty()) {
    return usage("--etcd-servers is required");
  }
  auto endpoints = store::parseEndpointList(flags.etcd_servers);
  if (!endpoints) {
    return usage("--etcd-servers: " + endpoints.error().message);
  }
  if (flags.etcd_prefix.empty() || flags.etcd_prefix.front() != '/') {
    return usage("--etcd-prefix must start with '/'");
  }
  if (flags.secure_port < 0 || flags.secure_port > 65535) {
    return usage("--secure-port must be 0..65535");
  }
  api::ApiServerOptions options;
  options.prefix = flags.etcd_prefix;
  auto service_ips = api::Ipv4Range::parse(flags.service_cluster_ip_range);
  if (!service_ips) {
    return usage("--service-cluster-ip-range: " + service_ips.error().message);
  }
  options.service_ips = *service_ips;
  auto bookmarks = parseDuration(flags.watch_bookmark_interval);
  if (!bookmarks || *bookmarks <= Duration::zero()) {
    return usage("--watch-bookmark-interval: Invalid value: \"" + flags.watch_bookmark_interval +
                 "\": a positive duration such as 1s or 250ms");
  }
  options.watch_bookmark_interval = *bookmarks;
  auto node_ports = api::PortRange::parse(flags.service_node_port_range);
  if (!node_ports) {
    return usage("--service-node-port-range: " + node_ports.error().message);
  }
  options.node_ports = *node_ports;
  if (flags.kubelet_client_certificate.empty() != flags.kubelet_client_key.empty()) {
    return usage("--kubelet-client-certificate and --kubelet-client-key must be given together");
  }
  options.kubelet_tls.ca = flags.kubelet_certificate_authority;
  options.kubelet_tls.cert = flags.kubelet_client_certificate;
  options.kubelet_tls.key = flags.kubelet_client_key;
  if (!flags.token_auth_file.empty()) {
    auto tokens = api::TokenTable::load(flags.token_auth_file);
    if (!tokens) {
      return usage("--token-auth-file: " + tokens.error().message);
    }
    options.tokens = std::move(*tokens);
  }
  options.client_certificates = !flags.client_ca_file.empty();
  if (!options.tokens && !options.client_certificates) {
    return usage("no authentication configured: give --token-auth-file and/or --client-ca-file");
  }
  if (!flags.write_kubeconfig.empty() && !options.tokens) {
    return usage("--write-kubeconfig needs --token-auth-file (its first token is the admin's)");
  }
  net::TlsFiles tls;
  auto trust = servingCertificate(flags, tls);
  if (!trust) {
    return usage(trust.error().message);
  }
  tls.ca = flags.client_ca_file;

  store::EtcdOptions etcd;
  etcd.endpoints = *endpoints;
  etcd.tls.ca = flags.etcd_cafile;
  etcd.tls.cert = flags.etcd_certfile;
  etcd.tls.key = flags.etcd_keyfile;

  runtime::Daemon daemon("server");
  store::EtcdStore store(daemon.io().get_executor(), etcd);
  SteadyClock clock;
  api::ApiServer server(daemon.io().get_executor(), store, clock, daemon.metrics(), options);
  if (auto r = server.useTls(tls); !r) {
    return usage(r.error().message);
  }
  auto bound = server.listen({flags.bind_address, static_cast<uint16_t>(flags.secure_port)});
  if (!bound) {
    return usage(bound.error().message);
  }
  std::string host = flags.bind_address == "0.0.0.0" ? "127.0.0.1" : flags.bind_address;
  std::string url = flags.kubeconfig_server.empty()
                        ? "https://" + host + ":" + std::to_string(bound->port)
                        : flags.kubeconfig_server;
  if (!flags.write_kubeconfig.empty()) {
    auto ca = readFile(*trust);
    if (!ca) {
      return usage("--write-kubeconfig: " + ca.error().message);
    }
    if (auto r = kube::writeKubeConfig(flags.write_kubeconfig, url, *ca,
                                       options.tokens->firstToken());
        !r) {
      return usage("--write-kubeconfig: " + r.error().message);
    }
  }
  log::get("server")->info("serving address={} etcd={} prefix={}", url, flags.etcd_servers,
                           flags.etcd_prefix);
  std::printf("{\"event\":\"serving\",\"url\":\"%s\",\"port\":%u}\n", url.c_str(), bound->port);
  std::fflush(stdout);
  daemon.onShutdown([&server]() -> boost::asio::awaitable<void> {
    server.stop();
    co_return;
  });
  return daemon.run([&server]() -> boost::asio::awaitable<int> {
    co_await server.probeEtcd();
    co_return 0;
  });
}

}  // namespace

void addServer(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ServerFlags>();
  auto* cmd = app.add_subcommand(
      "server", "Serve the Kubernetes API (kubectl's subset) from etcd, over HTTPS");
  cmd->add_option("--etcd-servers", flags->etcd_servers,
                  "etcd endpoints, comma-separated (https://10.0.0.1:2379,...)")
      ->required();
  cmd->add_option("--etcd-cafile", flags->etcd_cafile, "CA bundle to verify etcd's members");
  cmd->add_option("--etcd-certfile", flags->etcd_certfile, "client certificate for etcd");
  cmd->add_option("--etcd-keyfile", flags->etcd_keyfile, "its key");
  cmd->add_option("--etcd-prefix", flags->etcd_prefix, "where the API's objects live in etcd")
      ->capture_default_str();
  cmd->add_option("--bind-address", flags->bind_address, "address to listen on")
      ->capture_default_str();
  cmd->add_option("--secure-port", flags->secure_port, "HTTPS port (0: any free port)")
      ->capture_default_str();
  cmd->add_option("--token-auth-file", flags->token_auth_file,
                  "bearer tokens, CSV lines token,user,uid[,\"group1,group2\"]");
  cmd->add_option("--client-ca-file", flags->client_ca_file,
                  "accept client certificates signed by this CA (the CN is the user)");
  cmd->add_option("--tls-cert-file", flags->tls_cert_file, "serving certificate (PEM)");
  cmd->add_option("--tls-private-key-file", flags->tls_private_key_file, "its key");
  cmd->add_option("--cert-dir", flags->cert_dir,
                  "without --tls-cert-file: a CA and a serving certificate are made (and kept) here")
      ->capture_default_str();
  cmd->add_option("--tls-san", flags->tls_sans,
                  "extra names/addresses for the made serving certificate (repeatable)");
  cmd->add_option("--write-kubeconfig", flags->write_kubeconfig,
                  "write an admin kubeconfig (first token of the token file) to this file");
  cmd->add_option("--kubeconfig-server", flags->kubeconfig_server,
                  "the server URL written into that kubeconfig (default: the bound address)");
  cmd->add_option("--watch-bookmark-interval", flags->watch_bookmark_interval,
                  "send a BOOKMARK to watches that allow them after this long without events")
      ->capture_default_str();
  cmd->add_option("--service-cluster-ip-range", flags->service_cluster_ip_range,
                  "IPv4 CIDR from which Services get their cluster IP (unique across servers)")
      ->capture_default_str();
  cmd->add_option("--service-node-port-range", flags->service_node_port_range,
                  "ports from which NodePort and LoadBalancer Services get their node ports "
                  "(unique across servers)")
      ->capture_default_str();
  cmd->add_option("--kubelet-certificate-authority", flags->kubelet_certificate_authority,
                  "CA that node agents' serving certificates chain to (pods/log); default: the "
                  "system's CAs");
  cmd->add_option("--kubelet-client-certificate", flags->kubelet_client_certificate,
                  "client certificate presented to node agents");
  cmd->add_option("--kubelet-client-key", flags->kubelet_client_key, "its key");
  cmd->callback([&action, flags] { action = [flags] { return runServer(*flags); }; });
}

}  // namespace rampart::cli
