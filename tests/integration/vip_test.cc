// The VIP as lvscare's link mode does it, inside a network namespace the test creates (root only):
// the listen address is added to an interface (here the namespace's loopback: the test kernel
// has no dummy interfaces), serves, and is removed again on exit.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "lb_fixture.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

runtime::CommandResult runIn(const std::string& netns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", netns});
  return runtime::runCommand(std::move(argv), 10s);
}

// Ends the processes a test started, also when an assertion returns early.
struct Reaper {
  std::vector<pid_t> pids;
  ~Reaper() {
    for (auto p : pids) {
      runtime::terminate(p, 2s);
    }
  }
};

// A network namespace that exists for the test's lifetime only.
class NetNs {
 public:
  explicit NetNs(std::string name) : name_(std::move(name)) {
    ok_ = std::system(("ip netns add " + name_ + " 2>/dev/null").c_str()) == 0 &&
          std::system(("ip netns exec " + name_ + " ip link set lo up").c_str()) == 0;
  }
  ~NetNs() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

TEST(Vip, TheVipIsAddedForTheLbsLifetimeAndRemovedOnExit) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to create a network namespace";
  }
  testing::TempDir dir;
  NetNs ns("rampart-vip-" + std::to_string(::getpid()));
  ASSERT_TRUE(ns.ok());
  auto backend = runtime::spawn(
      runtime::SpawnOptions{{"ip", "netns", "exec", ns.name(), TEST_BACKEND, "--listen",
                             "127.0.0.1:18080", "--name", "a", "--mode", "http"},
                            dir.path() + "/backend.log"});
  ASSERT_TRUE(backend);
  auto lb = runtime::spawn(runtime::SpawnOptions{
      {"ip", "netns", "exec", ns.name(), RAMPART_BINARY, "lb", "--vs", "10.200.0.1:8080", "--rs",
       "127.0.0.1:18080", "--health-schem", "tcp", "--iface", "lo", "--admin", "127.0.0.1:19090"},
      dir.path() + "/lb.log"});
  ASSERT_TRUE(lb);
  Reaper reaper{{*lb, *backend}};

  std::string body;
  for (int i = 0; i < 100 && body != "a"; ++i) {
    std::this_thread::sleep_for(50ms);
    body = runIn(ns.name(), {"curl", "-s", "--max-time", "1", "http://10.200.0.1:8080/"}).output;
  }
  ASSERT_EQ(body, "a") << testing::readWholeFile(dir.path() + "/lb.log");
  auto addr = runIn(ns.name(), {"ip", "-o", "addr", "show", "dev", "lo"});
  EXPECT_NE(addr.output.find("10.200.0.1/32"), std::string::npos) << addr.output;

  ASSERT_EQ(::kill(*lb, SIGTERM), 0);
  auto status = runtime::waitExit(*lb, 5s);
  ASSERT_TRUE(status);
  reaper.pids = {*backend};
  auto after = runIn(ns.name(), {"ip", "-o", "addr", "show", "dev", "lo"});
  EXPECT_EQ(after.output.find("10.200.0.1"), std::string::npos) << after.output;
  EXPECT_NE(after.output.find("127.0.0.1"), std::string::npos) << "only the VIP is removed";
}

