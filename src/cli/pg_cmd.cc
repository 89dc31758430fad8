// `rampart pg`: the PostgreSQL member manager (`rampart pg --config member.yaml`), the
// patronictl-shaped operations on a running cluster (list, switchover, failover, pause, resume,
// restart, reinit), and the local lab (`rampart pg lab up|down`).

#include <algorithm>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/log.h"
#include "cli/cli.h"
#include "net/http/client.h"
#include "pg/config.h"
#include "pg/lab.h"
#include "pg/manager.h"
#include "pg/operator_call.h"
#include "pg/state.h"
#include "pg/validate.h"
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
  // The operator's REST credentials for switchover, failover, pause and resume; each overrides
  // the config file's (rest.token / token_file; rest.tls cert and key).
  std::string token_file;
  std::string rest_cert;
  std::string rest_key;
  std::string timeout = "20s";
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

Result<ClusterKeys> readClusterView(const pg::MemberConfig& config);

// Waits until someone other than `old_leader` holds the key and answers /primary.
int waitNewLeader(const pg::MemberConfig& config, const std::string& old_leader,
                  const std::string& wanted, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto cluster = readClusterView(config);
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

// The cluster as its members see it, for an operator who cannot read etcd: GET /cluster from the
// member whose config file was given (its address from that file).
Result<ClusterKeys> readClusterFromMember(const pg::MemberConfig& config) {
  net::Endpoint rest = config.rest;
  rest.tls = config.restTls();
  asio::io_context io;
  net::http::Client client(io.get_executor(), config.restClientTls());
  auto work = [&]() -> asio::awaitable<Result<net::http::Response>> {
    net::http::Request request{"GET", "/cluster", {}, ""};
    co_return co_await client.fetch(rest, std::move(request),
                                    std::chrono::steady_clock::now() + std::chrono::seconds(3));
  };
  auto response = testing::runLoop(io, work());
  if (!response) {
    return fail(response.error());
  }
  auto j = json::parse(response->body, nullptr, false);
  if (response->status != 200 || !j.is_object() || !j.contains("members") ||
      !j["members"].is_array()) {
    return fail(ErrorCode::Unavailable, config.name, " (", rest.url(), "): GET /cluster answered ",
                std::to_string(response->status));
  }
  ClusterKeys out;
  out.leader = j.value("leader", "");
  out.paused = j.value("paused", false);
  for (const auto& m : j["members"]) {
    if (auto s = pg::decodeMemberStatus(m.dump())) {
      out.members[s->name] = *s;
    }
  }
  if (j.contains("sync")) {
    if (auto s = pg::decodeSyncState(j["sync"].dump())) {
      out.sync = *s;
    }
  }
  return out;
}

// The cluster view for an operator command: etcd's, else the operator's own member's.
Result<ClusterKeys> readClusterView(const pg::MemberConfig& config) {
  auto from_etcd = readCluster(config);
  if (from_etcd) {
    return from_etcd;
  }
  auto from_member = readClusterFromMember(config);
  if (from_member) {
    return from_member;
  }
  return fail(ErrorCode::Unavailable, "cannot read the cluster: etcd: ", from_etcd.error().message,
              "; ", from_member.error().message);
}

// The operator credential and TLS for the members' REST APIs, from the flags and the config.
Result<pg::OperatorRequest> operatorCredentials(const PgFlags& flags,
                                                const pg::MemberConfig& config) {
  pg::OperatorRequest request;
  request.token = config.token;
  if (!flags.token_file.empty()) {
    auto token = runtime::readSecretFile(flags.token_file);
    if (!token) {
      return fail(ErrorCode::InvalidArgument, "--token-file: ", token.error().message);
    }
    if (!pg::checkNoControlCharacters(*token)) {
      return fail(ErrorCode::InvalidArgument, "--token-file: ", flags.token_file,
                  ": the token holds a control character (a newline or the like)");
    }
    request.token = std::move(*token);
  }
  if (request.token.empty()) {
    return fail(ErrorCode::InvalidArgument, "no operator token: set rest.token (or token_file) in ",
                flags.config_file, " or give --token-file");
  }
  request.tls = config.restClientTls();
  if (!flags.rest_cert.empty() || !flags.rest_key.empty()) {
    if (flags.rest_cert.empty() || flags.rest_key.empty()) {
      return fail(ErrorCode::InvalidArgument, "--rest-cert and --rest-key must be given together");
    }
    if (!config.restTls()) {
      return fail(ErrorCode::InvalidArgument, "--rest-cert: ", flags.config_file,
                  " has no rest.tls: the members speak plain HTTP");
    }
    request.tls.cert = flags.rest_cert;
    request.tls.key = flags.rest_key;
  }
  return request;
}

// Sends an operator call to the cluster's members (pg/operator_call.h): prints the answer and
// returns 0, or prints why no member took it and returns 1.
int callCluster(const PgFlags& flags, const pg::MemberConfig& config, const ClusterKeys& cluster,
                const std::string& path, const std::string& body, Duration timeout) {
  auto request = operatorCredentials(flags, config);
  if (!request) {
    return usage(request.error().message);
  }
  request->path = path;
  request->body = body;
  net::Endpoint own = config.rest;
  own.tls = config.restTls();
  auto targets = pg::operatorTargets(pg::OperatorIdentity{config.name, own, config.restTls()},
                                     cluster.leader, cluster.members);
  // Each member gets an equal share, so one that never answers leaves time for the next: the
  // default 20 s over three members gives each 6.7 s, more than a member's own bound on its etcd
  // write (5 s, pg/rest.h), so a slow but working member is not given up on.
  request->per_member = std::max<Duration>(
      timeout / static_cast<int64_t>(std::max<size_t>(targets.size(), 1)), std::chrono::seconds(1));
  auto answer = pg::callMembers(targets, *request, std::chrono::steady_clock::now() + timeout);
  if (!answer) {
    std::fprintf(stderr, "rampart pg: %s\n", answer.error().message.c_str());
    if (answer.error().code != ErrorCode::FailedPrecondition) {
      std::fprintf(stderr,
                   "rampart pg: nothing was written by this command (it never writes etcd "
                   "itself); start a member, or give the config file of a member that runs "
                   "(--config)%s\n",
                   config.restTls() ? "" : " (without rest.tls only that member is asked)");
    }
    return 1;
  }
  std::printf("%s: %s\n", answer->member.c_str(), answer->body.c_str());
  return 0;
}

Result<Duration> commandTimeout(const PgFlags& flags) {
  auto timeout = parseDuration(flags.timeout);
  if (!timeout || *timeout <= Duration::zero()) {
    return fail(ErrorCode::InvalidArgument, "--timeout: '", flags.timeout,
                "' is not a positive duration (e.g. 20s)");
  }
  return *timeout;
}

int runSwitchover(const PgFlags& flags, bool force) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  auto timeout = commandTimeout(flags);
  if (!timeout) {
    return usage(timeout.error().message);
  }
  if (force && flags.to.empty()) {
    return usage("failover needs --to MEMBER (the candidate to promote)");
  }
  auto cluster = readClusterView(*config);
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
  std::string body = flags.to.empty() ? "" : json{{"to", flags.to}}.dump();
  auto started = std::chrono::steady_clock::now();
  if (int rc = callCluster(flags, *config, *cluster, force ? "/failover" : "/switchover", body,
                           *timeout);
      rc != 0) {
    return rc;
  }
  std::printf("%s requested%s%s\n", force ? "failover" : "switchover",
              flags.to.empty() ? "" : " to ", flags.to.c_str());
  // The rest of the command's time (at least 30 s, the old fixed wait) for the handover.
  auto left = std::max<Duration>(*timeout - (std::chrono::steady_clock::now() - started),
                                 std::chrono::seconds(30));
  return waitNewLeader(*config, force ? "" : cluster->leader, flags.to, left);
}

