// `rampart redis`: the Redis member manager (`rampart redis --config member.yaml`) and the local
// lab (`rampart redis lab up|down`).

#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
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
};

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
