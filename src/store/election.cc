#include "store/election.h"

#include <algorithm>

namespace rampart::store {

boost::asio::awaitable<Result<Leadership>> Election::campaign(std::string value, LeaseId lease,
                                                              Duration max_wait) {
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  for (;;) {
    TxnRequest attempt;
    attempt.compare.push_back(Compare::createRevision(key_, Compare::Op::Equal, 0));
    attempt.success.push_back(PutRequest{.key = key_, .value = value, .lease = lease});
    attempt.failure.push_back(RangeRequest::single(key_));
    auto result = co_await store_.txn(std::move(attempt));
    if (!result) {
      co_return fail(result.error());
    }
    if (result->succeeded) {
      co_return Leadership{key_, lease, result->revision};
    }
    Revision watch_from = result->revision + 1;
    if (!result->responses.empty()) {
      const auto& current = std::get<RangeResponse>(result->responses.front());
      if (!current.kvs.empty() && current.kvs.front().lease == lease) {
        // An earlier attempt of ours succeeded but its answer was lost (e.g. the member died
        // after applying it): the key is ours.
        co_return Leadership{key_, lease, current.kvs.front().create_revision};
      }
      if (current.kvs.empty()) {
        continue;  // deleted between compare and read: race again at once
      }
    }
    // Wait for the key to go. Watching from the revision just read cannot miss a deletion.
    auto watch = store_.watch(WatchRequest{.key = key_, .start_revision = watch_from});
    bool deleted = false;
    while (!deleted) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= Duration::zero()) {
        co_return fail(ErrorCode::DeadlineExceeded, "no leadership of ", key_, " within the wait");
      }
      auto batch = co_await watch->next(left);
      if (!batch) {
        co_return fail(batch.error());
      }
      if (batch->compacted) {
        break;  // history gone: simply race again
      }
      deleted = std::any_of(batch->events.begin(), batch->events.end(),
                            [](const WatchEvent& e) { return e.type == WatchEvent::Type::Delete; });
    }
  }
}

boost::asio::awaitable<Result<void>> Election::proclaim(Leadership leadership, std::string value) {
  TxnRequest txn;
  txn.compare.push_back(
      Compare::createRevision(key_, Compare::Op::Equal, leadership.create_revision));
  txn.success.push_back(PutRequest{.key = key_, .value = std::move(value),
                                   .lease = leadership.lease});
  auto result = co_await store_.txn(std::move(txn));
  if (!result) {
    co_return fail(result.error());
  }
  if (!result->succeeded) {
    co_return fail(ErrorCode::FailedPrecondition, "no longer leader of ", key_);
  }
  co_return ok();
}

boost::asio::awaitable<Result<void>> Election::resign(Leadership leadership) {
  TxnRequest txn;
  txn.compare.push_back(
      Compare::createRevision(key_, Compare::Op::Equal, leadership.create_revision));
  txn.success.push_back(DeleteRequest{.key = key_});
  auto result = co_await store_.txn(std::move(txn));
  if (!result) {
    co_return fail(result.error());
  }
  co_return ok();
}

boost::asio::awaitable<Result<std::optional<KeyValue>>> Election::leader() {
  auto read = RangeRequest::single(key_);
  auto result = co_await store_.range(std::move(read));
  if (!result) {
    co_return fail(result.error());
  }
  if (result->kvs.empty()) {
    co_return std::optional<KeyValue>();
  }
  co_return std::optional<KeyValue>(result->kvs.front());
}

}  // namespace rampart::store
