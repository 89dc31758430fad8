#include "store/memory_store.h"

#include <algorithm>
#include <deque>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rampart::store {
namespace asio = boost::asio;

namespace {

bool inRange(const std::string& key, const std::string& begin, const std::string& end) {
  if (end.empty()) {
    return key == begin;
  }
  if (end == std::string(1, '\0')) {
    return key >= begin;
  }
  return key >= begin && key < end;
}

template <typename T>
bool compareOp(const T& actual, Compare::Op op, const T& expected) {
  switch (op) {
    case Compare::Op::Equal:
      return actual == expected;
    case Compare::Op::Greater:
      return actual > expected;
    case Compare::Op::Less:
      return actual < expected;
    case Compare::Op::NotEqual:
      return actual != expected;
  }
  return false;
}

struct HistoryEntry {
  Revision revision;
  WatchEvent event;
};

struct WatchQueue {
  WatchRequest request;
  Revision next_revision;  // the first revision not yet queued
  std::deque<WatchBatch> ready;
  std::unique_ptr<asio::steady_timer> wakeup;
  bool cancelled = false;
  bool finished = false;
};

}  // namespace

struct MemoryStore::State {
  const Clock* clock;
  std::map<std::string, KeyValue> kvs;
  std::vector<HistoryEntry> history;  // every change, in order; compaction only moves the floor
  Revision revision = 1;              // etcd starts at 1
  Revision compacted = 0;
  struct Lease {
    std::chrono::seconds ttl;
    TimePoint expires_at;
    std::set<std::string> keys;
  };
  std::map<LeaseId, Lease> leases;
  LeaseId next_lease = 0x1000;
  bool unavailable = false;
  std::vector<std::weak_ptr<WatchQueue>> watches;

  // Queues every retained event from q.next_revision on, one batch per revision.
  void feed(WatchQueue& q) {
    if (q.cancelled || q.finished) {
      return;
    }
    if (q.next_revision <= compacted) {
      WatchBatch batch;
      batch.header_revision = revision;
      batch.compacted = true;
      batch.compact_revision = compacted + 1;
      q.ready.push_back(std::move(batch));
      q.finished = true;
      q.wakeup->cancel();
      return;
    }
    auto it = std::lower_bound(
        history.begin(), history.end(), q.next_revision,
        [](const HistoryEntry& e, Revision r) { return e.revision < r; });
    WatchBatch batch;
    for (; it != history.end(); ++it) {
      if (!inRange(it->event.kv.key, q.request.key, q.request.range_end)) {
        continue;
      }
      WatchEvent event = it->event;
      if (!q.request.prev_kv) {
        event.prev_kv.reset();
      }
      batch.events.push_back(std::move(event));
    }
    q.next_revision = revision + 1;
    if (!batch.events.empty()) {
      batch.header_revision = revision;
      q.ready.push_back(std::move(batch));
      q.wakeup->cancel();
    }
  }

  void notifyWatches() {
    std::erase_if(watches, [](auto& w) { return w.expired(); });
    for (auto& weak : watches) {
      if (auto q = weak.lock()) {
        feed(*q);
      }
    }
  }

  // Applies one write at revision `rev` (already incremented by the caller's transaction).
  PutResponse applyPut(const PutRequest& r, Revision rev) {
    PutResponse out;
    auto it = kvs.find(r.key);
    std::optional<KeyValue> prev;
    if (it != kvs.end()) {
      prev = it->second;
      if (it->second.lease && it->second.lease != r.lease) {
        leases[it->second.lease].keys.erase(r.key);
      }
    }
    KeyValue kv;
    kv.key = r.key;
    kv.value = r.value;
    kv.create_revision = prev ? prev->create_revision : rev;
    kv.mod_revision = rev;
    kv.version = prev ? prev->version + 1 : 1;
    kv.lease = r.lease;
    kvs[r.key] = kv;
    if (r.lease) {
      leases[r.lease].keys.insert(r.key);
    }
    history.push_back({rev, WatchEvent{WatchEvent::Type::Put, kv, prev}});
    if (r.prev_kv) {
      out.prev_kv = prev;
    }
    out.revision = rev;
    return out;
  }

  DeleteResponse applyDelete(const DeleteRequest& r, Revision rev) {
    DeleteResponse out;
    for (auto it = kvs.begin(); it != kvs.end();) {
      if (!inRange(it->first, r.key, r.range_end)) {
        ++it;
        continue;
      }
      KeyValue tomb;
      tomb.key = it->first;
      tomb.mod_revision = rev;
      history.push_back({rev, WatchEvent{WatchEvent::Type::Delete, tomb, it->second}});
      if (it->second.lease) {
        leases[it->second.lease].keys.erase(it->first);
      }
      if (r.prev_kv) {
        out.prev_kvs.push_back(it->second);
      }
      ++out.deleted;
      it = kvs.erase(it);
    }
    out.revision = rev;
    return out;
  }

