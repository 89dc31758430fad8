// The ReplicaSet controller: decideReplicaSet() over the pods a ReplicaSet owns, with
// kube-controller-manager's adoption, expectations and slow-start creation around it.

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/expectations.h"
#include "controller/parallel.h"
#include "controller/reconcilers.h"
#include "controller/writes.h"
#include "controller/replicaset.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

std::string podKey(const json& pod) { return kube::keyOf(pod); }

bool beingDeleted(const json& object) {
  return object.contains("/metadata/deletionTimestamp"_json_pointer) &&
         !object["/metadata/deletionTimestamp"_json_pointer].is_null();
}

class ReplicaSetReconciler : public Reconciler {
 public:
  ReplicaSetReconciler(ControllerContext& context, Enqueue enqueue, ReconcilerOptions options)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        options_(options),
        sets_(context.informer(res::kReplicaSets)),
        pods_(context.informer(res::kPods)) {
    sets_.addHandler([this](kube::Informer::Change change, const json* before, const json* after) {
      const json& rs = after ? *after : *before;
      if (change == kube::Informer::Change::Deleted) {
        expectations_.forget(kube::keyOf(rs));
      }
      enqueue_(kube::keyOf(rs));
    });
    pods_.addHandler([this](kube::Informer::Change change, const json* before, const json* after) {
      onPod(change, before, after);
    });
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    for (const auto& [key, rs] : sets_.items()) {
      keys.push_back(key);
    }
    return keys;
  }

  void reset() override { expectations_.clear(); }

  asio::awaitable<Result<void>> reconcile(std::string key) override;

 private:
  // The ReplicaSet key a pod's controllerRef names, if it names a ReplicaSet.
  static std::optional<std::string> ownerKey(const json& pod) {
    auto ref = kube::controllerRef(pod);
    if (!ref || ref->value("kind", "") != "ReplicaSet") {
      return std::nullopt;
    }
    return kube::makeKey(pod.value("/metadata/namespace"_json_pointer, std::string()),
                         ref->value("name", ""));
  }

  void enqueueMatching(const json& pod) {
    std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
    api::Labels labels = kube::labelsOf(pod);
    for (const json* rs : sets_.inNamespace(ns)) {
      auto selector = api::labelSelectorFromJson(
          rs->value("/spec/selector"_json_pointer, json::object()), "spec.selector");
      if (selector && !selector->empty() && selector->matches(labels)) {
        enqueue_(kube::keyOf(*rs));
      }
    }
  }

  void onPod(kube::Informer::Change change, const json* before, const json* after) {
    using Change = kube::Informer::Change;
    TimePoint now = ctx_.clock.now();
    (void)now;
    if (change == Change::Added) {
      auto owner = ownerKey(*after);
      if (owner) {
        if (beingDeleted(*after)) {
          expectations_.deletionObserved(*owner, podKey(*after));
        } else {
          expectations_.creationObserved(*owner);
        }
        enqueue_(*owner);
      } else {
        enqueueMatching(*after);
      }
      return;
    }
    if (change == Change::Deleted) {
      if (auto owner = ownerKey(*before)) {
        expectations_.deletionObserved(*owner, podKey(*before));
        enqueue_(*owner);
      }
      return;
    }
    auto old_owner = ownerKey(*before);
    auto new_owner = ownerKey(*after);
    if (new_owner && beingDeleted(*after) && !beingDeleted(*before)) {
      // Graceful deletion: the pod no longer counts once its deletionTimestamp is set.
      expectations_.deletionObserved(*new_owner, podKey(*after));
    }
    if (old_owner && old_owner != new_owner) {
      enqueue_(*old_owner);
    }
    if (new_owner) {
      enqueue_(*new_owner);
    } else if (kube::labelsOf(*before) != kube::labelsOf(*after) || old_owner) {
      enqueueMatching(*after);
    }
  }

  json ownerReference(const json& rs) const {
    return {{"apiVersion", "apps/v1"},
            {"kind", "ReplicaSet"},
            {"name", rs.value("/metadata/name"_json_pointer, std::string())},
            {"uid", rs.value("/metadata/uid"_json_pointer, std::string())},
            {"controller", true},
            {"blockOwnerDeletion", true}};
  }

