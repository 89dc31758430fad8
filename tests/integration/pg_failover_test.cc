// PostgreSQL failover against the real thing: `rampart pg lab up` (etcd x3, three member managers
// each supervising a PostgreSQL 15 server, the write/read VIPs of `rampart lb`), faults injected
// by the chaos harness while writers commit through the VIP and straight to every member, and the
// history checked afterwards: no acknowledged write lost, no two primaries acknowledging writes at
// once, the service back, the old primary streaming again. Timings are measured by
// bench/failover, not asserted here (beyond generous bounds that catch a stuck cluster).

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chaos/cluster.h"
#include "chaos/partition.h"
#include "chaos/pg_session.h"
#include "chaos/scenario.h"
#include "etcd_fixture.h"
#include "runtime/process.h"
#include "testing/eventually.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

class PgLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ::chmod(dir_.path().c_str(), 0755);  // mkdtemp makes it 0700; postgres must reach its data
    lab_dir_ = dir_.path() + "/lab";
    auto up = runtime::runCommand(
        {RAMPART_BINARY, "pg", "lab", "up", "--members", "3", "--dir", lab_dir_, "--json"},
        std::chrono::seconds(240));
    ASSERT_EQ(up.exit_code, 0) << up.output << allLogs();  // the temp dir goes after this
    auto cluster = chaos::loadCluster(lab_dir_ + "/cluster.json");
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = *cluster;
  }

  void TearDown() override {
    auto down = runtime::runCommand({RAMPART_BINARY, "pg", "lab", "down", "--dir", lab_dir_},
                                    std::chrono::seconds(120));
    EXPECT_EQ(down.exit_code, 0) << down.output;
  }

  chaos::Report run(const std::string& scenario, int faults = 1) {
    chaos::ScenarioOptions options;
    options.scenario = scenario;
    options.faults = faults;
    options.etcd_down = 5s;
    options.after = 5s;
    auto cluster = chaos::loadCluster(lab_dir_ + "/cluster.json");  // PIDs may have changed
    EXPECT_TRUE(cluster) << cluster.error().message;
    auto report = chaos::runScenario(*cluster, options);
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : chaos::Report{};
  }

  std::string labFile(const std::string& relative) const {
    return testing::readWholeFile(lab_dir_ + "/" + relative);
  }

  std::string memberLog(const std::string& name) const { return labFile(name + "/manager.log"); }

  // Every manager's log and the load balancer's.
  std::string allLogs() const {
    std::string logs;
    for (const auto& m : {"m1", "m2", "m3"}) {
      logs += std::string("---- ") + m + "\n" + memberLog(m);
    }
    return logs + "---- lb\n" + labFile("lb.log");
  }

  // The HTTP status a member's REST API answers on `path` ("000" when it does not answer): over
  // HTTPS with the lab's client certificate (cluster.json's rest_tls) when the lab uses TLS.
  std::string restStatus(const chaos::Member& m, const std::string& path) const {
    std::vector<std::string> argv = {"curl", "-s",           "-o", "/dev/null",
                                     "-w",   "%{http_code}", "-m", "1"};
    if (m.rest.tls) {
      argv.insert(argv.end(), {"--cacert", cluster_.rest_tls.ca, "--cert", cluster_.rest_tls.cert,
                               "--key", cluster_.rest_tls.key});
    }
    argv.push_back((m.rest.tls ? "" : "http://") + m.rest.toString() + path);
    return runtime::runCommand(argv, 5s).output;
  }

  // Checks that must hold after every fault, with the managers' logs on failure.
  void expectSafe(const chaos::Report& r) {
    std::string logs = allLogs();
    EXPECT_TRUE(r.check.lost_ids.empty()) << r.check.lost_ids.size() << " lost\n" << logs;
    EXPECT_TRUE(r.check.split_brains.empty()) << "split brain\n" << logs;
    EXPECT_TRUE(r.passed()) << (r.problems.empty() ? "" : r.problems.front()) << "\n" << logs;
    EXPECT_GT(r.check.vip_acked, 0);
    EXPECT_FALSE(r.final_primary.empty());
  }

  // The old primary waited for the new leader and went straight to pg_rewind (which runs the
  // crash recovery), without first starting its server as a detached standby to compare its WAL
  // and stopping it again.
  void expectRewoundWithoutADetachedStart(const chaos::Report& r) {
    std::string old_log = memberLog(r.faults[0].old_primary);
    auto at = old_log.find("rejoined as a replica of " + r.final_primary);
    ASSERT_NE(at, std::string::npos) << old_log;
    std::string rejoined = old_log.substr(at, old_log.find('\n', at) - at);
    EXPECT_NE(rejoined.find(": rewind "), std::string::npos) << rejoined;  // the steps it took
    EXPECT_EQ(rejoined.find("stop "), std::string::npos) << rejoined;
    EXPECT_EQ(old_log.find("former primary started as a detached standby"), std::string::npos)
        << old_log;
  }

  rampart::testing::TempDir dir_;
  std::string lab_dir_;
  chaos::Cluster cluster_;
};

