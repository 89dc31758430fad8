#pragma once
// WorkQueue: client-go's rate-limited work queue, reduced to what Rampart's reconcilers need.
// Keys ("namespace/name") are deduplicated: a key added while queued is queued once; a key
// added while a worker processes it is queued again when that worker calls done(), so one key
// is never processed by two workers at once and no change is missed. A failed key is retried
// after an exponential back-off (base × 2^failures, capped) a bounded number of times; then it
// waits for the next change or resync. Pure bookkeeping (time passed in); the manager's workers
// poll it. Single-threaded: use from one event loop.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace rampart::controller {

struct WorkQueueOptions {
  Duration retry_base = std::chrono::milliseconds(5);
  Duration retry_cap = std::chrono::seconds(30);
  int max_retries = 15;
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {}) : options_(options) {}

  void add(const std::string& key);
  // The next key to process (moved to "processing"), promoting retries that are due at `now`.
  std::optional<std::string> take(TimePoint now);
  // Processing of `key` finished: success forgets its failures; failure schedules a retry at
  // now + back-off unless it failed max_retries times (then false: given up until re-added).
  bool done(const std::string& key, bool success, TimePoint now);
  // Drops everything queued, waiting or failed (leadership lost); keys in processing stay
  // marked until done().
  void clear();

  size_t queued() const { return queue_.size(); }
  size_t waiting() const { return retry_at_.size(); }
  int failures(const std::string& key) const;
  // The earliest retry, if any (so a worker knows how long it may sleep).
  std::optional<TimePoint> nextRetry() const;

 private:
  WorkQueueOptions options_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;      // keys in queue_
  std::set<std::string> processing_;  // keys a worker holds
  std::set<std::string> dirty_;       // added while processing
  std::multimap<TimePoint, std::string> retry_at_;
  std::unordered_map<std::string, int> failures_;
};

}  // namespace rampart::controller
