#include "chaos/checker.h"

#include <algorithm>
#include <map>
#include <utility>

namespace rampart::chaos {

std::vector<Tenure> tenuresOf(const std::vector<Attempt>& attempts) {
  std::map<std::pair<std::string, std::string>, Tenure> by_key;
  for (const auto& a : attempts) {
    // An ack the writer could not attribute (no server or epoch in the answer) is in no tenure.
    if (a.outcome != Outcome::Acked || a.server.empty() || a.epoch.empty()) {
      continue;
    }
    auto [it, fresh] = by_key.try_emplace({a.server, a.epoch});
    Tenure& t = it->second;
    if (fresh) {
      t.server = a.server;
      t.epoch = a.epoch;
      t.first_ack_done = a.done;
      t.last_ack_sent = a.sent;
    } else {
      t.first_ack_done = std::min(t.first_ack_done, a.done);
      t.last_ack_sent = std::max(t.last_ack_sent, a.sent);
    }
    ++t.acks;
  }
  std::vector<Tenure> out;
  for (auto& [key, t] : by_key) {
    out.push_back(std::move(t));
  }
  std::stable_sort(out.begin(), out.end(), [](const Tenure& x, const Tenure& y) {
    return x.first_ack_done < y.first_ack_done;
  });
  return out;
}

bool overlaps(const Tenure& a, const Tenure& b) {
  return a.first_ack_done < b.last_ack_sent && b.first_ack_done < a.last_ack_sent;
}

std::optional<uint32_t> timelineOfWalFile(const std::string& walfile) {
  if (walfile.size() < 8) {
    return std::nullopt;
  }
  uint32_t tl = 0;
  for (size_t i = 0; i < 8; ++i) {
    char c = walfile[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    tl = tl * 16 + static_cast<uint32_t>(digit);
  }
  return tl;
}

namespace {

// Unavailability for one fault given the VIP writer's ack completions (sorted) and acks
// (send, completion) pairs.
Unavailability unavailabilityOf(const std::vector<TimePoint>& ack_done,
                                const std::vector<std::pair<TimePoint, TimePoint>>& acks,
                                TimePoint fault_start, TimePoint limit, TimePoint end) {
  Unavailability u;
  // The last ack at or before the fault (or the fault itself if there is none) opens the first
  // gap.
  auto after = std::upper_bound(ack_done.begin(), ack_done.end(), fault_start);
  TimePoint prev = after == ack_done.begin() ? fault_start : *(after - 1);
  bool exhausted = true;
  for (auto it = after; it != ack_done.end(); ++it) {
    if (prev >= limit) {
      exhausted = false;
      break;
    }
    // A gap running into the next fault counts here only up to that fault's start.
    Duration gap = std::min(*it, limit) - prev;
    if (gap > u.longest_gap) {
      u.longest_gap = gap;
      u.recovered_after = *it <= limit ? std::optional<Duration>(*it - fault_start) : std::nullopt;
    }
    prev = *it;
  }
  if (exhausted && prev < limit) {
    // No ack after `prev`: the silence up to the limit (the next fault, or the end) counts.
    Duration silence = std::max(prev, std::min(limit, end)) - prev;
    if (silence > u.longest_gap) {
      u.longest_gap = silence;
      u.recovered_after.reset();
    }
  }
  for (const auto& [sent, done] : acks) {
    if (sent >= fault_start) {
      Duration d = done - fault_start;
      if (!u.first_ack_after || d < *u.first_ack_after) {
        u.first_ack_after = d;
      }
    }
  }
  return u;
}

}  // namespace

CheckResult checkHistory(const CheckInput& input) {
  CheckResult r;
  std::vector<TimePoint> vip_ack_done;
  std::vector<std::pair<TimePoint, TimePoint>> vip_acks;  // (sent, done)
  for (const auto& a : input.attempts) {
    bool vip = a.writer == input.vip_writer;
    bool present = input.present.count(a.id) > 0;
    switch (a.outcome) {
      case Outcome::Acked:
        ++r.acked;
        r.vip_acked += vip;
        r.acked_with_warning += a.warned;
        r.unpromised_acked += !a.promised;
        r.unattributed += a.server.empty() || a.epoch.empty();
        if (input.present_known && !present) {
          (a.promised ? r.lost_ids : r.unpromised_lost_ids).push_back(a.id);
        }
        if (vip) {
          vip_ack_done.push_back(a.done);
          vip_acks.emplace_back(a.sent, a.done);
        }
        break;
      case Outcome::Failed:
        ++r.failed;
        r.vip_failed += vip;
        r.failed_present += present;
        break;
      case Outcome::Unknown:
        ++r.unknown;
        r.vip_unknown += vip;
        r.unknown_present += present;
        break;
    }
  }
  std::sort(r.lost_ids.begin(), r.lost_ids.end());
  std::sort(r.unpromised_lost_ids.begin(), r.unpromised_lost_ids.end());

  r.tenures = tenuresOf(input.attempts);
  for (size_t i = 0; i < r.tenures.size(); ++i) {
    for (size_t j = i + 1; j < r.tenures.size(); ++j) {
      const Tenure& a = r.tenures[i];
      const Tenure& b = r.tenures[j];
      if (!overlaps(a, b)) {
        continue;
      }
      SplitBrain s{a, b};
      TimePoint x = std::max(a.first_ack_done, b.first_ack_done);
      TimePoint y = std::min(a.last_ack_sent, b.last_ack_sent);
      s.from = std::min(x, y);
      s.to = std::max(x, y);
      r.split_brains.push_back(std::move(s));
    }
  }

  std::sort(vip_ack_done.begin(), vip_ack_done.end());
  for (size_t i = 1; i < vip_ack_done.size(); ++i) {
    r.longest_gap = std::max(r.longest_gap, Duration(vip_ack_done[i] - vip_ack_done[i - 1]));
  }
  for (size_t i = 0; i < input.faults.size(); ++i) {
    TimePoint limit = i + 1 < input.faults.size() ? input.faults[i + 1].start : input.end;
    r.per_fault.push_back(
        unavailabilityOf(vip_ack_done, vip_acks, input.faults[i].start, limit, input.end));
  }
  return r;
}

}  // namespace rampart::chaos
