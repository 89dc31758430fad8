// redis::Client and the replication parsers against real redis-server processes on loopback:
// a master and a replica (REPLICAOF), each in its own temporary directory on a free port. Proves
// that what the parsers read from ROLE and INFO replication matches what the servers do
// (offsets advance after writes; the replica reports its link up), that a call to a frozen
// (SIGSTOPped) server fails by its deadline, and that a refused connection is Unavailable.
// Skipped when redis-server is not installed (scripts/setup.sh installs it).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "net/endpoint.h"
#include "redis/client.h"
#include "redis/replication.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::redis {
namespace {

using namespace std::chrono_literals;
using rampart::testing::eventually;

bool redisInstalled() {
  auto result = runtime::runCommand({"redis-server", "--version"}, 10s);
  return result.exit_code == 0;
}

// One redis-server on 127.0.0.1 in its own directory, stopped (continued first, if the test
// froze it) and removed with the object.
class RedisServer {
 public:
  RedisServer() = default;
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      runtime::terminate(pid_, 5s);
    }
  }

  // Starts it and waits (bounded) until it answers PING.
  void start() {
    ASSERT_FALSE(dir_.path().empty());
    auto port = net::pickFreePort("127.0.0.1");
    ASSERT_TRUE(port) << port.error().message;
    endpoint_ = net::Endpoint{"127.0.0.1", *port};
    runtime::SpawnOptions options;
    options.argv = {"redis-server", "--port",    std::to_string(*port),
                    "--bind",       "127.0.0.1", "--dir",
                    dir_.path(),    "--save",    "",
                    "--appendonly", "no",        "--daemonize",
                    "no",           "--logfile", ""};
    options.log_file = dir_.path() + "/redis.log";
    auto pid = runtime::spawn(options);
    ASSERT_TRUE(pid) << pid.error().message;
    pid_ = *pid;
    bool up = eventually(
        [&] {
          auto client = Client::connect(endpoint_, 1s);
          return client && client->command({"PING"}, 1s).has_value();
        },
        20s, 50ms);
    ASSERT_TRUE(up) << "redis-server did not answer PING: "
                    << rampart::testing::readWholeFile(options.log_file);
  }

  Client connect() {
    auto client = Client::connect(endpoint_, 2s);
    EXPECT_TRUE(client) << client.error().message;
    return std::move(*client);
  }

  const net::Endpoint& endpoint() const { return endpoint_; }
  pid_t pid() const { return pid_; }

 private:
  rampart::testing::TempDir dir_;
  net::Endpoint endpoint_;
  pid_t pid_ = -1;
};

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redisInstalled()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
  }
};

Result<Role> role(Client& client) {
  auto reply = client.command({"ROLE"}, 2s);
  if (!reply) {
    return fail(reply.error());
  }
  return parseRole(*reply);
}

Result<InfoReplication> info(Client& client) {
  auto reply = client.command({"INFO", "replication"}, 2s);
  if (!reply) {
    return fail(reply.error());
  }
  if (reply->type != Reply::Type::String) {
    return fail(ErrorCode::Internal, "INFO: not a bulk string");
  }
  return parseInfoReplication(reply->str);
}

