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
  auto backend = runtime::spawn(runtime::SpawnOptions{
      {"ip", "netns", "exec", ns.name(), TEST_BACKEND, "--listen", "127.0.0.1:18080", "--name",
       "a", "--mode", "http"},
      dir.path() + "/backend.log"});
  ASSERT_TRUE(backend);
  auto lb = runtime::spawn(runtime::SpawnOptions{
      {"ip", "netns", "exec", ns.name(), RAMPART_BINARY, "lb", "--vs", "10.200.0.1:8080", "--rs",
       "127.0.0.1:18080", "--health-schem", "tcp", "--iface", "lo", "--admin",
       "127.0.0.1:19090"},
      dir.path() + "/lb.log"});
  ASSERT_TRUE(lb);
  Reaper reaper{{*lb, *backend}};

  std::string body;
  for (int i = 0; i < 100 && body != "a"; ++i) {
    std::this_thread::sleep_for(50ms);
    body = runIn(ns.name(), {"curl", "-s", "--max-time", "1", "http://10.200.0.1:8080/"})
               .output;
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

TEST(KernelMode, NftablesSpreadsOverUsableBackendsAndTheTableGoesOnExit) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to create a network namespace";
  }
  testing::TempDir dir;
  NetNs ns("rampart-nft-" + std::to_string(::getpid()));
  ASSERT_TRUE(ns.ok());
  std::vector<pid_t> backends;
  for (std::string name : {"a", "b"}) {
    auto pid = runtime::spawn(runtime::SpawnOptions{
        {"ip", "netns", "exec", ns.name(), TEST_BACKEND, "--listen",
         std::string("127.0.0.1:1808") + (name == "a" ? "1" : "2"), "--name", name, "--mode",
         "http"},
        dir.path() + "/" + name + ".log"});
    ASSERT_TRUE(pid);
    backends.push_back(*pid);
  }
  auto lb = runtime::spawn(runtime::SpawnOptions{
      {"ip", "netns", "exec", ns.name(), RAMPART_BINARY, "lb", "--mode", "kernel", "--vs",
       "10.200.0.5:80", "--rs", "127.0.0.1:18081", "--rs", "127.0.0.1:18082", "--iface", "lo",
       "--health-schem", "http", "--interval", "100ms", "--admin", "127.0.0.1:19090"},
      dir.path() + "/lb.log"});
  ASSERT_TRUE(lb);
  Reaper reaper{{*lb, backends[0], backends[1]}};
  auto served = [&](int n) {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) {
      seen.insert(runIn(ns.name(), {"curl", "-s", "--max-time", "1", "http://10.200.0.5/"})
                      .output);
    }
    return seen;
  };
  std::set<std::string> both{"a", "b"};
  bool spread = false;
  for (int i = 0; i < 50 && !spread; ++i) {
    spread = served(4) == both;
    if (!spread) {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(spread) << testing::readWholeFile(dir.path() + "/lb.log");
  auto table = runIn(ns.name(), {"nft", "list", "table", "ip", "rampart_lb"});
  EXPECT_NE(table.output.find("numgen inc mod 2"), std::string::npos) << table.output;

  runtime::terminate(backends[1], 2s);
  bool only_a = false;
  for (int i = 0; i < 50 && !only_a; ++i) {
    std::this_thread::sleep_for(50ms);
    only_a = served(4) == std::set<std::string>{"a"};
  }
  EXPECT_TRUE(only_a) << "the dead backend leaves the DNAT map";

  ASSERT_EQ(::kill(*lb, SIGTERM), 0);
  ASSERT_TRUE(runtime::waitExit(*lb, 5s));
  reaper.pids = {backends[0]};
  auto after = runIn(ns.name(), {"nft", "list", "table", "ip", "rampart_lb"});
  EXPECT_NE(after.exit_code, 0) << "the table is removed on exit: " << after.output;
}

}  // namespace
}  // namespace rampart
