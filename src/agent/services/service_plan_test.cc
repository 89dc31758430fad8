#include "agent/services/service_plan.h"

#include <gtest/gtest.h>

namespace rampart::agent::services {
namespace {
using json = nlohmann::json;

json service(const std::string& name, const std::string& cluster_ip, json ports,
             const std::string& type = "ClusterIP") {
  return json::parse(R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"namespace":"default","name":")" + name + R"("},
    "spec":{"type":")" + type + R"(","clusterIP":")" + cluster_ip + R"(","ports":)" +
                     ports.dump() + "}}");
}

json webPorts() {
  return json::parse(R"([{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}])");
}

json endpoints(const std::string& name, json subsets) {
  return json{{"apiVersion", "v1"},
              {"kind", "Endpoints"},
              {"metadata", {{"namespace", "default"}, {"name", name}}},
              {"subsets", std::move(subsets)}};
}

json webEndpoints() {
  return endpoints("web", json::parse(R"([{
    "addresses":[{"ip":"10.64.1.5","nodeName":"w1"},{"ip":"10.64.2.7","nodeName":"w2"}],
    "notReadyAddresses":[{"ip":"10.64.2.9","nodeName":"w2"}],
    "ports":[{"name":"http","port":8080,"protocol":"TCP"}]}])"));
}

ServicePlanOptions options() {
  ServicePlanOptions o;
  o.node_ip = "10.240.0.12";
  return o;
}

std::vector<std::string> backendsOf(const lb::VirtualServerConfig& vs) {
  std::vector<std::string> out;
  for (const auto& b : vs.backends) {
    out.push_back(b.address.toString());
  }
  return out;
}

TEST(ServicePlanTest, AClusterIpPortIsAVirtualServerOnLoopbackWithTheReadyEndpoints) {
  auto plan = planServices({service("web", "10.96.0.20", webPorts())}, {webEndpoints()},
                           options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  const auto& vs = plan.config.virtual_servers[0];
  EXPECT_EQ(vs.name, "default/web:80");
  EXPECT_EQ(vs.listen.toString(), "10.96.0.20:80");
  EXPECT_EQ(vs.vip_interface, "lo");
  EXPECT_EQ(vs.policy, lb::Policy::RoundRobin);
  EXPECT_FALSE(vs.health.enabled);
  EXPECT_TRUE(vs.passive_ejection);
  EXPECT_FALSE(vs.postgres);
  // The not-ready address is left out; the port is the Endpoints' (the resolved targetPort).
  EXPECT_EQ(backendsOf(vs), (std::vector<std::string>{"10.64.1.5:8080", "10.64.2.7:8080"}));
  EXPECT_EQ(plan.config.mode, lb::Mode::User);
  EXPECT_EQ(plan.config.workers, 1);
  EXPECT_TRUE(plan.skipped.empty());
  EXPECT_TRUE(lb::validate(plan.config)) << "the lb accepts what the plan makes";
}

TEST(ServicePlanTest, EachPortGetsTheEndpointsPortOfTheSameName) {
  json ports = json::parse(R"([{"name":"http","port":80,"targetPort":"web"},
                               {"name":"admin","port":9000,"targetPort":9090}])");
  json eps = endpoints("web", json::parse(R"([{
    "addresses":[{"ip":"10.64.1.5"}],
    "ports":[{"name":"admin","port":9090},{"name":"http","port":8081}]}])"));
  auto plan = planServices({service("web", "10.96.0.20", ports)}, {eps}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 2u);
  EXPECT_EQ(plan.config.virtual_servers[0].name, "default/web:80");
  EXPECT_EQ(backendsOf(plan.config.virtual_servers[0]),
            std::vector<std::string>{"10.64.1.5:8081"});
  EXPECT_EQ(plan.config.virtual_servers[1].name, "default/web:9000");
  EXPECT_EQ(backendsOf(plan.config.virtual_servers[1]),
            std::vector<std::string>{"10.64.1.5:9090"});
}