TEST_F(RedisClientTest, ParsersAgreeWithAMasterAndItsReplicaAsOffsetsAdvance) {
  RedisServer master;
  RedisServer replica;
  ASSERT_NO_FATAL_FAILURE(master.start());
  ASSERT_NO_FATAL_FAILURE(replica.start());
  Client m = master.connect();
  Client r = replica.connect();

  // Before REPLICAOF both are masters.
  auto before = role(r);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_TRUE(std::holds_alternative<MasterRole>(*before));

  auto attached = r.command({"REPLICAOF", "127.0.0.1", std::to_string(master.endpoint().port)}, 2s);
  ASSERT_TRUE(attached) << attached.error().message;
  ASSERT_EQ(attached->type, Reply::Type::Status) << attached->str;

  // The replica reports its link connected, in ROLE and in INFO, to the right master; the
  // master lists it.
  bool connected = eventually(
      [&] {
        auto rr = role(r);
        auto ri = info(r);
        auto mr = role(m);
        return rr && std::get<ReplicaRole>(*rr).state == LinkState::Connected && ri &&
               ri->master_link_up && mr && std::get<MasterRole>(*mr).replicas.size() == 1;
      },
      30s, 50ms);
  ASSERT_TRUE(connected);
  auto replica_role = role(r);
  ASSERT_TRUE(replica_role) << replica_role.error().message;
  const auto& rr = std::get<ReplicaRole>(*replica_role);
  EXPECT_EQ(rr.master_host, "127.0.0.1");
  EXPECT_EQ(rr.master_port, master.endpoint().port);
  ASSERT_TRUE(rr.offset.has_value());

  auto replica_info = info(r);
  ASSERT_TRUE(replica_info) << replica_info.error().message;
  EXPECT_EQ(replica_info->role, InfoReplication::Kind::Replica);
  EXPECT_EQ(replica_info->master_port, master.endpoint().port);

  auto master_role = role(m);
  ASSERT_TRUE(master_role) << master_role.error().message;
  const auto& mr = std::get<MasterRole>(*master_role);
  ASSERT_EQ(mr.replicas.size(), 1u);
  EXPECT_EQ(mr.replicas[0].ip, "127.0.0.1");
  EXPECT_EQ(mr.replicas[0].port, replica.endpoint().port);
  int64_t offset_before = mr.offset;

  auto master_info = info(m);
  ASSERT_TRUE(master_info) << master_info.error().message;
  EXPECT_EQ(master_info->role, InfoReplication::Kind::Master);
  EXPECT_EQ(master_info->connected_slaves, 1);
  ASSERT_EQ(master_info->slaves.size(), 1u);
  EXPECT_EQ(master_info->slaves[0].port, replica.endpoint().port);
  // Offsets only grow (the master also pings its replicas through the stream).
  EXPECT_GE(master_info->master_repl_offset, offset_before);

  // Writes advance the master's offset, and the replica catches up to it.
  for (int i = 0; i < 20; ++i) {
    auto set = m.command({"SET", "key" + std::to_string(i), std::string(100, 'v')}, 2s);
    ASSERT_TRUE(set) << set.error().message;
    ASSERT_EQ(set->type, Reply::Type::Status) << set->str;
  }
  auto after = role(m);
  ASSERT_TRUE(after) << after.error().message;
  int64_t offset_after = std::get<MasterRole>(*after).offset;
  EXPECT_GT(offset_after, offset_before + 20 * 100);

  bool caught_up = eventually(
      [&] {
        auto rr2 = role(r);
        auto ri2 = info(r);
        auto mr2 = role(m);
        return rr2 && ri2 && mr2 &&
               std::get<ReplicaRole>(*rr2).offset.value_or(-1) >= offset_after &&
               ri2->slave_repl_offset.value_or(-1) >= offset_after &&
               !std::get<MasterRole>(*mr2).replicas.empty() &&
               std::get<MasterRole>(*mr2).replicas[0].offset >= offset_after;
      },
      30s, 50ms);
  EXPECT_TRUE(caught_up);
}

TEST_F(RedisClientTest, ACallToAFrozenServerFailsByItsDeadline) {
  RedisServer server;
  ASSERT_NO_FATAL_FAILURE(server.start());
  Client client = server.connect();
  ASSERT_TRUE(client.command({"PING"}, 2s));

  ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
  constexpr auto kDeadline = 500ms;
  auto start = std::chrono::steady_clock::now();
  auto reply = client.command({"PING"}, kDeadline);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ::kill(server.pid(), SIGCONT);

  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::DeadlineExceeded) << reply.error().message;
  EXPECT_NE(reply.error().message.find(server.endpoint().hostPort()), std::string::npos)
      << reply.error().message;
  EXPECT_NE(reply.error().message.find("PING"), std::string::npos) << reply.error().message;
  EXPECT_GE(elapsed, kDeadline);
  EXPECT_LT(elapsed, kDeadline * 3 / 2);

  // The connection is out of step now (the PONG may still come): it refuses further calls.
  auto again = client.command({"PING"}, kDeadline);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::FailedPrecondition);
  EXPECT_TRUE(server.connect().command({"PING"}, 2s));
}

