// `rampart pg`: the PostgreSQL member manager (`rampart pg --config member.yaml`), the
// patronictl-shaped operations on a running cluster (list, switchover, failover, pause, resume,
// restart, reinit), and the local lab (`rampart pg lab up|down`).

#include <algorithm>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli/cli.h"
#include "net/http/client.h"
#include "pg/config.h"
#include "pg/lab.h"
#include "pg/manager.h"
#include "pg/state.h"
#include "runtime/daemon.h"
#include "runtime/secret_file.h"
#include "store/etcd_store.h"
#include "testing/run_loop.h"

namespace rampart::cli {
namespace {
namespace asio = boost::asio;
using nlohmann::json;

struct PgFlags {
  std::string config_file;
  std::string to;
  std::string member;
  bool force = false;
  int lab_members = 3;
  bool lab_no_tls = false;
  std::string lab_dir;
  bool json_output = false;
  // etcd access for the operator commands (etcdctl's names); each overrides the config file's.
  std::string cacert;
  std::string cert;
  std::string key;
  std::string user;
  std::string password_file;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart pg: %s\n", message.c_str());
  return kUsageError;
}

Result<pg::MemberConfig> loadConfig(const PgFlags& flags) {
  if (flags.config_file.empty()) {
    return fail(ErrorCode::InvalidArgument, "--config member.yaml is required");
  }
  auto config = pg::loadMemberConfig(flags.config_file);
  if (!config) {
    return config;
  }
  if (!flags.cacert.empty()) {
    config->etcd_tls.ca = flags.cacert;
  }
  if (!flags.cert.empty() || !flags.key.empty()) {
    if (flags.cert.empty() || flags.key.empty()) {
      return fail(ErrorCode::InvalidArgument, "--cert and --key must be given together");
    }
    config->etcd_tls.cert = flags.cert;
    config->etcd_tls.key = flags.key;
  }
  if (!flags.user.empty()) {
    config->etcd_user = flags.user;
    config->etcd_password_file = flags.password_file;
  }
  if (!flags.password_file.empty()) {
    if (auto r = runtime::checkSecretFilePermissions(flags.password_file); !r) {
      return fail(ErrorCode::InvalidArgument, "--password-file: ", r.error().message);
    }
  }
  return config;
}

// The store options for an operator command: the member's, with a longer timeout.
store::EtcdOptions operatorEtcdOptions(const pg::MemberConfig& config) {
  auto options = config.etcdOptions();
  options.request_timeout = std::chrono::seconds(2);
  return options;
}

// The cluster as etcd has it: every key under the cluster's prefix.
struct ClusterKeys {
  std::string leader;
  std::map<std::string, pg::MemberStatus> members;
  std::optional<pg::SyncState> sync;
  bool paused = false;
};

Result<ClusterKeys> readCluster(const pg::MemberConfig& config) {
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), operatorEtcdOptions(config));
  pg::Keys keys{config.keyPrefix()};
  auto work = [&]() -> asio::awaitable<Result<store::RangeResponse>> {
    auto request = store::RangeRequest::prefix(keys.prefix);
    co_return co_await store.range(std::move(request));
  };
  auto listed = testing::runLoop(io, work());
  if (!listed) {
    return fail(listed.error());
  }
  ClusterKeys out;
  for (const auto& kv : listed->kvs) {
    if (kv.key == keys.leader()) {
      out.leader = kv.value;
    } else if (kv.key.rfind(keys.members(), 0) == 0) {
      if (auto s = pg::decodeMemberStatus(kv.value)) {
        out.members[s->name] = *s;
      }
    } else if (kv.key == keys.sync()) {
      if (auto s = pg::decodeSyncState(kv.value)) {
        out.sync = *s;
      }
    } else if (kv.key == keys.config()) {
      if (auto s = pg::decodeClusterSettings(kv.value)) {
        out.paused = s->paused;
      }
    }
  }
  return out;
}

Result<void> putKey(const pg::MemberConfig& config, const std::string& key,
                    const std::string& value) {
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), operatorEtcdOptions(config));
  auto work = [&]() -> asio::awaitable<Result<store::PutResponse>> {
    store::PutRequest put{key, value};
    co_return co_await store.put(std::move(put));
  };
  auto r = testing::runLoop(io, work());
  if (!r) {
    return fail(r.error());
  }
  return ok();
}