  json podFromTemplate(const json& rs) const {
    json meta = {{"generateName", rs.value("/metadata/name"_json_pointer, std::string()) + "-"},
                 {"namespace", rs.value("/metadata/namespace"_json_pointer, std::string())},
                 {"ownerReferences", json::array({ownerReference(rs)})}};
    const json* tmeta = rs.contains("/spec/template/metadata"_json_pointer)
                            ? &rs["/spec/template/metadata"_json_pointer]
                            : nullptr;
    if (tmeta && tmeta->is_object()) {
      for (const char* field : {"labels", "annotations", "finalizers"}) {
        if (tmeta->contains(field)) {
          meta[field] = (*tmeta)[field];
        }
      }
    }
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", std::move(meta)},
            {"spec", rs.value("/spec/template/spec"_json_pointer, json::object())}};
  }

  asio::awaitable<void> createOne(std::string key, json pod, ObjectRef ref,
                                  std::shared_ptr<int> failures) {
    std::string ns = pod["metadata"].value("namespace", "");
    auto reply = co_await ctx_.client.call("POST", res::kPods.collection(ns), pod.dump());
    if (reply && reply->ok()) {
      ctx_.recorder.event(ref, "Normal", "SuccessfulCreate",
                          "Created pod: " + reply->body.value("/metadata/name"_json_pointer,
                                                              std::string()));
      co_return;
    }
    ++*failures;
    expectations_.creationObserved(key);  // it will never be observed
    std::string why = reply ? reply->message() : reply.error().message;
    ctx_.recorder.event(ref, "Warning", "FailedCreate", "Error creating: " + why);
    log::get("replicaset")->warn("create failed replicaset={} error={}", key, why);
  }

  asio::awaitable<void> deleteOne(std::string key, std::string ns, std::string name,
                                  ObjectRef ref, std::shared_ptr<int> failures) {
    auto reply = co_await ctx_.client.call("DELETE", res::kPods.object(ns, name));
    if (reply && (reply->ok() || reply->status == 404)) {
      ctx_.recorder.event(ref, "Normal", "SuccessfulDelete", "Deleted pod: " + name);
      if (reply->status == 404) {
        expectations_.deletionObserved(key, kube::makeKey(ns, name));
      }
      co_return;
    }
    ++*failures;
    expectations_.deletionObserved(key, kube::makeKey(ns, name));
    std::string why = reply ? reply->message() : reply.error().message;
    ctx_.recorder.event(ref, "Warning", "FailedDelete", "Error deleting: " + why);
  }

  // Adopts an orphan (adds our controllerRef) or releases a pod we own that no longer matches.
  asio::awaitable<Result<json>> setOwner(const json& pod, const json* owner_ref) {
    json refs = json::array();
    if (pod.contains("/metadata/ownerReferences"_json_pointer)) {
      for (const auto& ref : pod["/metadata/ownerReferences"_json_pointer]) {
        if (!ref.value("controller", false)) {
          refs.push_back(ref);
        }
      }
    }
    if (owner_ref) {
      refs.push_back(*owner_ref);
    }
    auto written = co_await patchOwnerReferences(ctx_.client, res::kPods, pod, std::move(refs));
    co_return written;
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  ReconcilerOptions options_;
  kube::Informer& sets_;
  kube::Informer& pods_;
  Expectations expectations_;
};

