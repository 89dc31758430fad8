// The StatefulSet controller: decideStatefulSet() (statefulset.h) over the pods a StatefulSet
// controls. Creates are by stable name, so a create that raced another (409 AlreadyExists) or
// that a new leader repeats is harmless: no expectations are needed to avoid a second copy, the
// name is the lock. Every pod write goes through the fenced client; the status is patched only
// when it changed. Before the pods, the set's ControllerRevisions are brought in line
// (statefulset_history.h), and before each pod its claims are created (statefulset_storage.h;
// 409 AlreadyExists is success: the claim of an earlier pod with that name is the pod's data).

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/reconcilers.h"
#include "controller/statefulset.h"
#include "controller/statefulset_history.h"
#include "controller/statefulset_storage.h"
#include "controller/writes.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

class StatefulSetReconciler : public Reconciler {
 public:
  StatefulSetReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        sets_(context.informer(res::kStatefulSets)),
        pods_(context.informer(res::kPods)),
        revisions_(context.informer(res::kControllerRevisions)) {
    sets_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      enqueue_(kube::keyOf(after ? *after : *before));
    });
    auto by_owner = [this](kube::Informer::Change, const json* before, const json* after) {
      for (const json* object : {before, after}) {
        if (object == nullptr) {
          continue;
        }
        auto ref = kube::controllerRef(*object);
        if (ref && ref->value("kind", "") == "StatefulSet") {
          enqueue_(kube::makeKey(object->value("/metadata/namespace"_json_pointer, std::string()),
                                 ref->value("name", "")));
        }
      }
    };
    pods_.addHandler(by_owner);
    revisions_.addHandler(by_owner);
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    for (const auto& [key, set] : sets_.items()) {
      keys.push_back(key);
    }
    return keys;
  }

  void reset() override {}

  asio::awaitable<Result<void>> reconcile(std::string key) override {
    const json* cached = sets_.get(key);
    if (!cached) {
      co_return ok();
    }
    json set = *cached;
    auto [ns, name] = kube::splitKey(key);
    std::string uid = set.value("/metadata/uid"_json_pointer, std::string());
    std::vector<json> owned;
    for (const json* pod : pods_.inNamespace(ns)) {
      auto ref = kube::controllerRef(*pod);
      if (ref && ref->value("uid", "") == uid) {
        owned.push_back(*pod);
      }
    }
    ObjectRef ref = refOf(set, "StatefulSet", "apps/v1");
    bool deleting = set.contains("/metadata/deletionTimestamp"_json_pointer) &&
                    !set["/metadata/deletionTimestamp"_json_pointer].is_null();
    if (!deleting) {
      auto revised = co_await syncRevisions(set, ns, uid, owned);
      if (!revised) {
        co_return revised;
      }
    }
    StatefulSetDecision d = decideStatefulSet(set, owned);
    if (!d.create.empty() || !d.remove.empty()) {
      log::get("statefulset")->info("sync statefulset={} {}", key, d.reason);
    }
    bool failed = false;
    for (const auto& pod : d.create) {
      std::string pod_name = pod["metadata"].value("name", "");
      if (!co_await createClaims(set, ns, ordinalOf(name, pod_name), ref)) {
        failed = true;  // no pod without its volumes: retried with backoff
        continue;
      }
      auto reply = co_await ctx_.client.call("POST", res::kPods.collection(ns), pod.dump());
      if (reply && reply->ok()) {
        ctx_.recorder.event(ref, "Normal", "SuccessfulCreate",
                            "create Pod " + pod_name + " in StatefulSet " + name + " successful");
      } else if (!(reply && reply->status == 409)) {
        failed = true;
        std::string why = reply ? reply->message() : reply.error().message;
        ctx_.recorder.event(ref, "Warning", "FailedCreate",
                            "create Pod " + pod_name + " in StatefulSet " + name +
                                " failed error: " + why);
      }
    }
    for (const auto& pod_name : d.remove) {
      auto reply = co_await ctx_.client.call("DELETE", res::kPods.object(ns, pod_name));
      if (reply && (reply->ok() || reply->status == 404)) {
        ctx_.recorder.event(ref, "Normal", "SuccessfulDelete",
                            "delete Pod " + pod_name + " in StatefulSet " + name + " successful");
      } else {
        failed = true;
      }
    }
    json current = set.value("status", json::object());
    bool differs = false;
    for (const auto& [field, value] : d.status.items()) {
      if (current.value(field, json()) != value) {
        differs = true;
      }
    }
    if (differs) {
      std::string patch = json{{"status", d.status}}.dump();
      auto reply = co_await ctx_.client.call(
          "PATCH", res::kStatefulSets.object(ns, name, "status"), patch, kMergePatch);
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

 private:
  // The set's ControllerRevisions: the update revision made (or renumbered after an undo),
  // old ones pruned.
  asio::awaitable<Result<void>> syncRevisions(json set, std::string ns, std::string uid,
                                              std::vector<json> pods) {
    std::vector<json> revisions;
    for (const json* r : revisions_.inNamespace(ns)) {
      auto owner = kube::controllerRef(*r);
      if (owner && owner->value("uid", "") == uid) {
        revisions.push_back(*r);
      }
    }
    RevisionDecision d = decideRevisions(set, revisions, pods);
    if (d.reason.empty()) {
      co_return ok();
    }
    log::get("statefulset")->info("revisions statefulset={}/{} {}", ns,
                                  set.value("/metadata/name"_json_pointer, std::string()),
                                  d.reason);
    if (d.create) {
      auto reply = co_await ctx_.client.call("POST", res::kControllerRevisions.collection(ns),
                                             d.create->dump());
      if (!reply) {
        co_return fail(reply.error());
      }
      if (!reply->ok() && reply->status != 409) {
        co_return fail(ErrorCode::Unavailable, "create revision: ", reply->message());
      }
    }
    if (!d.renumber.empty()) {
      std::string patch = json{{"revision", d.renumber_to}}.dump();
      auto reply = co_await ctx_.client.call(
          "PATCH", res::kControllerRevisions.object(ns, d.renumber), patch, kMergePatch);
      if (!reply) {
        co_return fail(reply.error());
      }
      if (!reply->ok()) {
        co_return fail(ErrorCode::Unavailable, "renumber revision: ", reply->message());
      }
    }
    for (const auto& name : d.remove) {
      auto reply = co_await ctx_.client.call("DELETE", res::kControllerRevisions.object(ns, name));
      if (!reply || (!reply->ok() && reply->status != 404)) {
        co_return fail(ErrorCode::Unavailable, "prune revision ", name);
      }
    }
    co_return ok();
  }

  // The claims of pod `ordinal`, made before the pod; false if one could not be made.
  asio::awaitable<bool> createClaims(json set, std::string ns, int ordinal, ObjectRef ref) {
    bool made = true;
    for (const auto& claim : claimsForPod(set, ordinal)) {
      std::string claim_name = claim["metadata"].value("name", "");
      auto reply = co_await ctx_.client.call("POST", res::kPersistentVolumeClaims.collection(ns),
                                             claim.dump());
      if (reply && reply->ok()) {
        ctx_.recorder.event(ref, "Normal", "SuccessfulCreate",
                            "create Claim " + claim_name + " Pod " +
                                set.value("/metadata/name"_json_pointer, std::string()) + "-" +
                                std::to_string(ordinal) + " in StatefulSet " +
                                set.value("/metadata/name"_json_pointer, std::string()) +
                                " success");
      } else if (!(reply && reply->status == 409)) {
        made = false;
        std::string why = reply ? reply->message() : reply.error().message;
        ctx_.recorder.event(ref, "Warning", "FailedCreate",
                            "create Claim " + claim_name + " for Pod in StatefulSet " +
                                set.value("/metadata/name"_json_pointer, std::string()) +
                                " failed error: " + why);
      }
    }
    co_return made;
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& sets_;
  kube::Informer& pods_;
  kube::Informer& revisions_;
};

}  // namespace

std::unique_ptr<Reconciler> makeStatefulSetReconciler(ControllerContext& context,
                                                      Enqueue enqueue) {
  return std::make_unique<StatefulSetReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