int runList(const PgFlags& flags) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  auto cluster = readCluster(*config);
  if (!cluster) {
    std::fprintf(stderr, "rampart pg list: %s\n", cluster.error().message.c_str());
    return 1;
  }
  pg::Lsn leader_lsn = 0;
  if (cluster->members.count(cluster->leader)) {
    leader_lsn = cluster->members[cluster->leader].write_lsn;
  }
  if (flags.json_output) {
    json j = {{"cluster", config->cluster},
              {"leader", cluster->leader},
              {"paused", cluster->paused},
              {"members", json::array()}};
    for (const auto& [name, m] : cluster->members) {
      j["members"].push_back(json::parse(pg::encode(m)));
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("+ Cluster: %s%s\n", config->cluster.c_str(), cluster->paused ? " (paused)" : "");
  std::printf("%-8s %-21s %-14s %-10s %3s %-12s %10s\n", "Member", "Host", "Role", "State", "TL",
              "LSN", "Lag (MB)");
  for (const auto& [name, m] : cluster->members) {
    std::string role = name == cluster->leader ? "Leader" : "Replica";
    if (m.role == "stopped") {
      role = name == cluster->leader ? "Leader" : "-";
    } else if (name != cluster->leader && cluster->sync &&
               std::count(cluster->sync->members.begin(), cluster->sync->members.end(), name)) {
      role = "Sync Standby";
    }
    pg::Lsn own = m.role == "primary" ? m.write_lsn : std::max(m.receive_lsn, m.replay_lsn);
    double lag_mb = m.role == "replica" && leader_lsn > own ? (leader_lsn - own) / 1048576.0 : 0;
    std::string host = m.host + ":" + std::to_string(m.port);
    std::printf("%-8s %-21s %-14s %-10s %3d %-12s %10.1f\n", name.c_str(), host.c_str(),
                role.c_str(), m.state.c_str(), m.timeline, pg::formatLsn(own).c_str(), lag_mb);
  }
  return 0;
}

// Waits until someone other than `old_leader` holds the key and answers /primary.
int waitNewLeader(const pg::MemberConfig& config, const std::string& old_leader,
                  const std::string& wanted, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto cluster = readCluster(config);
    if (cluster && !cluster->leader.empty() && cluster->leader != old_leader &&
        (wanted.empty() || cluster->leader == wanted) && cluster->members.count(cluster->leader) &&
        cluster->members[cluster->leader].role == "primary") {
      std::printf("new leader: %s\n", cluster->leader.c_str());
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "rampart pg: no new leader within %.0f s\n", toMillis(timeout) / 1000);
  return 1;
}

int runSwitchover(const PgFlags& flags, bool force) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  if (force && flags.to.empty()) {
    return usage("failover needs --to MEMBER (the candidate to promote)");
  }
  auto cluster = readCluster(*config);
  if (!cluster) {
    std::fprintf(stderr, "rampart pg: %s\n", cluster.error().message.c_str());
    return 1;
  }
  if (!flags.to.empty() && !cluster->members.count(flags.to)) {
    return usage("no member named '" + flags.to + "' in cluster " + config->cluster);
  }
  if (!force && cluster->leader.empty()) {
    return usage("the cluster has no leader; use `rampart pg failover --to MEMBER`");
  }
  if (!flags.to.empty() && flags.to == cluster->leader) {
    return usage("'" + flags.to + "' is already the leader");
  }
  if (!force && !flags.to.empty() && config->ha.synchronous_mode && cluster->sync &&
      !std::count(cluster->sync->members.begin(), cluster->sync->members.end(), flags.to)) {
    // The leader would refuse it too: in synchronous mode only a synchronous standby is sure to
    // hold every acknowledged commit.
    return usage("'" + flags.to + "' is not a synchronous standby (synchronous set: " +
                 (cluster->sync->members.empty() ? std::string("none")
                                                 : pg::synchronousStandbyNames(*cluster->sync)) +
                 "); switch over to one of those, or force it with `rampart pg failover --to " +
                 flags.to + "`");
  }
  pg::Keys keys{config->keyPrefix()};
  pg::SwitchoverRequest request{force ? "" : cluster->leader, flags.to, force, 0};
  if (auto r = putKey(*config, keys.switchover(), pg::encode(request)); !r) {
    std::fprintf(stderr, "rampart pg: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("%s requested%s%s\n", force ? "failover" : "switchover",
              flags.to.empty() ? "" : " to ", flags.to.c_str());
  return waitNewLeader(*config, force ? "" : cluster->leader, flags.to, std::chrono::seconds(30));
}

int runPause(const PgFlags& flags, bool paused) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  pg::Keys keys{config->keyPrefix()};
  if (auto r = putKey(*config, keys.config(), pg::encode(pg::ClusterSettings{paused})); !r) {
    std::fprintf(stderr, "rampart pg: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", paused ? "paused: no automatic failover until `rampart pg resume`"
                             : "resumed: automatic failover is on");
  return 0;
}

// POST to one member's REST API with the operator credential. The credential goes only where
// it cannot leak: to the member whose own config file was given (its address from that file).
// A REST address read from etcd could point anywhere (whoever can write etcd chooses it).
int runMemberAction(const PgFlags& flags, const std::string& path) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  if (config->token.empty()) {
    return usage("rest.token (or token_file) is not set in " + flags.config_file +
                 ": the operator credential is needed");
  }
  if (flags.member != config->name) {
    return usage("give " + flags.member + "'s own config file (--config): the operator token " +
                 "is sent only to the REST address in that file, never to one read from etcd");
  }
  net::Endpoint rest = config->rest;
  // With rest.tls the member answers HTTPS only: its certificate is verified against
  // rest.tls.ca, and the member's certificate is presented (rest.tls.client_auth wants one).
  rest.tls = config->restTls();
  asio::io_context io;
  net::http::Client client(io.get_executor(), config->restClientTls());
  auto work = [&]() -> asio::awaitable<Result<net::http::Response>> {
    net::http::Request request{"POST", path, {{"Authorization", "Bearer " + config->token}}, ""};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    co_return co_await client.fetch(rest, std::move(request), deadline);
  };
  auto response = testing::runLoop(io, work());
  if (!response) {
    std::fprintf(stderr, "rampart pg: %s\n", response.error().message.c_str());
    return 1;
  }
  std::printf("%s: %d %s\n", flags.member.c_str(), response->status, response->body.c_str());
  return response->status == 200 ? 0 : 1;
}

