#include "controller/endpoints.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json service(json ports = json::parse(R"([{"name": "http", "port": 80, "targetPort": "web"}])")) {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"labels", {{"team", "a"}}}}},
          {"spec", {{"selector", {{"app", "web"}}}, {"ports", ports}}}};
}

json pod(const std::string& name, const std::string& ip, bool ready, int container_port = 8080,
         const std::string& ns = "default") {
  json p = {
      {"metadata",
       {{"name", name}, {"namespace", ns}, {"uid", "uid-" + name}, {"labels", {{"app", "web"}}}}},
      {"spec",
       {{"nodeName", "n1"},
        {"containers",
         {{{"name", "c"}, {"ports", {{{"name", "web"}, {"containerPort", container_port}}}}}}}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", ip},
        {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
  return p;
}

TEST(Endpoints, ReadyPodsAreAddressesAndOthersNotReadyAddresses) {
  auto d = decideEndpoints(
      service(),
      {pod("b", "10.0.0.2", true), pod("a", "10.0.0.1", true), pod("c", "10.0.0.3", false)},
      nullptr);
  ASSERT_EQ(d.action, EndpointsDecision::Action::Create);
  const json& e = d.endpoints;
  EXPECT_EQ(e["metadata"]["name"], "web");
  EXPECT_EQ(e["metadata"]["labels"]["team"], "a");
  ASSERT_EQ(e["subsets"].size(), 1u);
  const json& s = e["subsets"][0];
  ASSERT_EQ(s["addresses"].size(), 2u);
  EXPECT_EQ(s["addresses"][0]["ip"], "10.0.0.1");  // sorted by IP
  EXPECT_EQ(s["addresses"][0]["nodeName"], "n1");
  EXPECT_EQ(s["addresses"][0]["targetRef"],
            json({{"kind", "Pod"}, {"namespace", "default"}, {"name", "a"}, {"uid", "uid-a"}}));
  ASSERT_EQ(s["notReadyAddresses"].size(), 1u);
  EXPECT_EQ(s["notReadyAddresses"][0]["ip"], "10.0.0.3");
  EXPECT_EQ(s["ports"], json::parse(R"([{"name": "http", "port": 8080, "protocol": "TCP"}])"));
}

TEST(Endpoints, NamedTargetPortsResolvePerPodAndGroupSubsets) {
  auto d = decideEndpoints(
      service(), {pod("a", "10.0.0.1", true, 8080), pod("b", "10.0.0.2", true, 9090)}, nullptr);
  ASSERT_EQ(d.endpoints["subsets"].size(), 2u);
  EXPECT_EQ(d.endpoints["subsets"][0]["ports"][0]["port"], 8080);
  EXPECT_EQ(d.endpoints["subsets"][1]["ports"][0]["port"], 9090);
  // A pod without the named port is left out.
  json nameless = pod("c", "10.0.0.3", true);
  nameless["spec"]["containers"][0]["ports"][0]["name"] = "other";
  d = decideEndpoints(service(), {nameless}, nullptr);
  EXPECT_TRUE(d.endpoints["subsets"].empty());
}

TEST(Endpoints, NumericAndAbsentTargetPorts) {
  auto d = decideEndpoints(
      service(json::parse(R"([{"port": 80, "targetPort": 8443}, {"name": "m", "port": 9100}])")),
      {pod("a", "10.0.0.1", true)}, nullptr);
  const json& ports = d.endpoints["subsets"][0]["ports"];
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0]["port"], 8443);
  EXPECT_FALSE(ports[0].contains("name"));
  EXPECT_EQ(ports[1]["port"], 9100);
}

TEST(Endpoints, PodsWithoutIpFinishedOrDeletingOrElsewhereAreLeftOut) {
  json no_ip = pod("a", "", true);
  json done = pod("b", "10.0.0.2", true);
  done["status"]["phase"] = "Succeeded";
  json going = pod("c", "10.0.0.3", true);
  going["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  json other_ns = pod("d", "10.0.0.4", true, 8080, "other");
  json other_app = pod("e", "10.0.0.5", true);
  other_app["metadata"]["labels"]["app"] = "db";
  auto d = decideEndpoints(service(), {no_ip, done, going, other_ns, other_app}, nullptr);
  EXPECT_TRUE(d.endpoints["subsets"].empty());
}

TEST(Endpoints, PublishNotReadyAddressesListsEveryPodAsReady) {
  json svc = service();
  svc["spec"]["publishNotReadyAddresses"] = true;
  auto d = decideEndpoints(svc, {pod("a", "10.0.0.1", false)}, nullptr);
  EXPECT_EQ(d.endpoints["subsets"][0]["addresses"].size(), 1u);
  EXPECT_FALSE(d.endpoints["subsets"][0].contains("notReadyAddresses"));
}

TEST(Endpoints, ServicesWithoutSelectorAreLeftAlone) {
  json svc = service();
  svc["spec"].erase("selector");
  auto d = decideEndpoints(svc, {pod("a", "10.0.0.1", true)}, json{{"subsets", json::array()}});
  EXPECT_EQ(d.action, EndpointsDecision::Action::None);
}

TEST(Endpoints, UnchangedEndpointsAreNotRewrittenAndChangedOnesKeepTheirVersion) {
  auto first = decideEndpoints(service(), {pod("a", "10.0.0.1", true)}, nullptr);
  json stored = first.endpoints;
  stored["metadata"]["resourceVersion"] = "42";
  auto again = decideEndpoints(service(), {pod("a", "10.0.0.1", true)}, stored);
  EXPECT_EQ(again.action, EndpointsDecision::Action::None);
  auto changed = decideEndpoints(service(), {pod("a", "10.0.0.1", false)}, stored);
  ASSERT_EQ(changed.action, EndpointsDecision::Action::Update);
  EXPECT_EQ(changed.endpoints["metadata"]["resourceVersion"], "42");
  EXPECT_TRUE(changed.endpoints["subsets"][0].contains("notReadyAddresses"));
}

TEST(Endpoints, HeadlessServicesWithoutPortsListAddressesAndAreLabelled) {
  json svc = service(json::array());
  svc["spec"]["clusterIP"] = "None";
  auto d = decideEndpoints(svc, {pod("a", "10.0.0.1", true)}, nullptr);
  EXPECT_EQ(d.endpoints["subsets"][0]["addresses"].size(), 1u);
  EXPECT_FALSE(d.endpoints["subsets"][0].contains("ports"));
  EXPECT_EQ(d.endpoints["metadata"]["labels"]["service.kubernetes.io/headless"], "");
}

}  // namespace
}  // namespace rampart::controller
