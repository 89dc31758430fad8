#include "agent/podnet/allocator.h"

#include <algorithm>

#include "base/check.h"

namespace rampart::agent::podnet {

IpAllocator::IpAllocator(Ipv4Cidr range) : range_(range), cursor_(range.firstPod()) {
  RAMPART_CHECK(range.prefix <= 30, "a pod range holds at least one pod address (parseCidr)");
}

Result<Ipv4> IpAllocator::allocate(const std::string& pod_uid) {
  if (auto it = holders_.find(pod_uid); it != holders_.end()) {
    return it->second;
  }
  // Never-used addresses first: one lap from the cursor over firstPod … lastPod (capacity()
  // candidates), wrapping at lastPod.
  Ipv4 candidate = cursor_;
  for (uint64_t i = 0; i < capacity(); ++i) {
    if (!used_.count(candidate) && !released_set_.count(candidate)) {
      holders_[pod_uid] = candidate;
      used_.insert(candidate);
      cursor_ = candidate == range_.lastPod() ? range_.firstPod() : candidate + 1;
      return candidate;
    }
    candidate = candidate == range_.lastPod() ? range_.firstPod() : candidate + 1;
  }
  // Then the least recently released one. released_ never holds a used address: restore()
  // takes an address out of it before marking it used.
  if (!released_.empty()) {
    Ipv4 ip = released_.front();
    released_.pop_front();
    released_set_.erase(ip);
    holders_[pod_uid] = ip;
    used_.insert(ip);
    return ip;
  }
  return fail(ErrorCode::FailedPrecondition, "pod range ", range_.toString(), " is full (",
              std::to_string(capacity()), " addresses held)");
}

Result<void> IpAllocator::restore(const std::string& pod_uid, Ipv4 ip) {
  if (!range_.contains(ip) || ip < range_.firstPod() || ip > range_.lastPod()) {
    return fail(ErrorCode::InvalidArgument, formatIpv4(ip), " is not a pod address of ",
                range_.toString());
  }
  if (auto it = holders_.find(pod_uid); it != holders_.end()) {
    if (it->second == ip) {
      return ok();
    }
    return fail(ErrorCode::AlreadyExists, "pod ", pod_uid, " already holds ",
                formatIpv4(it->second), ", not ", formatIpv4(ip));
  }
  if (used_.count(ip)) {
    return fail(ErrorCode::AlreadyExists, formatIpv4(ip), " is held by another pod");
  }
  if (released_set_.erase(ip)) {
    released_.erase(std::find(released_.begin(), released_.end(), ip));
  }
  holders_[pod_uid] = ip;
  used_.insert(ip);
  // Hand out after the highest restored address first (see the header).
  if (ip >= cursor_) {
    cursor_ = ip == range_.lastPod() ? range_.firstPod() : ip + 1;
  }
  return ok();
}

void IpAllocator::release(const std::string& pod_uid) {
  auto it = holders_.find(pod_uid);
  if (it == holders_.end()) {
    return;
  }
  used_.erase(it->second);
  released_.push_back(it->second);
  released_set_.insert(it->second);
  holders_.erase(it);
}

std::optional<Ipv4> IpAllocator::addressOf(const std::string& pod_uid) const {
  auto it = holders_.find(pod_uid);
  if (it == holders_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace rampart::agent::podnet
