// `rampart chaos run` against a Redis lab, the real thing: `rampart redis lab up` (etcd x3, three
// `rampart redis` members each supervising a redis-server, the write/read VIPs of `rampart lb`),
// a fault injected while a writer confirms each write through the write VIP with WAIT 1, a plain
// writer writes through it without, and a pinned writer writes straight to every member; then the
// history is checked: no WAIT-acknowledged write lost, no two masters taking writes at once (the
// pinned writers' plain writes count), the service back, the old master replicating again; in a
// planned switchover not even a plain write lost. Timings are bench/redis_failover's to measure,
// not asserted here. Skipped without redis-server.

#include <sys/stat.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "chaos/cluster.h"
#include "chaos/partition.h"
#include "chaos/scenario.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

class RedisChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (runtime::runCommand({"redis-server", "--version"}, 20s).exit_code != 0) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
    ::chmod(dir_.path().c_str(), 0755);
    lab_dir_ = dir_.path() + "/lab";
    auto up = runtime::runCommand(
        {RAMPART_BINARY, "redis", "lab", "up", "--members", "3", "--dir", lab_dir_, "--json"},
        180s);
    ASSERT_EQ(up.exit_code, 0) << up.output;
  }

  void TearDown() override {
    if (!lab_dir_.empty()) {
      auto down =
          runtime::runCommand({RAMPART_BINARY, "redis", "lab", "down", "--dir", lab_dir_}, 120s);
      EXPECT_EQ(down.exit_code, 0) << down.output;
    }
  }

  chaos::Report run(const std::string& scenario, int faults = 1) {
    chaos::ScenarioOptions options;
    options.scenario = scenario;
    options.faults = faults;
    options.etcd_down = 4s;
    options.after = 4s;
    auto cluster = chaos::loadCluster(lab_dir_ + "/cluster.json");  // PIDs may have changed
    EXPECT_TRUE(cluster) << cluster.error().message;
    if (!cluster) {
      return {};
    }
    EXPECT_EQ(cluster->kind, "rampart-redis");
    auto report = chaos::runScenario(*cluster, options);
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : chaos::Report{};
  }

  // Every manager's log, for a failure's message.
  std::string logs() const {
    std::string out;
    for (const auto& m : {"m1", "m2", "m3"}) {
      out += std::string("---- ") + m + "\n" +
             testing::readWholeFile(lab_dir_ + "/" + m + "/manager.log");
    }
    return out;
  }

  // What every fault scenario must show: the verdict, writes of every writer, the master moved
  // and the old one back as a replica of the new one.
  void expectFailedOverWithoutLoss(const chaos::Report& r) {
    EXPECT_TRUE(r.passed()) << ::testing::PrintToString(r.problems) << logs();
    EXPECT_TRUE(r.check.lost_ids.empty());
    EXPECT_TRUE(r.check.split_brains.empty());
    EXPECT_GT(r.check.vip_acked, 0);
    EXPECT_GT(r.check.unpromised_acked, 0);  // the plain and pinned writers wrote too
    ASSERT_EQ(r.faults.size(), 1u);
    EXPECT_TRUE(r.faults[0].error.empty()) << r.faults[0].error;
    EXPECT_NE(r.final_primary, r.faults[0].old_primary);
    EXPECT_GE(r.check.tenures.size(), 2u);
    EXPECT_TRUE(r.faults[0].old_primary_streaming) << "the old master never replicated again";
  }

  testing::TempDir dir_;
  std::string lab_dir_;
};

TEST_F(RedisChaosTest, KilledRedisServerFailsOverWithoutLosingAWaitAcknowledgedWrite) {
  auto r = run("kill-server");
  expectFailedOverWithoutLoss(r);
  EXPECT_EQ(r.faults[0].kind, "kill-server");
  EXPECT_NE(r.faults[0].target.find("redis-server pid"), std::string::npos) << r.faults[0].target;
}

TEST_F(RedisChaosTest, KilledManagerTakesItsRedisServerAlongAndFailsOver) {
  expectFailedOverWithoutLoss(run("kill-manager"));
}

TEST_F(RedisChaosTest, FrozenMasterIsReplacedAndTakesNoWriteOnceItsSuccessorDoes) {
  expectFailedOverWithoutLoss(run("freeze"));
}

TEST_F(RedisChaosTest, PartitionedMasterIsReplacedAndRejoins) {
  if (auto supported = chaos::isolationSupported(); !supported) {
    GTEST_SKIP() << supported.error().message;
  }
  expectFailedOverWithoutLoss(run("partition"));
}

TEST_F(RedisChaosTest, PlannedSwitchoverLosesNoWriteAtAllNotEvenAPlainOne) {
  auto r = run("switchover");
  expectFailedOverWithoutLoss(r);
  EXPECT_TRUE(r.check.unpromised_lost_ids.empty());
  EXPECT_EQ(r.check.failed_present, 0);
}

TEST_F(RedisChaosTest, LossOfOneEtcdMemberKeepsTheMaster) {
  auto r = run("etcd-member");
  EXPECT_TRUE(r.passed()) << ::testing::PrintToString(r.problems) << logs();
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.final_primary, r.faults[0].old_primary);
  EXPECT_EQ(r.check.tenures.size(), 1u);
}

TEST_F(RedisChaosTest, RandomFaultsInARowLoseNoWaitAcknowledgedWrite) {
  auto r = run("random", 4);
  EXPECT_TRUE(r.passed()) << ::testing::PrintToString(r.problems) << logs();
  EXPECT_EQ(r.faults.size(), 4u);
  EXPECT_TRUE(r.check.lost_ids.empty());
  EXPECT_TRUE(r.check.split_brains.empty());
}

}  // namespace
}  // namespace rampart