TEST(ServicePlanTest, AnUnnamedPortMatchesTheUnnamedEndpointsPort) {
  json ports = json::parse(R"([{"port":80,"targetPort":8080}])");
  json eps = endpoints("web", json::parse(R"([{"addresses":[{"ip":"10.64.1.5"}],
                                               "ports":[{"port":8080,"protocol":"TCP"}]}])"));
  auto plan = planServices({service("web", "10.96.0.20", ports)}, {eps}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(backendsOf(plan.config.virtual_servers[0]),
            std::vector<std::string>{"10.64.1.5:8080"});
}

TEST(ServicePlanTest, SubsetsWithoutThePortContributeNoBackendsAndDuplicatesCountOnce) {
  json eps = endpoints("web", json::parse(R"([
    {"addresses":[{"ip":"10.64.1.5"}],"ports":[{"name":"other","port":7000}]},
    {"addresses":[{"ip":"10.64.2.7"},{"ip":"10.64.2.7"}],"ports":[{"name":"http","port":8080}]},
    {"addresses":[{"ip":"10.64.2.7"}],"ports":[{"name":"http","port":8080}]}])"));
  auto plan = planServices({service("web", "10.96.0.20", webPorts())}, {eps}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(backendsOf(plan.config.virtual_servers[0]),
            std::vector<std::string>{"10.64.2.7:8080"});
  EXPECT_TRUE(lb::validate(plan.config));
}

TEST(ServicePlanTest, AServiceWithoutEndpointsIsServedWithNoBackends) {
  // Connections are then closed at once (kube-proxy rejects them): better than a timeout.
  auto plan = planServices({service("web", "10.96.0.20", webPorts())}, {}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_TRUE(plan.config.virtual_servers[0].backends.empty());
  json empty = endpoints("web", json::array());
  plan = planServices({service("web", "10.96.0.20", webPorts())}, {empty}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_TRUE(plan.config.virtual_servers[0].backends.empty());
}

TEST(ServicePlanTest, EndpointsOfAnotherServiceOrNamespaceAreNotUsed) {
  json eps = webEndpoints();
  eps["metadata"]["namespace"] = "other";
  auto plan = planServices({service("web", "10.96.0.20", webPorts())}, {eps}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_TRUE(plan.config.virtual_servers[0].backends.empty());
}

TEST(ServicePlanTest, ClientIpAffinityIsSourceHash) {
  json s = service("web", "10.96.0.20", webPorts());
  s["spec"]["sessionAffinity"] = "ClientIP";
  auto plan = planServices({s}, {webEndpoints()}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(plan.config.virtual_servers[0].policy, lb::Policy::SourceHash);
  s["spec"]["sessionAffinity"] = "None";
  plan = planServices({s}, {webEndpoints()}, options());
  EXPECT_EQ(plan.config.virtual_servers[0].policy, lb::Policy::RoundRobin);
}

TEST(ServicePlanTest, HeadlessServicesAndServicesWithoutAClusterIpAreNotServedSilently) {
  json headless = service("headless", "None", webPorts());
  json no_ip = service("pending", "", webPorts());
  json absent = service("absent", "", webPorts());
  absent["spec"].erase("clusterIP");
  json external = service("external", "", json::array(), "ExternalName");
  external["spec"]["externalName"] = "example.com";
  auto plan = planServices({headless, no_ip, absent, external}, {}, options());
  EXPECT_TRUE(plan.config.virtual_servers.empty());
  EXPECT_TRUE(plan.skipped.empty());
}

TEST(ServicePlanTest, NodePortAlsoListensOnTheNodeIp) {
  json ports = json::parse(R"([{"name":"http","port":80,"targetPort":8080,"nodePort":30080}])");
  auto plan = planServices({service("web", "10.96.0.20", ports, "NodePort")}, {webEndpoints()},
                           options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 2u);
  const auto& cluster = plan.config.virtual_servers[0];
  const auto& node = plan.config.virtual_servers[1];
  EXPECT_EQ(cluster.listen.toString(), "10.96.0.20:80");
  EXPECT_EQ(node.name, "default/web:80/node-port");
  EXPECT_EQ(node.listen.toString(), "10.240.0.12:30080");
  EXPECT_EQ(node.vip_interface, "") << "the node IP is already the node's";
  EXPECT_EQ(backendsOf(node), backendsOf(cluster));
  EXPECT_TRUE(lb::validate(plan.config));
}

TEST(ServicePlanTest, LoadBalancerTypeHasNodePortsToo) {
  json ports = json::parse(R"([{"name":"http","port":80,"nodePort":30081}])");
  auto plan = planServices({service("web", "10.96.0.20", ports, "LoadBalancer")},
                           {webEndpoints()}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 2u);
  EXPECT_EQ(plan.config.virtual_servers[1].listen.toString(), "10.240.0.12:30081");
}

TEST(ServicePlanTest, WithoutANodeIpThereAreNoNodePorts) {
  json ports = json::parse(R"([{"name":"http","port":80,"nodePort":30080}])");
  ServicePlanOptions o = options();
  o.node_ip = "";
  auto plan = planServices({service("web", "10.96.0.20", ports, "NodePort")}, {webEndpoints()},
                           o);
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_TRUE(plan.skipped.empty());
}

TEST(ServicePlanTest, AClusterIpServiceDoesNotOpenItsNodePortField) {
  json ports = json::parse(R"([{"name":"http","port":80,"nodePort":30080}])");
  auto plan = planServices({service("web", "10.96.0.20", ports)}, {webEndpoints()}, options());
  EXPECT_EQ(plan.config.virtual_servers.size(), 1u);
}

TEST(ServicePlanTest, UdpAndSctpPortsAreSkippedAndNamedWhileTcpPortsStay) {
  json ports = json::parse(R"([{"name":"dns","port":53,"protocol":"UDP"},
                               {"name":"sctp","port":99,"protocol":"SCTP"},
                               {"name":"http","port":80}])");
  auto plan = planServices({service("web", "10.96.0.20", ports)}, {webEndpoints()}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(plan.config.virtual_servers[0].name, "default/web:80");
  ASSERT_EQ(plan.skipped.size(), 2u);
  EXPECT_EQ(plan.skipped[0], "default/web port 53/UDP: only TCP is served");
  EXPECT_EQ(plan.skipped[1], "default/web port 99/SCTP: only TCP is served");
}

TEST(ServicePlanTest, AnInvalidClusterIpSkipsTheServiceButNotTheOthers) {
  auto plan = planServices({service("bad", "10.96.0.300", webPorts()),
                            service("v6", "fd00::1", webPorts()),
                            service("web", "10.96.0.20", webPorts())},
                           {webEndpoints()}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(plan.config.virtual_servers[0].name, "default/web:80");
  ASSERT_EQ(plan.skipped.size(), 2u);
  EXPECT_NE(plan.skipped[0].find("default/bad"), std::string::npos);
  EXPECT_NE(plan.skipped[1].find("default/v6"), std::string::npos);
}

TEST(ServicePlanTest, InvalidPortsAndFieldsOfTheWrongTypeAreSkippedNamed) {
  json ports = json::parse(R"([{"name":"zero","port":0},{"name":"big","port":70000},
                               {"name":"text","port":"80"},{"name":"float","port":80.5},
                               {"name":7,"port":81},{"name":"proto","port":82,"protocol":6},
                               {"name":"odd","port":83,"protocol":"HTTP"},
                               {"name":"http","port":80,"nodePort":0}])");
  auto plan = planServices({service("web", "10.96.0.20", ports, "NodePort")}, {webEndpoints()},
                           options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u) << "only the valid port, without node port";
  EXPECT_EQ(plan.config.virtual_servers[0].name, "default/web:80");
  EXPECT_EQ(plan.skipped.size(), 8u);
  json affinity = service("web", "10.96.0.20", webPorts());
  affinity["spec"]["sessionAffinity"] = "Sticky";
  json type = service("web2", "10.96.0.21", webPorts());
  type["spec"]["type"] = 5;
  json spec = service("web3", "10.96.0.22", webPorts());
  spec["spec"]["ports"] = "80";
  plan = planServices({affinity, type, spec}, {}, options());
  EXPECT_TRUE(plan.config.virtual_servers.empty());
  EXPECT_EQ(plan.skipped.size(), 3u);
}

TEST(ServicePlanTest, InvalidEndpointAddressesAndPortsAreLeftOutNamed) {
  json eps = endpoints("web", json::parse(R"([
    {"addresses":[{"ip":"10.64.1.5"},{"ip":"banana"},{"ip":"fd00::5"},{"nodeName":"w1"}],
     "ports":[{"name":"http","port":8080}]},
    {"addresses":[{"ip":"10.64.1.6"}],"ports":[{"name":"http","port":0}]},
    {"addresses":[{"ip":"10.64.1.7"}],"ports":[{"name":"http","port":8080,"protocol":"UDP"}]}])"));
  auto plan = planServices({service("web", "10.96.0.20", webPorts())}, {eps}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(backendsOf(plan.config.virtual_servers[0]),
            std::vector<std::string>{"10.64.1.5:8080"});
  EXPECT_EQ(plan.skipped.size(), 4u);  // three addresses, one port; the UDP port is not ours
  json broken = webEndpoints();
  broken["subsets"] = "x";
  plan = planServices({service("web", "10.96.0.20", webPorts())}, {broken}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_TRUE(plan.config.virtual_servers[0].backends.empty());
  EXPECT_EQ(plan.skipped.size(), 1u);
}

TEST(ServicePlanTest, TwoServicesOnOneAddressKeepTheFirstByName) {
  auto plan = planServices({service("b", "10.96.0.20", webPorts()),
                            service("a", "10.96.0.20", webPorts())},
                           {}, options());
  ASSERT_EQ(plan.config.virtual_servers.size(), 1u);
  EXPECT_EQ(plan.config.virtual_servers[0].name, "default/a:80");
  ASSERT_EQ(plan.skipped.size(), 1u);
  EXPECT_TRUE(lb::validate(plan.config));
}

TEST(ServicePlanTest, ObjectsWithoutNamesAreSkippedNotFatal) {
  json nameless = service("web", "10.96.0.20", webPorts());
  nameless["metadata"].erase("name");
  auto plan = planServices({nameless, json("garbage")}, {json::array()}, options());
  EXPECT_TRUE(plan.config.virtual_servers.empty());
  EXPECT_EQ(plan.skipped.size(), 1u);
}

TEST(ServicePlanTest, TheFingerprintChangesExactlyWhenTheConfigDoes) {
  json s = service("web", "10.96.0.20", webPorts());
  auto a = planServices({s}, {webEndpoints()}, options());
  // Order of the input and fields the plan does not read change nothing.
  json s2 = s;
  s2["metadata"]["resourceVersion"] = "99";
  auto b = planServices({service("x", "None", webPorts()), s2}, {webEndpoints()}, options());
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  json eps = webEndpoints();
  eps["subsets"][0]["addresses"].erase(0);
  auto c = planServices({s}, {eps}, options());
  EXPECT_NE(a.fingerprint, c.fingerprint);
  s["spec"]["sessionAffinity"] = "ClientIP";
  auto d = planServices({s}, {webEndpoints()}, options());
  EXPECT_NE(a.fingerprint, d.fingerprint);
}

}  // namespace
}  // namespace rampart::agent::services