int runPause(const PgFlags& flags, bool paused) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  auto timeout = commandTimeout(flags);
  if (!timeout) {
    return usage(timeout.error().message);
  }
  // Without a view only the operator's own member is asked (it needs none to take the request).
  auto cluster = readClusterView(*config);
  if (!cluster) {
    std::fprintf(stderr, "rampart pg: %s; asking %s only\n", cluster.error().message.c_str(),
                 config->name.c_str());
  }
  if (int rc = callCluster(flags, *config, cluster ? *cluster : ClusterKeys{},
                           paused ? "/pause" : "/resume", "", *timeout);
      rc != 0) {
    return rc;
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
  auto credentials = operatorCredentials(flags, *config);
  if (!credentials) {
    return usage(credentials.error().message);
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
  net::http::Client client(io.get_executor(), credentials->tls);
  auto work = [&]() -> asio::awaitable<Result<net::http::Response>> {
    net::http::Request request{
        "POST", path, {{"Authorization", "Bearer " + credentials->token}}, ""};
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
    sub->add_option("--config", flags->config_file,
                    "a member's config file (YAML): etcd access, and the REST token, TLS and "
                    "address the operator calls use");
    sub->add_option("--cacert", flags->cacert, "etcd: verify members with this CA bundle");
    sub->add_option("--cert", flags->cert, "etcd: client certificate (with --key)");
    sub->add_option("--key", flags->key, "etcd: client certificate's key");
    sub->add_option("--user", flags->user, "etcd: authenticate as this user");
    sub->add_option("--password-file", flags->password_file,
                    "etcd: the user's password (file mode 0600)");
  };

  // The operator calls go to the members' REST APIs (pg/operator_call.h), never to etcd.
  auto with_rest = [flags](CLI::App* sub) {
    sub->add_option("--token-file", flags->token_file,
                    "REST: the operator token (file mode 0600; default: the config's rest.token "
                    "or token_file)");
    sub->add_option("--rest-cert", flags->rest_cert,
                    "REST (rest.tls): client certificate to present (default: rest.tls.cert)");
    sub->add_option("--rest-key", flags->rest_key, "REST (rest.tls): its key");
  };
  const std::string kNoMemberAnswers =
      "\nThe request goes to a member's REST API with the operator token (the leader first, then "
      "the others; with rest.tls every member etcd lists, over verified HTTPS; without it only "
      "the member whose --config is given). The command never writes etcd itself: when no "
      "member answers, nothing is written; start a member, or give the config file of a member "
      "that runs.";
  auto* list =
      pg->add_subcommand("list", "members, roles, timelines and lag (like patronictl list)");
  with_config(list);
  list->add_flag("--json", flags->json_output, "print JSON");
  list->callback([flags, &action] { action = [flags] { return runList(*flags); }; });

  auto* switchover =
      pg->add_subcommand("switchover", "planned switchover, no acknowledged write lost");
  with_config(switchover);
  with_rest(switchover);
  switchover->footer(kNoMemberAnswers);
  switchover
      ->add_option("--timeout", flags->timeout,
                   "how long to try the members (then the handover gets at least 30 s)")
      ->capture_default_str();
  switchover->add_option("--to", flags->to, "candidate (default: the best synchronous replica)");
  switchover->callback(
      [flags, &action] { action = [flags] { return runSwitchover(*flags, false); }; });

  auto* failover = pg->add_subcommand("failover", "forced promotion of a named member");
  with_config(failover);
  with_rest(failover);
  failover->footer(kNoMemberAnswers);
  failover
      ->add_option("--timeout", flags->timeout,
                   "how long to try the members (then the promotion gets at least 30 s)")
      ->capture_default_str();
  failover->add_option("--to", flags->to, "the member to promote")->required();
  failover->callback(
      [flags, &action] { action = [flags] { return runSwitchover(*flags, true); }; });

  for (auto [name, paused, help] : {std::tuple{"pause", true, "maintenance: no automatic failover"},
                                    std::tuple{"resume", false, "end maintenance"}}) {
    auto* sub = pg->add_subcommand(name, help);
    with_config(sub);
    with_rest(sub);
    sub->footer(kNoMemberAnswers);
    sub->add_option("--timeout", flags->timeout, "how long to try the members")
        ->capture_default_str();
    bool p = paused;
    sub->callback([flags, p, &action] { action = [flags, p] { return runPause(*flags, p); }; });
  }
  for (auto [name, path, help] :
       {std::tuple{"restart", "/restart", "restart one member's postgres in place"},
        std::tuple{"reinit", "/reinitialize", "re-clone a replica from the leader"}}) {
    auto* sub = pg->add_subcommand(name, help);
    with_config(sub);
    with_rest(sub);
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
               "etcd and the members' REST APIs over plain http, without etcd users "
               "(default: TLS with client certificates for both, a least-privilege etcd user "
               "per member)");
  up->add_option("--dir", flags->lab_dir, "lab directory")->required();
  up->add_flag("--json", flags->json_output, "print the cluster description as JSON");
  up->callback([flags, &action] { action = [flags] { return runLabUp(*flags); }; });
  auto* down = lab->add_subcommand("down", "stop everything a lab started");
  down->add_option("--dir", flags->lab_dir, "lab directory")->required();
  down->callback([flags, &action] { action = [flags] { return runLabDown(*flags); }; });
}

}  // namespace rampart::cli
