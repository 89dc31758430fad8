// The load balancer's PostgreSQL role check against real PostgreSQL 15 servers.

#include <future>

#include "chaos/pg_session.h"
#include "lb_fixture.h"
#include "pg_fixture.h"

namespace rampart::lb {
namespace {

using namespace std::chrono_literals;

class PgCheckTest : public testing::LbTest {
 protected:
  // A write VIP with protocol postgres over one PostgreSQL server whose role check is the
  // test_backend `check` (its role file says primary, promoting or replica).
  void startGatedLb(uint16_t pg_port, const Backend& check, const std::string& promotion_wait) {
    startLbWithConfig("virtual_servers:\n  - name: write\n    listen: " + vip_.toString() +
                      "\n    protocol: postgres\n    promotion_wait: " + promotion_wait +
                      "\n    on_down: close\n"
                      "    health: { type: http, path: \"/primary?promoting\", status: 200,"
                      " promoting_status: 202, interval: 20ms, timeout: 1s, rise: 1, fall: 1,"
                      " initial_state: down }\n"
                      "    backends:\n      - { address: 127.0.0.1:" +
                      std::to_string(pg_port) +
                      ", check_port: " + std::to_string(check.address.port) + " }\n");
  }

  chaos::PgTarget throughVip() const {
    return chaos::PgTarget{vip_.host, vip_.port, "postgres", "", "postgres", "pg-check-test"};
  }

  // Asked of the server directly, not through the VIP.
  static bool tableExists(uint16_t pg_port, const std::string& table) {
    auto r = runtime::runCommand(
        {std::string(testing::kPgBin) + "psql", "-h", "127.0.0.1", "-p", std::to_string(pg_port),
         "-U", "postgres", "-Atc", "select to_regclass('" + table + "') is not null"},
        10s);
    return r.output == "t";
  }

  static bool inRecovery(uint16_t pg_port) {
    auto r = runtime::runCommand(
        {std::string(testing::kPgBin) + "psql", "-h", "127.0.0.1", "-p", std::to_string(pg_port),
         "-U", "postgres", "-Atc", "select pg_is_in_recovery()"},
        10s);
    return r.output != "f";
  }

  // A PostgreSQL server (a standby, or a writable one) whose role check says "promoting", the
  // write VIP over it, and a client session through the VIP, made while the member promotes.
  struct PromotingMember {
    std::unique_ptr<testing::PgServer> server;
    uint16_t port = 0;
    Backend* check = nullptr;
    std::unique_ptr<chaos::PgSession> session;
  };
  void connectToPromotingMember(bool standby, const std::string& promotion_wait,
                                PromotingMember& out) {
    out.port = *net::pickFreePort("127.0.0.1");
    auto server = testing::PgServer::start(dir_.path(), "pg1", out.port, standby);
    ASSERT_TRUE(server) << server.error().message;
    out.server = std::move(*server);
    out.check = &addBackend("check");
    setRole(*out.check, "promoting");
    startGatedLb(out.port, *out.check, promotion_wait);
    Backend member{"m1", "pg", {"127.0.0.1", out.port}, "", "", {}, 0};
    ASSERT_TRUE(eventually([&] { return stateOf(member) == "PROMOTING"; }, 5s))
        << testing::readWholeFile(lb_log_);
    auto session = chaos::PgSession::connect(throughVip(), std::chrono::steady_clock::now() + 5s);
    ASSERT_TRUE(session) << session.error().message;
    out.session = std::move(*session);
  }

  // Sends `sql` on `session` from another thread: the caller watches whether it is answered.
  static std::future<Result<chaos::PgRows>> sendAsync(chaos::PgSession& session,
                                                      const std::string& sql) {
    return std::async(std::launch::async, [&session, sql] {
      return session.query(sql, {}, std::chrono::steady_clock::now() + 20s);
    });
  }
};

TEST_F(PgCheckTest, OnlyTheWritablePrimaryIsUpAndAPromotedStandbyJoins) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to run postgres as the postgres user";
  }
  auto p1 = *net::pickFreePort("127.0.0.1");
  auto p2 = *net::pickFreePort("127.0.0.1");
  auto primary = testing::PgServer::start(dir_.path(), "pg1", p1, false);
  ASSERT_TRUE(primary) << primary.error().message;
  auto standby = testing::PgServer::start(dir_.path(), "pg2", p2, true);
  ASSERT_TRUE(standby) << standby.error().message;
  Backend m1{"m1", "pg", {"127.0.0.1", p1}, "", "", {}, 0};
  Backend m2{"m2", "pg", {"127.0.0.1", p2}, "", "", {}, 0};
  startLbWithConfig("virtual_servers:\n  - name: write\n    listen: " + vip_.toString() +
                    "\n    on_down: close\n    health:\n      type: postgres\n"
                    "      role: primary\n      interval: 100ms\n      timeout: 1s\n"
                    "      fall: 1\n      rise: 1\n      initial_state: down\n"
                    "    backends:\n      - address: " + m1.address.toString() +
                    "\n      - address: " + m2.address.toString() + "\n");
  ASSERT_TRUE(eventually([&] { return stateOf(m1) == "UP"; }, 5s)) << testing::readWholeFile(lb_log_);
  EXPECT_EQ(stateOf(m2), "DOWN") << "a server in recovery is not a primary";

