// The load balancer's PostgreSQL role check against real PostgreSQL 15 servers.

#include "lb_fixture.h"
#include "pg_fixture.h"

namespace rampart::lb {
namespace {

using namespace std::chrono_literals;

class PgCheckTest : public testing::LbTest {};

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

}  // namespace
}  // namespace rampart::lb
