// `rampart db create|list|describe|delete`: PostgresClusters and RedisClusters (rampart.io/v1)
// through the API, as kubectl would make and show them (db/view.h), with the kubeconfig's
// credentials (--kubeconfig, else $KUBECONFIG, else ~/.kube/config). `create --wait` polls the
// cluster every 500 ms until it is Running, for at most --timeout on the monotonic clock, then
// prints the libpq connection strings of its write and read Services.

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "base/duration.h"
#include "cli/db_cmd.h"
#include "db/view.h"
#include "kube/connect.h"
#include "kube/kubeconfig.h"
#include "kube/resources.h"
#include "store/etcd_codec.h"

namespace rampart::cli {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

struct DbFlags {
  std::string kubeconfig;
  std::string ns;
  std::string engine;
  std::string name;
  int members = 3;
  bool wait = false;
  std::string timeout = "5m";
  bool show_password = false;
  bool all_namespaces = false;
};

const kube::Resource kPostgres{"rampart.io", "v1", "postgresclusters", true};
const kube::Resource kRedis{"rampart.io", "v1", "redisclusters", true};
// Both kinds, for loops that suspend: a braced list's backing array does not survive a co_await
// in a GCC 12 coroutine frame.
const kube::Resource* const kBoth[] = {&kPostgres, &kRedis};

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart db: %s\n", message.c_str());
  return kUsageError;
}

int serverError(const kube::Reply& reply) {
  std::fprintf(stderr, "Error from server (%s): %s\n", reply.reason().c_str(),
               reply.message().c_str());
  return 1;
}

std::string kubeconfigPath(const DbFlags& flags) {
  if (!flags.kubeconfig.empty()) {
    return flags.kubeconfig;
  }
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    return env;
  }
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.kube/config";
}

std::string singular(const kube::Resource& r) {
  return (r.plural == "postgresclusters" ? "postgrescluster" : "rediscluster") +
         std::string(".rampart.io");
}

asio::awaitable<void> sleepFor(Duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::use_awaitable);
}

// The cluster called `name` in `ns`, of either kind; its resource in `found`. A 404 for both
// is NotFound.
asio::awaitable<Result<json>> findCluster(kube::Client& client, std::string ns, std::string name,
                                          const kube::Resource** found) {
  for (const kube::Resource* r : kBoth) {
    auto reply = co_await client.call("GET", r->object(ns, name));
    if (!reply) {
      co_return fail(reply.error());
    }
    if (reply->ok()) {
      *found = r;
      co_return reply->body;
    }
    if (reply->status != 404) {
      co_return fail(ErrorCode::FailedPrecondition, reply->message());
    }
  }
  co_return fail(ErrorCode::NotFound, "postgresclusters.rampart.io or redisclusters.rampart.io \"" +
                                          name + "\" not found");
}

