// Pod networking (agent/podnet) against the real kernel, root only. Two "nodes" are network
// namespaces this test creates, joined by a veth pair (192.168.250.1 and .2, inside them only);
// the code under test runs on a thread that has setns()ed into its node's namespace, as the
// agent runs inside its node in the lab. Nothing is created in, or changed about, the host's
// namespace: the test checks that the host's ip_forward is what it was.

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/podnet/names.h"
#include "agent/podnet/pod_network.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::agent::podnet {
namespace {

using namespace std::chrono_literals;

runtime::CommandResult run(std::vector<std::string> argv) {
  return runtime::runCommand(std::move(argv), 10s);
}

// Runs `fn` on a thread that is inside the named network namespace `netns`. `fn` does not run
// at all when the thread could not enter it, so the code under test never acts on the host's
// namespace by mistake. Returns whether it ran.
bool inNetns(const std::string& netns, const std::function<void()>& fn) {
  bool entered = false;
  std::thread thread([&] {
    int fd = ::open((std::string(kNetnsDir) + "/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return;
    }
    entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) {
      fn();
    }
  });
  thread.join();
  return entered;
}

std::string readFile(const std::string& path) { return testing::readWholeFile(path); }

nlohmann::json nodeObject(const std::string& name, const std::string& cidr, const std::string& ip) {
  return {{"metadata", {{"name", name}}},
          {"spec", {{"podCIDR", cidr}}},
          {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}};
}

// Ends the processes a test started, also when an assertion returns early.
struct Reaper {
  std::vector<pid_t> pids;
  void stop() {
    for (auto pid : pids) {
      runtime::terminate(pid, 2s);
    }
    pids.clear();
  }
  ~Reaper() { stop(); }
};

// Two nodes, a and b, as namespaces joined by a veth pair; names unique per test (pid and a
// counter), all removed in TearDown with every pod namespace of theirs.
class PodNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root for network namespaces";
    }
    host_forwarding_ = readFile("/proc/sys/net/ipv4/ip_forward");
    static std::atomic<int> counter{0};
    std::string id = std::to_string(::getpid()) + "-" + std::to_string(counter++);
    node_a_ = "pn" + id + "-a";
    node_b_ = "pn" + id + "-b";
    ns_a_ = "rampart-test-" + node_a_;
    ns_b_ = "rampart-test-" + node_b_;
    for (const auto& ns : {ns_a_, ns_b_}) {
      auto added = run({"ip", "netns", "add", ns});
      ASSERT_EQ(added.exit_code, 0) << added.output;
      created_.push_back(ns);
    }
    // The link between the nodes is created inside a with its peer in b: never in the host.
    std::vector<std::vector<std::string>> steps = {
        {"ip", "-n", ns_a_, "link", "add", "node0", "type", "veth", "peer", "name", "node0",
         "netns", ns_b_},
        {"ip", "-n", ns_a_, "addr", "add", "192.168.250.1/24", "dev", "node0"},
        {"ip", "-n", ns_b_, "addr", "add", "192.168.250.2/24", "dev", "node0"},
        {"ip", "-n", ns_a_, "link", "set", "node0", "up"},
        {"ip", "-n", ns_b_, "link", "set", "node0", "up"},
        {"ip", "-n", ns_a_, "link", "set", "lo", "up"},
        {"ip", "-n", ns_b_, "link", "set", "lo", "up"}};
    for (const auto& step : steps) {
      auto r = run(step);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    nodes_ = {nodeObject(node_a_, "10.64.1.0/24", "192.168.250.1"),
              nodeObject(node_b_, "10.64.2.0/24", "192.168.250.2")};
  }

  void TearDown() override {
    if (node_a_.empty()) {
      return;  // skipped before anything was made
    }
    reaper_.stop();
    net_a_.reset();
    net_b_.reset();
    // Every pod namespace of either node (also those an assertion left behind), then the nodes
    // (which takes their bridges, veths and routes with them).
    std::error_code ec;
    for (const auto& node : {node_a_, node_b_}) {
      auto prefix = defaultNetnsPrefix(node);
      for (std::filesystem::directory_iterator it(kNetnsDir, ec), end; !ec && it != end;
           it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.rfind(prefix, 0) == 0) {
          run({"ip", "netns", "del", name});
        }
      }
    }
    for (const auto& ns : created_) {
      run({"ip", "netns", "del", ns});
    }
    if (!host_forwarding_.empty()) {
      EXPECT_EQ(readFile("/proc/sys/net/ipv4/ip_forward"), host_forwarding_)
          << "the host's forwarding switch is not the test's to change";
    }
  }

  Config configOf(const std::string& node, const std::string& cidr) {
    Config config;
    config.node_name = node;
    config.pod_cidr = cidr;
    return config;
  }

  // PodNetwork::create inside node a (b).
  std::unique_ptr<PodNetwork> createIn(const std::string& ns, Config config) {
    std::unique_ptr<PodNetwork> network;
    EXPECT_TRUE(inNetns(ns, [&] {
      auto created = PodNetwork::create(config);
      ASSERT_TRUE(created) << created.error().toString();
      network = std::move(*created);
    }));
    return network;
  }

  // attach inside `ns`; prints how long it took (the target is < 50 ms; not asserted).
  std::optional<PodNet> attachIn(const std::string& ns, PodNetwork& network,
                                 const std::string& uid) {
    std::optional<PodNet> pod;
    EXPECT_TRUE(inNetns(ns, [&] {
      auto start = std::chrono::steady_clock::now();
      auto attached = network.attach(uid);
      auto took = std::chrono::steady_clock::now() - start;
      ASSERT_TRUE(attached) << attached.error().toString();
      std::printf("attach %s: %.1f ms\n", uid.c_str(), toMillis(took));
      pod = *attached;
    }));
    return pod;
  }

  // A listener answering its name over HTTP at ip:port inside the namespace.
  void serve(const std::string& ns, const std::string& ip, int port, const std::string& name) {
    auto pid = runtime::spawn(
        runtime::SpawnOptions{{"ip", "netns", "exec", ns, TEST_BACKEND, "--listen",
                               ip + ":" + std::to_string(port), "--name", name, "--mode", "http"},
                              dir_.path() + "/" + name + ".log"});
    ASSERT_TRUE(pid) << pid.error().toString();
    reaper_.pids.push_back(*pid);
  }

  // What `from` (a namespace) gets from http://ip:port/, retried for a while: a listener
  // that has only just started, or a first ARP round, is not a failure.
  std::string fetchFrom(const std::string& from, const std::string& ip, int port,
                        const std::string& expect) {
    std::string body;
    testing::eventually(
        [&] {
          body = run({"ip", "netns", "exec", from, "curl", "-s", "--max-time", "1",
                      "http://" + ip + ":" + std::to_string(port) + "/"})
                     .output;
          return body == expect;
        },
        5s, 50ms);
    return body;
  }

  std::string routesOf(const std::string& ns) {
    return run({"ip", "-n", ns, "-4", "route", "show"}).output;
  }

  // The namespace's routes, one per line, without trailing blanks.
  std::set<std::string> routeLines(const std::string& ns) {
    std::set<std::string> lines;
    std::istringstream text(routesOf(ns));
    for (std::string line; std::getline(text, line);) {
      while (!line.empty() && line.back() == ' ') {
        line.pop_back();
      }
      lines.insert(line);
    }
    return lines;
  }

  std::string host_forwarding_;
  std::string node_a_, node_b_, ns_a_, ns_b_;
  std::vector<std::string> created_;
  std::vector<nlohmann::json> nodes_;
  std::unique_ptr<PodNetwork> net_a_, net_b_;
  testing::TempDir dir_;
  Reaper reaper_;
};

