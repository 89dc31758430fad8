// The garbage collector: decideGarbage() over every object of the kinds that own or are owned
// (Deployments, ReplicaSets, StatefulSets, Pods), matched by uid. Before deleting a dependent whose owners
// look absent it GETs each owner and deletes only if the owner is gone (404) or has another uid,
// as Kubernetes does: a cache that lags cannot cause a deletion. Strips and finalizer removals
// carry the resourceVersion read (a merge patch with it is a CAS).

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/garbage.h"
#include "controller/reconcilers.h"
#include "controller/writes.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

constexpr const char* kKey = "all";

struct Kind {
  std::string kind;
  const kube::Resource* resource;
};
const std::vector<Kind>& kinds() {
  static const std::vector<Kind> kAll = {{"Deployment", &res::kDeployments},
                                         {"ReplicaSet", &res::kReplicaSets},
                                         {"StatefulSet", &res::kStatefulSets},
                                         {"Pod", &res::kPods},
                                         {"ControllerRevision", &res::kControllerRevisions},
                                         {"PersistentVolumeClaim", &res::kPersistentVolumeClaims}};
  return kAll;
}
const kube::Resource* resourceOf(const std::string& kind) {
  for (const auto& k : kinds()) {
    if (k.kind == kind) {
      return k.resource;
    }
  }
  return nullptr;
}

bool interesting(const json* object) {
  if (!object) {
    return false;
  }
  return object->contains("/metadata/ownerReferences"_json_pointer) ||
         object->contains("/metadata/deletionTimestamp"_json_pointer);
}

class GarbageReconciler : public Reconciler {
 public:
  GarbageReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context), enqueue_(std::move(enqueue)) {
    for (const auto& k : kinds()) {
      kube::Informer& informer = context.informer(*k.resource);
      informers_.push_back({k.kind, &informer});
      informer.addHandler([this](kube::Informer::Change change, const json* before,
                                 const json* after) {
        // An owner going away, or anything with owners or being deleted, may need collecting.
        if (change == kube::Informer::Change::Deleted || interesting(before) ||
            interesting(after)) {
          enqueue_(kKey);
        }
      });
    }
  }

  std::vector<std::string> keys() const override { return {kKey}; }
  asio::awaitable<Result<void>> reconcile(std::string key) override;

 private:
  asio::awaitable<Result<kube::Reply>> patch(const ObjectId& id, const json& patch_body) {
    const kube::Resource* r = resourceOf(id.kind);
    if (!r) {
      co_return fail(ErrorCode::InvalidArgument, "no resource for kind ", id.kind);
    }
    co_return co_await ctx_.client.call("PATCH", r->object(id.namespace_, id.name),
                                        patch_body.dump(), kMergePatch);
  }

  const json* cached(const ObjectId& id) const {
    for (const auto& [kind, informer] : informers_) {
      if (kind == id.kind) {
        return informer->get(kube::makeKey(id.namespace_, id.name));
      }
    }
    return nullptr;
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  std::vector<std::pair<std::string, kube::Informer*>> informers_;
};

asio::awaitable<Result<void>> GarbageReconciler::reconcile(std::string) {
  std::vector<json> objects;
  for (const auto& [kind, informer] : informers_) {
    std::string api_version = resourceOf(kind)->apiVersion();
    for (const auto& [k, object] : informer->items()) {
      json o = object;
      o["kind"] = kind;
      o["apiVersion"] = api_version;
      objects.push_back(std::move(o));
    }
  }
  GarbageDecision d = decideGarbage(objects);
  bool failed = false;
  std::set<std::string> strip_failed;  // owner uids whose strips did not all land
  for (const auto& strip : d.strips) {
    const json* now = cached(strip.object);
    if (!now) {
      continue;
    }
    json refs = json::array();
    for (const auto& ref : now->value("/metadata/ownerReferences"_json_pointer, json::array())) {
      if (std::find(strip.owner_uids.begin(), strip.owner_uids.end(), ref.value("uid", "")) ==
          strip.owner_uids.end()) {
        refs.push_back(ref);
      }
    }
    json body = {{"metadata",
                  {{"ownerReferences", refs},
                   {"resourceVersion",
                    now->value("/metadata/resourceVersion"_json_pointer, std::string())}}}};
    auto reply = co_await patch(strip.object, body);
    if (!reply || !reply->ok()) {
      failed = true;
      strip_failed.insert(strip.owner_uids.begin(), strip.owner_uids.end());
    }
  }
  for (const auto& fin : d.finalize) {
    if (strip_failed.count(fin.object.uid)) {
      continue;  // the decision's contract: not before every strip for this owner landed
    }
    const json* now = cached(fin.object);
    if (!now) {
      continue;
    }
    json kept = json::array();
    for (const auto& f : now->value("/metadata/finalizers"_json_pointer, json::array())) {
      if (f != fin.finalizer) {
        kept.push_back(f);
      }
    }
    json body = {{"metadata",
                  {{"finalizers", kept},
                   {"resourceVersion",
                    now->value("/metadata/resourceVersion"_json_pointer, std::string())}}}};
    auto reply = co_await patch(fin.object, body);
    if (!reply || (!reply->ok() && reply->status != 404)) {
      failed = true;
    }
  }
  for (const auto& del : d.deletes) {
    // Confirm each owner the snapshot misses is really gone (404, or a new object's uid).
    bool owner_alive = false;
    for (const auto& ref : del.missing_owners) {
      const kube::Resource* r = resourceOf(ref.value("kind", ""));
      if (!r) {
        // A kind this collector does not watch (a PostgresCluster) cannot be confirmed gone:
        // the dependent stays (its owner's own controller removes it).
        owner_alive = true;
        continue;
      }
      auto got = co_await ctx_.client.call(
          "GET", r->object(del.object.namespace_, ref.value("name", "")));
      if (!got || (!got->ok() && got->status != 404) ||
          (got->ok() &&
           got->body.value("/metadata/uid"_json_pointer, std::string()) == ref.value("uid", ""))) {
        owner_alive = true;
      }
    }
    if (owner_alive) {
      continue;
    }
    const kube::Resource* r = resourceOf(del.object.kind);
    if (!r) {
      continue;
    }
    json options = {{"apiVersion", "v1"},
                    {"kind", "DeleteOptions"},
                    {"propagationPolicy", del.propagation},
                    {"preconditions", {{"uid", del.object.uid}}}};
    auto reply = co_await ctx_.client.call("DELETE", r->object(del.object.namespace_,
                                                               del.object.name),
                                           options.dump());
    if (!reply || (!reply->ok() && reply->status != 404 && reply->status != 409)) {
      failed = true;
    } else {
      log::get("garbage")->info("deleted {} {}/{} reason=\"{}\"", del.object.kind,
                                del.object.namespace_, del.object.name, del.reason);
    }
  }
  if (failed) {
    co_return fail(ErrorCode::Unavailable, "some garbage collector writes failed");
  }
  co_return ok();
}

}  // namespace

std::unique_ptr<Reconciler> makeGarbageReconciler(ControllerContext& context, Enqueue enqueue) {
  return std::make_unique<GarbageReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
