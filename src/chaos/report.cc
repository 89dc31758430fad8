#include "chaos/report.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rampart::chaos {
namespace {

using Json = nlohmann::ordered_json;

// Milliseconds with one decimal.
double msOf(Duration d) { return std::round(toMillis(d) * 10) / 10; }

Json msOrNull(const std::optional<Duration>& d) { return d ? Json(msOf(*d)) : Json(nullptr); }

const char* outcomeName(Outcome o) {
  switch (o) {
    case Outcome::Acked:
      return "acked";
    case Outcome::Failed:
      return "failed";
    case Outcome::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, millis);
}

// The summary figures across faults: the worst unavailability, the slowest first ack and
// recovery (null if some fault never saw one), the slowest rejoin (null if none was measured).
struct Figures {
  std::optional<Duration> unavailable;
  std::optional<Duration> first_ack_after;
  std::optional<Duration> recovered_after;
  std::optional<Duration> old_primary_streaming;
};

Figures figuresOf(const Report& r) {
  Figures f;
  bool all_first = !r.check.per_fault.empty();
  bool all_recovered = all_first;
  for (const auto& u : r.check.per_fault) {
    f.unavailable = std::max(f.unavailable.value_or(Duration(0)), u.longest_gap);
    if (!u.first_ack_after) {
      all_first = false;
    } else {
      f.first_ack_after = std::max(f.first_ack_after.value_or(Duration(0)), *u.first_ack_after);
    }
    if (!u.recovered_after) {
      all_recovered = false;
    } else {
      f.recovered_after = std::max(f.recovered_after.value_or(Duration(0)), *u.recovered_after);
    }
  }
  if (!all_first) {
    f.first_ack_after.reset();
  }
  if (!all_recovered) {
    f.recovered_after.reset();
  }
  for (const auto& fault : r.faults) {
    if (fault.old_primary_streaming) {
      f.old_primary_streaming =
          std::max(f.old_primary_streaming.value_or(Duration(0)), *fault.old_primary_streaming);
    }
  }
  return f;
}

Json tenureJson(const Tenure& t, TimePoint start) {
  return Json{{"server", t.server},
              {"epoch", t.epoch},
              {"first_ack_ms", msOf(t.first_ack_done - start)},
              {"last_sent_ms", msOf(t.last_ack_sent - start)},
              {"acks", t.acks}};
}

// The first 20 ids: enough to look them up, short enough for a report.
Json firstIds(const std::vector<int64_t>& ids) {
  Json out = Json::array();
  for (size_t i = 0; i < ids.size() && i < 20; ++i) {
    out.push_back(ids[i]);
  }
  return out;
}

// "m1/tl2" for PostgreSQL; a Redis replication id is shortened to 8 hex digits in text.
std::string tenureName(const Tenure& t) {
  return t.server + "/" + (t.epoch.size() > 12 ? t.epoch.substr(0, 8) : t.epoch);
}

std::string fmtMs(const std::optional<Duration>& d) {
  return d ? fmt::format("{:.0f} ms", toMillis(*d)) : std::string("-");
}

}  // namespace

std::string reportJson(const Report& r) {
  const auto& c = r.check;
  Figures fig = figuresOf(r);
  Json j;
  j["scenario"] = r.scenario;
  j["kind"] = r.kind;
  j["seed"] = r.seed;
  j["start_time"] = isoTime(r.start_wall);
  j["duration_ms"] = msOf(r.end - r.start);
  j["acked"] = c.acked;
  j["failed"] = c.failed;
  j["unknown"] = c.unknown;
  j["vip"] = Json{{"acked", c.vip_acked}, {"failed", c.vip_failed}, {"unknown", c.vip_unknown}};
  j["acked_with_warning"] = c.acked_with_warning;
  j["failed_present"] = c.failed_present;
  j["unknown_present"] = c.unknown_present;
  j["lost"] = c.lost_ids.size();
  j["lost_ids"] = firstIds(c.lost_ids);
  j["unpromised_acked"] = c.unpromised_acked;
  j["unattributed"] = c.unattributed;
  j["unpromised_lost"] = c.unpromised_lost_ids.size();
  j["unpromised_lost_ids"] = firstIds(c.unpromised_lost_ids);
  j["split_brain"] = c.split_brains.size();
  Json pairs = Json::array();
  for (const auto& s : c.split_brains) {
    pairs.push_back(Json{{"a", tenureJson(s.a, r.start)},
                         {"b", tenureJson(s.b, r.start)},
                         {"from_ms", msOf(s.from - r.start)},
                         {"to_ms", msOf(s.to - r.start)}});
  }
  j["split_brain_pairs"] = pairs;
  Json tenures = Json::array();
  for (const auto& t : c.tenures) {
    tenures.push_back(tenureJson(t, r.start));
  }
  j["tenures"] = tenures;
  j["unavailable_ms"] = msOrNull(fig.unavailable);
  j["first_ack_after_fault_ms"] = msOrNull(fig.first_ack_after);
  j["recovered_after_fault_ms"] = msOrNull(fig.recovered_after);
  j["longest_gap_ms"] = msOf(c.longest_gap);
  j["old_primary_streaming_ms"] = msOrNull(fig.old_primary_streaming);
  Json faults = Json::array();
  size_t fi = 0;
  for (const auto& f : r.faults) {
    Json fj{{"kind", f.kind},
            {"target", f.target},
            {"old_primary", f.old_primary},
            {"start_ms", msOf(f.start - r.start)},
            {"end_ms", msOf(f.end - r.start)}};
    if (f.error.empty() && fi < c.per_fault.size()) {
      const auto& u = c.per_fault[fi++];
      fj["unavailable_ms"] = msOf(u.longest_gap);
      fj["first_ack_after_fault_ms"] = msOrNull(u.first_ack_after);
      fj["recovered_after_fault_ms"] = msOrNull(u.recovered_after);
    }
    fj["old_primary_streaming_ms"] = msOrNull(f.old_primary_streaming);
    if (!f.error.empty()) {
      fj["error"] = f.error;
    }
    if (!f.detail.empty()) {
      fj["detail"] = f.detail;
    }
    faults.push_back(std::move(fj));
  }
  j["faults"] = faults;
  j["final_primary"] = r.final_primary.empty() ? Json(nullptr) : Json(r.final_primary);
  if (r.kind == "rampart" || r.kind == "rampart-redis") {
    Json failover = nullptr;
    if (r.failover_json) {
      failover = Json::parse(*r.failover_json, nullptr, false);
      if (failover.is_discarded()) {
        failover = nullptr;
      }
    }
    j["failover"] = failover;
  }
  j["problems"] = r.problems;
  j["verdict"] = r.passed() ? "PASS" : "FAIL";
  return j.dump();
}

