// failover::Engine driving two real PostgreSQL 15 members through pg::PgDatabase, over one
// in-process MemoryStore: the engine's interface fits PostgreSQL (bootstrap, clone, streaming,
// release after a crash, promotion, rewind of the old primary).
//
// One thread drives both engines, so a member's slow call (pg_basebackup) delays the other's
// heartbeat: the leader timeout is long here (the takeover this test proves is the release
// after a crash, which does not wait for it).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include <boost/asio/io_context.hpp>

#include "failover/engine.h"
#include "net/endpoint.h"
#include "pg/pg_database.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"
#include "testing/test_files.h"

namespace rampart::pg {
namespace {

using namespace std::chrono_literals;

class PgEngineTest : public ::testing::Test {
 protected:
  struct Member {
    rampart::testing::TempDir dir;
    MemberConfig config;
    std::unique_ptr<PgDatabase> db;
    std::unique_ptr<failover::Engine> engine;
  };

  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      auto m = std::make_unique<Member>();
      ASSERT_FALSE(m->dir.path().empty());
      ::chmod(m->dir.path().c_str(), 0755);  // the postgres user walks through it
      auto port = net::pickFreePort("127.0.0.1");
      ASSERT_TRUE(port) << port.error().message;
      m->config.cluster = "engine";
      m->config.name = "m" + std::to_string(i + 1);
      m->config.listen = net::Endpoint{"127.0.0.1", *port};
      m->config.data_dir = m->dir.path() + "/data";
      m->config.superuser = {"postgres", "engine-test-superuser"};
      m->config.replication = {"replicator", "engine-test-replication"};
      m->db = std::make_unique<PgDatabase>(m->config);
      auto prepared = m->db->prepare();
      ASSERT_TRUE(prepared) << prepared.error().message;
      failover::EngineConfig ec;
      ec.prefix = "/rampart/pg/engine";
      ec.name = m->config.name;
      ec.address = failover::Address{"127.0.0.1", *port};
      ec.leader_timeout = 30s;
      ec.fence_margin = 5s;
      m->engine = std::make_unique<failover::Engine>(store_, SteadyClock::instance(), *m->db, ec);
      members_.push_back(std::move(m));
    }
  }

  void TearDown() override {
    for (auto& m : members_) {
      m->db->fence();  // before the TempDir goes
    }
  }

  // Drives both engines (heartbeat, deadline, tick) until `done` holds or `limit` passes.
  template <typename Pred>
  bool runUntil(Pred done, Duration limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      for (auto& m : members_) {
        testing::runLoop(io_, m->engine->heartbeat());
        m->engine->checkDeadline();
        testing::runLoop(io_, m->engine->tick());
      }
      if (done()) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  Member* leader() {
    for (auto& m : members_) {
      if (m->engine->leading()) {
        return m.get();
      }
    }
    return nullptr;
  }

  Result<std::vector<PgConn::Row>> sql(Member& m, const std::string& text) {
    auto conn = PgConn::connect("host=127.0.0.1 port=" + std::to_string(m.config.listen.port) +
                                    " user=postgres dbname=postgres connect_timeout=5 password=" +
                                    m.config.superuser.password,
                                10s);
    if (!conn) {
      return fail(conn.error());
    }
    return conn->query(text, 10s);
  }

  boost::asio::io_context io_;
  store::MemoryStore store_{io_.get_executor(), SteadyClock::instance()};
  std::vector<std::unique_ptr<Member>> members_;
};

TEST_F(PgEngineTest, OneBootstrapsTheOtherStreamsAndACrashedPrimaryIsReplacedAndRewound) {
  // One member bootstraps and leads; the other clones it and streams.
  auto streaming = [&] {
    auto* l = leader();
    if (!l) {
      return false;
    }
    for (auto& m : members_) {
      if (m.get() != l) {
        auto s = m->db->observe();
        return s.replica && s.replicating;
      }
    }
    return false;
  };
  ASSERT_TRUE(runUntil(streaming, 120s));
  auto* first = leader();
  Member* second = first == members_[0].get() ? members_[1].get() : members_[0].get();
  auto made = sql(*first, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
  ASSERT_TRUE(made) << made.error().message;
  auto caught_up = [&] {
    auto rows = sql(*second, "SELECT count(*) FROM pg_class WHERE relname = 't'");
    return rows && !rows->empty() && (*rows)[0][0] == std::optional<std::string>("1");
  };
  ASSERT_TRUE(runUntil(caught_up, 30s)) << [&] {
    auto r = sql(*second, "SELECT count(*) FROM pg_class WHERE relname = 't'");
    return r ? (r->empty() ? std::string("no rows") : (*r)[0][0].value_or("NULL"))
             : r.error().message;
  }();

  // The primary's server dies: its member releases the key and the replica takes over at once
  // (the leader timeout, 30 s here, plays no part).
  auto killed_at = std::chrono::steady_clock::now();
  first->db->fence();
  ASSERT_TRUE(runUntil([&] { return second->engine->leading() && second->db->observe().reachable &&
                                    !second->db->observe().replica; },
                       60s));
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 25s);
  auto rows = sql(*second, "SELECT v FROM t");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], std::optional<std::string>("42"));
  ASSERT_TRUE(sql(*second, "INSERT INTO t VALUES (43)"));

  // The old primary comes back as a replica of the new one (rewound: it was a primary).
  auto rejoined = [&] {
    auto s = first->db->observe();
    return !first->engine->leading() && s.replica && s.replicating;
  };
  ASSERT_TRUE(runUntil(rejoined, 120s));
  auto back = [&] {
    auto r = sql(*first, "SELECT count(*) FROM t");
    return r && !r->empty() && (*r)[0][0] == std::optional<std::string>("2");
  };
  EXPECT_TRUE(runUntil(back, 30s));
  EXPECT_EQ(first->engine->fences(), 0);
  EXPECT_EQ(second->engine->fences(), 0);
}

}  // namespace
}  // namespace rampart::pg
