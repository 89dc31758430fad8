// redis::SentinelServer against a real Sentinel-aware client, Debian's python3-redis (redis-py):
// Sentinel.discover_master finds the snapshot's master, master_for writes to a real redis-server
// master through it, and a subscribed client receives +switch-master when the snapshot's master
// changes; plus the protocol on the wire (pipelining, subscribed mode, a protocol error, the
// client limit) with redis::Client and raw sockets. Skipped, saying why, without python3-redis or
// redis-server (scripts/setup.sh installs both).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "redis/client.h"
#include "redis/reply_reader.h"
#include "redis/sentinel_server.h"
#include "redis/server.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::redis {
namespace {

using namespace std::chrono_literals;
using rampart::testing::eventually;
using rampart::testing::readWholeFile;

// A blocking loopback connection for raw RESP bytes; every read bounded by SO_RCVTIMEO.
class RawSocket {
 public:
  explicit RawSocket(const net::Endpoint& e) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(e.port);
    ::inet_pton(AF_INET, e.host.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  explicit operator bool() const { return fd_ >= 0; }
  bool sendAll(std::string_view data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Up to `size` bytes; fewer when the peer closes or a read times out (2 s).
  std::string read(size_t size) {
    std::string in;
    char buf[4096];
    while (in.size() < size) {
      ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, size - in.size()), 0);
      if (n <= 0) {
        break;
      }
      in.append(buf, static_cast<size_t>(n));
    }
    return in;
  }
  // Everything until the peer closes (or a read times out, 2 s).
  std::string readUntilClosed() { return read(1 << 20); }

 private:
  int fd_ = -1;
};

// Debian's python3-redis is a module of Debian's own interpreter: not of a python3 that a
// version manager (pyenv) may put first in PATH.
constexpr const char* kPython = "/usr/bin/python3";

bool installed(std::vector<std::string> argv) {
  return runtime::runCommand(std::move(argv), 20s).exit_code == 0;
}

SentinelSnapshot snapshotOf(const net::Endpoint& master) {
  SentinelSnapshot s;
  s.master_name = "mymaster";
  s.master = SentinelAddress{master.host, master.port};
  s.master_run_id = "0123456789abcdef0123456789abcdef01234567";
  s.quorum = 2;
  return s;
}

class RedisSentinelTest : public ::testing::Test {
 protected:
  std::unique_ptr<Server> member(const std::string& name) {
    ServerConfig config;
    config.dir = dir_.path() + "/" + name;
    config.port = *net::pickFreePort("127.0.0.1");
    config.min_replicas_to_write = 0;  // a lone master: writable without replicas
    return std::make_unique<Server>(config);
  }

  std::unique_ptr<SentinelServer> sentinel(const SentinelSnapshot& snapshot,
                                           SentinelServerOptions options = {}) {
    auto server = SentinelServer::start(options, snapshot);
    EXPECT_TRUE(server) << server.error().message;
    return server ? std::move(*server) : nullptr;
  }

  // Runs a python3 script with the Sentinel's port as argv[1], at most `timeout`.
  runtime::CommandResult python(const std::string& script, const SentinelServer& s,
                                Duration timeout = 30s) {
    return runtime::runCommand({kPython, "-c", script, std::to_string(s.endpoint().port)}, timeout);
  }

  rampart::testing::TempDir dir_;
};

class RedisSentinelPythonTest : public RedisSentinelTest {
 protected:
  void SetUp() override {
    if (!installed({"redis-server", "--version"})) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
    if (!installed({kPython, "-c", "import redis.sentinel"})) {
      GTEST_SKIP() << "python3-redis is not installed (scripts/setup.sh installs it)";
    }
  }
};

TEST_F(RedisSentinelPythonTest, RedisPyDiscoversTheMasterAndWritesThroughIt) {
  auto a = member("a");
  ASSERT_TRUE(a->startAsMaster(20s));
  auto s = sentinel(snapshotOf(a->endpoint()));
  ASSERT_TRUE(s);
  auto result = python(R"(
import sys
from redis.sentinel import Sentinel
sentinel = Sentinel([('127.0.0.1', int(sys.argv[1]))], socket_timeout=2)
print('master', *sentinel.discover_master('mymaster'))
m = sentinel.master_for('mymaster', socket_timeout=2)
m.set('through-sentinel', 'yes')
print('wrote', m.get('through-sentinel').decode())
)",
                       *s);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("master 127.0.0.1 " + std::to_string(a->endpoint().port)),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("wrote yes"), std::string::npos) << result.output;
  // The write reached the real master.
  auto direct = Client::connect(a->endpoint(), 2s);
  ASSERT_TRUE(direct);
  auto value = direct->command({"GET", "through-sentinel"}, 2s);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->str, "yes");
}

TEST_F(RedisSentinelPythonTest, ASubscribedClientReceivesSwitchMasterWhenTheMasterChanges) {
  net::Endpoint old_master{"127.0.0.1", 7001};
  net::Endpoint new_master{"127.0.0.1", 7002};
  auto s = sentinel(snapshotOf(old_master));
  ASSERT_TRUE(s);
  std::string log = dir_.path() + "/subscriber.log";
  runtime::SpawnOptions options;
  options.argv = {kPython, "-u", "-c", R"(
import sys, time
import redis
r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), socket_timeout=5)
p = r.pubsub()
p.subscribe('+switch-master')
p.psubscribe('*')
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    m = p.get_message(timeout=1)
    if m is None:
        continue
    print(m['type'], m['channel'].decode(), m['data'] if isinstance(m['data'], int) else m['data'].decode(), flush=True)
    if m['type'] == 'pmessage':
        sys.exit(0)
