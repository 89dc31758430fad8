#pragma once
// Test helper: a store::Store over another that yields to the event loop before every read and
// transaction, so that concurrent requests on one loop interleave as they do over etcd (the
// MemoryStore answers at once). Counts the transactions whose compare failed (lost races).

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "store/store.h"

namespace rampart::testing {

class YieldingStore : public store::Store {
 public:
  explicit YieldingStore(store::Store& inner) : inner_(inner) {}
  store::Async<store::RangeResponse> range(store::RangeRequest r) override {
    auto executor = co_await boost::asio::this_coro::executor;
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
    co_return co_await inner_.range(std::move(r));
  }
  store::Async<store::TxnResponse> txn(store::TxnRequest r) override {
    auto executor = co_await boost::asio::this_coro::executor;
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
    auto answer = co_await inner_.txn(std::move(r));
    lost_ += answer && !answer->succeeded;
    co_return answer;
  }
  store::Async<store::PutResponse> put(store::PutRequest r) override {
    return inner_.put(std::move(r));
  }
  store::Async<store::DeleteResponse> deleteRange(store::DeleteRequest r) override {
    return inner_.deleteRange(std::move(r));
  }
  store::Async<void> compact(store::Revision r) override { return inner_.compact(r); }
  store::Async<store::LeaseGrantResponse> leaseGrant(std::chrono::seconds ttl) override {
    return inner_.leaseGrant(ttl);
  }
  store::Async<void> leaseRevoke(store::LeaseId id) override { return inner_.leaseRevoke(id); }
  store::Async<store::LeaseKeepAliveResponse> leaseKeepAliveOnce(store::LeaseId id) override {
    return inner_.leaseKeepAliveOnce(id);
  }
  store::Async<store::LeaseTimeToLiveResponse> leaseTimeToLive(store::LeaseId id,
                                                               bool with_keys) override {
    return inner_.leaseTimeToLive(id, with_keys);
  }
  store::WatchPtr watch(store::WatchRequest r) override { return inner_.watch(std::move(r)); }
  int lost() const { return lost_; }

 private:
  store::Store& inner_;
  int lost_ = 0;
};

}  // namespace rampart::testing
