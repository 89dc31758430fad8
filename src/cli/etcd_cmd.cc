// `rampart etcd up|down|status`: a local etcd cluster on loopback for the lab, tests and demos.

#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "cli/cli.h"
#include "lab/etcd_cluster.h"

namespace rampart::cli {
namespace {

struct EtcdUpFlags {
  int members = 3;
  std::string dir;
  std::string heartbeat = "10ms";
  std::string election = "100ms";
  bool json = false;
  bool tls = false;
  bool auth = false;
};

int etcdUp(const EtcdUpFlags& flags) {
  auto heartbeat = parseDuration(flags.heartbeat);
  auto election = parseDuration(flags.election);
  if (!heartbeat || !election) {
    std::fprintf(stderr, "rampart etcd up: --%s: %s\n", heartbeat ? "election" : "heartbeat",
                 (heartbeat ? election.error() : heartbeat.error()).message.c_str());
    return kUsageError;
  }
  lab::EtcdClusterOptions options;
  options.members = flags.members;
  options.dir = flags.dir;
  options.heartbeat = *heartbeat;
  options.election = *election;
  options.die_with_parent = false;
  options.tls = flags.tls || flags.auth;
  options.auth = flags.auth;
  auto cluster = lab::EtcdCluster::start(options);
  if (!cluster) {
    std::fprintf(stderr, "rampart etcd up: %s\n", cluster.error().message.c_str());
    return cluster.error().code == ErrorCode::InvalidArgument ? kUsageError : 1;
  }
  if (auto written = (*cluster)->writeStateFile(); !written) {
    std::fprintf(stderr, "rampart etcd up: %s\n", written.error().message.c_str());
    return 1;
  }
  (*cluster)->release();
  const auto& tls = (*cluster)->clientTls();
  std::string pki = (*cluster)->pkiDir();
  if (flags.json) {
    nlohmann::json out = {{"endpoints", (*cluster)->endpointList()}, {"dir", flags.dir}};
    if (options.tls) {
      out["tls"] = {{"ca", tls.ca},
                    {"cert", tls.cert},
                    {"key", tls.key},
                    {"root_cert", pki + "/root.pem"},
                    {"root_key", pki + "/root-key.pem"}};
    }
    if (options.auth) {
      out["root_password_file"] = (*cluster)->rootPasswordFile();
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("etcd: %zu members healthy\nendpoints: %s\n", (*cluster)->members().size(),
                (*cluster)->endpointList().c_str());
    if (options.tls) {
      std::printf(
          "ca: %s\nclient cert (Rampart): %s  key: %s\n"
          "etcdctl: etcdctl --endpoints %s --cacert %s --cert %s/root.pem --key "
          "%s/root-key.pem ...\n",
          tls.ca.c_str(), tls.cert.c_str(), tls.key.c_str(), (*cluster)->endpointList().c_str(),
          tls.ca.c_str(), pki.c_str(), pki.c_str());
    }
    if (options.auth) {
      std::printf("etcd auth on: user root, password in %s\n",
                  (*cluster)->rootPasswordFile().c_str());
    }
    std::printf("stop with: rampart etcd down --dir %s\n", flags.dir.c_str());
  }
  return 0;
}

int etcdDown(const std::string& dir) {
  auto stopped = lab::stopFromStateFile(dir);
  if (!stopped) {
    std::fprintf(stderr, "rampart etcd down: %s\n", stopped.error().message.c_str());
    return 1;
  }
  std::printf("etcd: stopped %d member(s) in %s\n", *stopped, dir.c_str());
  return 0;
}

}  // namespace

void addEtcd(CLI::App& app, Action& action) {
  auto* etcd = app.add_subcommand("etcd", "Run a local etcd cluster on loopback (lab and tests)");
  etcd->require_subcommand(1);

  auto flags = std::make_shared<EtcdUpFlags>();
  auto* up = etcd->add_subcommand("up", "Start etcd members and wait until they are healthy");
  up->add_option("--members", flags->members, "number of members (1-9)")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  up->add_option("--dir", flags->dir, "directory for data, logs and cluster.json")->required();
  up->add_option("--heartbeat", flags->heartbeat, "raft heartbeat interval")->capture_default_str();
  up->add_option("--election", flags->election, "raft election timeout (>= 5 x heartbeat)")
      ->capture_default_str();
  up->add_flag("--json", flags->json, "print the endpoints as JSON");
  up->add_flag("--tls", flags->tls,
               "https:// with client certificates: a lab CA and certificates in <dir>/pki");
  up->add_flag("--auth", flags->auth,
               "turn etcd users/roles on (implies --tls); root's password "
               "in <dir>/pki/root.password");
  up->callback([&action, flags] { action = [flags] { return etcdUp(*flags); }; });

  auto down_dir = std::make_shared<std::string>();
  auto* down = etcd->add_subcommand("down", "Stop the etcd members started by `etcd up`");
  down->add_option("--dir", *down_dir, "the directory given to `etcd up`")->required();
  down->callback([&action, down_dir] { action = [down_dir] { return etcdDown(*down_dir); }; });
}

}  // namespace rampart::cli
