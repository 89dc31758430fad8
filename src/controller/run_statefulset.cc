// The StatefulSet controller: decideStatefulSet() (statefulset.h) over the pods a StatefulSet
// controls. Creates are by stable name, so a create that raced another (409 AlreadyExists) or
// that a new leader repeats is harmless: no expectations are needed to avoid a second copy, the
// name is the lock. Every pod write goes through the fenced client; the status is patched only
// when it changed.

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/reconcilers.h"
#include "controller/statefulset.h"
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
        pods_(context.informer(res::kPods)) {
    sets_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      enqueue_(kube::keyOf(after ? *after : *before));
    });
    pods_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      for (const json* pod : {before, after}) {
        if (pod == nullptr) {
          continue;
        }
        auto ref = kube::controllerRef(*pod);
        if (ref && ref->value("kind", "") == "StatefulSet") {
          enqueue_(kube::makeKey(pod->value("/metadata/namespace"_json_pointer, std::string()),
                                 ref->value("name", "")));
        }
      }
    });
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
    StatefulSetDecision d = decideStatefulSet(set, owned);
    ObjectRef ref = refOf(set, "StatefulSet", "apps/v1");
    if (!d.create.empty() || !d.remove.empty()) {
      log::get("statefulset")->info("sync statefulset={} {}", key, d.reason);
    }
    bool failed = false;
    for (const auto& pod : d.create) {
      std::string pod_name = pod["metadata"].value("name", "");
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
  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& sets_;
  kube::Informer& pods_;
};

}  // namespace

std::unique_ptr<Reconciler> makeStatefulSetReconciler(ControllerContext& context,
                                                      Enqueue enqueue) {
  return std::make_unique<StatefulSetReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
