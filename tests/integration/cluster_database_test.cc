// Databases on a whole `rampart up` cluster (issue 18): a PostgresCluster applied with kubectl
// and one made by `rampart db create --wait` become writable through their write Service and
// readable through their read Service (psql from a worker's network namespace), and deleting
// them removes their pods, Services, Secrets and ConfigMap. A RedisCluster made by `rampart db
// create redis` does the same through redis-cli, names its master through its Sentinel Service,
// and when its master's pod is killed another member takes the write Service and the cluster
// gets its third member back. Heavy (a cluster and its database members on 2 cores). Root only.

#include <fstream>

#include <gtest/gtest.h>

#include "runtime/process.h"
#include "store/etcd_codec.h"
#include "testing/eventually.h"
#include "cluster_fixture.h"

namespace rampart {
namespace {
using namespace std::chrono_literals;
using testing::eventually;
using testing::rampartCli;

constexpr const char* kPsql = "/usr/lib/postgresql/15/bin/psql";

class ClusterDatabaseTest : public testing::ClusterTest {
 protected:
  ClusterDatabaseTest() : ClusterTest("db") {}

  // psql -tA -c SQL against `uri` from inside the first worker's network namespace.
  runtime::CommandResult psql(const std::string& uri, const std::string& sql) {
    return runtime::runCommand({"ip", "netns", "exec", name_ + "-w1", kPsql, "-X", "-tA", "-v",
                                "ON_ERROR_STOP=1", "-c", sql, uri + "?connect_timeout=2"},
                               10s);
  }

  std::string get(const std::string& what, const std::string& jsonpath) {
    auto r = kubectl({"get", what, "-o", "jsonpath=" + jsonpath});
    return r.exit_code == 0 ? r.output : "";
  }

  std::string password(const std::string& cluster) {
    auto decoded = store::etcd::base64Decode(
        get("secret/" + cluster + "-credentials", "{.data.password}"));
    return decoded ? *decoded : "";
  }

  // redis-cli -e ARGS against `host_port` from inside the first worker's network namespace.
  runtime::CommandResult redisCli(const std::string& host_port, std::vector<std::string> args) {
    size_t colon = host_port.rfind(':');
    std::vector<std::string> argv{"ip",        "netns",
                                  "exec",      name_ + "-w1",
                                  "redis-cli", "-e",
                                  "-h",        host_port.substr(0, colon),
                                  "-p",        host_port.substr(colon + 1)};
    argv.insert(argv.end(), args.begin(), args.end());
    return runtime::runCommand(argv, 10s);
  }