constexpr const char* kPodA1 = "a1a1a1a1-0000-4000-8000-000000000001";
constexpr const char* kPodA2 = "a2a2a2a2-0000-4000-8000-000000000002";
constexpr const char* kPodA3 = "a3a3a3a3-0000-4000-8000-000000000003";
constexpr const char* kPodB1 = "b1b1b1b1-0000-4000-8000-000000000001";

TEST_F(PodNetworkTest, APodReachesPodsOnItsNodeAndTheOtherNodeAndTheOtherNodesAddress) {
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/24"));
  net_b_ = createIn(ns_b_, configOf(node_b_, "10.64.2.0/24"));
  ASSERT_TRUE(net_a_ && net_b_);
  auto a1 = attachIn(ns_a_, *net_a_, kPodA1);
  auto a2 = attachIn(ns_a_, *net_a_, kPodA2);
  auto b1 = attachIn(ns_b_, *net_b_, kPodB1);
  ASSERT_TRUE(a1 && a2 && b1);
  EXPECT_EQ(a1->ip, "10.64.1.2");
  EXPECT_EQ(a2->ip, "10.64.1.3");
  EXPECT_EQ(b1->ip, "10.64.2.2");
  EXPECT_EQ(a1->gateway, "10.64.1.1");
  EXPECT_EQ(a1->netns_path, std::string(kNetnsDir) + "/" + a1->netns_name);
  auto addr = run({"ip", "-n", a1->netns_name, "-4", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_NE(addr.output.find("10.64.1.2/24"), std::string::npos) << addr.output;
  EXPECT_NE(routesOf(a1->netns_name).find("default via 10.64.1.1 dev eth0"), std::string::npos);
  for (const auto& [ns, net] : {std::pair{ns_a_, net_a_.get()}, std::pair{ns_b_, net_b_.get()}}) {
    auto name = net->config().node_name;
    ASSERT_TRUE(inNetns(ns, [&] {
      auto synced = net->syncRoutes(desiredRoutes(name, nodes_));
      ASSERT_TRUE(synced) << synced.error().toString();
      EXPECT_EQ(synced->plan.add.size(), 1u);
    }));
    EXPECT_EQ(run({"ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"}).output, "1");
  }

  serve(a2->netns_name, a2->ip, 8080, "pod-a2");
  serve(b1->netns_name, b1->ip, 8080, "pod-b1");
  serve(ns_b_, "192.168.250.2", 8081, "node-b");
  EXPECT_EQ(fetchFrom(a1->netns_name, a2->ip, 8080, "pod-a2"), "pod-a2") << "same node";
  EXPECT_EQ(fetchFrom(a1->netns_name, b1->ip, 8080, "pod-b1"), "pod-b1") << "across nodes";
  EXPECT_EQ(fetchFrom(a1->netns_name, "192.168.250.2", 8081, "node-b"), "node-b")
      << "the other node's own address";
}

TEST_F(PodNetworkTest, DetachRemovesTheNamespaceAndTheVethAndIsIdempotent) {
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/24"));
  ASSERT_TRUE(net_a_);
  auto pod = attachIn(ns_a_, *net_a_, kPodA1);
  ASSERT_TRUE(pod);
  EXPECT_TRUE(std::filesystem::exists(pod->netns_path));
  auto veth = run({"ip", "-n", ns_a_, "-o", "link", "show", "dev", pod->host_veth});
  ASSERT_EQ(veth.exit_code, 0) << veth.output;
  EXPECT_NE(veth.output.find("master rampart0"), std::string::npos) << veth.output;
  auto again = attachIn(ns_a_, *net_a_, kPodA1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ip, pod->ip) << "attach of an attached pod answers the same";

  ASSERT_TRUE(inNetns(ns_a_, [&] {
    auto detached = net_a_->detach(kPodA1);
    EXPECT_TRUE(detached) << detached.error().toString();
    auto twice = net_a_->detach(kPodA1);
    EXPECT_TRUE(twice) << twice.error().toString();
    auto never = net_a_->detach(kPodA2);
    EXPECT_TRUE(never) << "a pod that was never attached: " << never.error().toString();
  }));
  EXPECT_FALSE(std::filesystem::exists(pod->netns_path));
  EXPECT_NE(run({"ip", "-n", ns_a_, "link", "show", "dev", pod->host_veth}).exit_code, 0);
  EXPECT_FALSE(net_a_->find(kPodA1));
  auto next = attachIn(ns_a_, *net_a_, kPodA2);
  ASSERT_TRUE(next);
  EXPECT_NE(next->ip, pod->ip) << "a detached pod's address is not the next one handed out";
}

TEST_F(PodNetworkTest, ARestartedAgentRecoversEveryPodsAddressAndRemovesHalfBuiltOnes) {
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/24"));
  ASSERT_TRUE(net_a_);
  auto a1 = attachIn(ns_a_, *net_a_, kPodA1);
  auto a2 = attachIn(ns_a_, *net_a_, kPodA2);
  ASSERT_TRUE(a1 && a2);
  // An attach that died after `ip netns add`: a namespace of ours without eth0.
  std::string half = podNetnsName(defaultNetnsPrefix(node_a_), "dead0000-0000");
  ASSERT_EQ(run({"ip", "netns", "add", half}).exit_code, 0);
  // The agent goes away (the pods stay) and comes back.
  net_a_.reset();
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/24"));
  ASSERT_TRUE(net_a_);
  auto pods = net_a_->pods();
  ASSERT_EQ(pods.size(), 2u);
  auto r1 = net_a_->find(kPodA1);
  auto r2 = net_a_->find(kPodA2);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->ip, a1->ip);
  EXPECT_EQ(r2->ip, a2->ip);
  EXPECT_EQ(r1->netns_path, a1->netns_path);
  EXPECT_EQ(r1->host_veth, a1->host_veth);
  EXPECT_FALSE(std::filesystem::exists(std::string(kNetnsDir) + "/" + half));
  auto a3 = attachIn(ns_a_, *net_a_, kPodA3);
  ASSERT_TRUE(a3);
  EXPECT_NE(a3->ip, a1->ip);
  EXPECT_NE(a3->ip, a2->ip);
  auto same = attachIn(ns_a_, *net_a_, kPodA1);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->ip, a1->ip) << "a recovered pod is attached already";
}

