#include "controller/workqueue.h"

#include <algorithm>

namespace rampart::controller {

void WorkQueue::add(const std::string& key) {
  if (processing_.count(key)) {
    dirty_.insert(key);
    return;
  }
  if (queued_.insert(key).second) {
    queue_.push_back(key);
  }
}

std::optional<std::string> WorkQueue::take(TimePoint now) {
  while (!retry_at_.empty() && retry_at_.begin()->first <= now) {
    std::string key = retry_at_.begin()->second;
    retry_at_.erase(retry_at_.begin());
    add(key);
  }
  if (queue_.empty()) {
    return std::nullopt;
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  queued_.erase(key);
  processing_.insert(key);
  return key;
}

bool WorkQueue::done(const std::string& key, bool success, TimePoint now) {
  processing_.erase(key);
  bool again = dirty_.erase(key) > 0;
  bool retrying = false;
  if (success) {
    failures_.erase(key);
  } else {
    int& failed = failures_[key];
    ++failed;
    if (failed <= options_.max_retries) {
      Duration wait = options_.retry_base;
      for (int i = 1; i < failed && wait < options_.retry_cap; ++i) {
        wait *= 2;
      }
      retry_at_.emplace(now + std::min(wait, options_.retry_cap), key);
      retrying = true;
    } else {
      failures_.erase(key);
    }
  }
  if (again) {
    add(key);
  }
  return success || retrying;
}

void WorkQueue::clear() {
  queue_.clear();
  queued_.clear();
  dirty_.clear();
  retry_at_.clear();
  failures_.clear();
}

int WorkQueue::failures(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<TimePoint> WorkQueue::nextRetry() const {
  if (retry_at_.empty()) {
    return std::nullopt;
  }
  return retry_at_.begin()->first;
}

}  // namespace rampart::controller