TEST_F(PgLabTest, LabBootstrapsOnePrimaryAndTwoStreamingSyncReplicas) {
  auto list = runtime::runCommand(
      {RAMPART_BINARY, "pg", "list", "--config", lab_dir_ + "/m1/member.yaml", "--json"},
      std::chrono::seconds(10));
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto j = nlohmann::json::parse(list.output);
  int primaries = 0;
  int streaming = 0;
  for (const auto& m : j["members"]) {
    primaries += m["role"] == "primary";
    streaming += m["state"] == "streaming";
  }
  EXPECT_EQ(primaries, 1);
  EXPECT_EQ(streaming, 2);
  auto table = runtime::runCommand(
      {RAMPART_BINARY, "pg", "list", "--config", lab_dir_ + "/m1/member.yaml"}, 10s);
  EXPECT_NE(table.output.find("Sync Standby"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("Leader"), std::string::npos) << table.output;

  // The members' REST APIs speak HTTPS only and want a certificate from the lab's CA.
  std::string primary;
  for (const auto& m : cluster_.members) {
    ASSERT_TRUE(m.rest.tls) << m.rest.toString();
    auto plain =
        runtime::runCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "1",
                             "http://127.0.0.1:" + std::to_string(m.rest.port) + "/primary"},
                            5s);
    EXPECT_EQ(plain.output, "000") << "plain HTTP answered on " << m.name;
    auto anonymous =
        runtime::runCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "1",
                             "--cacert", cluster_.rest_tls.ca, m.rest.toString() + "/primary"},
                            5s);
    EXPECT_EQ(anonymous.output, "000") << "a client without a certificate was answered";
    if (restStatus(m, "/primary") == "200") {
      primary = m.name;
    }
  }
  ASSERT_FALSE(primary.empty());
  // An operator's switchover over that HTTPS, presenting the lab's client certificate.
  std::string target = primary == "m1" ? "m2" : "m1";
  auto switchover = runtime::runCommand(
      {RAMPART_BINARY, "pg", "switchover", "--config", lab_dir_ + "/m1/member.yaml", "--rest-cert",
       cluster_.rest_tls.cert, "--rest-key", cluster_.rest_tls.key, "--to", target},
      30s);
  ASSERT_EQ(switchover.exit_code, 0) << switchover.output;
  EXPECT_TRUE(testing::eventually(
      [&] { return restStatus(*cluster_.member(target), "/primary") == "200"; }, 20s, 100ms))
      << allLogs();
}

TEST_F(PgLabTest, KilledPostmasterFailsOverWithoutLosingAcknowledgedWrites) {
  auto r = run("kill-postmaster");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_NE(r.final_primary, r.faults[0].old_primary) << "no failover happened";
  EXPECT_TRUE(r.faults[0].old_primary_streaming.has_value()) << "the old primary did not rejoin";
  expectRewoundWithoutADetachedStart(r);
}

TEST_F(PgLabTest, KilledManagerTakesItsPostgresAlongAndFailsOver) {
  auto r = run("kill-manager");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_TRUE(r.faults[0].old_primary_streaming.has_value()) << "the old primary did not rejoin";
}

TEST_F(PgLabTest, FrozenPrimaryIsReplacedFencesItselfOnWakingUpAndRewindsStraightAway) {
  auto r = run("freeze");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_NE(r.final_primary, r.faults[0].old_primary) << "no failover happened";
  EXPECT_NE(memberLog(r.faults[0].old_primary).find("FENCED"), std::string::npos)
      << memberLog(r.faults[0].old_primary);
  EXPECT_TRUE(r.faults[0].old_primary_streaming.has_value()) << "the old primary did not rejoin";
  expectRewoundWithoutADetachedStart(r);
}

TEST_F(PgLabTest, PartitionedPrimaryIsReplacedFencesItselfAndRejoins) {
  if (auto supported = chaos::isolationSupported(); !supported) {
    GTEST_SKIP() << supported.error().message;
  }
  auto r = run("partition");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_TRUE(r.faults[0].error.empty()) << r.faults[0].error;
  EXPECT_NE(r.final_primary, r.faults[0].old_primary) << "no failover happened";
  EXPECT_NE(memberLog(r.faults[0].old_primary).find("FENCED"), std::string::npos)
      << memberLog(r.faults[0].old_primary);
  EXPECT_TRUE(r.faults[0].old_primary_streaming.has_value()) << "the old primary did not rejoin";
}

