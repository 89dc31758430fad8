#include "controller/writes.h"

namespace rampart::controller {
using json = nlohmann::json;

Result<void> answered(const Result<kube::Reply>& reply, const std::string& what) {
  if (!reply) {
    return fail(reply.error());
  }
  if (!reply->ok()) {
    return fail(ErrorCode::FailedPrecondition, what, ": ", reply->message());
  }
  return ok();
}

boost::asio::awaitable<Result<json>> patchOwnerReferences(kube::Client& client,
                                                          const kube::Resource& resource,
                                                          const json& object, json refs) {
  json patch = {{"metadata",
                 {{"ownerReferences", std::move(refs)},
                  {"resourceVersion",
                   object.value("/metadata/resourceVersion"_json_pointer, std::string())}}}};
  std::string target =
      resource.object(object.value("/metadata/namespace"_json_pointer, std::string()),
                      object.value("/metadata/name"_json_pointer, std::string()));
  auto reply = co_await client.call("PATCH", std::move(target), patch.dump(), kMergePatch);
  if (auto r = answered(reply, "owner references"); !r) {
    co_return fail(r.error());
  }
  co_return std::move(reply->body);
}

}  // namespace rampart::controller
