#include "api/service_node_port.h"

#include <future>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "api/handler.h"
#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"
#include "testing/yielding_store.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

TEST(PortRange, ParsesKubernetesNotationsAndRefusesNonsense) {
  auto range = PortRange::parse("30000-32767");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->base(), 30000);
  EXPECT_EQ(range->size(), 2768);
  EXPECT_EQ(range->toString(), "30000-32767");
  EXPECT_TRUE(range->contains(30000));
  EXPECT_TRUE(range->contains(32767));
  EXPECT_FALSE(range->contains(29999));
  EXPECT_FALSE(range->contains(32768));
  EXPECT_EQ(range->staticBandSize(), 86);  // 2768/32
  EXPECT_EQ(PortRange::parse("30000+99")->toString(), "30000-30099");
  EXPECT_EQ(PortRange::parse("30080")->size(), 1);
  EXPECT_EQ(PortRange::parse("30000-30015")->staticBandSize(), 0);
  EXPECT_EQ(PortRange::parse("30000-30099")->staticBandSize(), 16);
  EXPECT_EQ(PortRange::parse("1-65535")->staticBandSize(), 128);
  for (const char* bad : {"", "a-b", "30000-", "-1", "32767-30000", "0-100", "30000-70000",
                          "30000-32767-1", "3e4", "30000+-1"}) {
    EXPECT_FALSE(PortRange::parse(bad)) << bad;
  }
}

TEST(NodePortWishes, EveryPortOfANodePortServiceAndNoneOfAClusterIpOne) {
  auto wishes = nodePortWishesOf(json::parse(
      R"({"spec":{"type":"NodePort","ports":[{"port":80},{"port":443,"nodePort":30443}]}})"));
  ASSERT_EQ(wishes.size(), 2u);
  EXPECT_EQ(wishes[0].node_port, 0);
  EXPECT_EQ(wishes[1].index, 1u);
  EXPECT_EQ(wishes[1].node_port, 30443);
  EXPECT_TRUE(nodePortWishesOf(json::parse(R"({"spec":{"ports":[{"port":80}]}})")).empty());
  // A requested one is a wish on any type: a port a Service shows is a port it holds.
  EXPECT_EQ(nodePortWishesOf(json::parse(R"({"spec":{"type":"ExternalName",
      "ports":[{"port":80},{"port":81,"nodePort":30081}]}})"))
                .size(),
            1u);
  EXPECT_EQ(
      nodePortWishesOf(json::parse(R"({"spec":{"type":"LoadBalancer","ports":[{"port":80}]}})"))
          .size(),
      1u);
  // allocateLoadBalancerNodePorts: false allocates none, but respects a requested one.
  auto lb = nodePortWishesOf(json::parse(
      R"({"spec":{"type":"LoadBalancer","allocateLoadBalancerNodePorts":false,
          "ports":[{"port":80},{"port":81,"nodePort":30081}]}})"));
  ASSERT_EQ(lb.size(), 1u);
  EXPECT_EQ(lb[0].node_port, 30081);
}

TEST(ValidateNodePorts, RefusesANodePortOnClusterIpOutOfBoundsAndTwicePerProtocol) {
  auto on_cluster_ip =
      validateNodePorts(json::parse(R"({"spec":{"ports":[{"port":80,"nodePort":30080}]}})"));
  ASSERT_EQ(on_cluster_ip.size(), 1u);
  EXPECT_EQ(on_cluster_ip[0].toString(),
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
  auto bounds = validateNodePorts(
      json::parse(R"({"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":70000}]}})"));
  ASSERT_EQ(bounds.size(), 1u);
  EXPECT_EQ(bounds[0].field, "spec.ports[0].nodePort");
  auto twice = validateNodePorts(json::parse(
      R"({"spec":{"type":"NodePort","ports":[{"port":80,"protocol":"TCP","nodePort":30080},
          {"port":81,"protocol":"TCP","nodePort":30080}]}})"));
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_EQ(twice[0].type, FieldError::Type::Duplicate);
  EXPECT_EQ(twice[0].field, "spec.ports[1].nodePort");
  // TCP and UDP may share one.
  EXPECT_TRUE(
      validateNodePorts(
          json::parse(
              R"({"spec":{"type":"NodePort","ports":[{"port":53,"protocol":"TCP","nodePort":30053},
          {"port":53,"protocol":"UDP","nodePort":30053}]}})"))
          .empty());
}

