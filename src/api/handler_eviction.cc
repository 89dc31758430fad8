// ApiHandler::evict: the pods/eviction subresource's I/O around planEviction (api/eviction.h):
// read the pod and its namespace's budgets, plan, write the budget's status with a CAS, then
// delete the pod with the Eviction's deleteOptions; a lost race means reading and planning again.

#include <charconv>

#include "api/eviction.h"
#include "api/handler.h"
#include "api/registry.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

// kube-apiserver retries a conflicting budget write 20 times 500 ms apart; here the retries
// follow at once (every attempt re-reads, so a loser sees the winner's write), bounded as well.
constexpr int kEvictionAttempts = 10;

ApiResponse answer(int status, json body, int retry_after = 0) {
  return ApiResponse{status, std::move(body), retry_after, {}};
}

ApiResponse badEviction(const std::string& message) {
  return answer(400, statusBadRequest(message));
}

bool wantsDryRun(const ApiRequest& req, const json& options) {
  auto it = req.info.query.find("dryRun");
  if (it != req.info.query.end() && it->second == "All") {
    return true;
  }
  if (options.contains("dryRun") && options["dryRun"].is_array()) {
    for (const auto& d : options["dryRun"]) {
      if (d == "All") {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

asio::awaitable<ApiResponse> ApiHandler::evict(const ResourceInfo& pods, const ApiRequest& req) {
  StatusSubject subject{pods.group, pods.plural, pods.kind, req.info.name};
  json eviction = json::parse(req.body, nullptr, false);
  if (eviction.is_discarded() || !eviction.is_object()) {
    co_return badEviction("the body of an eviction must be an Eviction (policy/v1)");
  }
  if (eviction.contains("kind") && eviction["kind"] != "Eviction") {
    co_return badEviction("the kind in the data (" + eviction["kind"].dump() +
                          ") does not match the expected kind (Eviction)");
  }
  if (eviction.contains("apiVersion") && eviction["apiVersion"] != "policy/v1" &&
      eviction["apiVersion"] != "policy/v1beta1") {
    co_return badEviction("the API version in the data (" + eviction["apiVersion"].dump() +
                          ") is not policy/v1 or policy/v1beta1");
  }
  if (eviction.value("/metadata/name"_json_pointer, std::string()) != req.info.name) {
    co_return badEviction("name in URL does not match name in Eviction object");
  }
  json options = eviction.value("deleteOptions", json::object());
  if (!options.is_object()) {
    co_return badEviction("deleteOptions: must be a DeleteOptions object");
  }
  bool dry = wantsDryRun(req, options);
  bool client_pinned = options.contains("/preconditions/resourceVersion"_json_pointer) &&
                       options["/preconditions/resourceVersion"_json_pointer].is_string();
  const ResourceInfo* pdbs = findResource("policy", "v1", "poddisruptionbudgets");
  std::string pdb_name;
  for (int attempt = 0; attempt < kEvictionAttempts; ++attempt) {
    auto pod = co_await objects_.get(pods, req.info.ns, req.info.name);
    if (!pod) {
      co_return errorResponse(pod.error(), subject);
    }
    // Bound to locals first: g++ 12 mishandles temporaries around a co_await expression.
    ListOptions every_budget;
    std::string ns = req.info.ns;
    auto budgets = co_await objects_.list(*pdbs, ns, std::move(every_budget));
    if (!budgets) {
      co_return errorResponse(budgets.error(), {pdbs->group, pdbs->plural, pdbs->kind, ""});
    }
    EvictionPlan plan = planEviction(*pod, budgets->items, wall_clock_());
    pdb_name = plan.pdb_name;
    if (plan.action == EvictionPlan::Action::kRefuse) {
      co_return answer(plan.code, std::move(plan.refusal), plan.retry_after_seconds);
    }
    if (plan.action == EvictionPlan::Action::kTakeDisruption && !dry) {
      // The budget first (CAS on the version read): only then may the pod go.
      std::string rv = plan.pdb.value("/metadata/resourceVersion"_json_pointer, std::string());
      store::Revision expected = 0;
      auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), expected);
      if (ec != std::errc() || expected <= 0) {
        co_return errorResponse(Error{ErrorCode::Internal, "the budget " + pdb_name +
                                                               " has no resourceVersion"},
                                {pdbs->group, pdbs->plural, pdbs->kind, pdb_name});
      }
      auto written = co_await objects_.update(*pdbs, std::move(plan.pdb), expected);
      if (!written) {
        if (written.error().code == ErrorCode::FailedPrecondition) {
          continue;  // another writer changed the budget: read it again
        }
        co_return errorResponse(written.error(),
                                {pdbs->group, pdbs->plural, pdbs->kind, pdb_name});
      }
    }
    json delete_options = options;
    bool pinned = plan.pin != EvictionPlan::Pin::kNone && !client_pinned;
    if (pinned) {
      delete_options["preconditions"]["resourceVersion"] =
          (*pod)["metadata"].value("resourceVersion", "");
    }
    ApiRequest removal = req;
    removal.info.verb = "delete";
    removal.info.subresource.clear();
    removal.body = delete_options.dump();
    if (dry) {
      removal.info.query["dryRun"] = "All";
    }
    ApiResponse deleted = co_await remove(pods, removal);
    bool conflict = deleted.status == 409 && deleted.body.value("reason", "") == "Conflict";
    if (conflict && pinned && plan.pin == EvictionPlan::Pin::kRetryOnConflict) {
      continue;  // the pod changed (it may be running now): plan again
    }
    if (conflict && pinned && plan.pin == EvictionPlan::Pin::kBusyOnConflict) {
      EvictionPlan busy = budgetBusy(pdb_name, "the unready pod changed");
      co_return answer(busy.code, std::move(busy.refusal), busy.retry_after_seconds);
    }
    if (deleted.status != 200) {
      co_return deleted;
    }
    co_return answer(201, json{{"kind", "Status"},
                               {"apiVersion", "v1"},
                               {"metadata", json::object()},
                               {"status", "Success"}});
  }
  if (pdb_name.empty()) {
    co_return answer(409, statusConflict(subject, "the pod kept changing during its eviction"));
  }
  co_return answer(504, budgetConflictTimeout(pdb_name), 10);
}

}  // namespace rampart::api