  // Everything labelled rampart.io/cluster=<cluster>, by kind/name.
  std::string leftovers(const std::string& cluster) {
    auto r = kubectl({"get", "pods,services,secrets,configmaps", "-l",
                      "rampart.io/cluster=" + cluster, "-o", "name"});
    return r.exit_code == 0 ? r.output : "error: " + r.output;
  }
};

TEST_F(ClusterDatabaseTest, PostgresClustersServeWritesAndReadsThroughTheirServicesAndGoWhenDeleted) {
  ASSERT_NO_FATAL_FAILURE(up(1, 3));
  std::string manifest = tmp_.path() + "/orders.yaml";
  {
    std::ofstream(manifest) << "apiVersion: rampart.io/v1\nkind: PostgresCluster\n"
                               "metadata: {name: orders}\nspec: {members: 3}\n";
  }
  auto applied = kubectl({"apply", "-f", manifest});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  // Running: a primary and both replicas, one member per zone.
  bool running = eventually([&] { return get("pgc/orders", "{.status.phase}") == "Running"; },
                            120s, 250ms);
  ASSERT_TRUE(running) << kubectl({"get", "pgc,pods", "-o", "wide"}).output
                       << kubectl({"get", "pgc", "orders", "-o", "yaml"}).output;
  EXPECT_EQ(get("pgc/orders", "{.status.readyMembers}"), "3");
  EXPECT_EQ(get("pgc/orders", "{.status.members[*].zone}").size(), 5u)  // "a b c" in some order
      << get("pgc/orders", "{.status.members[*].zone}");

  std::string secret = password("orders");
  ASSERT_FALSE(secret.empty());
  std::string write = "postgresql://postgres:" + secret + "@" +
                      get("pgc/orders", "{.status.endpoints.write}") + "/postgres";
  std::string read = "postgresql://postgres:" + secret + "@" +
                     get("pgc/orders", "{.status.endpoints.read}") + "/postgres";
  runtime::CommandResult wrote;
  bool writable = eventually(
      [&] {
        wrote = psql(write, "CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (42); "
                            "SELECT pg_is_in_recovery()");
        return wrote.exit_code == 0;
      },
      60s, 250ms);
  ASSERT_TRUE(writable) << wrote.output;
  // psql prints each statement's tag; the last line is the primary's pg_is_in_recovery().
  EXPECT_TRUE(wrote.output.ends_with("\nf")) << "the write Service reached a replica: "
                                               << wrote.output;
  runtime::CommandResult got;
  bool readable = eventually(
      [&] {
        got = psql(read, "SELECT pg_is_in_recovery(), x FROM t");
        return got.exit_code == 0 && got.output == "t|42";
      },
      60s, 250ms);
  EXPECT_TRUE(readable) << got.output;

  // Deleting removes every object the cluster controlled.
  EXPECT_EQ(kubectl({"delete", "pgc", "orders"}).exit_code, 0);
  bool orders_gone = eventually([&] { return leftovers("orders").empty(); }, 60s, 250ms);
  EXPECT_TRUE(orders_gone) << leftovers("orders");

  // The same through `rampart db create --wait`, which prints the connection strings.
  auto created = rampartCli({"db", "create", "postgres", "shop", "--members", "3", "--wait",
                             "--timeout", "180s", "--show-password", "--kubeconfig",
                             dir_ + "/kubeconfig"},
                            210s);
  ASSERT_EQ(created.exit_code, 0) << created.output
                                  << kubectl({"get", "pods", "-o", "wide"}).output
                                  << kubectl({"get", "pods", "-o",
                                              "jsonpath={.items[*].status.containerStatuses}"})
                                         .output;
  EXPECT_NE(created.output.find("postgrescluster.rampart.io/shop created"), std::string::npos)
      << created.output;
  size_t at = created.output.find("write: ");
  ASSERT_NE(at, std::string::npos) << created.output;
  std::string shop_write = created.output.substr(at + 7, created.output.find('\n', at) - at - 7);
  ASSERT_TRUE(shop_write.starts_with("postgresql://postgres:")) << shop_write;
  EXPECT_NE(created.output.find("read:  postgresql://"), std::string::npos) << created.output;
  bool shop_writable = eventually(
      [&] {
        wrote = psql(shop_write, "CREATE TABLE IF NOT EXISTS s (x int); INSERT INTO s VALUES (7)");
        return wrote.exit_code == 0;
      },
      30s, 250ms);
  EXPECT_TRUE(shop_writable) << wrote.output;
  auto listed = rampartCli({"db", "list", "--kubeconfig", dir_ + "/kubeconfig"}, 30s);
  EXPECT_NE(listed.output.find("shop   PostgresCluster   3         3/3"), std::string::npos)
      << listed.output;

  // Deleting removes every object the cluster controlled.
  auto deleted = rampartCli({"db", "delete", "shop", "--kubeconfig", dir_ + "/kubeconfig"}, 30s);
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  bool gone = eventually([&] { return leftovers("shop").empty(); }, 60s, 250ms);
  EXPECT_TRUE(gone) << leftovers("shop");
}

TEST_F(ClusterDatabaseTest, ARedisClusterServesWritesReadsAndSentinelAndSurvivesItsMastersPod) {
  ASSERT_NO_FATAL_FAILURE(up(1, 3));
  auto created = rampartCli({"db", "create", "redis", "cache", "--members", "3", "--wait",
                             "--timeout", "120s", "--kubeconfig", dir_ + "/kubeconfig"},
                            150s);
  ASSERT_EQ(created.exit_code, 0) << created.output
                                  << kubectl({"get", "rdc,pods", "-o", "wide"}).output;
  EXPECT_NE(created.output.find("rediscluster.rampart.io/cache created"), std::string::npos)
      << created.output;
  EXPECT_NE(created.output.find("write: redis://"), std::string::npos) << created.output;
  EXPECT_NE(created.output.find("(master name cache)"), std::string::npos) << created.output;
  EXPECT_EQ(get("rdc/cache", "{.status.members[*].zone}").size(), 5u)  // "a b c" in some order
      << get("rdc/cache", "{.status.members[*].zone}");
  std::string write = get("rdc/cache", "{.status.endpoints.write}");
  std::string read = get("rdc/cache", "{.status.endpoints.read}");
  std::string sentinel = get("rdc/cache", "{.status.endpoints.sentinel}");
  ASSERT_TRUE(write.ends_with(":6379") && read.ends_with(":6379")) << write << " " << read;
  ASSERT_TRUE(sentinel.ends_with(":26379")) << sentinel;

  runtime::CommandResult r;
  bool writable = eventually(
      [&] {
        r = redisCli(write, {"SET", "greeting", "hello"});
        return r.exit_code == 0 && r.output == "OK";
      },
      30s, 250ms);
  ASSERT_TRUE(writable) << r.output;
  bool readable = eventually(
      [&] {
        r = redisCli(read, {"GET", "greeting"});
        return r.exit_code == 0 && r.output == "hello";
      },
      30s, 250ms);
  EXPECT_TRUE(readable) << r.output;
  EXPECT_TRUE(redisCli(read, {"ROLE"}).output.starts_with("slave"))
      << "the read Service reached the master";

  // Sentinel-aware clients find the master the write Service reaches.
  std::string primary = get("rdc/cache", "{.status.primary}");
  std::string primary_ip = get("pod/" + primary, "{.status.podIP}");
  ASSERT_FALSE(primary_ip.empty()) << primary;
  r = redisCli(sentinel, {"SENTINEL", "get-master-addr-by-name", "cache"});
  EXPECT_EQ(r.output, primary_ip + "\n6379") << r.output;

  // The master's pod killed: another member takes the write Service, with the acknowledged
  // key, and the controller brings the cluster back to three members.
  auto killed = kubectl({"delete", "pod", primary, "--grace-period=0", "--force"});
  ASSERT_EQ(killed.exit_code, 0) << killed.output;
  bool moved = eventually(
      [&] {
        r = redisCli(write, {"SET", "after", "1"});
        std::string now = get("rdc/cache", "{.status.primary}");
        return r.exit_code == 0 && r.output == "OK" && !now.empty() && now != primary;
      },
      60s, 250ms);
  ASSERT_TRUE(moved) << r.output << kubectl({"get", "rdc,pods", "-o", "wide"}).output;
  EXPECT_EQ(redisCli(write, {"GET", "greeting"}).output, "hello");
  bool whole = eventually(
      [&] {
        return get("rdc/cache", "{.status.phase}") == "Running" &&
               get("rdc/cache", "{.status.readyMembers}") == "3";
      },
      90s, 500ms);
  EXPECT_TRUE(whole) << kubectl({"get", "rdc", "cache", "-o", "yaml"}).output;

  auto deleted = rampartCli({"db", "delete", "cache", "--kubeconfig", dir_ + "/kubeconfig"}, 30s);
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  bool gone = eventually([&] { return leftovers("cache").empty(); }, 60s, 250ms);
  EXPECT_TRUE(gone) << leftovers("cache");
}

}  // namespace
}  // namespace rampart
