// What pg::Postgres writes into PostgreSQL's files, read back by a real PostgreSQL 15
// (`postgres -C`): a value can neither end early nor add settings, whatever it holds; and a
// member whose pg_hba.conf admits only TLS replicates with sslmode=verify-full.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <thread>
#include "postgres_fixture.h"
#include "runtime/process.h"
#include "testing/eventually.h"

namespace rampart::pg {
namespace {

using namespace std::chrono_literals;

using rampart::testing::eventually;

// The host from issue #17.
const std::string kInjectedHost = "10.0.0.12' \nlog_statement = all\nfsync = off #";

class PgConfigSafetyTest : public PostgresTest {
 protected:
  // `postgres -C name` on the data directory: the value the server would run with.
  std::string setting(const MemberConfig& config, const std::string& name) {
    std::vector<std::string> argv = {config.bin_dir + "/postgres", "-D", config.data_dir, "-C",
                                     name};
    if (::geteuid() == 0) {
      argv.insert(argv.begin(), {"runuser", "-u", config.os_user, "--"});
    }
    auto r = runtime::runCommand(argv, 30s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto out = r.output;
    while (!out.empty() && out.back() == '\n') {
      out.pop_back();
    }
    return out;
  }

  void initOnly() {
    pg_ = std::make_unique<Postgres>(config_);
    auto prepared = pg_->prepare();
    ASSERT_TRUE(prepared) << prepared.error().message;
    auto made = pg_->initdb();
    ASSERT_TRUE(made) << made.error().message;
  }
};

TEST_F(PgConfigSafetyTest, AnInjectedUpstreamHostAddsNoSettings) {
  ASSERT_NO_FATAL_FAILURE(initOnly());
  // A standby start pointed at the host a forged member status carries.
  auto started = pg_->start(true, Upstream{kInjectedHost, 5432}, "", 5s);
  EXPECT_FALSE(started) << "a start with an injected upstream host must be refused";
  EXPECT_EQ(setting(config_, "fsync"), "on");
  EXPECT_EQ(setting(config_, "log_statement"), "none");
  std::ifstream in(config_.data_dir + "/postgresql.auto.conf");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("fsync"), std::string::npos) << text.str();
}

TEST_F(PgConfigSafetyTest, QuotedValuesReadBackUnchanged) {
  // Quotes, backslashes and comment signs in values that reach postgresql.conf: each reads back
  // as given, and nothing after it becomes a setting.
  const std::string name = "x\\' fsync = off # it's";
  config_.parameters["application_name"] = name;
  config_.parameters["log_line_prefix"] = "%m \\\\ ''";
  ASSERT_NO_FATAL_FAILURE(startServer());
  EXPECT_EQ(setting(config_, "application_name"), name);
  EXPECT_EQ(setting(config_, "log_line_prefix"), "%m \\\\ ''");
  EXPECT_EQ(setting(config_, "fsync"), "on");
}

// A CA, and a certificate for 127.0.0.1 signed by it, made with the openssl command.
bool makeCertificates(const std::string& dir) {
  auto run = [&](std::vector<std::string> argv) {
    auto r = runtime::runCommand(argv, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.exit_code == 0;
  };
  std::ofstream(dir + "/san.ext") << "subjectAltName = IP:127.0.0.1\n";
  return run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca-key.pem", "-out",
              dir + "/ca.pem", "-days", "2", "-subj", "/CN=test ca"}) &&
         run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", dir + "/server-key.pem", "-out", dir + "/server.csr", "-subj",
              "/CN=127.0.0.1"}) &&
         run({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem",
              "-CAkey", dir + "/ca-key.pem", "-CAcreateserial", "-out", dir + "/server.pem",
              "-days", "2", "-extfile", dir + "/san.ext"});
}

TEST_F(PgConfigSafetyTest, AReplicaStreamsOverVerifiedTlsWhenPgHbaAdmitsOnlyTls) {
  ASSERT_TRUE(makeCertificates(dir_.path()));
  config_.tls = {dir_.path() + "/server.pem", dir_.path() + "/server-key.pem",
                 dir_.path() + "/ca.pem"};
  config_.sslmode = "verify-full";
  config_.hba_networks = {};  // only the operator's lines below
  config_.pg_hba = {"hostssl replication replicator 127.0.0.1/32 scram-sha-256",
                    "hostssl all all 127.0.0.1/32 scram-sha-256"};
  ASSERT_NO_FATAL_FAILURE(startServer());
  EXPECT_EQ(setting(config_, "ssl"), "on");
  auto role = pg_->createReplicationRole(10s);
  ASSERT_TRUE(role) << role.error().message;
  auto slots = pg_->ensureSlots({"m2"}, 10s);
  ASSERT_TRUE(slots) << slots.error().message;

  // Without TLS, the server admits no one over TCP.
  auto plain = PgConn::connect(conninfo(config_.listen.port) + " sslmode=disable", 10s);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("pg_hba.conf"), std::string::npos) << plain.error().message;

  MemberConfig other_config = config_;
  other_config.name = "m2";
  auto port = net::pickFreePort("127.0.0.1");
  ASSERT_TRUE(port) << port.error().message;
  other_config.listen = net::Endpoint{"127.0.0.1", *port};
  other_config.data_dir = dir_.path() + "/data2";
  auto other = std::make_unique<Postgres>(other_config);
  struct StopsAtTheEnd {
    Postgres& pg;
    ~StopsAtTheEnd() { (void)pg.stop(30s); }
  } stops{*other};
  ASSERT_TRUE(other->prepare());
  const Upstream primary{"127.0.0.1", config_.listen.port};
  auto cloned = other->cloneFrom(primary, 120s);  // pg_basebackup, verify-full
  ASSERT_TRUE(cloned) << cloned.error().message;
  auto started = other->start(true, primary, "", 60s);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE(eventually([&] { return other->observe(5s).streaming; }, 60s))
      << "the replica never streamed over TLS; its log:\n"
      << [&] {
           std::ifstream log(other->logFile());
           std::stringstream text;
           text << log.rdbuf();
           return text.str().substr(text.str().size() > 3000 ? text.str().size() - 3000 : 0);
         }();
  // The WAL sender's connection is encrypted.
  auto conn = PgConn::connect(conninfo(config_.listen.port) + " sslmode=require", 10s);
  ASSERT_TRUE(conn) << conn.error().message;
  auto rows = conn->query(
      "SELECT s.ssl::text FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"
      " WHERE r.application_name = 'm2'",
      10s);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0].value_or(""), "true");

  // Under verify-full a peer is reached only by a name its certificate holds: "localhost" is the
  // same server, but not in its certificate.
  MemberConfig third = other_config;
  third.name = "m3";
  third.data_dir = dir_.path() + "/data3";
  Postgres probe(third);
  ASSERT_TRUE(probe.prepare());
  auto wrong_name = probe.cloneFrom(Upstream{"localhost", config_.listen.port}, 30s);
  ASSERT_FALSE(wrong_name);
  EXPECT_NE(wrong_name.error().message.find("does not match host name"), std::string::npos)
      << wrong_name.error().message;
}

}  // namespace
}  // namespace rampart::pg
