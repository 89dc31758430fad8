// The scheduler: kube-scheduler's job over scheduler.h's decision. Every pending pod (unbound,
// not being deleted, schedulerName default-scheduler or unset) is placed in one batch against
// the nodes and the pods already on them, then bound with POST pods/<name>/binding.
// Like kube-scheduler it "assumes" a pod on its node as soon as it decides, until the informer
// shows the binding: a pod bound but not yet observed is never scheduled twice, and the next
// batch accounts it on its node. A pod that fits nowhere gets a FailedScheduling event and the
// PodScheduled=False condition (reason Unschedulable), written again only when the message
// changes; it is retried when nodes or pods change (and at each resync).
// Node-local claims (volume_binding.h): a pod whose claim is bound is placed only on the claim's
// node; a pod's unbound claims are bound to its node (annotation, then status) before the pod.

#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/parallel.h"
#include "controller/reconcilers.h"
#include "controller/writes.h"
#include "controller/replicaset.h"
#include "controller/scheduler.h"
#include "controller/volume_binding.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

constexpr const char* kKey = "pending";
constexpr size_t kBindsAtOnce = 64;

bool isPending(const json& pod) {
  if (!pod.value("/spec/nodeName"_json_pointer, std::string()).empty() || !isActivePod(pod)) {
    return false;
  }
  std::string scheduler = pod.value("/spec/schedulerName"_json_pointer, std::string());
  return scheduler.empty() || scheduler == "default-scheduler";
}

std::string unschedulableMessage(const json& pod) {
  if (pod.contains("/status/conditions"_json_pointer) &&
      pod["/status/conditions"_json_pointer].is_array()) {
    for (const auto& c : pod["/status/conditions"_json_pointer]) {
      if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False") {
        return c.value("message", "");
      }
    }
  }
  return {};
}