int runMemberManager(const PgFlags& flags) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  runtime::Daemon daemon("pg");
  return pg::runMember(daemon, *config);
}

int runLabUp(const PgFlags& flags) {
  pg::LabOptions options;
  options.members = flags.lab_members;
  options.dir = flags.lab_dir;
  options.tls = !flags.lab_no_tls;
  auto lab = pg::labUp(options);
  if (!lab) {
    std::fprintf(stderr, "rampart pg lab up: %s\n", lab.error().message.c_str());
    return lab.error().code == ErrorCode::InvalidArgument ? kUsageError : 1;
  }
  if (flags.json_output) {
    std::printf("%s\n", lab->dump(2).c_str());
    return 0;
  }
  std::printf("PostgreSQL lab up in %s\n", (*lab)["dir"].get<std::string>().c_str());
  for (const auto& m : (*lab)["members"]) {
    std::printf("  %-4s postgres 127.0.0.1:%d  REST %s  manager pid %d\n",
                m["name"].get<std::string>().c_str(), m["port"].get<int>(),
                m["rest"].get<std::string>().c_str(), m["manager_pid"].get<int>());
  }
  std::printf("  write VIP %s, read VIP %s, user postgres, password in %s/cluster.json\n",
              (*lab)["write_vip"].get<std::string>().c_str(),
              (*lab)["read_vip"].get<std::string>().c_str(),
              (*lab)["dir"].get<std::string>().c_str());
  return 0;
}