TEST_F(RedisClientTest, ARefusedConnectionIsUnavailableNamingTheEndpoint) {
  auto port = net::pickFreePort("127.0.0.1");
  ASSERT_TRUE(port) << port.error().message;
  net::Endpoint nobody{"127.0.0.1", *port};
  auto client = Client::connect(nobody, 1s);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::Unavailable) << client.error().message;
  EXPECT_NE(client.error().message.find("127.0.0.1:" + std::to_string(*port)), std::string::npos)
      << client.error().message;
}

// A loopback server that answers every connection with +PONG, one byte every `gap`: each read
// succeeds well within the deadline, only the whole reply takes longer.
class TricklingServer {
 public:
  explicit TricklingServer(std::chrono::milliseconds gap) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bool ok = ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(listener_, 1) == 0 &&
              ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    EXPECT_TRUE(ok);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this, gap](std::stop_token stop) {
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        return;
      }
      for (char c : std::string("+PONG\r\n")) {
        std::this_thread::sleep_for(gap);
        if (stop.stop_requested() || ::send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
          break;
        }
      }
      ::close(fd);
    });
  }
  ~TricklingServer() {
    thread_.request_stop();
    ::shutdown(listener_, SHUT_RDWR);  // wakes an accept() still waiting
    thread_ = {};
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::jthread thread_;
};

// The deadline bounds the whole call, not each read: a server that trickles its reply (7 bytes,
// 150 ms apart: 1.05 s) cannot stretch a 500 ms call.
TEST(RedisClientDeadlineTest, AServerTricklingItsReplyCannotStretchTheDeadline) {
  TricklingServer server(150ms);
  auto client = Client::connect(net::Endpoint{"127.0.0.1", server.port()}, 1s);
  ASSERT_TRUE(client) << client.error().message;
  constexpr auto kDeadline = 500ms;
  auto start = std::chrono::steady_clock::now();
  auto reply = client->command({"PING"}, kDeadline);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(reply) << "answered after " << toMillis(elapsed) << " ms";
  EXPECT_EQ(reply.error().code, ErrorCode::DeadlineExceeded) << reply.error().message;
  EXPECT_GE(elapsed, kDeadline);
  EXPECT_LT(elapsed, kDeadline * 3 / 2);
}

// A listener whose accept queue is full drops new SYNs, so connecting hangs as it does to a host
// that is gone: connect() must give up by its timeout.
TEST(RedisClientDeadlineTest, AConnectThatGetsNoAnswerFailsByItsTimeout) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  // Fill the accept queue (never accepted): a backlog of 0 holds one connection.
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  // The first one is in the queue once its handshake completed.
  pollfd first{fillers[0], POLLOUT, 0};
  ASSERT_EQ(::poll(&first, 1, 2000), 1);

  constexpr auto kTimeout = 300ms;
  net::Endpoint silent{"127.0.0.1", ntohs(addr.sin_port)};
  auto start = std::chrono::steady_clock::now();
  auto client = Client::connect(silent, kTimeout);
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (int fd : fillers) {
    ::close(fd);
  }
  ::close(listener);
  ASSERT_FALSE(client) << "connected in " << toMillis(elapsed) << " ms";
  EXPECT_EQ(client.error().code, ErrorCode::DeadlineExceeded) << client.error().message;
  EXPECT_NE(client.error().message.find(silent.hostPort()), std::string::npos)
      << client.error().message;
  EXPECT_GE(elapsed, kTimeout);
  EXPECT_LT(elapsed, kTimeout * 3 / 2);
}

TEST_F(RedisClientTest, ErrorRepliesAreValuesAndTheConnectionStaysUsable) {
  RedisServer server;
  ASSERT_NO_FATAL_FAILURE(server.start());
  Client client = server.connect();
  auto reply = client.command({"NOSUCHCOMMAND", "x"}, 2s);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_TRUE(reply->isError());
  EXPECT_EQ(reply->str.rfind("ERR unknown command", 0), 0u) << reply->str;
  // Binary-safe arguments and every reply type on one connection.
  std::string value("a\r\n\0b", 5);
  ASSERT_TRUE(client.command({"SET", "k", value}, 2s));
  auto got = client.command({"GET", "k"}, 2s);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, Reply::string(value));
  auto missing = client.command({"GET", "missing"}, 2s);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->type, Reply::Type::Nil);
  auto count = client.command({"INCR", "n"}, 2s);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, Reply::integerValue(1));
}

}  // namespace
}  // namespace rampart::redis