std::string reportText(const Report& r) {
  const auto& c = r.check;
  Figures fig = figuresOf(r);
  std::string out = fmt::format("rampart chaos: scenario {} on a {} cluster (seed {}), {:.1f} s\n",
                                r.scenario, r.kind, r.seed, toMillis(r.end - r.start) / 1000);
  size_t fi = 0;
  for (size_t i = 0; i < r.faults.size(); ++i) {
    const auto& f = r.faults[i];
    out += fmt::format("  fault {} {} at +{:.0f} ms for {:.0f} ms: {}\n", i + 1, f.kind,
                       toMillis(f.start - r.start), toMillis(f.end - f.start),
                       f.error.empty() ? f.target : "NOT INJECTED: " + f.error);
    if (f.error.empty() && fi < c.per_fault.size()) {
      const auto& u = c.per_fault[fi++];
      out += fmt::format(
          "    unavailable {}, first ack after the fault {}, writes back for good after {}, old "
          "primary {} streaming after {}\n",
          fmtMs(u.longest_gap), fmtMs(u.first_ack_after), fmtMs(u.recovered_after), f.old_primary,
          fmtMs(f.old_primary_streaming));
    }
  }
  out += fmt::format("  writes           acked {}, failed {}, unknown {} (vip: {}/{}/{})\n",
                     c.acked, c.failed, c.unknown, c.vip_acked, c.vip_failed, c.vip_unknown);
  std::string lost = std::to_string(c.lost_ids.size());
  for (size_t i = 0; i < c.lost_ids.size() && i < 20; ++i) {
    lost += (i == 0 ? " (ids " : ", ") + std::to_string(c.lost_ids[i]);
  }
  if (!c.lost_ids.empty()) {
    lost += c.lost_ids.size() > 20 ? ", ...)" : ")";
  }
  out += fmt::format("  lost             {}\n", lost);
  if (c.unpromised_acked > 0) {
    out += fmt::format(
        "  plain writes     {} acknowledged without a replica's confirmation, {} of them "
        "lost (measured, not promised)\n",
        c.unpromised_acked, c.unpromised_lost_ids.size());
  }
  out += fmt::format("  split brain      {} overlapping tenure pairs\n", c.split_brains.size());
  for (const auto& s : c.split_brains) {
    out +=
        fmt::format("    {} and {} both committing from +{:.0f} to +{:.0f} ms\n", tenureName(s.a),
                    tenureName(s.b), toMillis(s.from - r.start), toMillis(s.to - r.start));
  }
  std::string tenures;
  for (const auto& t : c.tenures) {
    tenures += fmt::format("{}{} +{:.0f}..+{:.0f} ms ({} acks)", tenures.empty() ? "" : ", ",
                           tenureName(t), toMillis(t.first_ack_done - r.start),
                           toMillis(t.last_ack_sent - r.start), t.acks);
  }
  out += fmt::format("  tenures          {}\n", tenures.empty() ? "-" : tenures);
  out += fmt::format(
      "  unavailability   {} (first ack after the fault {}, back for good after {}, longest gap "
      "{})\n",
      fmtMs(fig.unavailable), fmtMs(fig.first_ack_after), fmtMs(fig.recovered_after),
      fmtMs(c.longest_gap));
  out += fmt::format("  old primary      streaming after {}\n", fmtMs(fig.old_primary_streaming));
  out += fmt::format("  final primary    {}\n", r.final_primary.empty() ? "-" : r.final_primary);
  if (c.acked_with_warning > 0) {
    out += fmt::format("  warning          {} writes acknowledged with a server WARNING\n",
                       c.acked_with_warning);
  }
  if (c.failed_present > 0) {
    out += fmt::format("  warning          {} writes reported failed are on the final primary\n",
                       c.failed_present);
  }
  for (const auto& p : r.problems) {
    out += fmt::format("  problem          {}\n", p);
  }
  out += fmt::format("  verdict          {}\n", r.passed() ? "PASS" : "FAIL");
  return out;
}

std::string historyJsonLines(const Report& r) {
  std::string out;
  for (const auto& a : r.attempts) {
    Json j{{"id", a.id},
           {"writer", a.writer},
           {"sent_ms", msOf(a.sent - r.start)},
           {"done_ms", msOf(a.done - r.start)},
           {"outcome", outcomeName(a.outcome)}};
    if (a.outcome == Outcome::Acked) {
      j["server"] = a.server;
      j["epoch"] = a.epoch;
      if (!a.promised) {
        j["promised"] = false;
      }
    }
    if (a.warned) {
      j["warned"] = true;
    }
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace rampart::chaos