  // A client through the write VIP reaches the primary.
  auto through = runtime::runCommand({std::string(testing::kPgBin) + "psql", "-h", vip_.host,
                                      "-p", std::to_string(vip_.port), "-U", "postgres", "-Atc",
                                      "select pg_is_in_recovery()"},
                                     10s);
  EXPECT_EQ(through.output, "f") << through.output;

  (*primary)->stop();
  ASSERT_TRUE((*standby)->promote());
  EXPECT_TRUE(eventually([&] { return stateOf(m1) == "DOWN" && stateOf(m2) == "UP"; }, 10s))
      << testing::readWholeFile(lb_log_);
  auto after = runtime::runCommand({std::string(testing::kPgBin) + "psql", "-h", vip_.host, "-p",
                                    std::to_string(vip_.port), "-U", "postgres", "-Atc",
                                    "select pg_is_in_recovery()"},
                                   10s);
  EXPECT_EQ(after.output, "f") << "the write VIP follows the promotion: " << after.output;
}

TEST_F(PgCheckTest, AClientOfAPromotingMemberConnectsAtOnceAndItsStatementWaitsForThePromotion) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to run postgres as the postgres user";
  }
  // The connection (start-up, authentication) is made while the server is still a standby.
  PromotingMember m;
  ASSERT_NO_FATAL_FAILURE(connectToPromotingMember(true, "10s", m));
  auto created = sendAsync(*m.session, "CREATE TABLE made_after_promotion (id int)");
  // A standby refuses DDL at once ("cannot execute CREATE TABLE in a read-only transaction"):
  // no answer means the statement is held.
  EXPECT_EQ(created.wait_for(700ms), std::future_status::timeout)
      << "the statement reached the standby";

  ASSERT_TRUE(m.server->promote());
  ASSERT_TRUE(eventually([&] { return !inRecovery(m.port); }, 10s));
  setRole(*m.check, "primary");
  ASSERT_EQ(created.wait_for(10s), std::future_status::ready) << testing::readWholeFile(lb_log_);
  auto result = created.get();
  EXPECT_TRUE(result) << result.error().message;
  EXPECT_TRUE(tableExists(m.port, "made_after_promotion"));
}

TEST_F(PgCheckTest, AHeldStatementIsNeverSentWhenTheMemberStopsPromoting) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to run postgres as the postgres user";
  }
  // A writable server behind a check that says "promoting": a statement that got through would
  // succeed, so the table's absence proves it never did.
  PromotingMember m;
  ASSERT_NO_FATAL_FAILURE(connectToPromotingMember(false, "10s", m));
  auto created = sendAsync(*m.session, "CREATE TABLE never_sent (id int)");
  EXPECT_EQ(created.wait_for(500ms), std::future_status::timeout);
  setRole(*m.check, "replica");  // e.g. another member won the race
  ASSERT_EQ(created.wait_for(5s), std::future_status::ready) << "the held client is disconnected";
  auto result = created.get();
  EXPECT_FALSE(result);
  EXPECT_FALSE(tableExists(m.port, "never_sent"));
}

TEST_F(PgCheckTest, AHeldStatementWaitsNoLongerThanThePromotionWait) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to run postgres as the postgres user";
  }
  PromotingMember m;  // and its check keeps saying "promoting"
  ASSERT_NO_FATAL_FAILURE(connectToPromotingMember(false, "300ms", m));
  auto created = sendAsync(*m.session, "CREATE TABLE waited_too_long (id int)");
  ASSERT_EQ(created.wait_for(5s), std::future_status::ready)
      << "the held client is disconnected once promotion_wait has passed";
  EXPECT_FALSE(created.get());
  EXPECT_FALSE(tableExists(m.port, "waited_too_long"));
}

}  // namespace
}  // namespace rampart::lb