TEST(PickFreePort, PrefersTheUpperBandThenTheLowerAndReportsAFullRange) {
  auto range = *PortRange::parse("30000-30099");  // lower band 30000-30015
  for (uint64_t random : {0ull, 7ull, 1000ull, 83ull}) {
    auto port = pickFreePort(range, {}, random);
    ASSERT_TRUE(port);
    EXPECT_GE(*port, 30016);
    EXPECT_LE(*port, 30099);
  }
  std::set<int> upper_full;
  for (int p = 30016; p <= 30099; ++p) {
    upper_full.insert(p);
  }
  auto low = pickFreePort(range, upper_full, 3);
  ASSERT_TRUE(low);
  EXPECT_LT(*low, 30016);
  std::set<int> all = upper_full;
  for (int p = 30000; p < 30016; ++p) {
    all.insert(p);
  }
  EXPECT_FALSE(pickFreePort(range, all, 5));
  all.erase(30042);
  EXPECT_EQ(pickFreePort(range, all, 5), 30042);
}

TEST(AllocateNodePorts, RequestedAreCheckedUnsetArePickedAndSamePortNumbersShare) {
  auto range = *PortRange::parse("30000-30099");
  std::vector<NodePortWish> wishes = {{0, 53, 0}, {1, 53, 0}, {2, 80, 30050}, {3, 80, 0}};
  auto a = allocateNodePorts(wishes, range, {}, {30060}, 9);
  ASSERT_TRUE(a.errors.empty());
  EXPECT_FALSE(a.full);
  EXPECT_EQ(a.node_ports[0], a.node_ports[1]);  // TCP and UDP of port 53 share
  EXPECT_EQ(a.node_ports[2], 30050);
  EXPECT_EQ(a.node_ports[3], 30050);  // shares the requested one of port 80
  EXPECT_NE(a.node_ports[0], 30060);
  EXPECT_EQ(a.held.size(), 2u);

  auto taken = allocateNodePorts({{0, 80, 30050}}, range, {}, {30050}, 0);
  ASSERT_EQ(taken.errors.size(), 1u);
  EXPECT_EQ(taken.errors[0].toString(),
            "spec.ports[0].nodePort: Invalid value: 30050: provided port is already allocated");
  auto outside = allocateNodePorts({{0, 80, 8080}}, range, {}, {}, 0);
  ASSERT_EQ(outside.errors.size(), 1u);
  EXPECT_EQ(outside.errors[0].toString(),
            "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid "
            "range. The range of valid ports is 30000-30099");
  // A port the Service holds already is kept without a check (it is among the claims).
  auto own = allocateNodePorts({{0, 80, 30050}}, range, {30050}, {30050}, 0);
  EXPECT_TRUE(own.errors.empty());
  EXPECT_EQ(own.held, std::set<int>{30050});
  std::set<int> everything;
  for (int p = 30000; p <= 30099; ++p) {
    everything.insert(p);
  }
  EXPECT_TRUE(allocateNodePorts({{0, 80, 0}}, range, {}, everything, 0).full);
}

TEST(KeepNodePorts, TypeChangeToClusterIpClearsThemAndUnsetOnesAreKeptByName) {
  json current = json::parse(
      R"({"spec":{"type":"NodePort","ports":[{"name":"http","port":80,"nodePort":30080},
          {"name":"https","port":443,"nodePort":30443}]}})");
  json to_cluster_ip = current;
  to_cluster_ip["spec"]["type"] = "ClusterIP";
  keepNodePorts(to_cluster_ip, current);
  EXPECT_FALSE(to_cluster_ip["spec"]["ports"][0].contains("nodePort"));
  EXPECT_FALSE(to_cluster_ip["spec"]["ports"][1].contains("nodePort"));
  // A changed nodePort on a ClusterIP Service is not silently dropped: validation names it.
  json changed = to_cluster_ip;
  changed["spec"]["ports"][0]["nodePort"] = 30081;
  keepNodePorts(changed, current);
  EXPECT_EQ(changed["spec"]["ports"][0]["nodePort"], 30081);
  json unset = json::parse(
      R"({"spec":{"type":"NodePort","ports":[{"name":"https","port":443},{"name":"http","port":80}]}})");
  keepNodePorts(unset, current);
  EXPECT_EQ(unset["spec"]["ports"][0]["nodePort"], 30443);
  EXPECT_EQ(unset["spec"]["ports"][1]["nodePort"], 30080);
}

class NodePortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})").status, 201);
  }

  ApiResponse call(ApiHandler& handler, const char* method, const std::string& target,
                   const std::string& body = "",
                   const std::string& content_type = "application/json") {
    auto info = parseRequestInfo(method, target);
    EXPECT_TRUE(info) << target;
    ApiRequest req{*info, content_type, "application/json", body};
    return testing::runLoop(io_, handler.handle(std::move(req)));
  }
  ApiResponse call(const char* method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json") {
    return call(handler_, method, target, body, content_type);
  }

  static std::string service(const std::string& name, int node_port = 0,
                             const std::string& type = "NodePort") {
    json s = {{"metadata", {{"name", name}}},
              {"spec", {{"type", type}, {"ports", {{{"port", 80}}}}}}};
    if (node_port) {
      s["spec"]["ports"][0]["nodePort"] = node_port;
    }
    return s.dump();
  }
  ApiResponse create(const std::string& name, int node_port = 0,
                     const std::string& type = "NodePort") {
    return call("POST", "/api/v1/namespaces/default/services", service(name, node_port, type));
  }
  ApiResponse setType(const std::string& name, const std::string& type) {
    return call("PATCH", "/api/v1/namespaces/default/services/" + name,
                json{{"spec", {{"type", type}}}}.dump(), "application/merge-patch+json");
  }
  std::set<std::string> claims() {
    auto held = testing::runLoop(io_, objects_.claims("nodeports"));
    EXPECT_TRUE(held);
    return held ? std::set<std::string>(held->begin(), held->end()) : std::set<std::string>();
  }
  static int nodePort(const ApiResponse& r, size_t i = 0) {
    return r.body["spec"]["ports"][i].value("nodePort", 0);
  }

  asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  ObjectStore objects_{store_, "/registry"};
  std::function<WallTime()> now_ = [] { return std::chrono::system_clock::now(); };
  // 16 ports, no lower band: small enough to fill.
  ApiHandler handler_{objects_, now_, defaultServiceIpRange(), *PortRange::parse("30000-30015")};
};

TEST_F(NodePortTest, CreateGivesEachServiceADistinctPortUntilTheRangeIsFull) {
  std::set<int> ports;
  for (int i = 0; i < 16; ++i) {
    auto r = create("s" + std::to_string(i));
    ASSERT_EQ(r.status, 201) << r.body.dump();
    int port = nodePort(r);
    EXPECT_GE(port, 30000);
    EXPECT_LE(port, 30015);
    EXPECT_TRUE(ports.insert(port).second) << port;
  }
  EXPECT_EQ(claims().size(), 16u);
  auto full = create("one-too-many");
  EXPECT_EQ(full.status, 500);
  EXPECT_EQ(full.body["message"],
            "Internal error occurred: failed to allocate a nodePort: range is full");
  // Deleting one releases its port for the next.
  int freed = nodePort(call("GET", "/api/v1/namespaces/default/services/s3"));
  ASSERT_EQ(call("DELETE", "/api/v1/namespaces/default/services/s3").status, 200);
  auto again = create("one-more");
  ASSERT_EQ(again.status, 201) << again.body.dump();
  EXPECT_EQ(nodePort(again), freed);
}

TEST_F(NodePortTest, RequestedPortIsHonouredOnceAndRefusedOutOfRangeOrTaken) {
  auto r = create("web", 30007);
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(nodePort(r), 30007);
  auto taken = create("other", 30007);
  EXPECT_EQ(taken.status, 422);
  EXPECT_EQ(taken.body["message"],
            "Service \"other\" is invalid: spec.ports[0].nodePort: Invalid value: 30007: "
            "provided port is already allocated");
  auto outside = create("far", 31000);
  EXPECT_EQ(outside.status, 422);
  EXPECT_EQ(outside.body["message"],
            "Service \"far\" is invalid: spec.ports[0].nodePort: Invalid value: 31000: provided "
            "port is not in the valid range. The range of valid ports is 30000-30015");
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/services/other").status, 404);
  EXPECT_EQ(claims(), std::set<std::string>{"30007"});
  // A failed create took no cluster IP either.
  auto ips = testing::runLoop(io_, objects_.claims("ipaddresses"));
  ASSERT_TRUE(ips);
  EXPECT_EQ(ips->size(), 1u);
}

TEST_F(NodePortTest, ClusterIpServicesHoldNoPortAndMayNotAskForOne) {
  auto r = create("plain", 0, "ClusterIP");
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_FALSE(r.body["spec"]["ports"][0].contains("nodePort"));
  auto asked = create("asked", 30001, "ClusterIP");
  EXPECT_EQ(asked.status, 422);
  EXPECT_TRUE(claims().empty());
}