asio::awaitable<int> create(kube::Client& client, DbFlags flags, std::string ns, Duration timeout) {
  auto engine = db::parseEngine(flags.engine);
  const kube::Resource& r = *engine == db::Engine::Postgres ? kPostgres : kRedis;
  json manifest = db::clusterManifest(*engine, flags.name, ns, flags.members);
  auto reply = co_await client.call("POST", r.collection(ns), manifest.dump());
  if (!reply) {
    std::fprintf(stderr, "rampart db create: %s\n", reply.error().message.c_str());
    co_return 1;
  }
  if (!reply->ok()) {
    co_return serverError(*reply);
  }
  std::printf("%s/%s created\n", singular(r).c_str(), flags.name.c_str());
  std::fflush(stdout);
  if (!flags.wait) {
    co_return 0;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json cluster;
  std::string last_phase;
  while (true) {
    auto got = co_await client.call("GET", r.object(ns, flags.name));
    if (got && got->ok()) {
      cluster = got->body;
      std::string phase = cluster.value("/status/phase"_json_pointer, std::string("Pending"));
      if (phase != last_phase) {
        std::printf("%s: %s\n", flags.name.c_str(), phase.c_str());
        std::fflush(stdout);
        last_phase = phase;
      }
      if (db::ready(cluster) && db::connectionStrings(cluster)) {
        break;
      }
      if (cluster.value("/status/conditions/0/reason"_json_pointer, std::string()) ==
          "DatabaseControllerNotConfigured") {
        std::fprintf(stderr, "rampart db create: %s\n",
                     cluster.value("/status/conditions/0/message"_json_pointer, std::string())
                         .c_str());
        co_return 1;
      }
    } else if (got && got->status == 404) {
      std::fprintf(stderr, "rampart db create: %s was deleted while waiting\n",
                   flags.name.c_str());
      co_return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "rampart db create: %s not Running after %s (phase %s)\n",
                   flags.name.c_str(), flags.timeout.c_str(), last_phase.c_str());
      co_return 1;
    }
    co_await sleepFor(std::chrono::milliseconds(500));
  }
  std::string password;
  std::string secret = cluster.value("/status/endpoints/secret"_json_pointer, std::string());
  if (flags.show_password && !secret.empty()) {
    auto got = co_await client.call("GET", kube::resources::kSecrets.object(ns, secret));
    if (got && got->ok() && got->body.contains("/data/password"_json_pointer)) {
      auto decoded = store::etcd::base64Decode(
          got->body["/data/password"_json_pointer].get<std::string>());
      if (decoded) {
        password = *decoded;
      }
    }
  }
  auto uris = db::connectionStrings(cluster, password);
  std::printf("%s is Running: %s members ready, primary %s\n", flags.name.c_str(),
              std::to_string(cluster.value("/status/readyMembers"_json_pointer, 0)).c_str(),
              cluster.value("/status/primary"_json_pointer, std::string("<none>")).c_str());
  std::printf("write: %s\nread:  %s\n", uris->write.c_str(), uris->read.c_str());
  if (!uris->sentinel.empty()) {
    std::printf("sentinel: %s (master name %s)\n", uris->sentinel.c_str(), flags.name.c_str());
    co_return 0;  // no password: `rampart redis` has no database users
  }
  if (password.empty()) {
    std::printf("password: kubectl get secret %s -n %s -o jsonpath='{.data.password}' | "
                "base64 -d\n",
                secret.c_str(), ns.c_str());
  }
  co_return 0;
}

asio::awaitable<int> list(kube::Client& client, DbFlags flags, std::string ns) {
  std::vector<json> clusters;
  for (const kube::Resource* r : kBoth) {
    // The target in a local: a temporary std::string inside the co_await expression is
    // destroyed twice by GCC 12's coroutine lowering.
    std::string target = r->collection(flags.all_namespaces ? std::string() : ns);
    auto reply = co_await client.call("GET", target);
    if (!reply) {
      std::fprintf(stderr, "rampart db list: %s\n", reply.error().message.c_str());
      co_return 1;
    }
    if (!reply->ok()) {
      co_return serverError(*reply);
    }
    // Named, not a temporary in the range-for: GCC 12 coroutines mishandle those.
    json items = reply->body.value("items", json::array());
    for (auto& item : items) {
      item["kind"] = r == &kPostgres ? "PostgresCluster" : "RedisCluster";
      clusters.push_back(std::move(item));
    }
  }
  std::printf("%s", db::listTable(clusters, flags.all_namespaces ? "any" : ns,
                                  std::chrono::system_clock::now())
                        .c_str());
  co_return 0;
}

asio::awaitable<int> describeOrDelete(kube::Client& client, DbFlags flags, std::string ns,
                                      bool remove) {
  const kube::Resource* r = nullptr;
  auto cluster = co_await findCluster(client, ns, flags.name, &r);
  if (!cluster) {
    std::fprintf(stderr, "Error from server (NotFound): %s\n", cluster.error().message.c_str());
    co_return 1;
  }
  if (!remove) {
    (*cluster)["kind"] = r == &kPostgres ? "PostgresCluster" : "RedisCluster";
    std::printf("%s", db::describe(*cluster, std::chrono::system_clock::now()).c_str());
    co_return 0;
  }
  auto reply = co_await client.call("DELETE", r->object(ns, flags.name));
  if (!reply) {
    std::fprintf(stderr, "rampart db delete: %s\n", reply.error().message.c_str());
    co_return 1;
  }
  if (!reply->ok()) {
    co_return serverError(*reply);
  }
  std::printf("%s \"%s\" deleted\n", singular(*r).c_str(), flags.name.c_str());
  co_return 0;
}

