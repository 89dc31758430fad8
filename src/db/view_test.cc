#include "db/view.h"

#include <gtest/gtest.h>

namespace rampart::db {
namespace {
using json = nlohmann::json;

api::WallTime at(const char* text) { return *api::parseRfc3339(text); }

json running() {
  return json::parse(R"({"apiVersion":"rampart.io/v1","kind":"PostgresCluster",
    "metadata":{"name":"orders","namespace":"shop","creationTimestamp":"2026-12-07T03:00:00Z"},
    "spec":{"members":3,"version":"15","synchronousMode":"On","zoneSpreading":"Preferred",
            "storage":{"size":"1Gi"},"terminationPolicy":"Delete"},
    "status":{"phase":"Running","primary":"orders-1","readyMembers":3,
      "members":[{"name":"orders-0","node":"w1","zone":"a","role":"replica","ready":true},
                 {"name":"orders-1","node":"w2","zone":"b","role":"primary","ready":true}],
      "endpoints":{"write":"10.96.0.10:5432","read":"10.96.0.11:5432","secret":"orders-credentials"},
      "conditions":[{"type":"Ready","status":"True","reason":"AllMembersReady","message":"3 of 3"}]}})");
}

TEST(DbView, TheManifestIsWhatKubectlApplyWouldSend) {
  EXPECT_EQ(clusterManifest(Engine::Postgres, "orders", "shop", 5),
            json::parse(R"({"apiVersion":"rampart.io/v1","kind":"PostgresCluster",
              "metadata":{"name":"orders","namespace":"shop"},"spec":{"members":5}})"));
  EXPECT_EQ(clusterManifest(Engine::Redis, "cache", "default", 3)["kind"], "RedisCluster");
  EXPECT_EQ(parseEngine("postgres"), Engine::Postgres);
  EXPECT_EQ(parseEngine("redis"), Engine::Redis);
  EXPECT_FALSE(parseEngine("mysql").has_value());
}

TEST(DbView, ListPrintsKubectlColumns) {
  json pending = running();
  pending["metadata"]["name"] = "new";
  pending.erase("status");
  std::string table = listTable({running(), pending}, "shop", at("2026-12-07T03:05:00Z"));
  EXPECT_EQ(table,
            "NAME     KIND              MEMBERS   READY   PRIMARY    PHASE     AGE\n"
            "orders   PostgresCluster   3         3/3     orders-1   Running   5m\n"
            "new      PostgresCluster   3         0/3     <none>     Pending   5m\n");
  EXPECT_EQ(listTable({}, "shop", at("2026-12-07T03:05:00Z")),
            "No database clusters found in shop namespace.\n");
}

TEST(DbView, DescribeShowsMembersEndpointsAndConnectionStrings) {
  std::string text = describe(running(), at("2026-12-07T03:05:00Z"));
  EXPECT_NE(text.find("Phase:         Running"), std::string::npos) << text;
  EXPECT_NE(text.find("  orders-1   w2     b      primary   true"), std::string::npos) << text;
  EXPECT_NE(text.find("postgresql://postgres@10.96.0.10:5432/postgres"), std::string::npos)
      << text;
  EXPECT_NE(text.find("AllMembersReady"), std::string::npos) << text;
}

TEST(DbView, ConnectionStringsNeedBothServicesAndEscapeThePassword) {
  auto uris = connectionStrings(running(), "p@ss/w rd");
  ASSERT_TRUE(uris.has_value());
  EXPECT_EQ(uris->write, "postgresql://postgres:p%40ss%2Fw%20rd@10.96.0.10:5432/postgres");
  EXPECT_EQ(uris->read, "postgresql://postgres:p%40ss%2Fw%20rd@10.96.0.11:5432/postgres");
  json creating = running();
  creating["status"]["endpoints"]["read"] = "";
  EXPECT_FALSE(connectionStrings(creating).has_value());
  EXPECT_TRUE(ready(running()));
  creating["status"]["phase"] = "Creating";
  EXPECT_FALSE(ready(creating));
}

TEST(DbView, ARedisClusterIsReachedByRedisUrisAndItsSentinelService) {
  json cache = running();
  cache["kind"] = "RedisCluster";
  cache["metadata"]["name"] = "cache";
  cache["status"]["endpoints"] = {
      {"write", "10.96.0.20:6379"}, {"read", "10.96.0.21:6379"}, {"secret", "cache-credentials"}};
  EXPECT_FALSE(connectionStrings(cache).has_value()) << "no Sentinel address yet";
  cache["status"]["endpoints"]["sentinel"] = "10.96.0.22:26379";
  auto uris = connectionStrings(cache, "ignored");
  ASSERT_TRUE(uris.has_value());
  EXPECT_EQ(uris->write, "redis://10.96.0.20:6379");
  EXPECT_EQ(uris->read, "redis://10.96.0.21:6379");
  EXPECT_EQ(uris->sentinel, "10.96.0.22:26379");
  std::string text = describe(cache, at("2026-12-07T03:05:00Z"));
  EXPECT_NE(text.find("  Sentinel:    10.96.0.22:26379 (master name cache)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace rampart::db
