// The claim protection controller (kube-controller-manager's pvc-protection-controller): removes
// the kubernetes.io/pvc-protection finalizer of a claim being deleted once no unfinished pod
// names it (claimReleasable(), volume_binding.h). Keys are claims; a pod change enqueues the
// claims it names. The patch carries the claim's resourceVersion, so a claim that changed (or a
// pod that appeared) since the cache saw it is decided again.

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/reconcilers.h"
#include "controller/volume_binding.h"
#include "controller/writes.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

class ClaimProtectionReconciler : public Reconciler {
 public:
  ClaimProtectionReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        claims_(context.informer(res::kPersistentVolumeClaims)),
        pods_(context.informer(res::kPods)) {
    claims_.addHandler([this](kube::Informer::Change, const json*, const json* after) {
      if (after != nullptr && after->contains("/metadata/deletionTimestamp"_json_pointer)) {
        enqueue_(kube::keyOf(*after));
      }
    });
    pods_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      for (const json* pod : {before, after}) {
        if (pod == nullptr || !pod->contains("/spec/volumes"_json_pointer)) {
          continue;
        }
        std::string ns = pod->value("/metadata/namespace"_json_pointer, std::string());
        for (const auto& volume : (*pod)["/spec/volumes"_json_pointer]) {
          std::string claim =
              volume.value("/persistentVolumeClaim/claimName"_json_pointer, std::string());
          if (!claim.empty()) {
            enqueue_(kube::makeKey(ns, claim));
          }
        }
      }
    });
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    for (const auto& [key, claim] : claims_.items()) {
      if (claim.contains("/metadata/deletionTimestamp"_json_pointer)) {
        keys.push_back(key);
      }
    }
    return keys;
  }

  void reset() override {}

  asio::awaitable<Result<void>> reconcile(std::string key) override {
    const json* cached = claims_.get(key);
    if (cached == nullptr) {
      co_return ok();
    }
    json claim = *cached;
    auto [ns, name] = kube::splitKey(key);
    if (!claimReleasable(claim, pods_.inNamespace(ns))) {
      co_return ok();
    }
    auto reply = co_await ctx_.client.call("PATCH", res::kPersistentVolumeClaims.object(ns, name),
                                           claimReleasePatch(claim).dump(), kMergePatch);
    if (!reply) {
      co_return fail(reply.error());
    }
    if (!reply->ok() && reply->status != 404) {
      co_return fail(ErrorCode::Unavailable, "releasing claim ", key, ": ", reply->message());
    }
    log::get("pvc-protection")->info("claim={} no longer used: finalizer removed", key);
    co_return ok();
  }

 private:
  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& claims_;
  kube::Informer& pods_;
};

}  // namespace

std::unique_ptr<Reconciler> makeClaimProtectionReconciler(ControllerContext& context,
                                                          Enqueue enqueue) {
  return std::make_unique<ClaimProtectionReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