asio::awaitable<Result<void>> ReplicaSetReconciler::reconcile(std::string key) {
  const json* cached = sets_.get(key);
  if (!cached) {
    expectations_.forget(key);
    co_return ok();
  }
  json rs = *cached;  // a copy: the cache may change while this coroutine waits
  auto [ns, name] = kube::splitKey(key);
  ObjectRef ref = refOf(rs, "ReplicaSet", "apps/v1");
  auto selector = api::labelSelectorFromJson(
      rs.value("/spec/selector"_json_pointer, json::object()), "spec.selector");
  if (!selector || selector->empty()) {
    co_return ok();  // the API refuses these; nothing sensible to do
  }
  std::string uid = rs.value("/metadata/uid"_json_pointer, std::string());
  bool deleting = beingDeleted(rs);

  // Claim pods as kube-controller-manager does: ours that match; orphans that match (adopted);
  // ours that no longer match are released.
  std::vector<json> owned;
  std::vector<json> to_adopt;
  std::vector<json> to_release;
  for (const json* pod : pods_.inNamespace(ns)) {
    auto cref = kube::controllerRef(*pod);
    bool matches = selector->matches(kube::labelsOf(*pod));
    if (cref) {
      if (cref->value("uid", "") != uid) {
        continue;
      }
      if (matches) {
        owned.push_back(*pod);
      } else if (!beingDeleted(*pod)) {
        to_release.push_back(*pod);
      }
    } else if (matches && !deleting && !beingDeleted(*pod)) {
      to_adopt.push_back(*pod);
    }
  }
  json owner_ref = ownerReference(rs);
  for (const auto& pod : to_release) {
    auto released = co_await setOwner(pod, nullptr);
    if (!released) {
      co_return fail(released.error());
    }
  }
  for (const auto& pod : to_adopt) {
    auto adopted = co_await setOwner(pod, &owner_ref);
    if (!adopted) {
      co_return fail(adopted.error());
    }
    owned.push_back(std::move(*adopted));
  }

  TimePoint now = ctx_.clock.now();
  ReplicaSetDecision d = decideReplicaSet(rs, owned, ctx_.wall(), options_.replicaset_burst);
  bool failed = false;
  // Expectations (expectations.h): decide only when every create and delete we sent has been
  // observed, so `owned` counts all of them.
  if (expectations_.satisfied(key, now) && !deleting) {
    if (d.create > 0 || !d.delete_names.empty()) {
      log::get("replicaset")->info("sync replicaset={} {}", key, d.reason);
    }
    if (d.create > 0) {
      expectations_.expectCreations(key, d.create, now);
      json pod = podFromTemplate(rs);
      auto failures = std::make_shared<int>(0);
      // Slow start (1, 2, 4, ...): a template the API refuses fails once, not `create` times.
      int remaining = d.create;
      for (int batch = 1; remaining > 0; batch *= 2) {
        int n = std::min(batch, remaining);
        std::vector<asio::awaitable<void>> tasks;
        for (int i = 0; i < n; ++i) {
          tasks.push_back(createOne(key, pod, ref, failures));
        }
        co_await runAll(std::move(tasks));
        remaining -= n;
        if (*failures > 0) {
          break;
        }
      }
      for (int i = 0; i < remaining; ++i) {
        expectations_.creationObserved(key);  // never sent
      }
      failed = *failures > 0;
    } else if (!d.delete_names.empty()) {
      auto failures = std::make_shared<int>(0);
      std::vector<asio::awaitable<void>> tasks;
      for (const auto& pod_name : d.delete_names) {
        expectations_.expectDeletion(key, kube::makeKey(ns, pod_name), now);
        tasks.push_back(deleteOne(key, ns, pod_name, ref, failures));
      }
      co_await runAll(std::move(tasks));
      failed = *failures > 0;
    }
  }

  // Status: only the fields decideReplicaSet computes; conditions are left as they are.
  json current = rs.value("status", json::object());
  bool differs = false;
  for (const auto& [field, value] : d.status.items()) {
    if (current.value(field, json(0)) != value) {
      differs = true;
    }
  }
  if (differs) {
    json patch = {{"status", d.status}};
    auto reply = co_await ctx_.client.call("PATCH", res::kReplicaSets.object(ns, name, "status"),
                                           patch.dump(), kMergePatch);
    if (!reply) {
      co_return fail(reply.error());
    }
    if (!reply->ok() && reply->status != 404) {
      co_return fail(ErrorCode::Unavailable, "status of ", key, ": ", reply->message());
    }
  }
  if (failed) {
    co_return fail(ErrorCode::Unavailable, "some pod writes of ", key, " failed");
  }
  co_return ok();
}

}  // namespace

std::unique_ptr<Reconciler> makeReplicaSetReconciler(ControllerContext& context, Enqueue enqueue,
                                                     const ReconcilerOptions& options) {
  return std::make_unique<ReplicaSetReconciler>(context, std::move(enqueue), options);
}

}  // namespace rampart::controller
