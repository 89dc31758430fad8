#pragma once
// The data model of Rampart's store: etcd v3's, field for field, so that the etcd client and the
// in-memory fake agree on semantics (revisions, versions, leases, watch events). Plain structs,
// no I/O.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rampart::store {

using LeaseId = int64_t;
using Revision = int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;  // revision of the put that created the key (0: no such key)
  Revision mod_revision = 0;     // revision of the last put
  int64_t version = 0;           // number of puts since creation
  LeaseId lease = 0;             // 0: not attached to a lease
};

// The smallest key greater than every key that starts with `prefix`: the range_end for a prefix
// query. "" for an empty prefix or one of only 0xff bytes, meaning "to the end of the keyspace".
std::string prefixEnd(const std::string& prefix);

// A key range: [key, range_end). Empty range_end means the single key; "\0" means every key
// >= key (etcd's convention).
struct RangeRequest {
  std::string key;
  std::string range_end;
  int64_t limit = 0;             // 0: no limit
  Revision revision = 0;         // 0: latest
  bool serializable = false;     // answer from the contacted member without a quorum read
  bool keys_only = false;
  bool count_only = false;

  static RangeRequest single(std::string key) { return RangeRequest{.key = std::move(key)}; }
  static RangeRequest prefix(std::string prefix) {
    auto end = prefixEnd(prefix);
    return RangeRequest{.key = std::move(prefix), .range_end = std::move(end)};
  }
};

struct RangeResponse {
  Revision revision = 0;  // the store's revision when the range was served
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;
};

struct PutRequest {
  std::string key;
  std::string value;
  LeaseId lease = 0;
  bool prev_kv = false;
};

struct PutResponse {
  Revision revision = 0;
  std::optional<KeyValue> prev_kv;
};

struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;

  static DeleteRequest prefix(std::string prefix) {
    auto end = prefixEnd(prefix);
    return DeleteRequest{.key = std::move(prefix), .range_end = std::move(end)};
  }
};

struct DeleteResponse {
  Revision revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

struct Compare {
  enum class Target { Version, CreateRevision, ModRevision, Value, Lease };
  enum class Op { Equal, Greater, Less, NotEqual };

  std::string key;
  Target target = Target::Version;
  Op op = Op::Equal;
  int64_t number = 0;  // for Version, CreateRevision, ModRevision, Lease
  std::string value;   // for Value

  static Compare createRevision(std::string key, Op op, int64_t n) {
    return Compare{std::move(key), Target::CreateRevision, op, n, {}};
  }
  static Compare modRevision(std::string key, Op op, int64_t n) {
    return Compare{std::move(key), Target::ModRevision, op, n, {}};
  }
  static Compare version(std::string key, Op op, int64_t n) {
    return Compare{std::move(key), Target::Version, op, n, {}};
  }
  static Compare lease(std::string key, Op op, LeaseId id) {
    return Compare{std::move(key), Target::Lease, op, id, {}};
  }
  static Compare valueIs(std::string key, Op op, std::string v) {
    return Compare{std::move(key), Target::Value, op, 0, std::move(v)};
  }
};

using TxnOp = std::variant<RangeRequest, PutRequest, DeleteRequest>;
using TxnOpResponse = std::variant<RangeResponse, PutResponse, DeleteResponse>;

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

struct TxnResponse {
  Revision revision = 0;
  bool succeeded = false;
  std::vector<TxnOpResponse> responses;
};

struct LeaseGrantResponse {
  LeaseId id = 0;
  std::chrono::seconds ttl{0};  // as granted: etcd may raise the request to its minimum TTL
};

struct LeaseKeepAliveResponse {
  std::chrono::seconds ttl{0};  // the renewed TTL; a lease that no longer exists is NotFound
};

struct LeaseTimeToLiveResponse {
  std::chrono::seconds ttl{0};          // remaining; -1 when the lease does not exist
  std::chrono::seconds granted_ttl{0};
  std::vector<std::string> keys;
};

struct WatchRequest {
  std::string key;
  std::string range_end;
  Revision start_revision = 0;  // 0: from the next change
  bool prev_kv = false;

  static WatchRequest prefix(std::string prefix, Revision from = 0) {
    auto end = prefixEnd(prefix);
    return WatchRequest{.key = std::move(prefix), .range_end = std::move(end),
                        .start_revision = from};
  }
};

struct WatchEvent {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  KeyValue kv;  // for Delete: key and mod_revision (the deletion's revision) only
  std::optional<KeyValue> prev_kv;
};

// One delivery of a watch: every event of one or more revisions, in revision order. Events of
// one revision (a transaction) are never split across batches.
struct WatchBatch {
  Revision header_revision = 0;
  std::vector<WatchEvent> events;
  // Set when the requested start revision was compacted away: the watch is over, the caller
  // must re-list (range) and watch again from the listed revision + 1.
  bool compacted = false;
  Revision compact_revision = 0;
};

}  // namespace rampart::store
