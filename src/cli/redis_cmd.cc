// `rampart redis`: the Redis member manager (`rampart redis --config member.yaml`) and the local
// lab (`rampart redis lab up|down`).

#include <cstdio>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "net/http/client.h"
#include "redis/lab.h"
#include "redis/member.h"
#include "runtime/daemon.h"
#include "store/etcd_store.h"
#include "testing/run_loop.h"

namespace rampart::cli {
namespace {

struct RedisFlags {
  std::string config_file;
  int lab_members = 3;
  std::string lab_dir;
  bool json_output = false;
  std::string to;  // switchover / failover: the candidate
  bool no_wait = false;
};

// One request to the member's own REST API (the address in its config file), answered within
// `timeout`. By value: a coroutine.
boost::asio::awaitable<Result<net::http::Response>> restCall(net::Endpoint at,
                                                             net::http::Request request,
                                                             Duration timeout) {
  auto ex = co_await boost::asio::this_coro::executor;
  auto deadline = SteadyClock::instance().now() + timeout;
  co_return co_await net::http::fetchOnce(ex, std::move(at), std::move(request), deadline, false);
}

Result<net::http::Response> restCallNow(const net::Endpoint& at, net::http::Request request,
                                        Duration timeout) {
  boost::asio::io_context io;
  return testing::runLoop(io, restCall(at, std::move(request), timeout));
}

// The leader and its role as GET /cluster shows them ("" when unknown).
std::pair<std::string, std::string> leaderOf(const net::Endpoint& rest) {
  net::http::Request get;
  get.target = "/cluster";
  auto r = restCallNow(rest, get, std::chrono::seconds(1));
  if (!r || r->status != 200) {
    return {};
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("leader") || !j["leader"].is_string() ||
      !j.contains("members") || !j["members"].is_array()) {
    return {};
  }
  std::string leader = j["leader"].get<std::string>();
  for (const auto& m : j["members"]) {
    if (m.is_object() && m.value("name", "") == leader) {
      return {leader, m.value("role", "")};
    }
  }
  return {leader, ""};
}

// `rampart redis switchover|failover|pause|resume`: an operator call to the member of the given
// config file, with the operator token from that file (redis/operator_rest.h). A switchover or
// failover then waits (at most 10 s) until a new leader's status says primary.
int runOperatorCall(const RedisFlags& flags, const std::string& verb) {
  std::string cmd = "rampart redis " + verb;
  if (flags.config_file.empty()) {
    std::fprintf(stderr, "%s: --config member.yaml is required\n", cmd.c_str());
    return kUsageError;
  }
  auto config = redis::loadMemberConfig(flags.config_file);
  if (!config) {
    std::fprintf(stderr, "%s: %s\n", cmd.c_str(), config.error().message.c_str());
    return kUsageError;
  }
  if (config->rest_token.empty()) {
    std::fprintf(stderr, "%s: no operator token: set rest.token or rest.token_file in %s\n",
                 cmd.c_str(), flags.config_file.c_str());
    return kUsageError;
  }
  bool moves = verb == "switchover" || verb == "failover";
  if (verb == "failover" && flags.to.empty()) {
    std::fprintf(stderr, "%s: --to NAME is required (the member to promote)\n", cmd.c_str());
    return kUsageError;
  }
  auto before = moves ? leaderOf(config->rest).first : std::string();
  net::http::Request post;
  post.method = "POST";
  post.target = "/" + verb;
  post.headers.emplace_back("Authorization", "Bearer " + config->rest_token);
  post.headers.emplace_back("Content-Type", "application/json");
  if (moves) {
    post.body = nlohmann::json{{"to", flags.to}}.dump();
  }
  auto start = SteadyClock::instance().now();
  auto answer = restCallNow(config->rest, post, std::chrono::seconds(5));
  if (!answer) {
    std::fprintf(stderr, "%s: member %s at %s: %s\n", cmd.c_str(), config->name.c_str(),
                 config->rest.hostPort().c_str(), answer.error().message.c_str());
    return 1;
  }
  auto body = nlohmann::json::parse(answer->body, nullptr, false);
  if (answer->status != 200) {
    std::string why = body.is_object() && body.contains("error") && body["error"].is_string()
                          ? body["error"].get<std::string>()
                          : answer->body;
    std::fprintf(stderr, "%s: refused by %s (%d): %s\n", cmd.c_str(), config->name.c_str(),
                 answer->status, why.c_str());
    return 1;
  }
  if (!moves) {
    std::printf("%s\n", verb == "pause" ? "paused: no automatic failover until resume"
                                         : "resumed: automatic failover is on");
    return 0;
  }
  std::printf("%s requested (leader %s%s%s)\n", verb.c_str(), before.empty() ? "?" : before.c_str(),
              flags.to.empty() ? "" : ", to ", flags.to.c_str());
  if (flags.no_wait) {
    return 0;
  }
  auto until = start + std::chrono::seconds(10);
  while (SteadyClock::instance().now() < until) {
    auto [leader, role] = leaderOf(config->rest);
    if (!leader.empty() && leader != before && role == "primary" &&
        (flags.to.empty() || leader == flags.to)) {
      std::printf("%s is the leader now (%lld ms)\n", leader.c_str(),
                  static_cast<long long>(toMillis(SteadyClock::instance().now() - start)));
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr,
               "%s: no new leader within 10 s: the leader may have abandoned it (its log says "
               "why); `rampart redis list --config %s` shows the group\n",
               cmd.c_str(), flags.config_file.c_str());
  return 1;
}

int runMemberManager(const RedisFlags& flags) {
  if (flags.config_file.empty()) {
    std::fprintf(stderr, "rampart redis: --config member.yaml is required\n");
    return kUsageError;
  }
  auto config = redis::loadMemberConfig(flags.config_file);
  if (!config) {
    std::fprintf(stderr, "rampart redis: %s\n", config.error().message.c_str());
    return kUsageError;
  }
  runtime::Daemon daemon("redis");
  return redis::runMember(daemon, *config);
}

// `rampart redis list`: the group as etcd holds it.
int runList(const RedisFlags& flags) {
  if (flags.config_file.empty()) {
    std::fprintf(stderr, "rampart redis list: --config member.yaml is required\n");
    return kUsageError;
  }
  auto config = redis::loadMemberConfig(flags.config_file);
  if (!config) {
    std::fprintf(stderr, "rampart redis list: %s\n", config.error().message.c_str());
    return kUsageError;
  }
  boost::asio::io_context io;
  auto options = config->etcd;
  options.request_timeout = std::chrono::seconds(2);
  store::EtcdStore store(io.get_executor(), options);
  auto prefix = config->keyPrefix();
  auto work = [&]() -> boost::asio::awaitable<Result<store::RangeResponse>> {
    auto request = store::RangeRequest::prefix(prefix + "/");
    co_return co_await store.range(std::move(request));
  };
  auto listed = testing::runLoop(io, work());
  if (!listed) {
    std::fprintf(stderr, "rampart redis list: etcd: %s\n", listed.error().message.c_str());
    return 1;
  }
  auto group = redis::groupFromKeys(prefix, listed->kvs);
  if (flags.json_output) {
    std::printf("%s\n", redis::clusterJson(config->cluster, group.leader, group.members).c_str());
  } else {
    std::printf("%s", redis::formatGroup(group.leader, group.members).c_str());
  }
  return 0;
}

int runLabUp(const RedisFlags& flags) {
  redis::LabOptions options;
  options.members = flags.lab_members;
  options.dir = flags.lab_dir;
  auto lab = redis::labUp(options);
  if (!lab) {
    std::fprintf(stderr, "rampart redis lab up: %s\n", lab.error().message.c_str());
    return lab.error().code == ErrorCode::InvalidArgument ? kUsageError : 1;
  }
  if (flags.json_output) {
    std::printf("%s\n", lab->dump(2).c_str());
    return 0;
  }
  std::printf("Redis lab up in %s\n", (*lab)["dir"].get<std::string>().c_str());
  for (const auto& m : (*lab)["members"]) {
    std::printf("  %-4s redis 127.0.0.1:%d  REST %s  Sentinel %s  manager pid %d\n",
                m["name"].get<std::string>().c_str(), m["port"].get<int>(),
                m["rest"].get<std::string>().c_str(), m["sentinel"].get<std::string>().c_str(),
                m["manager_pid"].get<int>());
  }
  std::printf("  write VIP %s, read VIP %s, Sentinel master name %s\n",
              (*lab)["write_vip"].get<std::string>().c_str(),
              (*lab)["read_vip"].get<std::string>().c_str(),
              (*lab)["master_name"].get<std::string>().c_str());
  return 0;
}

int runLabDown(const RedisFlags& flags) {
  auto stopped = redis::labDown(flags.lab_dir);
  if (!stopped) {
    std::fprintf(stderr, "rampart redis lab down: %s\n", stopped.error().message.c_str());
    return 1;
  }
  std::printf("stopped %d processes\n", *stopped);
  return 0;
}

}  // namespace

void addRedis(CLI::App& app, Action& action) {
  auto flags = std::make_shared<RedisFlags>();
  auto* redis = app.add_subcommand(
      "redis", "Redis member manager: replication and failover on the shared failover engine");
  redis->add_option("--config", flags->config_file, "member config file (YAML)");
  redis->require_subcommand(0, 1);
  redis->callback([flags, redis, &action] {
    if (redis->get_subcommands().empty()) {
      action = [flags] { return runMemberManager(*flags); };
    }
  });
  auto* list = redis->add_subcommand("list", "the group's members, their roles and offsets");
  list->add_option("--config", flags->config_file, "a member's config file (YAML)");
  list->add_flag("--json", flags->json_output, "print /cluster's JSON");
  list->callback([flags, &action] { action = [flags] { return runList(*flags); }; });
  auto* switchover = redis->add_subcommand(
      "switchover", "hand the master over with no write lost (CLIENT PAUSE WRITE, catch up, promote)");
  auto* failover =
      redis->add_subcommand("failover", "promote a member; forced when no leader heartbeats");
  for (auto* sub : {switchover, failover}) {
    sub->add_option("--config", flags->config_file, "a member's config file (YAML)");
    sub->add_option("--to", flags->to, "the member to promote");
    sub->add_flag("--no-wait", flags->no_wait, "return once the request is written");
  }
  switchover->callback(
      [flags, &action] { action = [flags] { return runOperatorCall(*flags, "switchover"); }; });
  failover->callback(
      [flags, &action] { action = [flags] { return runOperatorCall(*flags, "failover"); }; });
  for (std::string verb : {"pause", "resume"}) {
    auto* sub = redis->add_subcommand(
        verb, verb == "pause" ? "maintenance: no automatic failover" : "end the maintenance");
    sub->add_option("--config", flags->config_file, "a member's config file (YAML)");
    sub->callback(
        [flags, verb, &action] { action = [flags, verb] { return runOperatorCall(*flags, verb); }; });
  }
  auto* lab = redis->add_subcommand("lab", "a local Redis group on loopback");
  lab->require_subcommand(1);
  auto* up = lab->add_subcommand("up", "start etcd, the members and the write/read VIPs");
  up->add_option("--members", flags->lab_members, "number of members")->capture_default_str();
  up->add_option("--dir", flags->lab_dir, "lab directory")->required();
  up->add_flag("--json", flags->json_output, "print the lab's description (cluster.json)");
  up->callback([flags, &action] { action = [flags] { return runLabUp(*flags); }; });
  auto* down = lab->add_subcommand("down", "stop everything a lab started");
  down->add_option("--dir", flags->lab_dir, "lab directory")->required();
  down->callback([flags, &action] { action = [flags] { return runLabDown(*flags); }; });
}

}  // namespace rampart::cli
