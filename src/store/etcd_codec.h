#pragma once
// The mapping between Rampart's store types and etcd v3's JSON gateway (grpc-gateway, proto3
// JSON): keys and values are base64, int64 fields are strings, and default values are omitted
// (a PUT event has no "type", a failed txn no "succeeded"; an absent field means its default).
// Pure functions, no I/O; nlohmann stays inside the .cc.

#include <string>
#include <string_view>

#include "base/result.h"
#include "store/types.h"

namespace rampart::store::etcd {

std::string base64Encode(std::string_view bytes);
Result<std::string> base64Decode(std::string_view text);

std::string encodeRange(const RangeRequest& request);
std::string encodePut(const PutRequest& request);
std::string encodeDelete(const DeleteRequest& request);
std::string encodeTxn(const TxnRequest& request);
std::string encodeCompact(Revision revision);
std::string encodeLeaseGrant(std::chrono::seconds ttl);
std::string encodeLeaseId(LeaseId id);
std::string encodeLeaseTimeToLive(LeaseId id, bool with_keys);
std::string encodeWatchCreate(const WatchRequest& request);

Result<RangeResponse> decodeRange(std::string_view body);
Result<PutResponse> decodePut(std::string_view body);
Result<DeleteResponse> decodeDelete(std::string_view body);
Result<TxnResponse> decodeTxn(std::string_view body);
Result<LeaseGrantResponse> decodeLeaseGrant(std::string_view body);
// NotFound when etcd answers without a TTL: the lease is gone.
Result<LeaseKeepAliveResponse> decodeLeaseKeepAlive(std::string_view body);
Result<LeaseTimeToLiveResponse> decodeLeaseTimeToLive(std::string_view body);

// An error answer ({"error":..., "code": <grpc code>, "message":...}) as a Rampart error.
Error decodeError(int http_status, std::string_view body);

// One message of a watch stream.
struct WatchMessage {
  bool created = false;
  bool canceled = false;
  std::string cancel_reason;
  Revision compact_revision = 0;
  Revision header_revision = 0;
  std::vector<WatchEvent> events;
};
Result<WatchMessage> decodeWatchMessage(std::string_view line);

}  // namespace rampart::store::etcd