TEST_F(PodNetworkTest, AFailedAttachLeavesNothingBehindAndHoldsNoAddress) {
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/30"));  // one pod address: .2
  ASSERT_TRUE(net_a_);
  // The bridge goes away under the agent: the veth cannot join it, half way through attach.
  ASSERT_EQ(run({"ip", "-n", ns_a_, "link", "del", "rampart0"}).exit_code, 0);
  ASSERT_TRUE(inNetns(ns_a_, [&] {
    auto attached = net_a_->attach(kPodA1);
    ASSERT_FALSE(attached);
    EXPECT_NE(attached.error().message.find("rampart0"), std::string::npos)
        << attached.error().toString();
  }));
  EXPECT_FALSE(std::filesystem::exists(std::string(kNetnsDir) + "/" +
                                       podNetnsName(defaultNetnsPrefix(node_a_), kPodA1)));
  EXPECT_NE(run({"ip", "-n", ns_a_, "link", "show", "dev", hostVethName(kPodA1)}).exit_code, 0);
  EXPECT_FALSE(net_a_->find(kPodA1));

  ASSERT_EQ(run({"ip", "-n", ns_a_, "link", "add", "rampart0", "type", "bridge"}).exit_code, 0);
  ASSERT_EQ(run({"ip", "-n", ns_a_, "link", "set", "rampart0", "up"}).exit_code, 0);
  auto a2 = attachIn(ns_a_, *net_a_, kPodA2);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->ip, "10.64.1.2") << "the failed attach gave its address back";
  ASSERT_TRUE(inNetns(ns_a_, [&] {
    auto full = net_a_->attach(kPodA3);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, ErrorCode::FailedPrecondition) << full.error().toString();
  }));
  EXPECT_FALSE(std::filesystem::exists(std::string(kNetnsDir) + "/" +
                                       podNetnsName(defaultNetnsPrefix(node_a_), kPodA3)))
      << "a refused pod gets no namespace";
}