TEST_F(PgLabTest, PlannedSwitchoverMovesTheLeaderWithoutLoss) {
  auto r = run("switchover");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_TRUE(r.faults[0].error.empty()) << r.faults[0].error << r.faults[0].detail;
  EXPECT_NE(r.final_primary, r.faults[0].old_primary);
  EXPECT_TRUE(r.faults[0].old_primary_streaming.has_value()) << "the old primary did not rejoin";
  // The old leader named the target's handover-ready write and the target recognised it: it then
  // promotes on the handover itself, its lease counting from that write, or, when the write is
  // too old to leave a first heartbeat enough lease (a loaded machine), confirms the key first.
  std::string target_log = memberLog(r.final_primary);
  EXPECT_TRUE(target_log.find("the lease counts from our ready write") != std::string::npos ||
              target_log.find("handover names our ready write of") != std::string::npos)
      << target_log;
}

TEST_F(PgLabTest, LossOfOneEtcdMemberChangesNothing) {
  auto r = run("etcd-member");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.final_primary, r.faults[0].old_primary);
}

TEST_F(PgLabTest, LossOfAllEtcdKeepsAPrimaryThatReachesEveryMember) {
  // Failsafe: every member vouches for the leader, so it keeps serving without etcd.
  auto r = run("etcd-all");
  expectSafe(r);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.final_primary, r.faults[0].old_primary);
}

TEST_F(PgLabTest, PrimaryCutOffFromEtcdAndAReplicaFencesItself) {
  // etcd gone and one replica's manager frozen: failsafe cannot reach every member, so the
  // primary must stop answering /primary and kill its server before its deadline.
  auto primary = std::find_if(cluster_.members.begin(), cluster_.members.end(),
                              [this](auto& m) { return restStatus(m, "/primary") == "200"; });
  ASSERT_NE(primary, cluster_.members.end());
  auto replica =
      primary == cluster_.members.begin() ? cluster_.members.begin() + 1 : cluster_.members.begin();
  ::kill(replica->manager_pid, SIGSTOP);
  for (const auto& e : cluster_.etcd) {
    ::kill(e.pid, SIGSTOP);
  }
  std::string answer;
  for (int i = 0; i < 50; ++i) {  // leader_timeout is 1 s: 5 s is generous
    std::this_thread::sleep_for(100ms);
    answer = restStatus(*primary, "/primary");
    if (answer == "503") {
      break;
    }
  }
  for (const auto& e : cluster_.etcd) {
    ::kill(e.pid, SIGCONT);
  }
  ::kill(replica->manager_pid, SIGCONT);
  EXPECT_EQ(answer, "503") << memberLog(primary->name);
  EXPECT_NE(memberLog(primary->name).find("FENCED"), std::string::npos) << memberLog(primary->name);
}

// Stops processes with SIGSTOP and continues them when it goes, also when a test fails.
class Frozen {
 public:
  void add(pid_t pid) {
    if (::kill(pid, SIGSTOP) == 0) {
      pids_.push_back(pid);
    }
  }
  ~Frozen() {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGCONT);
    }
  }

 private:
  std::vector<pid_t> pids_;
};

