#include "controller/expectations.h"

namespace rampart::controller {

void Expectations::expectCreations(const std::string& owner, int count, TimePoint now) {
  Entry& e = entries_[owner];
  e.creations += count;
  e.since = now;
}

void Expectations::expectDeletion(const std::string& owner, const std::string& pod_key,
                                  TimePoint now) {
  Entry& e = entries_[owner];
  e.deletions.insert(pod_key);
  e.since = now;
}

void Expectations::creationObserved(const std::string& owner) {
  auto it = entries_.find(owner);
  if (it != entries_.end() && it->second.creations > 0) {
    --it->second.creations;
  }
}

void Expectations::deletionObserved(const std::string& owner, const std::string& pod_key) {
  auto it = entries_.find(owner);
  if (it != entries_.end()) {
    it->second.deletions.erase(pod_key);
  }
}

bool Expectations::satisfied(const std::string& owner, TimePoint now) const {
  auto it = entries_.find(owner);
  if (it == entries_.end()) {
    return true;
  }
  const Entry& e = it->second;
  return (e.creations <= 0 && e.deletions.empty()) || now - e.since >= ttl_;
}

int Expectations::pendingCreations(const std::string& owner) const {
  auto it = entries_.find(owner);
  return it == entries_.end() ? 0 : it->second.creations;
}

}  // namespace rampart::controller
