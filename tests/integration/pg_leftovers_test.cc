// What a dead server leaves in its directories must not stop the next start of pg::Postgres:
// against a real PostgreSQL 15, killed the way a crash or a killed manager kills it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "postgres_fixture.h"
#include "runtime/process.h"

namespace rampart::pg {
namespace {

using namespace std::chrono_literals;

// A process of the postgres user (PostgreSQL takes a PID it may not signal for a dead one) that
// exists for the test's duration, ended by PID.
class LiveProcess {
 public:
  LiveProcess() {
    auto pid =
        runtime::spawn(runtime::SpawnOptions{{"sleep", "120"}, "", "", true, false, "postgres"});
    pid_ = pid ? *pid : 0;
  }
  ~LiveProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
};

class PgLeftoversTest : public PostgresTest {};

TEST_F(PgLeftoversTest, AServerStartsWhenTheDeadOnesSocketLockNamesAProcessThatStillExists) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  pg_->fence();  // SIGKILL: nothing is cleaned up
  auto lock_file = pg_->runDir() + "/.s.PGSQL." + std::to_string(config_.listen.port) + ".lock";
  ASSERT_TRUE(std::filesystem::exists(lock_file));
  // As when the postmaster died with a killed manager and is a zombie until init reaps it, or
  // its PID went to another process: the lock file's first line names a process that exists.
  LiveProcess other;
  ASSERT_GT(other.pid(), 0);
  std::stringstream rest;
  {
    std::ifstream in(lock_file);
    std::string first;
    std::getline(in, first);
    rest << in.rdbuf();
  }
  std::ofstream(lock_file, std::ios::trunc) << other.pid() << "\n" << rest.str();

  auto started = pg_->start(false, std::nullopt, "", 60s);
  EXPECT_TRUE(started) << (started ? "" : started.error().message);
  auto conn = PgConn::connect(conninfo(config_.listen.port), 10s);
  EXPECT_TRUE(conn) << (conn ? "" : conn.error().message);
}

TEST_F(PgLeftoversTest, ACrashedPrimaryIsRewoundDespiteTheStandbySignalOfAFailedStart) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  auto role = pg_->createReplicationRole(10s);
  ASSERT_TRUE(role) << role.error().message;
  // Another member: a clone of this one, streaming from it, then promoted (a new timeline).
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
  } stops_at_the_end{*other};
  Upstream me{"127.0.0.1", config_.listen.port};
  ASSERT_TRUE(other->prepare());
  auto cloned = other->cloneFrom(me, 120s);
  ASSERT_TRUE(cloned) << cloned.error().message;
  auto standby = other->start(true, me, "", 60s);
  ASSERT_TRUE(standby) << standby.error().message;
  auto promoted = other->promote(30s);
  ASSERT_TRUE(promoted) << promoted.error().message;
  // This server writes past the fork, then dies; a start as a standby failed before recovery
  // and left its standby.signal behind.
  auto conn = PgConn::connect(conninfo(config_.listen.port), 10s);
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE(conn->query("CREATE TABLE written_after_the_fork (i int)", 10s));
  pg_->fence();
  std::ofstream(config_.data_dir + "/standby.signal").flush();

  auto rewound = pg_->rewindFrom(Upstream{"127.0.0.1", other_config.listen.port}, 120s);
  ASSERT_TRUE(rewound) << rewound.error().message;
  EXPECT_TRUE(*rewound) << "its WAL ran past the fork";
  auto follows = pg_->start(true, Upstream{"127.0.0.1", other_config.listen.port}, "", 60s);
  EXPECT_TRUE(follows) << (follows ? "" : follows.error().message);
}

}  // namespace
}  // namespace rampart::pg
