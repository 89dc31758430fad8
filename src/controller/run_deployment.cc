// The Deployment controller: decideDeployment() over the ReplicaSets a Deployment controls
// (claimed with ownership.h's rules), its writes applied in the order the decision asks:
// creates, updates (with the resourceVersion read: a stale decision loses with 409 and is made
// again), deletes, the revision annotation, then /status. New ReplicaSets have deterministic
// names (`<deployment>-<pod-template-hash>`), so a create repeated by a new leader answers
// AlreadyExists instead of making a second one.

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/deployment.h"
#include "controller/ownership.h"
#include "controller/reconcilers.h"
#include "controller/writes.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

class DeploymentReconciler : public Reconciler {
 public:
  DeploymentReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        deployments_(context.informer(res::kDeployments)),
        sets_(context.informer(res::kReplicaSets)),
        pods_(context.informer(res::kPods)) {
    deployments_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      enqueue_(kube::keyOf(after ? *after : *before));
    });
    sets_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      const json& rs = after ? *after : *before;
      std::string ns = rs.value("/metadata/namespace"_json_pointer, std::string());
      auto ref = kube::controllerRef(rs);
      if (ref && ref->value("kind", "") == "Deployment") {
        enqueue_(kube::makeKey(ns, ref->value("name", "")));
      } else if (!ref) {
        enqueueMatching(ns, kube::labelsOf(rs));  // an orphan: maybe ours to adopt
      }
    });
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    for (const auto& [key, d] : deployments_.items()) {
      keys.push_back(key);
    }
    return keys;
  }

  asio::awaitable<Result<void>> reconcile(std::string key) override;

 private:
  void enqueueMatching(const std::string& ns, const api::Labels& labels) {
    for (const json* d : deployments_.inNamespace(ns)) {
      auto selector = api::labelSelectorFromJson(
          d->value("/spec/selector"_json_pointer, json::object()), "spec.selector");
      if (selector && !selector->empty() && selector->matches(labels)) {
        enqueue_(kube::keyOf(*d));
      }
    }
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& deployments_;
  kube::Informer& sets_;
  kube::Informer& pods_;
};

asio::awaitable<Result<void>> DeploymentReconciler::reconcile(std::string key) {
  const json* cached = deployments_.get(key);
  if (!cached) {
    co_return ok();
  }
  json deployment = *cached;
  if (deployment.contains("/metadata/deletionTimestamp"_json_pointer)) {
    co_return ok();  // the garbage collector takes its ReplicaSets
  }
  auto [ns, name] = kube::splitKey(key);
  ObjectRef ref = refOf(deployment, "Deployment", "apps/v1");
  std::vector<json> candidates;
  std::map<std::string, json> by_name;
  for (const json* rs : sets_.inNamespace(ns)) {
    candidates.push_back(*rs);
    by_name[rs->value("/metadata/name"_json_pointer, std::string())] = *rs;
  }
  auto claim = decideOwnership(deployment, candidates);
  if (!claim) {
    ctx_.recorder.event(ref, "Warning", "SelectorFailed", claim.error().message);
    co_return ok();
  }
  json our_ref = controllerRef(deployment);
  for (const auto& rs_name : claim->release) {
    json refs = json::array();
    for (const auto& r : by_name[rs_name].value("/metadata/ownerReferences"_json_pointer,
                                                json::array())) {
      if (r.value("uid", "") != our_ref.value("uid", "")) {
        refs.push_back(r);
      }
    }
    if (auto released = co_await patchOwnerReferences(ctx_.client, res::kReplicaSets, by_name[rs_name], refs); !released) {
      co_return fail(released.error());
    }
  }
  for (const auto& rs_name : claim->adopt) {
    json refs = by_name[rs_name].value("/metadata/ownerReferences"_json_pointer, json::array());
    refs.push_back(our_ref);
    auto adopted = co_await patchOwnerReferences(ctx_.client, res::kReplicaSets, by_name[rs_name], refs);
    if (!adopted) {
      co_return fail(adopted.error());
    }
    by_name[rs_name] = std::move(*adopted);
  }
  std::vector<json> owned;
  std::set<std::string> owned_uids;
  for (const auto& rs_name : claim->owned) {
    owned.push_back(by_name[rs_name]);
    owned_uids.insert(by_name[rs_name].value("/metadata/uid"_json_pointer, std::string()));
  }
  std::vector<json> pods;
  for (const json* pod : pods_.inNamespace(ns)) {
    auto pref = kube::controllerRef(*pod);
    if (pref && owned_uids.count(pref->value("uid", ""))) {
      pods.push_back(*pod);
    }
  }
  auto decided = decideDeployment(deployment, owned, ctx_.wall(), pods);
  if (!decided) {
    ctx_.recorder.event(ref, "Warning", "InvalidDeployment", decided.error().message);
    co_return ok();
  }
  DeploymentDecision& d = *decided;
  for (const auto& rs : d.create) {
    auto reply = co_await ctx_.client.call("POST", res::kReplicaSets.collection(ns), rs.dump());
    if (reply && reply->status == 409 && reply->reason() == "AlreadyExists") {
      co_return fail(ErrorCode::AlreadyExists, "replica set ",
                     rs.value("/metadata/name"_json_pointer, std::string()),
                     " exists already: deciding again once it is observed");
    }
    if (auto r = answered(reply, "creating a replica set"); !r) {
      co_return r;
    }
  }
  for (const auto& rs : d.update) {
    auto reply = co_await ctx_.client.call(
        "PUT",
        res::kReplicaSets.object(ns, rs.value("/metadata/name"_json_pointer, std::string())),
        rs.dump());
    if (auto r = answered(reply, "updating a replica set"); !r) {
      co_return r;
    }
  }
  for (const auto& rs_name : d.delete_names) {
    auto reply = co_await ctx_.client.call("DELETE", res::kReplicaSets.object(ns, rs_name));
    if (reply && reply->status == 404) {
      continue;
    }
    if (auto r = answered(reply, "deleting a replica set"); !r) {
      co_return r;
    }
  }
  for (const auto& e : d.events) {
    ctx_.recorder.event(ref, e.type, e.reason, e.message);
  }
  if (!d.annotations.is_null() &&
      deployment.value("/metadata/annotations"_json_pointer, json::object()) != d.annotations) {
    json patch = {{"metadata", {{"annotations", d.annotations}}}};
    auto reply = co_await ctx_.client.call("PATCH", res::kDeployments.object(ns, name),
                                           patch.dump(), kMergePatch);
    if (auto r = answered(reply, "annotating the deployment"); !r) {
      co_return r;
    }
  }
  if (!d.status.is_null() && deployment.value("status", json::object()) != d.status) {
    json patch = {{"status", d.status}};
    auto reply = co_await ctx_.client.call("PATCH", res::kDeployments.object(ns, name, "status"),
                                           patch.dump(), kMergePatch);
    if (reply && reply->status == 404) {
      co_return ok();
    }
    if (auto r = answered(reply, "deployment status"); !r) {
      co_return r;
    }
  }
  co_return ok();
}

}  // namespace

std::unique_ptr<Reconciler> makeDeploymentReconciler(ControllerContext& context, Enqueue enqueue) {
  return std::make_unique<DeploymentReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