// Kernel mode inside a namespace of its own: backends a (127.0.0.1:18081) and b (:18082) behind
// the VIP 10.200.0.5:80, checked over HTTP every 100 ms.
class KernelMode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root to create a network namespace";
    }
    ASSERT_TRUE(ns_.ok());
    for (std::string name : {"a", "b"}) {
      auto pid = runtime::spawn(
          runtime::SpawnOptions{{"ip", "netns", "exec", ns_.name(), TEST_BACKEND, "--listen",
                                 std::string("127.0.0.1:1808") + (name == "a" ? "1" : "2"),
                                 "--name", name, "--mode", "http"},
                                dir_.path() + "/" + name + ".log"});
      ASSERT_TRUE(pid);
      reaper_.pids.push_back(*pid);
      backends_.push_back(*pid);
    }
    auto lb = runtime::spawn(runtime::SpawnOptions{{"ip",
                                                    "netns",
                                                    "exec",
                                                    ns_.name(),
                                                    RAMPART_BINARY,
                                                    "lb",
                                                    "--mode",
                                                    "kernel",
                                                    "--vs",
                                                    "10.200.0.5:80",
                                                    "--rs",
                                                    "127.0.0.1:18081",
                                                    "--rs",
                                                    "127.0.0.1:18082",
                                                    "--iface",
                                                    "lo",
                                                    "--health-schem",
                                                    "http",
                                                    "--interval",
                                                    "100ms",
                                                    "--admin",
                                                    "127.0.0.1:19090"},
                                                   dir_.path() + "/lb.log"});
    ASSERT_TRUE(lb);
    lb_ = *lb;
    reaper_.pids.push_back(lb_);
    bool spread = false;
    for (int i = 0; i < 50 && !spread; ++i) {
      spread = served(4) == std::set<std::string>{"a", "b"};
      if (!spread) {
        std::this_thread::sleep_for(50ms);
      }
    }
    ASSERT_TRUE(spread) << testing::readWholeFile(dir_.path() + "/lb.log");
  }

  // The backends that answered n requests through the VIP.
  std::set<std::string> served(int n) {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) {
      seen.insert(
          runIn(ns_.name(), {"curl", "-s", "--max-time", "1", "http://10.200.0.5/"}).output);
    }
    return seen;
  }

  // Tracked flows from the VIP to the backend on `port`: one "dport=80" (the original
  // direction) per conntrack entry listed.
  int trackedFlowsTo(int port) {
    auto r = runIn(ns_.name(), {"conntrack", "-L", "-p", "tcp", "--orig-dst", "10.200.0.5",
                                "--reply-port-src", std::to_string(port)});
    int count = 0;
    for (auto at = r.output.find("dport=80"); at != std::string::npos;
         at = r.output.find("dport=80", at + 1)) {
      ++count;
    }
    return count;
  }

  testing::TempDir dir_;
  NetNs ns_{"rampart-nft-" + std::to_string(::getpid())};
  Reaper reaper_;
  std::vector<pid_t> backends_;  // a, b
  pid_t lb_ = 0;
};

TEST_F(KernelMode, NftablesSpreadsOverUsableBackendsAndTheTableGoesOnExit) {
  auto table = runIn(ns_.name(), {"nft", "list", "table", "ip", "rampart_lb"});
  EXPECT_NE(table.output.find("numgen inc mod 2"), std::string::npos) << table.output;

  runtime::terminate(backends_[1], 2s);
  bool only_a = false;
  for (int i = 0; i < 50 && !only_a; ++i) {
    std::this_thread::sleep_for(50ms);
    only_a = served(4) == std::set<std::string>{"a"};
  }
  EXPECT_TRUE(only_a) << "the dead backend leaves the DNAT map";

  ASSERT_EQ(::kill(lb_, SIGTERM), 0);
  ASSERT_TRUE(runtime::waitExit(lb_, 5s));
  auto after = runIn(ns_.name(), {"nft", "list", "table", "ip", "rampart_lb"});
  EXPECT_NE(after.exit_code, 0) << "the table is removed on exit: " << after.output;
}

