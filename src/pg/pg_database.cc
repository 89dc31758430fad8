#include "pg/pg_database.h"

#include "pg/rejoin.h"

namespace rampart::pg {
namespace {

using namespace std::chrono_literals;

constexpr Duration kQueryTimeout = 2s;
constexpr Duration kStartTimeout = 60s;
constexpr Duration kStopTimeout = 30s;
constexpr Duration kCloneTimeout = 600s;

std::optional<Upstream> upstreamOf(const std::optional<failover::Address>& a) {
  if (!a) {
    return std::nullopt;
  }
  return Upstream{a->host, a->port};
}

}  // namespace

PgDatabase::PgDatabase(const MemberConfig& config) : pg_(config) {}

failover::ServerState PgDatabase::observe() {
  auto local = pg_.observe(kQueryTimeout);
  failover::ServerState s;
  s.running = local.running;
  s.reachable = local.reachable;
  s.replica = local.reachable && local.in_recovery;
  s.replicating = s.replica && local.streaming;
  s.position = local.in_recovery ? std::max(local.receive_lsn, local.replay_lsn) : local.write_lsn;
  s.has_data = pg_.hasData();
  return s;
}

Result<void> PgDatabase::bootstrap() {
  if (!pg_.hasData()) {
    if (auto made = pg_.initdb(); !made) {
      return made;
    }
  }
  if (auto started = pg_.start(false, std::nullopt, "", kStartTimeout); !started) {
    return started;
  }
  return pg_.createReplicationRole(kQueryTimeout);
}

Result<void> PgDatabase::startPrimary() {
  return pg_.start(false, std::nullopt, "", kStartTimeout);
}

Result<void> PgDatabase::startReplica(const std::optional<failover::Address>& upstream) {
  return pg_.start(true, upstreamOf(upstream), "", kStartTimeout);
}

Result<void> PgDatabase::stop() { return pg_.stop(kStopTimeout); }

Result<void> PgDatabase::promote() { return pg_.promote(30s); }

Result<failover::Position> PgDatabase::follow(const std::optional<failover::Address>& upstream) {
  auto lsn = pg_.setUpstream(upstreamOf(upstream), kQueryTimeout);
  if (!lsn) {
    return fail(lsn.error());
  }
  return failover::Position{*lsn};
}

Result<void> PgDatabase::rejoin(const failover::Address& leader, bool may_have_diverged) {
  Upstream up{leader.host, leader.port};
  if (pg_.alive()) {
    (void)pg_.stop(kStopTimeout);
  }
  RejoinFacts facts;
  facts.failures = rejoin_failures_;
  facts.may_have_diverged = may_have_diverged;
  facts.has_data = pg_.hasData();
  if (facts.has_data) {
    if (auto state = pg_.controlState()) {
      facts.control_state = *state;
    }
  }
  auto plan = planRejoin(facts);
  if (plan == RejoinPlan::DetachedStart) {
    // The engine has no divergence check of its own yet: compare straight away, and rewind
    // only if this former primary's WAL runs past the leader's fork.
    if (auto s = pg_.start(true, std::nullopt, "", kStartTimeout); !s) {
      ++rejoin_failures_;
      return s;
    }
    auto diverged = pg_.divergedFrom(up, kQueryTimeout);
    if (diverged && !*diverged) {
      if (auto r = pg_.setUpstream(up, kQueryTimeout); !r) {
        ++rejoin_failures_;
        return fail(r.error());
      }
      rejoin_failures_ = 0;
      return ok();
    }
    (void)pg_.stop(kStopTimeout);
    plan = RejoinPlan::Rewind;
  }
  Result<void> done = ok();
  if (plan == RejoinPlan::Clone) {
    done = pg_.cloneFrom(up, kCloneTimeout);
  } else if (plan == RejoinPlan::Rewind) {
    if (auto w = pg_.rewindFrom(up, kCloneTimeout); !w) {
      done = pg_.cloneFrom(up, kCloneTimeout);
    }
  }
  if (done) {
    done = pg_.start(true, up, "", kStartTimeout);
  }
  rejoin_failures_ = done ? 0 : rejoin_failures_ + 1;
  return done;
}

}  // namespace rampart::pg