  Result<RangeResponse> applyRange(const RangeRequest& r) const {
    RangeResponse out;
    out.revision = revision;
    const std::map<std::string, KeyValue>* source = &kvs;
    std::map<std::string, KeyValue> past;
    if (r.revision > 0 && r.revision < revision) {
      if (r.revision <= compacted) {
        return fail(ErrorCode::OutOfRange, "required revision ", std::to_string(r.revision),
                    " has been compacted");
      }
      // Rebuild the keyspace as of r.revision from the full history (a fake may be slow).
      for (const auto& e : history) {
        if (e.revision > r.revision) {
          break;
        }
        if (e.event.type == WatchEvent::Type::Put) {
          past[e.event.kv.key] = e.event.kv;
        } else {
          past.erase(e.event.kv.key);
        }
      }
      source = &past;
    } else if (r.revision > revision) {
      return fail(ErrorCode::OutOfRange, "required revision ", std::to_string(r.revision),
                  " is a future revision");
    }
    for (const auto& [key, kv] : *source) {
      if (!inRange(key, r.key, r.range_end)) {
        continue;
      }
      ++out.count;
      if (r.count_only) {
        continue;
      }
      if (r.limit > 0 && static_cast<int64_t>(out.kvs.size()) >= r.limit) {
        out.more = true;
        continue;
      }
      KeyValue copy = kv;
      if (r.keys_only) {
        copy.value.clear();
      }
      out.kvs.push_back(std::move(copy));
    }
    return out;
  }

  bool evaluate(const Compare& c) const {
    auto it = kvs.find(c.key);
    const KeyValue empty;
    const KeyValue& kv = it == kvs.end() ? empty : it->second;
    switch (c.target) {
      case Compare::Target::Version:
        return compareOp(kv.version, c.op, c.number);
      case Compare::Target::CreateRevision:
        return compareOp(kv.create_revision, c.op, c.number);
      case Compare::Target::ModRevision:
        return compareOp(kv.mod_revision, c.op, c.number);
      case Compare::Target::Lease:
        return compareOp(kv.lease, c.op, c.number);
      case Compare::Target::Value:
        // etcd: a value compare on a missing key is false.
        return it != kvs.end() && compareOp(kv.value, c.op, c.value);
    }
    return false;
  }

  int expire() {
    int expired = 0;
    auto now = clock->now();
    for (auto it = leases.begin(); it != leases.end();) {
      if (it->second.expires_at > now) {
        ++it;
        continue;
      }
      revokeLocked(it->second);
      it = leases.erase(it);
      ++expired;
    }
    if (expired) {
      notifyWatches();
    }
    return expired;
  }

  // Deletes a lease's keys in one revision, as etcd does.
  void revokeLocked(Lease& lease) {
    if (lease.keys.empty()) {
      return;
    }
    ++revision;
    auto keys = lease.keys;
    for (const auto& key : keys) {
      applyDelete(DeleteRequest{.key = key}, revision);
    }
  }

  Result<void> gate() {
    if (unavailable) {
      return fail(ErrorCode::Unavailable, "memory store set unavailable");
    }
    expire();
    return ok();
  }
};

namespace {

class MemoryWatch final : public Watch {
 public:
  MemoryWatch(std::shared_ptr<MemoryStore::State> state, std::shared_ptr<WatchQueue> queue)
      : state_(std::move(state)), queue_(std::move(queue)) {}
  ~MemoryWatch() override { cancel(); }

  Async<WatchBatch> next(Duration max_wait) override {
    auto q = queue_;
    if (q->ready.empty() && !q->cancelled && !q->finished) {
      q->wakeup->expires_after(max_wait);
      co_await q->wakeup->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!q->ready.empty()) {
      WatchBatch batch = std::move(q->ready.front());
      q->ready.pop_front();
      co_return batch;
    }
    if (q->cancelled) {
      co_return fail(ErrorCode::Cancelled, "watch cancelled");
    }
    if (q->finished) {
      co_return fail(ErrorCode::FailedPrecondition, "watch ended after compaction");
    }
    co_return WatchBatch{};
  }

  void cancel() override {
    queue_->cancelled = true;
    queue_->wakeup->cancel();
  }

 private:
  std::shared_ptr<MemoryStore::State> state_;
  std::shared_ptr<WatchQueue> queue_;
};

}  // namespace

MemoryStore::MemoryStore(asio::any_io_executor executor, const Clock& clock)
    : executor_(std::move(executor)), state_(std::make_shared<State>()) {
  state_->clock = &clock;
}

MemoryStore::~MemoryStore() = default;

int MemoryStore::expireLeases() { return state_->expire(); }
void MemoryStore::setUnavailable(bool unavailable) { state_->unavailable = unavailable; }
Revision MemoryStore::revision() const { return state_->revision; }

Async<RangeResponse> MemoryStore::range(RangeRequest request) {
  if (auto g = state_->gate(); !g) {
    co_return fail(g.error());
  }
  co_return state_->applyRange(request);
}

Async<PutResponse> MemoryStore::put(PutRequest request) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  if (request.lease && !s.leases.count(request.lease)) {
    co_return fail(ErrorCode::NotFound, "requested lease not found");
  }
  auto out = s.applyPut(request, ++s.revision);
  s.notifyWatches();
  co_return out;
}

