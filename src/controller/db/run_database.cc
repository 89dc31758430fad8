// The database controller: decideDatabaseCluster() (controller/db/decide.h) for each
// PostgresCluster and each RedisCluster (one reconciler per kind), from the informers' view of
// the cluster and of the pods, Services, Secrets and ConfigMaps labelled
// rampart.io/cluster=<name> in its namespace; the decision's writes are
// made one by one, in order, and the first failure ends the round (the key is decided again).
// Creates that find the object there already (409: our informer was behind) and deletes of
// objects already gone (404) count as done. Deletes carry the uid decided on as a precondition,
// so a member re-created meanwhile is never deleted by a stale decision. Roles come from the
// pods (decide.h); the members' etcd view is not read yet. Both reconcilers are handed every
// labelled object's key; one whose kind has no cluster of that name finds nothing of its own to
// delete (ownership is checked by kind), so neither touches the other's objects.

#include <random>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/db/decide.h"
#include "controller/reconcilers.h"
#include "controller/writes.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

const kube::Resource kPostgresClusters{"rampart.io", "v1", "postgresclusters", true};
const kube::Resource kRedisClusters{"rampart.io", "v1", "redisclusters", true};

const kube::Resource& clustersOf(db::Engine engine) {
  return engine == db::Engine::Redis ? kRedisClusters : kPostgresClusters;
}

const kube::Resource& resourceNamed(const std::string& plural, db::Engine engine) {
  if (plural == "pods") {
    return res::kPods;
  }
  if (plural == "services") {
    return res::kServices;
  }
  if (plural == "secrets") {
    return res::kSecrets;
  }
  if (plural == "configmaps") {
    return res::kConfigMaps;
  }
  return clustersOf(engine);
}

// 24 characters of [A-Za-z0-9]: 142 bits, and nothing a connection string or a config file
// would need to quote.
std::string randomSecret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 2);
  std::string out;
  for (int i = 0; i < 24; ++i) {
    out += kAlphabet[pick(rd)];
  }
  return out;
}

class DatabaseClusterReconciler : public Reconciler {
 public:
  DatabaseClusterReconciler(ControllerContext& context, Enqueue enqueue, db::Engine engine,
                            db::DbSettings settings)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        engine_(engine),
        settings_(std::move(settings)),
        clusters_(context.informer(clustersOf(engine))),
        pods_(context.informer(res::kPods)),
        services_(context.informer(res::kServices)),
        secrets_(context.informer(res::kSecrets)),
        config_maps_(context.informer(res::kConfigMaps)),
        nodes_(context.informer(res::kNodes)) {
    clusters_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      enqueue_(kube::keyOf(after ? *after : *before));
    });
    auto by_label = [this](kube::Informer::Change, const json* before, const json* after) {
      for (const json* o : {before, after}) {
        if (auto key = clusterKeyOf(o)) {
          enqueue_(*key);
        }
      }
    };
    for (kube::Informer* informer : {&pods_, &services_, &secrets_, &config_maps_}) {
      informer->addHandler(by_label);
    }
  }

  // The clusters, and the clusters whose objects are still around (a cluster deleted while no
  // controller acted).
  std::vector<std::string> keys() const override {
    std::set<std::string> keys;
    for (const auto& [key, cluster] : clusters_.items()) {
      keys.insert(key);
    }
    for (const kube::Informer* informer : {&pods_, &services_, &secrets_, &config_maps_}) {
      for (const auto& [key, object] : informer->items()) {
        if (auto cluster = clusterKeyOf(&object)) {
          keys.insert(*cluster);
        }
      }
    }
    return {keys.begin(), keys.end()};
  }

  // Member readiness changes arrive as pod events; the period only catches what no event
  // announces (a Service's cluster IP appearing before the cluster was decided).
  std::optional<Duration> period() const override { return std::chrono::seconds(5); }

  asio::awaitable<Result<void>> reconcile(std::string key) override;

 private:
  static std::optional<std::string> clusterKeyOf(const json* o) {
    if (!o) {
      return std::nullopt;
    }
    auto labels = kube::labelsOf(*o);
    auto it = labels.find(db::kClusterLabel);
    if (it == labels.end() || it->second.empty()) {
      return std::nullopt;
    }
    return kube::makeKey(o->value("/metadata/namespace"_json_pointer, std::string()), it->second);
  }

  std::vector<json> labelled(const kube::Informer& informer, const std::string& ns,
                             const std::string& name) const {
    std::vector<json> out;
    for (const json* o : informer.inNamespace(ns)) {
      auto labels = kube::labelsOf(*o);
      auto it = labels.find(db::kClusterLabel);
      if (it != labels.end() && it->second == name) {
        out.push_back(*o);
      }
    }
    return out;
  }

  // Parameters by value (a coroutine's frame keeps them).
  asio::awaitable<Result<void>> execute(std::string ns, db::DbAction a, const json* cluster);

  ControllerContext& ctx_;
  Enqueue enqueue_;
  db::Engine engine_;
  db::DbSettings settings_;
  kube::Informer& clusters_;
  kube::Informer& pods_;
  kube::Informer& services_;
  kube::Informer& secrets_;
  kube::Informer& config_maps_;
  kube::Informer& nodes_;
};

