// The disruption controller: PodDisruptionBudget status (pdb_status.h's decision) from the
// pods the budget selects and the scales of their controllers, which this file looks up in the
// informers as Kubernetes' finders do (ReplicaSet, its Deployment, StatefulSet; other kinds have
// no scale subresource here). The eviction subresource
// reads this status and decrements disruptionsAllowed with a CAS write, so this controller
// writes the status with the resourceVersion it read (PUT /status), never over an eviction.

#include <set>

#include <nlohmann/json.hpp>

#include "controller/pdb_status.h"
#include "controller/reconcilers.h"
#include "controller/replicaset.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

class DisruptionReconciler : public Reconciler {
 public:
  DisruptionReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        budgets_(context.informer(res::kPodDisruptionBudgets)),
        pods_(context.informer(res::kPods)),
        sets_(context.informer(res::kReplicaSets)),
        deployments_(context.informer(res::kDeployments)),
        statefulsets_(context.informer(res::kStatefulSets)) {
    budgets_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      enqueue_(kube::keyOf(after ? *after : *before));
    });
    pods_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      if (before) {
        enqueueFor(*before);
      }
      if (after) {
        enqueueFor(*after);
      }
    });
    auto by_namespace = [this](kube::Informer::Change, const json* before, const json* after) {
      const json& o = after ? *after : *before;
      for (const json* pdb :
           budgets_.inNamespace(o.value("/metadata/namespace"_json_pointer, std::string()))) {
        enqueue_(kube::keyOf(*pdb));
      }
    };
    sets_.addHandler(by_namespace);
    deployments_.addHandler(by_namespace);
    statefulsets_.addHandler(by_namespace);
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    for (const auto& [key, pdb] : budgets_.items()) {
      keys.push_back(key);
    }
    return keys;
  }

  asio::awaitable<Result<void>> reconcile(std::string key) override;

 private:
  void enqueueFor(const json& pod) {
    api::Labels labels = kube::labelsOf(pod);
    for (const json* pdb :
         budgets_.inNamespace(pod.value("/metadata/namespace"_json_pointer, std::string()))) {
      auto selector = api::labelSelectorFromJson(
          pdb->value("/spec/selector"_json_pointer, json::object()), "spec.selector");
      if (selector && selector->matches(labels)) {
        enqueue_(kube::keyOf(*pdb));
      }
    }
  }

  // The scale behind each distinct controllerRef of `pods` (Kubernetes' finders): a ReplicaSet
  // owned by a Deployment scales as the Deployment; a ref whose uid does not match the object
  // found is no controller at all; kinds without a scale subresource are an error.
  ControllerScales scalesFor(const std::string& ns, const std::vector<json>& pods) const {
    ControllerScales scales;
    for (const auto& pod : pods) {
      auto ref = kube::controllerRef(pod);
      if (!ref) {
        continue;
      }
      std::string uid = ref->value("uid", "");
      if (scales.count(uid)) {
        continue;
      }
      scales.emplace(uid, scaleOf(ns, *ref));
    }
    return scales;
  }

  Result<std::optional<ControllerScale>> scaleOf(const std::string& ns, const json& ref) const {
    std::string kind = ref.value("kind", "");
    std::string api_version = ref.value("apiVersion", "");
    std::string group = api_version.find('/') == std::string::npos
                            ? ""
                            : api_version.substr(0, api_version.find('/'));
    auto found = [](const json* o, const json& by) -> std::optional<ControllerScale> {
      if (!o || o->value("/metadata/uid"_json_pointer, std::string()) != by.value("uid", "")) {
        return std::nullopt;
      }
      return ControllerScale{o->value("/metadata/uid"_json_pointer, std::string()),
                             o->value("/spec/replicas"_json_pointer, int64_t{1})};
    };
    std::string key = kube::makeKey(ns, ref.value("name", ""));
    if (group == "apps" && kind == "ReplicaSet") {
      const json* rs = sets_.get(key);
      auto scale = found(rs, ref);
      if (scale) {
        if (auto up = kube::controllerRef(*rs); up && up->value("kind", "") == "Deployment") {
          // Kubernetes' getPodDeployment: the Deployment's scale, or no controller at all.
          return found(deployments_.get(kube::makeKey(ns, up->value("name", ""))), *up);
        }
      }
      return scale;
    }
    if (group == "apps" && kind == "Deployment") {
      return found(deployments_.get(key), ref);
    }
    if (group == "apps" && kind == "StatefulSet") {
      return found(statefulsets_.get(key), ref);
    }
    static const std::map<std::pair<std::string, std::string>, std::string> kUnscalable = {
        {{"apps", "DaemonSet"}, "daemonsets.apps"},
        {{"batch", "Job"}, "jobs.batch"},
        {{"batch", "CronJob"}, "cronjobs.batch"},
        {{"", "Node"}, "nodes"},
        {{"", "Pod"}, "pods"},
        {{"", "Service"}, "services"}};
    if (auto it = kUnscalable.find({group, kind}); it != kUnscalable.end()) {
      return fail(ErrorCode::FailedPrecondition, it->second,
                  " does not implement the scale subresource");
    }
    // The RESTMapper's answer for a kind this server does not serve.
    return fail(ErrorCode::NotFound, "no matches for kind \"", kind, "\" in version \"",
                api_version, "\"");
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& budgets_;
  kube::Informer& pods_;
  kube::Informer& sets_;
  kube::Informer& deployments_;
  kube::Informer& statefulsets_;
};

asio::awaitable<Result<void>> DisruptionReconciler::reconcile(std::string key) {
  const json* cached = budgets_.get(key);
  if (!cached) {
    co_return ok();
  }
  json pdb = *cached;
  auto [ns, name] = kube::splitKey(key);
  auto selector = api::labelSelectorFromJson(
      pdb.value("/spec/selector"_json_pointer, json::object()), "spec.selector");
  if (!selector) {
    co_return ok();
  }
  std::vector<json> matched;
  for (const json* pod : pods_.inNamespace(ns)) {
    if (selector->matches(kube::labelsOf(*pod))) {
      matched.push_back(*pod);
    }
  }
  PdbDecision decision = decidePdbStatus(pdb, matched, scalesFor(ns, matched), ctx_.wall());
  for (const auto& e : decision.events) {
    ctx_.recorder.event(refOf(pdb, "PodDisruptionBudget", "policy/v1"), e.type, e.reason,
                        e.message);
  }
  json next = decision.status;
  json compare = pdb.value("status", json::object());
  if (compare == next) {
    co_return ok();
  }
  pdb["status"] = next;
  auto reply = co_await ctx_.client.call(
      "PUT", res::kPodDisruptionBudgets.object(ns, name, "status"), pdb.dump());
  if (!reply) {
    co_return fail(reply.error());
  }
  if (reply->status == 404) {
    co_return ok();
  }
  if (!reply->ok()) {
    // 409: an eviction (or another writer) changed it; the informer brings the new version.
    co_return fail(ErrorCode::FailedPrecondition, "status of ", key, ": ", reply->message());
  }
  co_return ok();
}

}  // namespace

std::unique_ptr<Reconciler> makeDisruptionReconciler(ControllerContext& context, Enqueue enqueue) {
  return std::make_unique<DisruptionReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
