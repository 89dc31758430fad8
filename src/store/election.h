#pragma once
// Election: leader election on one store key, Patroni's and etcd's concurrency.Election shape.
// The leader is whoever created `key`; the key is bound to the leader's lease, so it disappears
// when the leader's process dies (lease expiry) or steps down (resign deletes it at once).
//
// campaign(): compare-and-swap "create `key` only if create_revision == 0", attached to the
// candidate's lease. Losers watch the key from the revision they read and race again as soon as
// it is deleted, so a resignation hands over within a round trip or two.
//
// Safety: winning only proves the key was created with this lease; how long this candidate may
// act as leader is bounded by its lease's KeepAlive::deadline() (see lease_keeper.h).
// Not thread-safe: one event loop.

#include <optional>
#include <string>

#include "store/store.h"

namespace rampart::store {

struct Leadership {
  std::string key;
  LeaseId lease = 0;
  Revision create_revision = 0;  // identifies this term: proclaim/resign compare on it
};

class Election {
 public:
  Election(Store& store, std::string key) : store_(store), key_(std::move(key)) {}

  // Waits until this candidate leads (returns its Leadership) or `max_wait` passes
  // (DeadlineExceeded). `value` is published as the key's value (e.g. the candidate's name).
  boost::asio::awaitable<Result<Leadership>> campaign(std::string value, LeaseId lease,
                                                      Duration max_wait);
  // Replaces the published value while still leader; FailedPrecondition if no longer leader.
  boost::asio::awaitable<Result<void>> proclaim(Leadership leadership, std::string value);
  // Steps down: deletes the key if it is still this term's. Idempotent.
  boost::asio::awaitable<Result<void>> resign(Leadership leadership);
  // The current leader's key-value, if any.
  boost::asio::awaitable<Result<std::optional<KeyValue>>> leader();
  // Watches leadership changes: PUT = new leader or proclaim, DELETE = no leader.
  WatchPtr observe(Revision from_revision) {
    return store_.watch(WatchRequest{.key = key_, .start_revision = from_revision});
  }

  const std::string& key() const { return key_; }

 private:
  Store& store_;
  std::string key_;
};

}  // namespace rampart::store
