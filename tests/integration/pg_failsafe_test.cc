// The failsafe vouch against a real lab (`rampart pg lab up`: etcd x3, three members): whoever
// holds every credential and repeats POST /failsafe for the old leader cannot keep the members
// that reach etcd out of the race, so failover still happens.

#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "chaos/cluster.h"
#include "pg/config.h"
#include "pg/rest_auth.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

// The status of one request to a member's REST API (0: no answer); over HTTPS when the lab's
// REST APIs use TLS, presenting `tls.cert`.
int request(const net::Endpoint& rest, const net::TlsFiles& tls, const std::string& method,
            const std::string& path, const std::string& authorization = "",
            const std::string& body = "") {
  std::vector<std::string> argv = {"curl",         "-s", "-o", "/dev/null", "-w",
                                   "%{http_code}", "-m", "2",  "-X",        method};
  if (rest.tls) {
    argv.insert(argv.end(), {"--cacert", tls.ca, "--cert", tls.cert, "--key", tls.key});
  }
  if (!authorization.empty()) {
    argv.insert(argv.end(), {"-H", "Authorization: " + authorization});
  }
  if (method == "POST") {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
  }
  argv.push_back((rest.tls ? "" : "http://") + rest.toString() + path);
  auto r = runtime::runCommand(argv, std::chrono::seconds(5));
  return r.exit_code == 0 ? std::atoi(r.output.c_str()) : 0;
}

using rampart::testing::eventually;

class PgFailsafeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ::chmod(dir_.path().c_str(), 0755);  // mkdtemp makes it 0700; postgres must reach its data
    lab_dir_ = dir_.path() + "/lab";
    auto up = runtime::runCommand(
        {RAMPART_BINARY, "pg", "lab", "up", "--members", "3", "--dir", lab_dir_, "--json"},
        std::chrono::seconds(240));
    ASSERT_EQ(up.exit_code, 0) << up.output << allLogs();
    auto cluster = chaos::loadCluster(lab_dir_ + "/cluster.json");
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = *cluster;
  }

  void TearDown() override {
    auto down = runtime::runCommand({RAMPART_BINARY, "pg", "lab", "down", "--dir", lab_dir_},
                                    std::chrono::seconds(120));
    EXPECT_EQ(down.exit_code, 0) << down.output;
  }

  std::string allLogs() const {
    std::string logs;
    for (const auto& m : {"m1", "m2", "m3"}) {
      logs += std::string("---- ") + m + "\n" +
              testing::readWholeFile(lab_dir_ + "/" + m + "/manager.log");
    }
    return logs;
  }

  // The member answering 200 on /primary ("" none).
  std::string primary() const {
    for (const auto& m : cluster_.members) {
      if (request(m.rest, cluster_.rest_tls, "GET", "/primary") == 200) {
        return m.name;
      }
    }
    return "";
  }

  rampart::testing::TempDir dir_;
  std::string lab_dir_;
  chaos::Cluster cluster_;
};

TEST_F(PgFailsafeTest, RepeatedVouchesForADeadLeaderDoNotBlockFailover) {
  // Everything a member's files hold: the operator and the member credential.
  auto config = pg::loadMemberConfig(lab_dir_ + "/m1/member.yaml");
  ASSERT_TRUE(config) << config.error().message;
  std::string old_leader;
  ASSERT_TRUE(eventually([&] { return !(old_leader = primary()).empty(); }, 10s));
  const chaos::Member* leader = nullptr;
  for (const auto& m : cluster_.members) {
    leader = m.name == old_leader ? &m : leader;
  }
  ASSERT_NE(leader, nullptr);

  // Vouch for the old leader at every replica, every 50 ms, with every credential there is: the
  // shared token (what a vouch once needed) and the member credential's own proof.
  std::atomic<int> accepted = 0;
  std::atomic<int> refused = 0;
  std::atomic<bool> stop = false;
  // With client certificates required (the lab's REST TLS), a vouch counts only from the leader's
  // own certificate: the forger has that too.
  net::TlsFiles leader_tls{cluster_.rest_tls.ca, lab_dir_ + "/" + old_leader + "/pg.pem",
                           lab_dir_ + "/" + old_leader + "/pg-key.pem", ""};
  std::thread forger([&] {
    std::string body = R"({"leader":")" + old_leader + R"("})";
    while (!stop) {
      for (const auto& m : cluster_.members) {
        if (m.name == old_leader) {
          continue;
        }
        for (const auto& auth :
             {"Bearer " + config->token,
              "Vouch " + pg::vouchProof(config->member_token, old_leader, m.name)}) {
          int status = request(m.rest, leader_tls, "POST", "/failsafe", auth, body);
          (status == 200 ? accepted : refused) += status == 200 || status == 409 ? 1 : 0;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  // Let the vouches run for a while before the leader dies, then kill its manager: its server
  // dies with it, and the leader key stays until it times out (nothing releases it).
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(::kill(leader->manager_pid, SIGKILL), 0);
  std::string new_leader;
  bool failed_over = eventually(
      [&] {
        new_leader = primary();
        return !new_leader.empty() && new_leader != old_leader;
      },
      20s);
  stop = true;
  forger.join();
  EXPECT_TRUE(failed_over) << "no new primary within 20 s of the leader's death\n" << allLogs();
  EXPECT_EQ(accepted, 0) << "members that reach etcd vouched";
  EXPECT_GT(refused, 0);
}

TEST(PgCli, MemberActionsSendTheOperatorTokenOnlyToTheAddressInThatMembersOwnFile) {
  // m2's REST address would come from etcd (here unreachable): the command refuses before it
  // asks, instead of handing the operator token to whatever address etcd lists.
  rampart::testing::TempDir dir;
  std::string path = dir.path() + "/member.yaml";
  std::ofstream(path) << "cluster: c\nname: m1\netcd: { endpoints: [127.0.0.1:1] }\n"
                         "postgres: { listen: 127.0.0.1:5, data_dir: /tmp/x }\n"
                         "rest: { listen: 127.0.0.1:1, token: op }\n"
                         "credentials:\n  superuser: { password: a }\n"
                         "  replication: { password: b }\n";
  auto r = runtime::runCommand({RAMPART_BINARY, "pg", "restart", "m2", "--config", path}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("m2's own config file"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rampart