TEST_F(NodePortTest, UpdatesKeepThePortAndTypeChangesReleaseAndReallocate) {
  auto r = create("web");
  ASSERT_EQ(r.status, 201);
  int port = nodePort(r);
  // A PUT that leaves nodePort out keeps it (kubectl replace of the original manifest).
  json without = r.body;
  without["spec"]["ports"][0].erase("nodePort");
  without["metadata"]["labels"]["x"] = "y";
  auto kept = call("PUT", "/api/v1/namespaces/default/services/web", without.dump());
  ASSERT_EQ(kept.status, 200) << kept.body.dump();
  EXPECT_EQ(nodePort(kept), port);
  EXPECT_EQ(claims(), std::set<std::string>{std::to_string(port)});

  auto cluster_ip = setType("web", "ClusterIP");
  ASSERT_EQ(cluster_ip.status, 200) << cluster_ip.body.dump();
  EXPECT_FALSE(cluster_ip.body["spec"]["ports"][0].contains("nodePort"));
  EXPECT_TRUE(claims().empty());
  // The released port can be requested by another Service.
  ASSERT_EQ(create("other", port).status, 201);

  auto back = setType("web", "NodePort");
  ASSERT_EQ(back.status, 200) << back.body.dump();
  int fresh = nodePort(back);
  EXPECT_NE(fresh, 0);
  EXPECT_NE(fresh, port);
  EXPECT_EQ(claims(), (std::set<std::string>{std::to_string(port), std::to_string(fresh)}));
}

TEST_F(NodePortTest, ChangingTheRequestedPortClaimsTheNewOneAndReleasesTheOld) {
  ASSERT_EQ(create("web", 30001).status, 201);
  ASSERT_EQ(create("db", 30002).status, 201);
  auto patch = [&](int port) {
    return call("PATCH", "/api/v1/namespaces/default/services/web",
                json{{"spec", {{"ports", {{{"port", 80}, {"nodePort", port}}}}}}}.dump(),
                "application/merge-patch+json");
  };
  auto taken = patch(30002);
  EXPECT_EQ(taken.status, 422) << taken.body.dump();
  EXPECT_EQ(claims(), (std::set<std::string>{"30001", "30002"}));
  auto moved = patch(30003);
  ASSERT_EQ(moved.status, 200) << moved.body.dump();
  EXPECT_EQ(nodePort(moved), 30003);
  EXPECT_EQ(claims(), (std::set<std::string>{"30002", "30003"}));
  ASSERT_EQ(call("DELETE", "/api/v1/namespaces/default/services/web").status, 200);
  EXPECT_EQ(claims(), std::set<std::string>{"30002"});
}

TEST_F(NodePortTest, TcpAndUdpOfOnePortShareOneNodePortAndOneClaim) {
  json dns = {{"metadata", {{"name", "dns"}}},
              {"spec",
               {{"type", "NodePort"},
                {"ports",
                 {{{"name", "tcp"}, {"port", 53}, {"protocol", "TCP"}},
                  {{"name", "udp"}, {"port", 53}, {"protocol", "UDP"}}}}}}};
  auto r = call("POST", "/api/v1/namespaces/default/services", dns.dump());
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(nodePort(r, 0), nodePort(r, 1));
  EXPECT_EQ(claims().size(), 1u);
  // Another Service cannot take that number, whatever its protocol (as in Kubernetes).
  json udp = {{"metadata", {{"name", "other"}}},
              {"spec",
               {{"type", "NodePort"},
                {"ports", {{{"port", 53}, {"protocol", "SCTP"}, {"nodePort", nodePort(r)}}}}}}};
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/services", udp.dump()).status, 422);
}

TEST_F(NodePortTest, DryRunClaimsNothing) {
  auto r = call("POST", "/api/v1/namespaces/default/services?dryRun=All", service("web"));
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_NE(nodePort(r), 0);
  EXPECT_TRUE(claims().empty());
}

TEST_F(NodePortTest, ConcurrentCreatesThroughTwoServersRaceButNeverShareAPort) {
  // Every create reads the held ports, then claims one: interleaved, several pick the same
  // port and all but one lose the claim's compare and pick again.
  testing::YieldingStore yielding(store_);
  ObjectStore racy_objects(yielding, "/registry");
  auto range = *PortRange::parse("30000-30059");  // 44 upper-band ports for 20
  ApiHandler one(racy_objects, now_, defaultServiceIpRange(), range);
  ApiHandler two(racy_objects, now_, defaultServiceIpRange(), range);
  std::vector<std::future<ApiResponse>> answers;
  for (int i = 0; i < 20; ++i) {
    auto info = parseRequestInfo("POST", "/api/v1/namespaces/default/services");
    ASSERT_TRUE(info);
    ApiRequest req{*info, "application/json", "application/json", service("s" + std::to_string(i))};
    ApiHandler& h = i % 2 ? one : two;
    answers.push_back(asio::co_spawn(io_, h.handle(std::move(req)), asio::use_future));
  }
  io_.restart();
  io_.run();
  std::set<int> ports;
  for (auto& answer : answers) {
    ApiResponse r = answer.get();
    ASSERT_EQ(r.status, 201) << r.body.dump();
    EXPECT_TRUE(ports.insert(nodePort(r)).second) << nodePort(r);
  }
  EXPECT_EQ(ports.size(), 20u);
  EXPECT_EQ(claims().size(), 20u);
}

}  // namespace
}  // namespace rampart::api
