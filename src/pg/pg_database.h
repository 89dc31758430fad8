#pragma once
// PgDatabase: PostgreSQL as a failover::Database (failover/database.h), over pg::Postgres. What
// the engine needs of a member's server, in PostgreSQL's terms: promote = pg_promote, follow =
// primary_conninfo (detach: '' and wait for the WAL receiver to stop), fence = SIGKILL of the
// postmaster and its children, position = the received LSN of a standby or the written LSN of a
// primary, rejoin = pg_rewind or pg_basebackup as planRejoin (rejoin.h) says.
//
// pg::Manager does not run on failover::Engine yet (see engine.h); this is the implementation it
// will use, proven against real PostgreSQL by tests/integration/pg_engine_test.cc.
//
// Blocking (libpq, initdb, pg_basebackup, pg_rewind), each call bounded by the timeouts below.
// Not thread-safe: the engine calls it one call at a time. Owns its Postgres.

#include "failover/database.h"
#include "pg/config.h"
#include "pg/postgres.h"

namespace rampart::pg {

class PgDatabase final : public failover::Database {
 public:
  explicit PgDatabase(const MemberConfig& config);

  // Prepares the run directory (socket, password file); call once before anything else.
  Result<void> prepare() { return pg_.prepare(); }
  Postgres& postgres() { return pg_; }

  failover::ServerState observe() override;
  Result<void> bootstrap() override;
  Result<void> startPrimary() override;
  Result<void> startReplica(const std::optional<failover::Address>& upstream) override;
  Result<void> stop() override;
  Result<void> promote() override;
  Result<failover::Position> follow(const std::optional<failover::Address>& upstream) override;
  Result<void> rejoin(const failover::Address& leader, bool may_have_diverged) override;
  Result<void> serveReplicas(const std::vector<std::string>& members) override {
    return pg_.ensureSlots(members, std::chrono::seconds(2));
  }
  void fence() override { pg_.fence(); }
  // The planned switchover is pg::Manager's (engine.h): refused here, and the engine abandons a
  // switchover it cannot start, leaving the leader as it was.
  Result<failover::Position> holdWrites() override { return notHere(); }
  Result<failover::Position> sealWrites() override { return notHere(); }
  Result<void> resumeWrites() override { return ok(); }
  Result<void> awaitReplica(const failover::Address&, failover::Position, Duration) override {
    return notHere();
  }

 private:
  static tl::unexpected<Error> notHere() {
    return fail(ErrorCode::FailedPrecondition,
                "a planned switchover of PostgreSQL is carried out by rampart pg's manager");
  }

  Postgres pg_;
  int rejoin_failures_ = 0;  // planRejoin: one failure rewinds, two clone
};

}  // namespace rampart::pg
