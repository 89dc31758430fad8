// The first half of a planned switchover against a real PostgreSQL 15 run by pg::Postgres:
// after refuseNewClients() and endClientSessions() no client session exists and none can begin,
// including one whose backend the postmaster forked before pg_hba.conf was reloaded (such a
// backend checks its client against the rules it was forked with).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "net/endpoint.h"
#include "pg/postgres.h"
#include "postgres_fixture.h"
#include "runtime/process.h"
#include "test_socket.h"

namespace rampart::pg {
namespace {

using namespace std::chrono_literals;

// A loopback listener that hands the first client it accepts the given, already connected,
// socket: libpq then speaks through a connection the postmaster accepted earlier.
class Splice {
 public:
  explicit Splice(int upstream) : upstream_(upstream) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
  }
  ~Splice() {
    thread_.request_stop();
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  void run(std::stop_token stop) {
    pollfd accept_wait{listener_, POLLIN, 0};
    while (!stop.stop_requested() && ::poll(&accept_wait, 1, 50) == 0) {
    }
    if (stop.stop_requested()) {
      return;
    }
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream_, POLLIN, 0}};
    char buf[8192];
    while (!stop.stop_requested()) {
      if (::poll(fds, 2, 50) <= 0) {
        continue;
      }
      bool closed = false;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
          if (n <= 0 || ::write(fds[1 - i].fd, buf, static_cast<size_t>(n)) != n) {
            closed = true;
          }
        }
      }
      if (closed) {
        break;
      }
    }
    ::close(client);
  }

  int upstream_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::jthread thread_;
};

class SessionFenceTest : public PostgresTest {
 protected:
  // Waits (bounded) until the postmaster has forked a backend for a connection whose client has
  // sent nothing yet: such a child still carries the postmaster's own command line.
  bool waitForStartingBackend() {
    pid_t postmaster = pg_->pid();
    auto title = runtime::commandLine(postmaster);
    for (int i = 0; i < 500; ++i) {
      for (pid_t child : runtime::childrenOf(postmaster)) {
        if (runtime::commandLine(child) == title) {
          return true;
        }
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

TEST_F(SessionFenceTest, ABackendForkedBeforeTheRefusalAdmitsNoSessionAfterTheSessionsEnded) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  auto open_session = PgConn::connect(conninfo(config_.listen.port), 10s);
  ASSERT_TRUE(open_session) << open_session.error().message;
  // Accepted now, its startup packet sent later.
  auto early = testing::Socket::connectTo(config_.listen, 5s);
  ASSERT_TRUE(early);
  ASSERT_TRUE(waitForStartingBackend());

  auto refused = pg_->refuseNewClients(10s);
  ASSERT_TRUE(refused) << refused.error().message;
  auto ended = pg_->endClientSessions(10s);
  ASSERT_TRUE(ended) << ended.error().message;

  EXPECT_FALSE(open_session->query("SELECT 1", 5s)) << "a session from before is still open";
  auto fresh = PgConn::connect(conninfo(config_.listen.port), 10s);
  EXPECT_FALSE(fresh) << "a new client was admitted";
  Splice splice(early.fd());
  auto straggler = PgConn::connect(conninfo(splice.port()), 10s);
  EXPECT_FALSE(straggler) << "a backend forked before the refusal admitted a session";
  if (straggler) {
    EXPECT_FALSE(straggler->query("CREATE TABLE written_after_the_sessions_ended (i int)", 5s));
  }
}

TEST_F(SessionFenceTest, SessionsEndWithTheLoggingCollectorOn) {
  // The logger is the one child of the postmaster that pg_stat_activity does not list, and it
  // ignores SIGTERM: it must not be taken for a backend that is still starting, also when no
  // process title says what it is.
  config_.parameters["logging_collector"] = "on";
  config_.parameters["update_process_title"] = "off";
  ASSERT_NO_FATAL_FAILURE(startServer());
  auto refused = pg_->refuseNewClients(10s);
  ASSERT_TRUE(refused) << refused.error().message;
  auto ended = pg_->endClientSessions(5s);
  EXPECT_TRUE(ended) << ended.error().message;
}

}  // namespace
}  // namespace rampart::pg
