// Service node ports through the real kubectl: two `rampart server`s over a 3-member etcd
// (kubectl_fixture.h), both started with --service-node-port-range 31000-31199, so that the
// flag is what decides the range. Ports are handed out in range, a requested one only once
// (Kubernetes' 422 wording), never twice under concurrent creates through both servers, and
// released by a type change to ClusterIP and by delete.

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "kubectl_fixture.h"

namespace rampart {
namespace {
using testing::KubectlTest;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class KubectlNodePortTest : public KubectlTest {
 protected:
  KubectlNodePortTest() { server_flags_ = {"--service-node-port-range", "31000-31199"}; }

  // The first port's nodePort, 0 when it has none.
  int nodePortOf(const std::string& service) {
    auto r = kubectl({"get", "svc", service, "-o", "jsonpath={.spec.ports[0].nodePort}"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.empty() ? 0 : std::atoi(r.output.c_str());
  }
};

TEST_F(KubectlNodePortTest, PortsComeFromTheRangeAndARequestedOneIsGivenOnlyOnce) {
  auto made = kubectl({"create", "service", "nodeport", "web", "--tcp=80:8080"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  int web = nodePortOf("web");
  EXPECT_GE(web, 31000);
  EXPECT_LE(web, 31199);
  auto table = kubectl({"get", "svc", "web"});
  EXPECT_TRUE(contains(table.output, "80:" + std::to_string(web) + "/TCP")) << table.output;
  EXPECT_TRUE(contains(table.output, "NodePort")) << table.output;

  auto fixed =
      kubectl({"create", "service", "nodeport", "fixed", "--tcp=80:8080", "--node-port=31050"});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_EQ(nodePortOf("fixed"), 31050);
  auto twice = kubectl(servers_[1].kubeconfig, {"create", "service", "nodeport", "fixed2",
                                                "--tcp=80:8080", "--node-port=31050"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_TRUE(contains(twice.output,
                       "Service \"fixed2\" is invalid: "
                       "spec.ports[0].nodePort: Invalid value: 31050: provided "
                       "port is already allocated"))
      << twice.output;
  auto outside =
      kubectl({"create", "service", "nodeport", "far", "--tcp=80:8080", "--node-port=30080"});
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_TRUE(contains(outside.output,
                       "spec.ports[0].nodePort: Invalid value: 30080: provided "
                       "port is not in the valid range. The range of valid "
                       "ports is 31000-31199"))
      << outside.output;

  // Deleting releases the port: it can be requested again, through the other server.
  ASSERT_EQ(kubectl({"delete", "svc", "fixed"}).exit_code, 0);
  auto reused = kubectl(servers_[1].kubeconfig, {"create", "service", "nodeport", "fixed2",
                                                 "--tcp=80:8080", "--node-port=31050"});
  EXPECT_EQ(reused.exit_code, 0) << reused.output;
  EXPECT_EQ(nodePortOf("fixed2"), 31050);
}

TEST_F(KubectlNodePortTest, TypeChangeToClusterIpReleasesThePortAndBackAllocatesAgain) {
  ASSERT_EQ(kubectl({"create", "service", "nodeport", "web", "--tcp=80:8080"}).exit_code, 0);
  int port = nodePortOf("web");
  ASSERT_NE(port, 0);
  // Other updates keep it.
  ASSERT_EQ(kubectl({"label", "svc", "web", "tier=front"}).exit_code, 0);
  EXPECT_EQ(nodePortOf("web"), port);

  auto to_cluster_ip = kubectl({"patch", "svc", "web", "-p", R"({"spec":{"type":"ClusterIP"}})"});
  ASSERT_EQ(to_cluster_ip.exit_code, 0) << to_cluster_ip.output;
  EXPECT_EQ(nodePortOf("web"), 0);
  auto table = kubectl({"get", "svc", "web"});
  EXPECT_TRUE(contains(table.output, "80/TCP")) << table.output;
  // Released: another Service may ask for it.
  auto taker =
      kubectl(servers_[1].kubeconfig, {"create", "service", "nodeport", "taker", "--tcp=80:8080",
                                       "--node-port=" + std::to_string(port)});
  ASSERT_EQ(taker.exit_code, 0) << taker.output;

  auto back = kubectl({"patch", "svc", "web", "-p", R"({"spec":{"type":"NodePort"}})"});
  ASSERT_EQ(back.exit_code, 0) << back.output;
  int fresh = nodePortOf("web");
  EXPECT_GE(fresh, 31000);
  EXPECT_LE(fresh, 31199);
  EXPECT_NE(fresh, port);
}

TEST_F(KubectlNodePortTest, ConcurrentCreatesThroughBothServersNeverShareAPort) {
  const std::string manifest = R"(apiVersion: v1
kind: Service
metadata:
  generateName: np-
  labels: {set: racing}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
)";
  constexpr int kThreads = 8;
  constexpr int kEach = 5;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::string failed_output;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto& server = servers_[t % 2];
      for (int i = 0; i < kEach; ++i) {
        auto r = kubectl(server.kubeconfig, {"create", "-f", "-", "-o", "name"}, manifest);
        if (r.exit_code != 0) {
          ++failures;
          std::lock_guard lock(mu);
          failed_output += r.output;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0) << failed_output;
  auto listed = kubectl(
      {"get", "svc", "-l", "set=racing", "-o",
       R"(jsonpath={range .items[*]}{.metadata.name} {.spec.ports[0].nodePort}{"\n"}{end})"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  std::istringstream lines(listed.output);
  std::string name;
  int port = 0;
  std::set<int> ports;
  int services = 0;
  while (lines >> name >> port) {
    ++services;
    EXPECT_GE(port, 31000) << name;
    EXPECT_LE(port, 31199) << name;
    EXPECT_TRUE(ports.insert(port).second) << name << " shares " << port;
  }
  EXPECT_EQ(services, kThreads * kEach) << listed.output;
}

}  // namespace
}  // namespace rampart