TEST_F(PgLabTest, SwitchoverTargetCutOffFromEtcdRightAfterTheHandoverFencesItself) {
  // The target of a switchover promotes on the handover, its lease counting from the
  // handover-ready write it made earlier. Cut off from etcd at that moment (and the third
  // member's manager frozen, so failsafe cannot vouch), it must stop being primary on its own,
  // and a commit it acknowledged alone meanwhile must survive.
  auto primary = std::find_if(cluster_.members.begin(), cluster_.members.end(),
                              [this](auto& m) { return restStatus(m, "/primary") == "200"; });
  ASSERT_NE(primary, cluster_.members.end());
  std::vector<chaos::Member> others;
  std::copy_if(cluster_.members.begin(), cluster_.members.end(), std::back_inserter(others),
               [&](auto& m) { return m.name != primary->name; });
  ASSERT_EQ(others.size(), 2u);
  const chaos::Member target = others[0];
  const chaos::Member third = others[1];

  auto sql = [this](uint16_t port, const std::string& statement) {
    return runtime::runCommand({"psql",
                                "host=127.0.0.1 port=" + std::to_string(port) +
                                    " user=" + cluster_.user + " password=" + cluster_.password +
                                    " dbname=" + cluster_.database + " connect_timeout=2",
                                "-Atc", statement},
                               5s);
  };
  auto created = sql(cluster_.write_vip.port, "CREATE TABLE handover_cutoff (id int PRIMARY KEY)");
  ASSERT_EQ(created.exit_code, 0) << created.output;

  std::vector<std::string> command = cluster_.switchover_command;
  for (auto& arg : command) {
    if (arg == "{candidate}") {
      arg = target.name;
    }
  }
  // A session on the target opened beforehand (a standby accepts it; promotion keeps it), so
  // that its first write can go in the moment it is writable.
  chaos::PgTarget on_target{"127.0.0.1", target.port, cluster_.user, cluster_.password,
                            cluster_.database};
  auto session = chaos::PgSession::connect(on_target, std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(session) << session.error().message;
  std::jthread switchover([command] { (void)runtime::runCommand(command, 30s); });
  bool handed_over = false;
  bool acked = false;
  {
    Frozen frozen;
    for (int i = 0; i < 7500 && !handed_over; ++i) {  // 15 s
      // "continuing as leader (handed over ...; the lease counts from our ready write ...)", or
      // after confirming the key on a loaded machine "continuing as leader (revision N)".
      handed_over = memberLog(target.name).find("continuing as leader") != std::string::npos;
      if (!handed_over) {
        std::this_thread::sleep_for(2ms);
      }
    }
    if (handed_over) {
      for (const auto& e : cluster_.etcd) {
        frozen.add(e.pid);
      }
      frozen.add(third.manager_pid);
    }
    // A commit the target acknowledges on its own before it fences (its list is '' until it
    // publishes a synchronous set, which etcd being gone prevents): it must survive.
    auto write_until = std::chrono::steady_clock::now() + 1s;  // past its fencing deadline
    while (handed_over && !acked && !(*session)->broken() &&
           std::chrono::steady_clock::now() < write_until) {
      auto r = (*session)->query("INSERT INTO handover_cutoff VALUES (1)", {}, write_until);
      acked = r && r->warnings.empty();  // a warning would mean an unconfirmed commit
      if (!r) {
        std::this_thread::sleep_for(5ms);  // still a standby: read-only
      }
    }
    std::string answer;
    for (int i = 0; handed_over && i < 50; ++i) {  // leader_timeout is 1 s: 5 s is generous
      std::this_thread::sleep_for(100ms);
      answer = restStatus(target, "/primary");
      if (answer == "503") {
        break;
      }
    }
    std::string old_primary_answer = restStatus(*primary, "/primary");
    // Frozen goes here: etcd and the third manager continue.
    EXPECT_TRUE(handed_over) << memberLog(target.name);
    EXPECT_EQ(answer, "503") << memberLog(target.name);
    EXPECT_NE(old_primary_answer, "200") << memberLog(primary->name);
  }
  switchover.join();
  EXPECT_TRUE(acked) << "the target never took the write; the loss check below cannot run\n"
                     << memberLog(target.name);
  EXPECT_NE(memberLog(target.name).find("FENCED"), std::string::npos) << memberLog(target.name);
  // With etcd back the cluster elects a leader again.
  bool led = false;
  for (int i = 0; i < 300 && !led; ++i) {  // 30 s
    std::this_thread::sleep_for(100ms);
    led = std::any_of(cluster_.members.begin(), cluster_.members.end(),
                      [this](auto& m) { return restStatus(m, "/primary") == "200"; });
  }
  EXPECT_TRUE(led) << allLogs();
  if (led && acked) {
    // Through the write VIP: the leader, whoever it is now.
    std::string count;
    for (int i = 0; i < 100 && count != "1"; ++i) {
      count = sql(cluster_.write_vip.port, "SELECT count(*) FROM handover_cutoff").output;
      count.erase(count.find_last_not_of(" \n") + 1);
      if (count != "1") {
        std::this_thread::sleep_for(100ms);
      }
    }
    EXPECT_EQ(count, "1") << "a commit the switchover target acknowledged was lost\n" << allLogs();
  }
}

TEST_F(PgLabTest, TwentyRandomFaultsInARowLoseNothing) {
  auto r = run("random", 20);
  expectSafe(r);
  EXPECT_EQ(r.faults.size(), 20u);
}

TEST(PgCli, InvalidMemberConfigIsRejectedWithFileAndLine) {
  rampart::testing::TempDir dir;
  std::string path = dir.path() + "/member.yaml";
  std::ofstream(path) << "cluster: c\nname: m1\netcd: { endpoints: [127.0.0.1:1] }\n"
                         "postgres: { listen: 127.0.0.1:5, data_dir: /tmp/x }\n"
                         "ha: { leader_timeout: soon }\n";
  auto r = runtime::runCommand({RAMPART_BINARY, "pg", "--config", path}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("member.yaml:5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ha.leader_timeout"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rampart
