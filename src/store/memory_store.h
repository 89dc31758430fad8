#pragma once
// MemoryStore: an in-process Store with etcd's semantics, for pure-logic tests of everything
// built on the store (elections, lease keeping, and later the failover decider and controllers).
// Revisions, versions, create/mod revisions, transactions, historical reads, compaction, leases
// and watches (from any retained revision) behave as in etcd. Lease expiry follows the given
// Clock: with a FakeClock nothing expires until the test advances time and then touches the store
// (any call, or expireLeases()).
// Extra knobs for fault tests: setUnavailable(true) makes every call fail with Unavailable.
// Not thread-safe: one event loop.

#include <map>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "store/store.h"

namespace rampart::store {

class MemoryStore final : public Store {
 public:
  MemoryStore(boost::asio::any_io_executor executor, const Clock& clock);
  ~MemoryStore() override;

  // Store
  Async<RangeResponse> range(RangeRequest request) override;
  Async<PutResponse> put(PutRequest request) override;
  Async<DeleteResponse> deleteRange(DeleteRequest request) override;
  Async<TxnResponse> txn(TxnRequest request) override;
  Async<void> compact(Revision revision) override;
  Async<LeaseGrantResponse> leaseGrant(std::chrono::seconds ttl) override;
  Async<void> leaseRevoke(LeaseId id) override;
  Async<LeaseKeepAliveResponse> leaseKeepAliveOnce(LeaseId id) override;
  Async<LeaseTimeToLiveResponse> leaseTimeToLive(LeaseId id, bool with_keys) override;
  WatchPtr watch(WatchRequest request) override;

  // Deletes the keys of every lease whose TTL has run out on the clock; returns how many expired.
  int expireLeases();
  void setUnavailable(bool unavailable);
  Revision revision() const;

  struct State;  // shared with live watches

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<State> state_;
};

}  // namespace rampart::store
