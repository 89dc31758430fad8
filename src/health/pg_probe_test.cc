#include "health/pg_probe.h"

#include <gtest/gtest.h>

namespace rampart::health {
namespace {

Result<pq::Rows> answer(std::optional<std::string> value) {
  return pq::Rows{{{std::move(value)}}, {}};
}

TEST(PgRoleVerdict, APrimaryCheckPassesOnlyAWritableMember) {
  EXPECT_TRUE(pgRoleVerdict("primary", answer("f")).ok);
  auto replica = pgRoleVerdict("primary", answer("t"));
  EXPECT_FALSE(replica.ok);
  EXPECT_EQ(replica.detail, "role replica");
}

TEST(PgRoleVerdict, AReplicaCheckPassesOnlyAMemberInRecovery) {
  EXPECT_TRUE(pgRoleVerdict("replica", answer("t")).ok);
  EXPECT_FALSE(pgRoleVerdict("replica", answer("f")).ok);
}

TEST(PgRoleVerdict, AnythingButOneBooleanFails) {
  EXPECT_FALSE(pgRoleVerdict("primary", answer(std::nullopt)).ok);
  EXPECT_FALSE(pgRoleVerdict("primary", answer("x")).ok);
  EXPECT_FALSE(pgRoleVerdict("primary", pq::Rows{}).ok);
  EXPECT_FALSE(pgRoleVerdict("primary", pq::Rows{{{"f"}, {"f"}}, {}}).ok);
  EXPECT_FALSE(pgRoleVerdict("primary", pq::Rows{{{"f", "f"}}, {}}).ok);
}

TEST(PgRoleVerdict, AFailedConnectionOrQueryFailsWithItsReason) {
  Result<pq::Rows> refused = fail(ErrorCode::Unavailable, "connection refused");
  auto v = pgRoleVerdict("primary", refused);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.detail, "connection refused");
}

TEST(PgRoleConninfo, QuotesTheConfiguredUserAndDatabase) {
  PgRoleCheck check{"primary", "o'brien", "db name"};
  auto s = pgRoleConninfo(check, net::Endpoint{"10.0.0.1", 5432});
  ASSERT_TRUE(s);
  EXPECT_EQ(*s,
            "host='10.0.0.1' port=5432 user='o\\'brien' dbname='db name' "
            "application_name='rampart-check'");
}

}  // namespace
}  // namespace rampart::health
