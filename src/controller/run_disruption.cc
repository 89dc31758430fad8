// The disruption controller: PodDisruptionBudget status (disruption.h's arithmetic) from the
// pods the budget selects and the replicas their controllers want. The eviction subresource
// reads this status and decrements disruptionsAllowed with a CAS write, so this controller
// writes the status with the resourceVersion it read (PUT /status), never over an eviction.

#include <set>

#include <nlohmann/json.hpp>

#include "controller/disruption.h"
#include "controller/reconcilers.h"
#include "controller/replicaset.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

// Kubernetes drops a disruptedPods entry once the pod is gone or 2 minutes have passed.
constexpr auto kDisruptionTimeout = std::chrono::minutes(2);

class DisruptionReconciler : public Reconciler {
 public:
  DisruptionReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        budgets_(context.informer(res::kPodDisruptionBudgets)),
        pods_(context.informer(res::kPods)),
        sets_(context.informer(res::kReplicaSets)),
        deployments_(context.informer(res::kDeployments)) {
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

  // The replicas the pods' controllers want: each controller counted once; a ReplicaSet owned
  // by a Deployment counts as its Deployment (Kubernetes' finders); pods without a controller
  // count one each.
  int64_t expectedPods(const std::string& ns, const std::vector<json>& pods) const {
    std::set<std::string> seen;
    int64_t expected = 0;
    for (const auto& pod : pods) {
      auto ref = kube::controllerRef(pod);
      if (!ref) {
        ++expected;
        continue;
      }
      std::string kind = ref->value("kind", "");
      const json* owner = nullptr;
      if (kind == "ReplicaSet") {
        owner = sets_.get(kube::makeKey(ns, ref->value("name", "")));
        if (owner) {
          if (auto up = kube::controllerRef(*owner); up && up->value("kind", "") == "Deployment") {
            if (const json* d = deployments_.get(kube::makeKey(ns, up->value("name", "")))) {
              owner = d;
            }
          }
        }
      }
      if (!owner) {
        ++expected;
        continue;
      }
      std::string uid = owner->value("/metadata/uid"_json_pointer, std::string());
      if (seen.insert(uid).second) {
        expected += owner->value("/spec/replicas"_json_pointer, int64_t{1});
      }
    }
    return expected;
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& budgets_;
  kube::Informer& pods_;
  kube::Informer& sets_;
  kube::Informer& deployments_;
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
  api::WallTime now = ctx_.wall();
  json status = pdb.value("status", json::object());
  json disrupted = json::object();
  if (status.contains("disruptedPods") && status["disruptedPods"].is_object()) {
    for (const auto& [pod, when] : status["disruptedPods"].items()) {
      const json* live = pods_.get(kube::makeKey(ns, pod));
      auto at = when.is_string() ? api::parseRfc3339(when.get<std::string>()) : std::nullopt;
      if (live && !live->contains("/metadata/deletionTimestamp"_json_pointer) && at &&
          now - *at < kDisruptionTimeout) {
        disrupted[pod] = when;
      }
    }
  }
  std::vector<json> matched;
  std::vector<json> countable;  // matched, minus pods an eviction is taking away
  for (const json* pod : pods_.inNamespace(ns)) {
    if (!selector->matches(kube::labelsOf(*pod))) {
      continue;
    }
    matched.push_back(*pod);
    if (!disrupted.contains(pod->value("/metadata/name"_json_pointer, std::string()))) {
      countable.push_back(*pod);
    }
  }
  auto computed = budgetStatus(pdb, countable, expectedPods(ns, matched));
  if (!computed) {
    ctx_.recorder.event(refOf(pdb, "PodDisruptionBudget", "policy/v1"), "Warning",
                        "CalculateExpectedPodCountFailed", computed.error().message);
    co_return ok();
  }
  bool allowed = computed->disruptions_allowed > 0;
  int64_t generation = pdb.value("/metadata/generation"_json_pointer, int64_t{0});
  json condition = {{"type", "DisruptionAllowed"},
                    {"status", allowed ? "True" : "False"},
                    {"reason", allowed ? "SufficientPods" : "InsufficientPods"},
                    {"message", ""},
                    {"observedGeneration", generation},
                    {"lastTransitionTime", api::formatRfc3339(now)}};
  if (status.contains("conditions") && status["conditions"].is_array()) {
    for (const auto& c : status["conditions"]) {
      if (c.value("type", "") == "DisruptionAllowed" &&
          c.value("status", "") == condition["status"] && c.contains("lastTransitionTime")) {
        condition["lastTransitionTime"] = c["lastTransitionTime"];
      }
    }
  }
  json next = {{"observedGeneration", generation},
               {"expectedPods", computed->expected},
               {"currentHealthy", computed->current_healthy},
               {"desiredHealthy", computed->desired_healthy},
               {"disruptionsAllowed", computed->disruptions_allowed},
               {"disruptedPods", disrupted},
               {"conditions", json::array({condition})}};
  json compare = status;
  if (!compare.contains("disruptedPods")) {
    compare["disruptedPods"] = json::object();
  }
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

std::unique_ptr<Reconciler> makeDisruptionReconciler(ControllerContext& context,
                                                     Enqueue enqueue) {
  return std::make_unique<DisruptionReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