sys.exit(1)
)",
                  std::to_string(s->endpoint().port)};
  options.log_file = log;
  auto pid = runtime::spawn(options);
  ASSERT_TRUE(pid) << pid.error().message;
  struct Reap {
    pid_t pid;
    ~Reap() { runtime::terminate(pid, 2s); }
  } reap{*pid};
  // Both subscriptions confirmed (the second with count 2) before the change.
  ASSERT_TRUE(eventually(
      [&] { return readWholeFile(log).find("psubscribe * 2") != std::string::npos; }, 20s, 20ms))
      << readWholeFile(log);
  auto same = snapshotOf(old_master);
  same.replicas.push_back({});
  s->update(same);  // no change of master: no event
  s->update(snapshotOf(new_master));
  auto exit = runtime::waitExit(*pid, 25s);
  ASSERT_TRUE(exit) << readWholeFile(log);
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << readWholeFile(log);
  std::string expected = "+switch-master mymaster 127.0.0.1 7001 127.0.0.1 7002";
  auto out = readWholeFile(log);
  EXPECT_NE(out.find("message " + expected), std::string::npos) << out;
  EXPECT_NE(out.find("pmessage " + expected), std::string::npos) << out;
  // The only message was the switch: the unchanged master published nothing.
  EXPECT_EQ(out.find("message"), out.find("message " + expected)) << out;
}

// The wire without python: requests pipelined in one write are answered in order; a subscribed
// connection refuses other commands; update() changes later answers.
TEST_F(RedisSentinelTest, PipelinedRequestsAreAnsweredInOrderFromTheLatestSnapshot) {
  auto s = sentinel(snapshotOf({"127.0.0.1", 7001}));
  ASSERT_TRUE(s);
  auto client = Client::connect(s->endpoint(), 2s);
  ASSERT_TRUE(client) << client.error().message;
  auto addr = client->command({"SENTINEL", "get-master-addr-by-name", "mymaster"}, 2s);
  ASSERT_TRUE(addr) << addr.error().message;
  EXPECT_EQ(*addr, Reply::array({Reply::string("127.0.0.1"), Reply::string("7001")}));
  s->update(snapshotOf({"127.0.0.1", 7002}));
  EXPECT_TRUE(eventually(
      [&] {
        auto now = client->command({"SENTINEL", "get-master-addr-by-name", "mymaster"}, 2s);
        return now && *now == Reply::array({Reply::string("127.0.0.1"), Reply::string("7002")});
      },
      5s));

  RawSocket raw(s->endpoint());
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw.sendAll("PING\r\n*1\r\n$4\r\nPING\r\nSUBSCRIBE x\r\nROLE\r\nPING\r\n"));
  std::string expected =
      "+PONG\r\n+PONG\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
      "-ERR Can't execute 'role': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
      "are allowed in this context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n";
  EXPECT_EQ(raw.read(expected.size()), expected);
}

TEST_F(RedisSentinelTest, AProtocolErrorIsAnsweredAndTheConnectionClosed) {
  auto s = sentinel(snapshotOf({"127.0.0.1", 7001}));
  ASSERT_TRUE(s);
  RawSocket raw(s->endpoint());
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw.sendAll("*1\r\n$x\r\n"));
  auto got = raw.readUntilClosed();
  EXPECT_EQ(got.rfind("-ERR Protocol error", 0), 0u) << got;
  // The server still serves others.
  auto client = Client::connect(s->endpoint(), 2s);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->command({"PING"}, 2s));
}

TEST_F(RedisSentinelTest, AnUnfinishedRequestBeyondTheInputLimitIsRefused) {
  SentinelServerOptions options;
  options.max_input_bytes = 1024;
  auto s = sentinel(snapshotOf({"127.0.0.1", 7001}), options);
  ASSERT_TRUE(s);
  RawSocket raw(s->endpoint());
  ASSERT_TRUE(raw);
  // Within the parser's own limits (a 100 kB bulk string), beyond the server's input limit.
  ASSERT_TRUE(raw.sendAll("*2\r\n$4\r\nPING\r\n$100000\r\n" + std::string(2048, 'x')));
  EXPECT_EQ(raw.readUntilClosed(), "-ERR Protocol error: too big request\r\n");
}

TEST_F(RedisSentinelTest, ClientsBeyondTheLimitAreRefused) {
  SentinelServerOptions options;
  options.max_clients = 1;
  auto s = sentinel(snapshotOf({"127.0.0.1", 7001}), options);
  ASSERT_TRUE(s);
  auto first = Client::connect(s->endpoint(), 2s);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->command({"PING"}, 2s));
  RawSocket second(s->endpoint());
  ASSERT_TRUE(second);
  EXPECT_EQ(second.readUntilClosed(), "-ERR max number of clients reached\r\n");
}

}  // namespace
}  // namespace rampart::redis