class SchedulerReconciler : public Reconciler {
 public:
  SchedulerReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        nodes_(context.informer(res::kNodes)),
        pods_(context.informer(res::kPods)),
        claims_(context.informer(res::kPersistentVolumeClaims)) {
    pods_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      if (!after) {
        assumed_.erase(kube::keyOf(*before));
        enqueue_(kKey);  // freed room
        return;
      }
      if (!after->value("/spec/nodeName"_json_pointer, std::string()).empty()) {
        assumed_.erase(kube::keyOf(*after));
      } else if (isPending(*after)) {
        enqueue_(kKey);
      }
    });
    nodes_.addHandler([this](kube::Informer::Change, const json*, const json*) {
      enqueue_(kKey);
    });
    claims_.addHandler([this](kube::Informer::Change, const json*, const json*) {
      enqueue_(kKey);  // a claim a pending pod waits for
    });
  }

  std::vector<std::string> keys() const override { return {kKey}; }
  void reset() override { assumed_.clear(); }
  asio::awaitable<Result<void>> reconcile(std::string key) override;

 private:
  asio::awaitable<void> bind(json pod, std::string node, std::vector<json> claims,
                             std::shared_ptr<int> failures) {
    std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
    std::string name = pod.value("/metadata/name"_json_pointer, std::string());
    // The claims first: a pod bound to a node its claim is not bound to would run without its
    // data.
    for (const auto& claim : claims) {
      std::string claim_name = claim.value("/metadata/name"_json_pointer, std::string());
      auto pinned = co_await ctx_.client.call("PATCH",
                                              res::kPersistentVolumeClaims.object(ns, claim_name),
                                              claimBindPatch(claim, node).dump(), kMergePatch);
      Result<kube::Reply> bound = pinned;
      if (pinned && pinned->ok()) {
        bound = co_await ctx_.client.call(
            "PATCH", res::kPersistentVolumeClaims.object(ns, claim_name, "status"),
            claimBoundStatus(claim).dump(), kMergePatch);
      }
      if (!bound || !bound->ok()) {
        assumed_.erase(kube::makeKey(ns, name));
        ++*failures;
        log::get("scheduler")->warn("binding claim failed pod={}/{} claim={} node={} error={}", ns,
                                    name, claim_name, node,
                                    bound ? bound->message() : bound.error().message);
        co_return;
      }
    }
    json binding = {{"apiVersion", "v1"},
                    {"kind", "Binding"},
                    {"metadata", {{"name", name}, {"namespace", ns}}},
                    {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
    auto reply =
        co_await ctx_.client.call("POST", res::kPods.object(ns, name, "binding"), binding.dump());
    if (reply && reply->ok()) {
      ctx_.recorder.event(refOf(pod, "Pod", "v1"), "Normal", "Scheduled",
                          "Successfully assigned " + ns + "/" + name + " to " + node);
      co_return;
    }
    assumed_.erase(kube::makeKey(ns, name));
    ++*failures;
    log::get("scheduler")->warn("binding failed pod={}/{} node={} error={}", ns, name, node,
                                reply ? reply->message() : reply.error().message);
  }

  asio::awaitable<void> unschedulable(json pod, std::string message) {
    std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
    std::string name = pod.value("/metadata/name"_json_pointer, std::string());
    ctx_.recorder.event(refOf(pod, "Pod", "v1"), "Warning", "FailedScheduling", message);
    json conditions = json::array();
    if (pod.contains("/status/conditions"_json_pointer) &&
        pod["/status/conditions"_json_pointer].is_array()) {
      for (const auto& c : pod["/status/conditions"_json_pointer]) {
        if (c.value("type", "") != "PodScheduled") {
          conditions.push_back(c);
        }
      }
    }
    conditions.push_back({{"type", "PodScheduled"},
                          {"status", "False"},
                          {"reason", "Unschedulable"},
                          {"message", message},
                          {"lastProbeTime", nullptr},
                          {"lastTransitionTime", api::formatRfc3339(ctx_.wall())}});
    json patch = {{"status", {{"phase", "Pending"}, {"conditions", conditions}}}};
    co_await ctx_.client.call("PATCH", res::kPods.object(ns, name, "status"), patch.dump(),
                              kMergePatch);
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& nodes_;
  kube::Informer& pods_;
  kube::Informer& claims_;
  std::unordered_map<std::string, std::string> assumed_;  // pod key → node, until observed
};

asio::awaitable<Result<void>> SchedulerReconciler::reconcile(std::string) {
  std::vector<json> pending;
  std::vector<json> placed;
  for (const auto& [key, pod] : pods_.items()) {
    if (auto it = assumed_.find(key); it != assumed_.end()) {
      json bound = pod;
      bound["spec"]["nodeName"] = it->second;
      placed.push_back(std::move(bound));
    } else if (isPending(pod)) {
      pending.push_back(pod);
    } else if (!pod.value("/spec/nodeName"_json_pointer, std::string()).empty()) {
      placed.push_back(pod);
    }
  }
  if (pending.empty()) {
    co_return ok();
  }
  // Kubernetes' queue order without priorities: the longest waiting first.
  std::stable_sort(pending.begin(), pending.end(), [](const json& a, const json& b) {
    return a.value("/metadata/creationTimestamp"_json_pointer, std::string()) <
           b.value("/metadata/creationTimestamp"_json_pointer, std::string());
  });
  std::vector<json> nodes;
  for (const auto& [key, node] : nodes_.items()) {
    nodes.push_back(node);
  }
  ClusterState state(nodes, placed);
  auto failures = std::make_shared<int>(0);
  std::vector<asio::awaitable<void>> tasks;
  // Claims bound in this batch, before the informer shows it (two pods sharing a claim).
  std::unordered_map<std::string, json> binding;
  ClaimLookup claim = [&](const std::string& ns, const std::string& name) -> const json* {
    if (auto it = binding.find(kube::makeKey(ns, name)); it != binding.end()) {
      return &it->second;
    }
    return claims_.get(kube::makeKey(ns, name));
  };
  for (const auto& pod : pending) {
    PodClaims volumes = podClaims(pod, claim);
    if (!volumes.error.empty()) {
      if (unschedulableMessage(pod) != volumes.error) {
        tasks.push_back(unschedulable(pod, volumes.error));
      }
      continue;
    }
    ScheduleDecision d =
        state.schedule(volumes.node.empty() ? pod : pinnedToNode(pod, volumes.node));
    std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
    if (!d.node.empty()) {
      assumed_[kube::keyOf(pod)] = d.node;
      std::vector<json> to_bind;
      for (const auto& name : volumes.unbound) {
        json c = *claim(ns, name);
        to_bind.push_back(c);
        c["metadata"]["annotations"][kSelectedNodeAnnotation] = d.node;
        binding[kube::makeKey(ns, name)] = std::move(c);
      }
      tasks.push_back(bind(pod, d.node, std::move(to_bind), failures));
      continue;
    }
    std::string message =
        volumes.node.empty() ? d.message : volumeConflictMessage(pod, d.message);
    if (unschedulableMessage(pod) != message) {
      tasks.push_back(unschedulable(pod, message));
    }
    if (tasks.size() >= kBindsAtOnce) {
      co_await runAll(std::move(tasks));
      tasks.clear();
    }
  }
  co_await runAll(std::move(tasks));
  if (*failures > 0) {
    co_return fail(ErrorCode::Unavailable, std::to_string(*failures), " bindings failed");
  }
  co_return ok();
}

}  // namespace

std::unique_ptr<Reconciler> makeSchedulerReconciler(ControllerContext& context, Enqueue enqueue) {
  return std::make_unique<SchedulerReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
