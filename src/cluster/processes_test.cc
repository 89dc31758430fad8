#include "cluster/processes.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "cluster/api_probe.h"

namespace rampart::cluster {
namespace {

ClusterState cluster() {
  ClusterState s;
  s.name = "lab";
  s.zones = {"a", "b", "c"};
  s.gateway_port = 40000;
  for (const auto& spec : planNodes({"lab", 3, 1, {"a", "b", "c"}})) {
    s.nodes.push_back({spec, {}});
    s.max_ordinal = spec.ordinal;
  }
  return s;
}

bool has(const std::vector<std::string>& argv, const std::string& flag,
         const std::string& value) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it != argv.end() && it + 1 != argv.end() && *(it + 1) == value;
}

TEST(Processes, AMasterRunsEtcdServerVipControllerAndAgentInItsNamespace) {
  auto s = cluster();
  auto plans = nodeProcesses("/d", "/bin/rampart", s, s.nodes[1],
                             {etcdInitialCluster(s.masters()), false});
  std::vector<std::string> kinds;
  for (const auto& p : plans) {
    kinds.push_back(p.kind);
    EXPECT_EQ(p.netns, "lab-m2");
    EXPECT_EQ(p.log_file, "/d/nodes/lab-m2/" + p.kind + ".log");
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"etcd", "server", "vip", "controller", "agent"}));
  const auto& etcd = plans[0].argv;
  EXPECT_TRUE(has(etcd, "--initial-cluster",
                  "lab-m1=https://10.240.0.11:2380,lab-m2=https://10.240.0.12:2380,"
                  "lab-m3=https://10.240.0.13:2380"));
  EXPECT_TRUE(has(etcd, "--initial-cluster-state", "new"));
  EXPECT_TRUE(has(etcd, "--advertise-client-urls", "https://10.240.0.12:2379"));
  EXPECT_TRUE(has(etcd, "--trusted-ca-file", "/d/pki/ca.pem")) << "client certificates required";
  EXPECT_NE(std::find(etcd.begin(), etcd.end(), "--client-cert-auth"), etcd.end());
  EXPECT_NE(std::find(etcd.begin(), etcd.end(), "--peer-client-cert-auth"), etcd.end());
  const auto& server = plans[1].argv;
  // Each API server prefers its own etcd member.
  EXPECT_TRUE(has(server, "--etcd-servers",
                  "https://10.240.0.12:2379,https://10.240.0.11:2379,https://10.240.0.13:2379"));
  EXPECT_TRUE(has(server, "--bind-address", "10.240.0.12"));
  EXPECT_TRUE(has(server, "--etcd-certfile", "/d/pki/etcd-client.pem"));
  EXPECT_TRUE(has(plans[3].argv, "--leader-elect-identity", "lab-m2"));
  const auto& agent = plans[4].argv;
  EXPECT_TRUE(has(agent, "--node-ip", "10.240.0.12"));
  EXPECT_TRUE(has(agent, "--pod-cidr", "10.64.2.0/24"));
  EXPECT_TRUE(has(agent, "--register-with-taints",
                  "node-role.kubernetes.io/control-plane=:NoSchedule"));
  EXPECT_TRUE(has(agent, "--labels",
                  "topology.kubernetes.io/zone=b,node-role.kubernetes.io/control-plane="));
}

TEST(Processes, AWorkerRunsOnlyItsVipAndAgentWithoutTaints) {
  auto s = cluster();
  auto plans = nodeProcesses("/d", "/bin/rampart", s, s.nodes[3], {"", false});
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].kind, "vip");
  EXPECT_EQ(plans[1].kind, "agent");
  EXPECT_EQ(std::count(plans[1].argv.begin(), plans[1].argv.end(), "--register-with-taints"), 0);
  EXPECT_TRUE(has(plans[1].argv, "--labels", "topology.kubernetes.io/zone=a"));
}

TEST(Processes, AJoiningMemberStartsAsPartOfTheExistingEtcdCluster) {
  auto s = cluster();
  auto plans = nodeProcesses("/d", "rampart", s, s.nodes[0], {"x=http://1.2.3.4:2380", true});
  EXPECT_TRUE(has(plans[0].argv, "--initial-cluster-state", "existing"));
  EXPECT_TRUE(has(plans[0].argv, "--initial-cluster", "x=http://1.2.3.4:2380"));
}

TEST(Processes, EveryBalancerChecksEveryMastersApiServerOnReadyzOverHttps) {
  auto s = cluster();
  for (const auto& config : {vipConfig(s, s.nodes[3].spec), gatewayConfig(s)}) {
    for (const char* backend : {"10.240.0.11:6443", "10.240.0.12:6443", "10.240.0.13:6443"}) {
      EXPECT_NE(config.find(backend), std::string::npos) << config;
    }
    EXPECT_EQ(config.find("10.240.0.14:6443"), std::string::npos) << "a worker is no backend";
    EXPECT_NE(config.find("type: https"), std::string::npos);
    EXPECT_NE(config.find("path: /readyz"), std::string::npos);
  }
  auto vip = vipConfig(s, s.nodes[3].spec);
  EXPECT_NE(vip.find("listen: 10.103.97.2:6443"), std::string::npos);
  EXPECT_NE(vip.find("vip_interface: lo"), std::string::npos);
  EXPECT_NE(vip.find("admin: { listen: 10.240.0.14:9090 }"), std::string::npos);
  EXPECT_NE(gatewayConfig(s).find("listen: 127.0.0.1:40000"), std::string::npos);
}

TEST(ApiProbeSummary, CountsFailuresAndTheLongestTimeBetweenSuccesses) {
  using namespace std::chrono_literals;
  TimePoint t0{};
  std::vector<ProbeSample> samples = {
      {t0, 2ms, true, ""},
      {t0 + 10ms, 2ms, true, ""},
      {t0 + 20ms, 500ms, false, "connection refused"},
      {t0 + 25ms, 5ms, false, "read from https://10.103.97.2:6443: stream truncated"},
      {t0 + 520ms, 2ms, false, "timeout"},
      {t0 + 530ms, 2ms, true, ""},
      {t0 + 540ms, 2ms, true, ""},
  };
  auto s = summarize(samples);
  EXPECT_EQ(s.requests, 7u);
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.in_flight, 1u) << "only the truncated answer was broken in flight";
  EXPECT_EQ(s.first_error, "connection refused");
  EXPECT_EQ(s.longest_gap, 520ms);
  EXPECT_EQ(summarize({}).longest_gap, Duration::zero());
}

}  // namespace
}  // namespace rampart::cluster
