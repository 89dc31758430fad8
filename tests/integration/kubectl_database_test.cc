// Rampart's database kinds (rampart.io/v1 PostgresCluster, RedisCluster) driven by the real
// kubectl against two `rampart server`s over one etcd cluster (kubectl_fixture.h): discovery,
// apply, the printed columns, `kubectl explain`, refused manifests naming the field, the /status
// subresource and delete. No controller runs here: what it does is tested in
// controller/db/*_test.cc and on a `rampart up` cluster.

#include <gtest/gtest.h>

#include "kubectl_fixture.h"
#include "runtime/process.h"

namespace rampart {
namespace {
using testing::KubectlTest;

constexpr const char* kPostgres = R"(apiVersion: rampart.io/v1
kind: PostgresCluster
metadata:
  name: orders
spec:
  members: 3
  storage: {size: 2Gi}
  parameters: {shared_buffers: 64MB}
  backup: {schedule: "0 3 * * *"}
---
apiVersion: rampart.io/v1
kind: RedisCluster
metadata:
  name: cache
spec:
  members: 2
)";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(KubectlTest, DatabaseClustersAreDiscoveredAppliedPrintedAndDeleted) {
  auto resources = kubectl({"api-resources", "--api-group=rampart.io"});
  ASSERT_EQ(resources.exit_code, 0) << resources.output;
  EXPECT_TRUE(contains(resources.output, "postgresclusters")) << resources.output;
  EXPECT_TRUE(contains(resources.output, "pgc")) << resources.output;
  EXPECT_TRUE(contains(resources.output, "rdc")) << resources.output;