Async<DeleteResponse> MemoryStore::deleteRange(DeleteRequest request) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  // A delete that matches nothing does not create a revision.
  bool any = std::any_of(s.kvs.begin(), s.kvs.end(), [&](const auto& kv) {
    return inRange(kv.first, request.key, request.range_end);
  });
  if (!any) {
    co_return DeleteResponse{s.revision, 0, {}};
  }
  auto out = s.applyDelete(request, ++s.revision);
  s.notifyWatches();
  co_return out;
}

Async<TxnResponse> MemoryStore::txn(TxnRequest request) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  TxnResponse out;
  out.succeeded = std::all_of(request.compare.begin(), request.compare.end(),
                              [&](const Compare& c) { return s.evaluate(c); });
  const auto& ops = out.succeeded ? request.success : request.failure;
  for (const auto& op : ops) {
    if (auto* p = std::get_if<PutRequest>(&op); p && p->lease && !s.leases.count(p->lease)) {
      co_return fail(ErrorCode::NotFound, "requested lease not found");
    }
  }
  bool writes = std::any_of(ops.begin(), ops.end(), [](const TxnOp& op) {
    return !std::holds_alternative<RangeRequest>(op);
  });
  Revision rev = writes ? s.revision + 1 : s.revision;
  bool wrote = false;
  for (const auto& op : ops) {
    if (auto* r = std::get_if<RangeRequest>(&op)) {
      auto range = s.applyRange(*r);
      if (!range) {
        co_return fail(range.error());
      }
      out.responses.emplace_back(std::move(*range));
    } else if (auto* p = std::get_if<PutRequest>(&op)) {
      out.responses.emplace_back(s.applyPut(*p, rev));
      wrote = true;
    } else if (auto* d = std::get_if<DeleteRequest>(&op)) {
      auto before = s.history.size();
      out.responses.emplace_back(s.applyDelete(*d, rev));
      wrote = wrote || s.history.size() != before;
    }
  }
  if (wrote) {
    s.revision = rev;
    s.notifyWatches();
  }
  out.revision = s.revision;
  co_return out;
}

Async<void> MemoryStore::compact(Revision revision) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  if (revision <= s.compacted) {
    co_return fail(ErrorCode::OutOfRange, "required revision has been compacted");
  }
  if (revision > s.revision) {
    co_return fail(ErrorCode::OutOfRange, "required revision is a future revision");
  }
  // etcd keeps the state at `revision` readable; history strictly before it is gone.
  s.compacted = revision - 1;
  s.notifyWatches();
  co_return ok();
}

Async<LeaseGrantResponse> MemoryStore::leaseGrant(std::chrono::seconds ttl) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  ttl = std::max(ttl, std::chrono::seconds(1));
  LeaseId id = s.next_lease++;
  s.leases[id] = State::Lease{ttl, s.clock->now() + ttl, {}};
  co_return LeaseGrantResponse{id, ttl};
}

Async<void> MemoryStore::leaseRevoke(LeaseId id) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  auto it = s.leases.find(id);
  if (it == s.leases.end()) {
    co_return fail(ErrorCode::NotFound, "requested lease not found");
  }
  s.revokeLocked(it->second);
  s.leases.erase(it);
  s.notifyWatches();
  co_return ok();
}

Async<LeaseKeepAliveResponse> MemoryStore::leaseKeepAliveOnce(LeaseId id) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  auto it = s.leases.find(id);
  if (it == s.leases.end()) {
    co_return fail(ErrorCode::NotFound, "lease ", std::to_string(id), " not found");
  }
  it->second.expires_at = s.clock->now() + it->second.ttl;
  co_return LeaseKeepAliveResponse{it->second.ttl};
}

Async<LeaseTimeToLiveResponse> MemoryStore::leaseTimeToLive(LeaseId id, bool with_keys) {
  auto& s = *state_;
  if (auto g = s.gate(); !g) {
    co_return fail(g.error());
  }
  LeaseTimeToLiveResponse out;
  auto it = s.leases.find(id);
  if (it == s.leases.end()) {
    out.ttl = std::chrono::seconds(-1);
    co_return out;
  }
  out.granted_ttl = it->second.ttl;
  out.ttl = std::chrono::duration_cast<std::chrono::seconds>(it->second.expires_at -
                                                             s.clock->now());
  if (with_keys) {
    out.keys.assign(it->second.keys.begin(), it->second.keys.end());
  }
  co_return out;
}

WatchPtr MemoryStore::watch(WatchRequest request) {
  auto q = std::make_shared<WatchQueue>();
  q->next_revision = request.start_revision > 0 ? request.start_revision : state_->revision + 1;
  q->request = std::move(request);
  q->wakeup = std::make_unique<asio::steady_timer>(executor_);
  state_->watches.push_back(q);
  state_->feed(*q);
  return std::make_unique<MemoryWatch>(state_, std::move(q));
}

}  // namespace rampart::store