TEST_F(KernelMode, FlowsPinnedToARemovedBackendAreFlushedFromConntrack) {
  // Idle connections through the VIP (each held open for 20 s by one process, which the reaper
  // ends, so nothing keeps the namespace alive after the test): numgen spreads them, so
  // both backends hold some, and conntrack pins each to its backend.
  for (int i = 0; i < 6; ++i) {
    auto holder =
        runtime::spawn(runtime::SpawnOptions{{"ip", "netns", "exec", ns_.name(), "bash", "-c",
                                              "exec 3<>/dev/tcp/10.200.0.5/80; exec sleep 20"},
                                             dir_.path() + "/holder.log"});
    ASSERT_TRUE(holder);
    reaper_.pids.push_back(*holder);
  }
  bool both_tracked = false;
  for (int i = 0; i < 50 && !both_tracked; ++i) {
    std::this_thread::sleep_for(50ms);
    both_tracked = trackedFlowsTo(18081) > 0 && trackedFlowsTo(18082) > 0;
  }
  ASSERT_TRUE(both_tracked) << "flows to a: " << trackedFlowsTo(18081)
                            << ", to b: " << trackedFlowsTo(18082);

  // b stops answering but its sockets stay: without the flush its flows would stay pinned to it.
  ASSERT_EQ(::kill(backends_[1], SIGSTOP), 0);
  bool flushed = false;
  for (int i = 0; i < 60 && !flushed; ++i) {
    std::this_thread::sleep_for(50ms);
    flushed = trackedFlowsTo(18082) == 0;
  }
  ::kill(backends_[1], SIGCONT);
  EXPECT_TRUE(flushed) << trackedFlowsTo(18082) << " flows still pinned to b\n"
                       << testing::readWholeFile(dir_.path() + "/lb.log");
  EXPECT_GT(trackedFlowsTo(18081), 0) << "flows to the healthy backend are left alone";
}

// A listening socket on the caller's loopback, made before the spawn, served by an lb that
// runs inside a namespace of its own (systemd's socket activation): the way `rampart up` gives
// kubectl on the host a door into the lab network without touching the host's namespace.
TEST(Vip, AnLbInAnotherNamespaceServesTheCallersLoopbackThroughAnInheritedSocket) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to create a network namespace";
  }
  testing::TempDir dir;
  NetNs ns("rampart-act-" + std::to_string(::getpid()));
  ASSERT_TRUE(ns.ok());
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 64), 0);
  socklen_t length = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  std::string port = std::to_string(ntohs(addr.sin_port));

  // The backend listens on the namespace's loopback only: the host cannot reach it directly.
  runtime::SpawnOptions backend_options{{TEST_BACKEND, "--listen", "127.0.0.1:18090", "--name",
                                         "inside", "--mode", "http"},
                                        dir.path() + "/backend.log"};
  backend_options.netns = "/run/netns/" + ns.name();
  auto backend = runtime::spawn(backend_options);
  ASSERT_TRUE(backend);
  runtime::SpawnOptions lb_options{{RAMPART_BINARY, "lb", "--vs", "127.0.0.1:" + port, "--rs",
                                    "127.0.0.1:18090", "--health-schem", "tcp", "--admin",
                                    "127.0.0.1:19091"},
                                   dir.path() + "/lb.log"};
  lb_options.netns = "/run/netns/" + ns.name();
  lb_options.listen_fds = {listener};
  auto lb = runtime::spawn(lb_options);
  ::close(listener);  // the lb holds it now: the port stays open only through the lb
  ASSERT_TRUE(lb);
  Reaper reaper{{*lb, *backend}};

  std::string body;
  for (int i = 0; i < 100 && body != "inside"; ++i) {
    std::this_thread::sleep_for(50ms);
    body = runtime::runCommand({"curl", "-s", "--max-time", "1", "http://127.0.0.1:" + port + "/"},
                               5s)
               .output;
  }
  EXPECT_EQ(body, "inside") << testing::readWholeFile(dir.path() + "/lb.log");
  // The lb itself runs in the lab namespace: its admin address is not on the host.
  auto host_admin = runtime::runCommand(
      {"curl", "-s", "--max-time", "1", "-o", "/dev/null", "http://127.0.0.1:19091/healthz"}, 5s);
  EXPECT_NE(host_admin.exit_code, 0) << "the admin server should be inside the namespace";
  auto inside_admin =
      runIn(ns.name(), {"curl", "-s", "--max-time", "1", "http://127.0.0.1:19091/healthz"});
  EXPECT_EQ(inside_admin.exit_code, 0) << inside_admin.output;
}

}  // namespace
}  // namespace rampart