int runLabDown(const PgFlags& flags) {
  if (flags.lab_dir.empty()) {
    return usage("--dir is required");
  }
  auto stopped = pg::labDown(flags.lab_dir);
  if (!stopped) {
    std::fprintf(stderr, "rampart pg lab down: %s\n", stopped.error().message.c_str());
    return 1;
  }
  std::printf("stopped %d processes\n", *stopped);
  return 0;
}

}  // namespace

void addPg(CLI::App& app, Action& action) {
  auto flags = std::make_shared<PgFlags>();
  auto* pg = app.add_subcommand(
      "pg", "PostgreSQL member manager: bootstrap, replication, failover in about a second");
  pg->add_option("--config", flags->config_file, "member config file (YAML)");
  pg->require_subcommand(0, 1);
  pg->callback([flags, pg, &action] {
    if (pg->get_subcommands().empty()) {
      action = [flags] { return runMemberManager(*flags); };
    }
  });
  auto with_config = [flags](CLI::App* sub) {
    sub->add_option("--config", flags->config_file, "any member's config file (YAML)");
    sub->add_option("--cacert", flags->cacert, "etcd: verify members with this CA bundle");
    sub->add_option("--cert", flags->cert, "etcd: client certificate (with --key)");
    sub->add_option("--key", flags->key, "etcd: client certificate's key");
    sub->add_option("--user", flags->user, "etcd: authenticate as this user");
    sub->add_option("--password-file", flags->password_file,
                    "etcd: the user's password (file mode 0600)");
  };

  auto* list =
      pg->add_subcommand("list", "members, roles, timelines and lag (like patronictl list)");
  with_config(list);
  list->add_flag("--json", flags->json_output, "print JSON");
  list->callback([flags, &action] { action = [flags] { return runList(*flags); }; });

  auto* switchover =
      pg->add_subcommand("switchover", "planned switchover, no acknowledged write lost");
  with_config(switchover);
  switchover->add_option("--to", flags->to, "candidate (default: the best synchronous replica)");
  switchover->callback(
      [flags, &action] { action = [flags] { return runSwitchover(*flags, false); }; });

  auto* failover = pg->add_subcommand("failover", "forced promotion of a named member");
  with_config(failover);
  failover->add_option("--to", flags->to, "the member to promote")->required();
  failover->callback(
      [flags, &action] { action = [flags] { return runSwitchover(*flags, true); }; });

  for (auto [name, paused, help] : {std::tuple{"pause", true, "maintenance: no automatic failover"},
                                    std::tuple{"resume", false, "end maintenance"}}) {
    auto* sub = pg->add_subcommand(name, help);
    with_config(sub);
    bool p = paused;
    sub->callback([flags, p, &action] { action = [flags, p] { return runPause(*flags, p); }; });
  }
  for (auto [name, path, help] :
       {std::tuple{"restart", "/restart", "restart one member's postgres in place"},
        std::tuple{"reinit", "/reinitialize", "re-clone a replica from the leader"}}) {
    auto* sub = pg->add_subcommand(name, help);
    with_config(sub);
    sub->add_option("member", flags->member, "member name (--config: that member's file)")
        ->required();
    std::string p = path;
    sub->callback(
        [flags, p, &action] { action = [flags, p] { return runMemberAction(*flags, p); }; });
  }

  auto* lab = pg->add_subcommand("lab", "a local PostgreSQL cluster on loopback");
  lab->require_subcommand(1);
  auto* up = lab->add_subcommand("up", "start etcd, the members and the write/read VIPs");
  up->add_option("--members", flags->lab_members, "number of members")->capture_default_str();
  up->add_flag("--no-tls", flags->lab_no_tls,
               "etcd over plain http without users (default: TLS, client certificates, a "
               "least-privilege etcd user per member)");
  up->add_option("--dir", flags->lab_dir, "lab directory")->required();
  up->add_flag("--json", flags->json_output, "print the cluster description as JSON");
  up->callback([flags, &action] { action = [flags] { return runLabUp(*flags); }; });
  auto* down = lab->add_subcommand("down", "stop everything a lab started");
  down->add_option("--dir", flags->lab_dir, "lab directory")->required();
  down->callback([flags, &action] { action = [flags] { return runLabDown(*flags); }; });
}

}  // namespace rampart::cli
