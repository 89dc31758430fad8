#pragma once
// The writes several reconcilers make the same way: a JSON merge patch guarded by the
// resourceVersion the decision was made on (a concurrent change loses the write with 409 and the
// key is decided again), and the answer turned into a Result.

#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/result.h"
#include "kube/client.h"
#include "kube/resources.h"

namespace rampart::controller {

inline constexpr const char* kMergePatch = "application/merge-patch+json";

// An error for a transport failure or an error answer, naming `what` was being written.
Result<void> answered(const Result<kube::Reply>& reply, const std::string& what);

// Replaces `object`'s metadata.ownerReferences with `refs`, only if it is still at the
// resourceVersion read. Returns the object as written.
boost::asio::awaitable<Result<nlohmann::json>> patchOwnerReferences(kube::Client& client,
                                                                    const kube::Resource& resource,
                                                                    const nlohmann::json& object,
                                                                    nlohmann::json refs);

}  // namespace rampart::controller