asio::awaitable<Result<void>> DatabaseClusterReconciler::reconcile(std::string key) {
  auto [ns, name] = kube::splitKey(key);
  db::ClusterFacts facts;
  facts.engine = engine_;
  facts.ns = ns;
  facts.name = name;
  json cluster;
  if (const json* cached = clusters_.get(key)) {
    cluster = *cached;
    cluster["kind"] = db::kindOf(engine_);  // what objects.h builds from: this reconciler's kind
    facts.cluster = &cluster;
  }
  facts.pods = labelled(pods_, ns, name);
  facts.services = labelled(services_, ns, name);
  facts.secrets = labelled(secrets_, ns, name);
  facts.config_maps = labelled(config_maps_, ns, name);
  for (const auto& [node_key, node] : nodes_.items()) {
    facts.node_zones[node_key] = node.value(
        json::json_pointer("/metadata/labels/topology.kubernetes.io~1zone"), std::string());
  }
  facts.now = ctx_.wall();
  db::GeneratedSecrets fresh{randomSecret(), randomSecret(), randomSecret(), randomSecret()};
  db::DbDecision d = db::decideDatabaseCluster(facts, settings_, fresh);
  for (const auto& a : d.actions) {
    auto done = co_await execute(ns, a, facts.cluster);
    if (!done) {
      co_return done;
    }
  }
  co_return ok();
}

asio::awaitable<Result<void>> DatabaseClusterReconciler::execute(std::string ns, db::DbAction a,
                                                                 const json* cluster) {
  using Verb = db::DbAction::Verb;
  const kube::Resource& r = resourceNamed(a.resource, engine_);
  std::string what = a.resource + " " + ns + "/" + a.name;
  Result<kube::Reply> reply = fail(ErrorCode::Internal, "no request");
  switch (a.verb) {
    case Verb::Create:
      reply = co_await ctx_.client.call("POST", r.collection(ns), a.body.dump());
      if (reply && reply->status == 409) {
        co_return ok();
      }
      break;
    case Verb::Update:
      reply = co_await ctx_.client.call("PUT", r.object(ns, a.name), a.body.dump());
      break;
    case Verb::Patch:
      reply = co_await ctx_.client.call("PATCH", r.object(ns, a.name), a.body.dump(), kMergePatch);
      if (reply && reply->status == 404) {
        co_return ok();
      }
      break;
    case Verb::Delete: {
      json options = {
          {"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"preconditions", {{"uid", a.body}}}};
      reply = co_await ctx_.client.call("DELETE", r.object(ns, a.name), options.dump());
      if (reply && (reply->status == 404 || reply->status == 409)) {
        co_return ok();  // gone, or another object by that name now
      }
      break;
    }
    case Verb::UpdateStatus:
      reply = co_await ctx_.client.call("PUT", r.object(ns, a.name, "status"), a.body.dump());
      if (reply && (reply->status == 409 || reply->status == 404)) {
        co_return ok();  // changed meanwhile: its event decides it again
      }
      break;
  }
  const char* done = a.verb == Verb::Create   ? "created"
                     : a.verb == Verb::Delete ? "deleted"
                     : a.verb == Verb::Patch  ? "labelled"
                                              : "updated";
  if (auto r2 = answered(reply, what); !r2) {
    log::get("database")->warn("not {} {}: {}", done, what, r2.error().message);
    co_return r2;
  }
  log::get("database")->info("{} {}: {}", done, what, a.reason);
  if (cluster && (a.verb == Verb::Create || a.verb == Verb::Delete)) {
    ctx_.recorder.event(
        refOf(*cluster, db::kindOf(engine_), "rampart.io/v1"), "Normal",
        a.verb == Verb::Create ? "Created" : "Deleted",
        (a.verb == Verb::Create ? "created " : "deleted ") + what + ": " + a.reason);
  }
  co_return ok();
}

}  // namespace

std::unique_ptr<Reconciler> makeDatabaseReconciler(ControllerContext& context, Enqueue enqueue,
                                                   const ReconcilerOptions& options,
                                                   db::Engine engine) {
  return std::make_unique<DatabaseClusterReconciler>(context, std::move(enqueue), engine,
                                                     options.database);
}

}  // namespace rampart::controller
