#pragma once
// Store: Rampart's only way to reach its source of truth. The interface is etcd v3's (KV, Txn,
// Lease, Watch) as coroutines on the caller's asio executor. Two implementations:
//   EtcdStore   (etcd_store.h)   a real etcd cluster over its JSON gateway, with endpoint failover;
//   MemoryStore (memory_store.h) an in-process fake with the same revision/lease/watch semantics,
//                                time driven by a Clock, for pure-logic tests.
// Every call is bounded: it completes within the store's request timeout with a result or an
// error (Unavailable, DeadlineExceeded, ...) that names what was tried; none hangs.
// Not thread-safe: use a Store from the one event loop that owns it.

#include <memory>

#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "store/types.h"

namespace rampart::store {

template <typename T>
using Async = boost::asio::awaitable<Result<T>>;

// A live watch. next() waits up to max_wait for the next batch: it returns an empty batch when
// nothing happened in that time (the watch stays live), the batch otherwise. Reconnects are
// hidden: after losing a member the watch resumes on another from the last delivered revision + 1,
// so no event is lost or repeated. A batch with `compacted` set ends the watch.
class Watch {
 public:
  virtual ~Watch() = default;
  virtual Async<WatchBatch> next(Duration max_wait) = 0;
  // Ends the watch; a pending next() returns Cancelled.
  virtual void cancel() = 0;
};
using WatchPtr = std::unique_ptr<Watch>;

class Store {
 public:
  virtual ~Store() = default;

  virtual Async<RangeResponse> range(RangeRequest request) = 0;
  virtual Async<PutResponse> put(PutRequest request) = 0;
  virtual Async<DeleteResponse> deleteRange(DeleteRequest request) = 0;
  virtual Async<TxnResponse> txn(TxnRequest request) = 0;
  // Discards history before `revision` (watches from earlier revisions then see `compacted`).
  virtual Async<void> compact(Revision revision) = 0;

  virtual Async<LeaseGrantResponse> leaseGrant(std::chrono::seconds ttl) = 0;
  virtual Async<void> leaseRevoke(LeaseId id) = 0;
  // One renewal. NotFound when the lease has expired or was revoked.
  virtual Async<LeaseKeepAliveResponse> leaseKeepAliveOnce(LeaseId id) = 0;
  virtual Async<LeaseTimeToLiveResponse> leaseTimeToLive(LeaseId id, bool with_keys) = 0;

  // Starts a watch. Errors (etcd unreachable) surface from next(), which keeps retrying within
  // its max_wait.
  virtual WatchPtr watch(WatchRequest request) = 0;
};

}  // namespace rampart::store