  auto applied = kubectl({"apply", "-f", writeFile("db.yaml", kPostgres)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(contains(applied.output, "postgrescluster.rampart.io/orders created"))
      << applied.output;
  EXPECT_TRUE(contains(applied.output, "rediscluster.rampart.io/cache created")) << applied.output;

  auto table = kubectl({"get", "pgc"});
  EXPECT_TRUE(contains(table.output, "NAME     MEMBERS   READY   PRIMARY   PHASE     AGE"))
      << table.output;
  EXPECT_TRUE(contains(table.output, "orders   3         0/3     <none>    Pending")) << table.output;
  // Defaults are stored.
  EXPECT_EQ(kubectl({"get", "pgc", "orders", "-o", "jsonpath={.spec.version}"}).output, "15");
  EXPECT_EQ(kubectl({"get", "rdc", "cache", "-o", "jsonpath={.spec.version}"}).output, "7");
  EXPECT_EQ(kubectl({"get", "pgc", "orders", "-o", "jsonpath={.spec.backup.retentionDays}"}).output,
            "14");

  // The status subresource: a status patch changes status only, the spec through the main
  // resource only.
  auto status = kubectl({"patch", "pgc", "orders", "--subresource=status", "--type=merge", "-p",
                         R"({"status":{"phase":"Running","readyMembers":3,"primary":"orders-0"}})"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  auto running = kubectl({"get", "postgresclusters.rampart.io", "orders"});
  EXPECT_TRUE(contains(running.output, "3/3     orders-0   Running")) << running.output;
  auto scaled = kubectl({"patch", "pgc", "orders", "--type=merge", "-p",
                         R"({"spec":{"members":5},"status":{"phase":"Failed"}})"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.output;
  EXPECT_EQ(kubectl({"get", "pgc", "orders", "-o", "jsonpath={.status.phase}/{.spec.members}"})
                .output,
            "Running/5");

  // DoNotTerminate refuses the deletion until the policy changes.
  ASSERT_EQ(kubectl({"patch", "pgc", "orders", "--type=merge", "-p",
                     R"({"spec":{"terminationPolicy":"DoNotTerminate"}})"})
                .exit_code,
            0);
  auto refused = kubectl({"delete", "pgc", "orders"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "spec.terminationPolicy is DoNotTerminate")) << refused.output;
  EXPECT_EQ(kubectl({"get", "pgc", "orders", "-o", "name"}).output,
            "postgrescluster.rampart.io/orders");
  ASSERT_EQ(kubectl({"patch", "pgc", "orders", "--type=merge", "-p",
                     R"({"spec":{"terminationPolicy":"Delete"}})"})
                .exit_code,
            0);
  auto deleted = kubectl({"delete", "pgc", "orders"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_NE(kubectl({"get", "pgc", "orders"}).exit_code, 0);
}

// `rampart db` against the same API: what it creates, lists, describes and deletes is what
// kubectl sees. (No controller runs here: the clusters stay Pending.)
TEST_F(KubectlTest, RampartDbCreatesListsDescribesAndDeletesThroughTheApi) {
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {RAMPART_BINARY, "db"});
    args.insert(args.end(), {"--kubeconfig", servers_.front().kubeconfig});
    return runtime::runCommand(args, std::chrono::seconds(30));
  };
  auto created = run({"create", "postgres", "orders", "--members", "5"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_EQ(created.output, "postgrescluster.rampart.io/orders created");
  EXPECT_EQ(kubectl({"get", "pgc", "orders", "-o", "jsonpath={.spec.members}/{.spec.version}"})
                .output,
            "5/15");
  ASSERT_EQ(run({"create", "redis", "cache"}).exit_code, 0);
  auto duplicate = run({"create", "postgres", "orders"});
  EXPECT_NE(duplicate.exit_code, 0);
  EXPECT_TRUE(contains(duplicate.output, "AlreadyExists")) << duplicate.output;
  auto bad = run({"create", "postgres", "big", "--members", "12"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;

  auto listed = run({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(contains(listed.output, "NAME     KIND              MEMBERS   READY   PRIMARY   PHASE"))
      << listed.output;
  EXPECT_TRUE(contains(listed.output, "orders   PostgresCluster   5         0/5     <none>    Pending"))
      << listed.output;
  EXPECT_TRUE(contains(listed.output, "cache    RedisCluster      3")) << listed.output;
  auto described = run({"describe", "cache"});
  ASSERT_EQ(described.exit_code, 0) << described.output;
  EXPECT_TRUE(contains(described.output, "Kind:          RedisCluster")) << described.output;
  EXPECT_TRUE(contains(described.output, "Version:       7")) << described.output;

  EXPECT_EQ(run({"delete", "orders"}).output, "postgrescluster.rampart.io \"orders\" deleted");
  EXPECT_NE(kubectl({"get", "pgc", "orders"}).exit_code, 0);
  auto missing = run({"describe", "orders"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.output, "not found")) << missing.output;
}

TEST_F(KubectlTest, AnInvalidDatabaseManifestIsRefusedNamingTheField) {
  auto refused = kubectl({"apply", "-f", writeFile("bad.yaml", R"(apiVersion: rampart.io/v1
kind: PostgresCluster
metadata: {name: bad}
spec:
  members: 12
  version: "16"
  backup: {schedule: "every day"}
)")});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "spec.members: Invalid value: 12: must be between 1 and 9"))
      << refused.output;
  EXPECT_TRUE(contains(refused.output, "spec.version: Unsupported value: \"16\"")) << refused.output;
  EXPECT_TRUE(contains(refused.output, "spec.backup.schedule: Invalid value")) << refused.output;
  EXPECT_NE(kubectl({"get", "pgc", "bad"}).exit_code, 0);
  auto unknown = kubectl({"apply", "-f", writeFile("unknown.yaml", R"(apiVersion: rampart.io/v1
kind: RedisCluster
metadata: {name: typo}
spec: {membrs: 3}
)")});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(contains(unknown.output, "membrs")) << unknown.output;
}

TEST_F(KubectlTest, ExplainDescribesTheDatabaseKinds) {
  auto spec = kubectl({"explain", "pgc.spec"});
  ASSERT_EQ(spec.exit_code, 0) << spec.output;
  EXPECT_TRUE(contains(spec.output, "GROUP:      rampart.io")) << spec.output;
  EXPECT_TRUE(contains(spec.output, "KIND:       PostgresCluster")) << spec.output;
  for (const char* field : {"members", "terminationPolicy", "zoneSpreading", "backup", "paused"}) {
    EXPECT_TRUE(contains(spec.output, field)) << field << "\n" << spec.output;
  }
  auto members = kubectl({"explain", "rediscluster.status.members"});
  EXPECT_EQ(members.exit_code, 0) << members.output;
  EXPECT_TRUE(contains(members.output, "role")) << members.output;
}

}  // namespace
}  // namespace rampart