int run(const DbFlags& flags, const std::string& verb) {
  auto timeout = parseDuration(flags.timeout);
  if (!timeout || *timeout <= Duration::zero()) {
    return usage("--timeout: a positive duration (30s, 5m) is needed, got " + flags.timeout);
  }
  if (verb == "create" && !db::parseEngine(flags.engine)) {
    return usage("create: the engine is postgres or redis, got \"" + flags.engine + "\"");
  }
  if (verb == "create" && (flags.members < 1 || flags.members > 9)) {
    return usage("--members must be 1..9, got " + std::to_string(flags.members));
  }
  std::string path = kubeconfigPath(flags);
  auto config = kube::loadKubeConfig(path);
  if (!config) {
    return usage("--kubeconfig " + path + ": " + config.error().message);
  }
  std::string ns = flags.ns.empty() ? config->ns : flags.ns;
  asio::io_context io;
  kube::HttpClientOptions options;
  options.user_agent = "rampart-db";
  options.request_timeout = std::chrono::seconds(10);
  auto client = kube::connect(io.get_executor(), path, options);
  if (!client) {
    return usage(client.error().message);
  }
  kube::Client& c = **client;
  asio::awaitable<int> task = verb == "create"   ? create(c, flags, ns, *timeout)
                              : verb == "list"   ? list(c, flags, ns)
                                                 : describeOrDelete(c, flags, ns, verb == "delete");
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.run();
  return future.get();
}

}  // namespace

void addDb(CLI::App& app, Action& action) {
  auto flags = std::make_shared<DbFlags>();
  auto* db = app.add_subcommand(
      "db", "database clusters on the cluster: PostgresCluster and RedisCluster (rampart.io/v1)");
  db->require_subcommand(1);
  auto common = [flags](CLI::App* cmd) {
    cmd->add_option("--kubeconfig", flags->kubeconfig,
                    "kubeconfig (default: $KUBECONFIG, else ~/.kube/config)");
    cmd->add_option("-n,--namespace", flags->ns, "namespace (default: the kubeconfig's)");
  };
  auto* create = db->add_subcommand("create", "create a database cluster: create postgres NAME");
  create->add_option("engine", flags->engine, "postgres or redis")->required();
  create->add_option("name", flags->name, "cluster name")->required();
  create->add_option("--members", flags->members, "members (1..9)")->capture_default_str();
  create->add_flag("--wait", flags->wait,
                   "wait until it is Running, then print the connection strings");
  create->add_option("--timeout", flags->timeout, "longest --wait")->capture_default_str();
  create->add_flag("--show-password", flags->show_password,
                   "put the superuser's password in the printed connection strings");
  common(create);
  auto* list = db->add_subcommand("list", "list database clusters");
  list->add_flag("-A,--all-namespaces", flags->all_namespaces, "in every namespace");
  common(list);
  auto* describe = db->add_subcommand("describe", "show a database cluster");
  describe->add_option("name", flags->name, "cluster name")->required();
  common(describe);
  auto* remove = db->add_subcommand("delete", "delete a database cluster");
  remove->add_option("name", flags->name, "cluster name")->required();
  common(remove);
  for (auto [cmd, verb] : {std::pair{create, "create"}, std::pair{list, "list"},
                           std::pair{describe, "describe"}, std::pair{remove, "delete"}}) {
    std::string v = verb;
    cmd->callback([&action, flags, v] { action = [flags, v] { return run(*flags, v); }; });
  }
}

}  // namespace rampart::cli
