// The Endpoints controller: decideEndpoints() for each Service with a selector, from the pods of
// its namespace; the Endpoints object (same name) is created or updated (with the
// resourceVersion read, so a stale write loses with 409 and is decided again).

#include <nlohmann/json.hpp>

#include "controller/endpoints.h"
#include "controller/reconcilers.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

class EndpointsReconciler : public Reconciler {
 public:
  EndpointsReconciler(ControllerContext& context, Enqueue enqueue)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        services_(context.informer(res::kServices)),
        endpoints_(context.informer(res::kEndpoints)),
        pods_(context.informer(res::kPods)) {
    auto by_name = [this](kube::Informer::Change, const json* before, const json* after) {
      enqueue_(kube::keyOf(after ? *after : *before));
    };
    services_.addHandler(by_name);
    endpoints_.addHandler(by_name);  // someone else rewrote ours: put it back
    pods_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      const json& pod = after ? *after : *before;
      std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
      for (const json* service : services_.inNamespace(ns)) {
        if (!service->contains("/spec/selector"_json_pointer)) {
          continue;
        }
        api::Labels selector;
        for (const auto& [k, v] : (*service)["/spec/selector"_json_pointer].items()) {
          if (v.is_string()) {
            selector[k] = v.get<std::string>();
          }
        }
        auto s = api::labelSelectorFromMap(selector);
        bool was = before && s.matches(kube::labelsOf(*before));
        bool is = after && s.matches(kube::labelsOf(*after));
        if (!selector.empty() && (was || is)) {
          enqueue_(kube::keyOf(*service));
        }
      }
    });
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    for (const auto& [key, service] : services_.items()) {
      keys.push_back(key);
    }
    return keys;
  }

  asio::awaitable<Result<void>> reconcile(std::string key) override {
    const json* service = services_.get(key);
    if (!service) {
      co_return ok();  // the garbage collector / the API removes the Endpoints with it
    }
    json svc = *service;
    auto [ns, name] = kube::splitKey(key);
    std::vector<json> pods;
    for (const json* pod : pods_.inNamespace(ns)) {
      pods.push_back(*pod);
    }
    const json* existing = endpoints_.get(key);
    EndpointsDecision d = decideEndpoints(svc, pods, existing ? *existing : json(nullptr));
    if (d.action == EndpointsDecision::Action::None) {
      co_return ok();
    }
    bool create = d.action == EndpointsDecision::Action::Create;
    std::string method = create ? "POST" : "PUT";
    std::string target = create ? res::kEndpoints.collection(ns) : res::kEndpoints.object(ns, name);
    auto reply = co_await ctx_.client.call(method, target, d.endpoints.dump());
    if (!reply) {
      co_return fail(reply.error());
    }
    if (!reply->ok()) {
      co_return fail(ErrorCode::FailedPrecondition, "endpoints ", key, ": ", reply->message());
    }
    co_return ok();
  }

 private:
  ControllerContext& ctx_;
  Enqueue enqueue_;
  kube::Informer& services_;
  kube::Informer& endpoints_;
  kube::Informer& pods_;
};

}  // namespace

std::unique_ptr<Reconciler> makeEndpointsReconciler(ControllerContext& context, Enqueue enqueue) {
  return std::make_unique<EndpointsReconciler>(context, std::move(enqueue));
}

}  // namespace rampart::controller