TEST_F(PodNetworkTest, RecoverForgetsAPodWhoseNamespaceWasRemovedAndFreesItsAddress) {
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/30"));  // one pod address
  ASSERT_TRUE(net_a_);
  auto a1 = attachIn(ns_a_, *net_a_, kPodA1);
  ASSERT_TRUE(a1);
  ASSERT_EQ(run({"ip", "netns", "del", a1->netns_name}).exit_code, 0);
  ASSERT_TRUE(inNetns(ns_a_, [&] {
    auto pods = net_a_->recover();
    ASSERT_TRUE(pods) << pods.error().toString();
    EXPECT_TRUE(pods->empty());
  }));
  EXPECT_FALSE(net_a_->find(kPodA1));
  auto a2 = attachIn(ns_a_, *net_a_, kPodA2);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->ip, a1->ip) << "the only address is free again";
}

TEST_F(PodNetworkTest, SyncRoutesFollowsTheNodesAndLeavesRoutesItDidNotInstallAlone) {
  net_a_ = createIn(ns_a_, configOf(node_a_, "10.64.1.0/24"));
  ASSERT_TRUE(net_a_);
  // Someone else's routes: an unrelated one, and one on a range a node will claim.
  ASSERT_EQ(
      run({"ip", "-n", ns_a_, "route", "add", "10.99.0.0/24", "via", "192.168.250.2"}).exit_code,
      0);
  ASSERT_EQ(
      run({"ip", "-n", ns_a_, "route", "add", "10.64.7.0/24", "via", "192.168.250.2"}).exit_code,
      0);
  auto nodes = nodes_;
  nodes.push_back(nodeObject("c", "10.64.3.0/24", "192.168.250.3"));
  nodes.push_back(nodeObject("d", "10.64.7.0/24", "192.168.250.4"));
  auto sync = [&](const std::vector<nlohmann::json>& view) {
    std::optional<RouteSyncReport> report;
    EXPECT_TRUE(inNetns(ns_a_, [&] {
      auto synced = net_a_->syncRoutes(desiredRoutes(node_a_, view));
      ASSERT_TRUE(synced) << synced.error().toString();
      report = *synced;
    }));
    return report;
  };
  auto first = sync(nodes);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->plan.add.size(), 2u);
  ASSERT_EQ(first->plan.conflicts.size(), 1u);
  EXPECT_EQ(first->plan.conflicts[0].node, "d");
  auto routes = routeLines(ns_a_);
  EXPECT_TRUE(routes.count("10.64.2.0/24 via 192.168.250.2 dev node0 proto 147"))
      << routesOf(ns_a_);
  EXPECT_TRUE(routes.count("10.64.3.0/24 via 192.168.250.3 dev node0 proto 147"))
      << routesOf(ns_a_);
  auto unchanged = sync(nodes);
  ASSERT_TRUE(unchanged);
  EXPECT_TRUE(unchanged->plan.empty()) << "nothing to do the second time";

  // c goes away, b moves to another address.
  nodes = {nodeObject(node_a_, "10.64.1.0/24", "192.168.250.1"),
           nodeObject(node_b_, "10.64.2.0/24", "192.168.250.5"),
           nodeObject("d", "10.64.7.0/24", "192.168.250.4")};
  auto second = sync(nodes);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->plan.remove, (std::vector<std::string>{"10.64.3.0/24"}));
  EXPECT_EQ(second->plan.replace.size(), 1u);
  routes = routeLines(ns_a_);
  EXPECT_EQ(routesOf(ns_a_).find("10.64.3.0/24"), std::string::npos) << routesOf(ns_a_);
  EXPECT_TRUE(routes.count("10.64.2.0/24 via 192.168.250.5 dev node0 proto 147"))
      << routesOf(ns_a_);
  EXPECT_TRUE(routes.count("10.99.0.0/24 via 192.168.250.2 dev node0"))
      << "an unrelated route stays: " << routesOf(ns_a_);
  EXPECT_TRUE(routes.count("10.64.7.0/24 via 192.168.250.2 dev node0"))
      << "a route someone else installed on a node's range is not overwritten: " << routesOf(ns_a_);
}

TEST_F(PodNetworkTest, WithoutNetAdminCreateRefusesWithAClearMessage) {
  std::optional<Error> error;
  // Capabilities are per thread: this one lowers its own effective set, nobody else's.
  ASSERT_TRUE(inNetns(ns_a_, [&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    ASSERT_EQ(::syscall(SYS_capget, &header, data), 0);
    data[0].effective = 0;
    data[1].effective = 0;
    ASSERT_EQ(::syscall(SYS_capset, &header, data), 0);
    auto created = PodNetwork::create(configOf(node_a_, "10.64.1.0/24"));
    ASSERT_FALSE(created);
    error = created.error();
  }));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, ErrorCode::PermissionDenied);
  EXPECT_NE(error->message.find(
                "rampart agent needs root (CAP_NET_ADMIN) to give pods their own network"),
            std::string::npos)
      << error->message;
  EXPECT_EQ(run({"ip", "-n", ns_a_, "link", "show", "dev", "rampart0"}).exit_code, 1)
      << "no bridge was made";
}

}  // namespace
}  // namespace rampart::agent::podnet
