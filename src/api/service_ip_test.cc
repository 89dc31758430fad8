#include "api/service_ip.h"

#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "api/handler.h"
#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"
#include "testing/yielding_store.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

TEST(Ipv4, ParsesAndFormatsAndRefusesMalformedAddresses) {
  EXPECT_EQ(formatIpv4(*parseIpv4("10.96.0.10")), "10.96.0.10");
  for (const char* bad : {"10.96.0", "10.96.0.256", "10.96.0.01", "a.b.c.d", "10.96.0.1.", ""}) {
    EXPECT_FALSE(parseIpv4(bad)) << bad;
  }
}

TEST(Ipv4Range, ParsesACidrAndRefusesHostBitsAndIpv6) {
  auto range = Ipv4Range::parse("10.96.0.0/12");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->toString(), "10.96.0.0/12");
  EXPECT_EQ(range->size(), 1u << 20);
  EXPECT_TRUE(range->usable(*parseIpv4("10.96.0.1")));
  EXPECT_TRUE(range->usable(*parseIpv4("10.111.255.254")));
  EXPECT_FALSE(range->usable(*parseIpv4("10.96.0.0")));       // network
  EXPECT_FALSE(range->usable(*parseIpv4("10.111.255.255")));  // broadcast
  EXPECT_FALSE(range->usable(*parseIpv4("10.112.0.1")));
  EXPECT_EQ(range->staticBandEnd(), 256u);
  EXPECT_FALSE(Ipv4Range::parse("10.96.0.1/12"));
  EXPECT_FALSE(Ipv4Range::parse("fd00::/108"));
  EXPECT_FALSE(Ipv4Range::parse("10.96.0.0/31"));
  EXPECT_FALSE(Ipv4Range::parse("10.96.0.0"));
}

TEST(PickFreeIp, PrefersTheUpperBandThenTheLowerAndReportsAFullRange) {
  auto range = *Ipv4Range::parse("10.0.0.0/28");  // offsets 1..14; static band 1..15 → all
  EXPECT_EQ(range.staticBandEnd(), 16u);
  auto small = *Ipv4Range::parse("10.0.0.0/24");  // static band 1..15, dynamic 16..254
  for (uint64_t random : {0ull, 7ull, 1000ull}) {
    auto ip = pickFreeIp(small, {}, random);
    ASSERT_TRUE(ip);
    EXPECT_GE(*ip - *parseIpv4("10.0.0.0"), 16u);
    EXPECT_LE(*ip - *parseIpv4("10.0.0.0"), 254u);
  }
  std::set<uint32_t> upper_full;
  for (uint32_t offset = 16; offset <= 254; ++offset) {
    upper_full.insert(small.at(offset));
  }
  auto low = pickFreeIp(small, upper_full, 3);
  ASSERT_TRUE(low);
  EXPECT_LT(*low - small.at(0), 16u);
  EXPECT_GT(*low - small.at(0), 0u);
  std::set<uint32_t> all;
  for (uint32_t offset = 1; offset <= 14; ++offset) {
    all.insert(range.at(offset));
  }
  EXPECT_FALSE(pickFreeIp(range, all, 5));
  all.erase(range.at(9));
  EXPECT_EQ(pickFreeIp(range, all, 5), range.at(9));
}

TEST(ClusterIpWish, ReadsWhatTheSpecAsksFor) {
  EXPECT_EQ(clusterIpWishOf(json::parse(R"({"spec":{}})")).kind, ClusterIpWish::Kind::kAny);
  EXPECT_EQ(clusterIpWishOf(json::parse(R"({"spec":{"clusterIP":""}})")).kind,
            ClusterIpWish::Kind::kAny);
  EXPECT_EQ(clusterIpWishOf(json::parse(R"({"spec":{"clusterIP":"None"}})")).kind,
            ClusterIpWish::Kind::kHeadless);
  EXPECT_EQ(clusterIpWishOf(json::parse(R"({"spec":{"type":"ExternalName"}})")).kind,
            ClusterIpWish::Kind::kNone);
  auto given = clusterIpWishOf(json::parse(R"({"spec":{"clusterIPs":["10.96.0.10"]}})"));
  EXPECT_EQ(given.kind, ClusterIpWish::Kind::kThis);
  EXPECT_EQ(formatIpv4(given.ip), "10.96.0.10");
  auto bad = clusterIpWishOf(json::parse(R"({"spec":{"clusterIP":"10.96.0.300"}})"));
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].field, "spec.clusterIPs[0]");
  auto mismatch =
      clusterIpWishOf(json::parse(R"({"spec":{"clusterIP":"10.96.0.1","clusterIPs":["10.96.0.2"]}})"));
  EXPECT_EQ(mismatch.errors.size(), 1u);
}

TEST(ClusterIpUpdate, BecomingExternalNameDropsTheUnchangedIpFieldsAndReleases) {
  json current = json::parse(R"({"spec":{"type":"ClusterIP","clusterIP":"10.0.0.5",
      "clusterIPs":["10.0.0.5"],"ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack"}})");
  json next = current;
  next["spec"]["type"] = "ExternalName";
  next["spec"]["externalName"] = "example.com";
  auto u = clusterIpUpdateOf(next, current);
  EXPECT_EQ(u.kind, ClusterIpUpdate::Kind::kRelease);
  EXPECT_EQ(formatIpv4(u.held), "10.0.0.5");
  EXPECT_TRUE(u.errors.empty());
  EXPECT_EQ(next["spec"], json::parse(R"({"type":"ExternalName","externalName":"example.com"})"));
  // Idempotent: the rewritten update decides the same.
  EXPECT_EQ(clusterIpUpdateOf(next, current).kind, ClusterIpUpdate::Kind::kRelease);
  // An IP the update changed stays, and is refused.
  json odd = current;
  odd["spec"]["type"] = "ExternalName";
  odd["spec"]["clusterIP"] = "10.0.0.6";
  odd["spec"]["clusterIPs"] = {"10.0.0.6"};
  auto refused = clusterIpUpdateOf(odd, current);
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_EQ(refused.errors[0].field, "spec.clusterIPs");
}

TEST(ClusterIpUpdate, LeavingExternalNameAllocatesWhatTheSpecAsks) {
  json current = json::parse(R"({"spec":{"type":"ExternalName","externalName":"example.com"}})");
  json next = json::parse(R"({"spec":{"type":"ClusterIP","ports":[{"port":80}]}})");
  auto u = clusterIpUpdateOf(next, current);
  EXPECT_EQ(u.kind, ClusterIpUpdate::Kind::kAllocate);
  EXPECT_EQ(u.wish.kind, ClusterIpWish::Kind::kAny);
  next["spec"]["clusterIP"] = "None";
  EXPECT_EQ(clusterIpUpdateOf(next, current).wish.kind, ClusterIpWish::Kind::kHeadless);
  next["spec"]["clusterIP"] = "10.0.0.9";
  u = clusterIpUpdateOf(next, current);
  EXPECT_EQ(u.wish.kind, ClusterIpWish::Kind::kThis);
  EXPECT_EQ(formatIpv4(u.wish.ip), "10.0.0.9");
}

TEST(ClusterIpUpdate, KeepingATypeKeepsTheIpAndRefusesAChange) {
  json current = json::parse(R"({"spec":{"clusterIP":"10.0.0.5","clusterIPs":["10.0.0.5"]}})");
  json next = json::parse(R"({"spec":{"type":"NodePort"}})");
  auto u = clusterIpUpdateOf(next, current);
  EXPECT_EQ(u.kind, ClusterIpUpdate::Kind::kKeep);
  EXPECT_EQ(next["spec"]["clusterIP"], "10.0.0.5");
  EXPECT_EQ(next["spec"]["clusterIPs"], json::array({"10.0.0.5"}));
  // Headless stays headless: ClusterIP <-> None only through ExternalName, as in Kubernetes.
  json headless = json::parse(R"({"spec":{"clusterIP":"None","clusterIPs":["None"]}})");
  json to_ip = json::parse(R"({"spec":{"clusterIP":"10.0.0.7"}})");
  auto refused = clusterIpUpdateOf(to_ip, headless);
  EXPECT_EQ(refused.kind, ClusterIpUpdate::Kind::kNone);
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_EQ(refused.errors[0].field, "spec.clusterIPs[0]");
}

class ServiceIpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})").status, 201);
  }

  ApiResponse call(ApiHandler& handler, const char* method, const std::string& target,
                   const std::string& body = "") {
    auto info = parseRequestInfo(method, target);
    EXPECT_TRUE(info) << target;
    ApiRequest req{*info, "application/json", "application/json", body};
    return testing::runLoop(io_, handler.handle(std::move(req)));
  }
  ApiResponse call(const char* method, const std::string& target, const std::string& body = "") {
    return call(handler_, method, target, body);
  }

  static std::string service(const std::string& name, const std::string& ip = "") {
    json s = {{"metadata", {{"name", name}}},
              {"spec", {{"selector", {{"app", name}}}, {"ports", {{{"port", 80}}}}}}};
    if (!ip.empty()) {
      s["spec"]["clusterIP"] = ip;
    }
    return s.dump();
  }

  ApiResponse create(const std::string& name, const std::string& ip = "") {
    return call("POST", "/api/v1/namespaces/default/services", service(name, ip));
  }

  asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  ObjectStore objects_{store_, "/registry"};
  ApiHandler handler_{objects_, [] { return std::chrono::system_clock::now(); },
                      *Ipv4Range::parse("10.0.0.0/28")};
};

TEST_F(ServiceIpTest, CreateAllocatesAFreeIpInTheRangeAndMirrorsClusterIps) {
  auto r = create("web");
  ASSERT_EQ(r.status, 201) << r.body.dump();
  std::string ip = r.body["spec"]["clusterIP"];
  auto parsed = parseIpv4(ip);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(Ipv4Range::parse("10.0.0.0/28")->usable(*parsed)) << ip;
  EXPECT_EQ(r.body["spec"]["clusterIPs"], json::array({ip}));
  EXPECT_EQ(r.body["spec"]["ipFamilies"], json::array({"IPv4"}));
  EXPECT_EQ(r.body["spec"]["ipFamilyPolicy"], "SingleStack");
}

TEST_F(ServiceIpTest, NoTwoServicesGetTheSameIpUntilTheRangeIsFull) {
  std::set<std::string> ips;
  for (int i = 0; i < 14; ++i) {  // a /28 has 14 usable addresses
    auto r = create("s" + std::to_string(i));
    ASSERT_EQ(r.status, 201) << r.body.dump();
    EXPECT_TRUE(ips.insert(r.body["spec"]["clusterIP"].get<std::string>()).second);
  }
  auto full = create("one-too-many");
  EXPECT_EQ(full.status, 500);
  EXPECT_EQ(full.body["message"],
            "Internal error occurred: failed to allocate a serviceIP: range is full");
  // Deleting one releases its IP for the next.
  std::string freed = call("GET", "/api/v1/namespaces/default/services/s3").body["spec"]["clusterIP"];
  ASSERT_EQ(call("DELETE", "/api/v1/namespaces/default/services/s3").status, 200);
  auto again = create("one-more");
  ASSERT_EQ(again.status, 201) << again.body.dump();
  EXPECT_EQ(again.body["spec"]["clusterIP"], freed);
}

TEST_F(ServiceIpTest, TwoServersSharingTheStoreNeverHandOutOneIpTwice) {
  ApiHandler other{objects_, [] { return std::chrono::system_clock::now(); },
                   *Ipv4Range::parse("10.0.0.0/28")};
  std::set<std::string> ips;
  for (int i = 0; i < 7; ++i) {
    for (ApiHandler* h : {&handler_, &other}) {
      auto r = call(*h, "POST", "/api/v1/namespaces/default/services",
                    service("s" + std::to_string(ips.size())));
      ASSERT_EQ(r.status, 201) << r.body.dump();
      EXPECT_TRUE(ips.insert(r.body["spec"]["clusterIP"].get<std::string>()).second);
    }
  }
}

TEST_F(ServiceIpTest, ConcurrentCreatesThroughTwoServersRaceButNeverShareAnIp) {
  // Every create reads the held IPs, then claims one: interleaved, several pick the same IP
  // and all but one lose the claim's compare and pick again.
  testing::YieldingStore yielding(store_);
  ObjectStore racy_objects(yielding, "/registry");
  auto now = [] { return std::chrono::system_clock::now(); };
  // A /27 (30 usable addresses) for 14 Services: crowded enough that picks collide, roomy
  // enough that no create runs out of its bounded retries.
  ApiHandler one(racy_objects, now, *Ipv4Range::parse("10.0.0.0/27"));
  ApiHandler two(racy_objects, now, *Ipv4Range::parse("10.0.0.0/27"));
  std::vector<std::future<ApiResponse>> answers;
  for (int i = 0; i < 14; ++i) {
    auto info = parseRequestInfo("POST", "/api/v1/namespaces/default/services");
    ASSERT_TRUE(info);
    ApiRequest req{*info, "application/json", "application/json", service("s" + std::to_string(i))};
    ApiHandler& h = i % 2 ? one : two;
    answers.push_back(asio::co_spawn(io_, h.handle(std::move(req)), asio::use_future));
  }
  io_.restart();
  io_.run();
  std::set<std::string> ips;
  for (auto& answer : answers) {
    ApiResponse r = answer.get();
    ASSERT_EQ(r.status, 201) << r.body.dump();
    EXPECT_TRUE(ips.insert(r.body["spec"]["clusterIP"].get<std::string>()).second);
  }
  EXPECT_EQ(ips.size(), 14u);
}

TEST_F(ServiceIpTest, RequestedIpIsHonouredOnceAndRefusedOutOfRangeOrTaken) {
  auto r = create("dns", "10.0.0.10");
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(r.body["spec"]["clusterIP"], "10.0.0.10");
  auto taken = create("other", "10.0.0.10");
  EXPECT_EQ(taken.status, 422);
  EXPECT_EQ(taken.body["reason"], "Invalid");
  EXPECT_NE(taken.body["message"].get<std::string>().find(
                "failed to allocate IP 10.0.0.10: provided IP is already allocated"),
            std::string::npos)
      << taken.body.dump();
  auto outside = create("far", "10.96.0.10");
  EXPECT_EQ(outside.status, 422);
  EXPECT_NE(outside.body["message"].get<std::string>().find(
                "the provided IP (10.96.0.10) is not in the valid range. The range of valid IPs "
                "is 10.0.0.0/28"),
            std::string::npos)
      << outside.body.dump();
  EXPECT_EQ(create("broadcast", "10.0.0.15").status, 422);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/services/other").status, 404);
}

TEST_F(ServiceIpTest, HeadlessAndExternalNameServicesHoldNoIp) {
  auto headless = create("db", "None");
  ASSERT_EQ(headless.status, 201) << headless.body.dump();
  EXPECT_EQ(headless.body["spec"]["clusterIPs"], json::array({"None"}));
  json external = {{"metadata", {{"name", "ext"}}},
                   {"spec", {{"type", "ExternalName"}, {"externalName", "example.com"}}}};
  auto ext = call("POST", "/api/v1/namespaces/default/services", external.dump());
  ASSERT_EQ(ext.status, 201) << ext.body.dump();
  EXPECT_FALSE(ext.body["spec"].contains("clusterIP"));
  auto held = testing::runLoop(io_, objects_.claims("ipaddresses"));
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->empty());
}

TEST_F(ServiceIpTest, UpdateKeepsTheIpAndRefusesToChangeIt) {
  auto r = create("web");
  ASSERT_EQ(r.status, 201);
  std::string ip = r.body["spec"]["clusterIP"];
  json without = r.body;
  without["spec"].erase("clusterIP");
  without["spec"].erase("clusterIPs");
  without["metadata"]["labels"]["x"] = "y";
  auto kept = call("PUT", "/api/v1/namespaces/default/services/web", without.dump());
  ASSERT_EQ(kept.status, 200) << kept.body.dump();
  EXPECT_EQ(kept.body["spec"]["clusterIP"], ip);
  json changed = kept.body;
  changed["spec"]["clusterIP"] = ip == "10.0.0.3" ? "10.0.0.4" : "10.0.0.3";
  changed["spec"]["clusterIPs"] = json::array({changed["spec"]["clusterIP"]});
  EXPECT_EQ(call("PUT", "/api/v1/namespaces/default/services/web", changed.dump()).status, 422);
}

TEST_F(ServiceIpTest, ATypeChangeToExternalNameReleasesTheIpAndBackAllocatesOne) {
  auto r = create("web");
  ASSERT_EQ(r.status, 201) << r.body.dump();
  std::string ip = r.body["spec"]["clusterIP"];
  json ext = r.body;
  ext["spec"]["type"] = "ExternalName";
  ext["spec"]["externalName"] = "example.com";
  auto external = call("PUT", "/api/v1/namespaces/default/services/web", ext.dump());
  ASSERT_EQ(external.status, 200) << external.body.dump();
  EXPECT_FALSE(external.body["spec"].contains("clusterIP"));
  EXPECT_FALSE(external.body["spec"].contains("clusterIPs"));
  auto held = testing::runLoop(io_, objects_.claims("ipaddresses"));
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->empty());  // released in the update's transaction
  // Its old IP is free for another Service.
  ASSERT_EQ(create("other", ip).status, 201);

  json back = external.body;
  back["spec"]["type"] = "ClusterIP";
  back["spec"].erase("externalName");
  auto cluster = call("PUT", "/api/v1/namespaces/default/services/web", back.dump());
  ASSERT_EQ(cluster.status, 200) << cluster.body.dump();
  std::string again = cluster.body["spec"]["clusterIP"];
  EXPECT_NE(again, ip);  // "other" holds that one now
  EXPECT_EQ(cluster.body["spec"]["clusterIPs"], json::array({again}));
  held = testing::runLoop(io_, objects_.claims("ipaddresses"));
  ASSERT_TRUE(held);
  EXPECT_EQ(std::set<std::string>(held->begin(), held->end()),
            std::set<std::string>({ip, again}));

  // Through ExternalName to headless: None, no claim.
  ext = cluster.body;
  ext["spec"]["type"] = "ExternalName";
  ext["spec"]["externalName"] = "example.com";
  external = call("PUT", "/api/v1/namespaces/default/services/web", ext.dump());
  ASSERT_EQ(external.status, 200) << external.body.dump();
  json headless = external.body;
  headless["spec"]["type"] = "ClusterIP";
  headless["spec"].erase("externalName");
  headless["spec"]["clusterIP"] = "None";
  auto none = call("PUT", "/api/v1/namespaces/default/services/web", headless.dump());
  ASSERT_EQ(none.status, 200) << none.body.dump();
  EXPECT_EQ(none.body["spec"]["clusterIPs"], json::array({"None"}));
  held = testing::runLoop(io_, objects_.claims("ipaddresses"));
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, std::vector<std::string>({ip}));  // only "other"'s
}

TEST_F(ServiceIpTest, AnExternalNameServiceMayNotCarryAnIp) {
  json external = {{"metadata", {{"name", "ext"}}},
                   {"spec",
                    {{"type", "ExternalName"},
                     {"externalName", "example.com"},
                     {"clusterIP", "10.0.0.5"}}}};
  auto r = call("POST", "/api/v1/namespaces/default/services", external.dump());
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body["message"].get<std::string>().find(
                "spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
            std::string::npos)
      << r.body.dump();
}

TEST_F(ServiceIpTest, AServiceStoredBeforeClaimsKeepsItsIpAndClaimsItOnUpdate) {
  // Written as an older server did: an IP, no claim.
  const ResourceInfo* services = findResource("", "v1", "services");
  ASSERT_NE(services, nullptr);
  json legacy = json::parse(service("old", "10.0.0.9"));
  legacy["metadata"]["namespace"] = "default";
  legacy["metadata"]["uid"] = "legacy-uid";
  legacy["spec"]["clusterIPs"] = {"10.0.0.9"};
  ASSERT_TRUE(testing::runLoop(io_, objects_.create(*services, legacy)));

  // No allocation hands it out: requested, it is taken; picked, never chosen.
  EXPECT_EQ(create("asks", "10.0.0.9").status, 422);
  for (int i = 0; i < 13; ++i) {  // 14 usable addresses, one of them the old Service's
    auto r = create("s" + std::to_string(i));
    ASSERT_EQ(r.status, 201) << r.body.dump();
    EXPECT_NE(r.body["spec"]["clusterIP"], "10.0.0.9");
  }
  EXPECT_EQ(create("full").status, 500);

  // An update keeps the IP and writes its claim.
  json stored = call("GET", "/api/v1/namespaces/default/services/old").body;
  stored["metadata"]["labels"]["touched"] = "yes";
  stored["spec"].erase("clusterIP");
  stored["spec"].erase("clusterIPs");
  auto updated = call("PUT", "/api/v1/namespaces/default/services/old", stored.dump());
  ASSERT_EQ(updated.status, 200) << updated.body.dump();
  EXPECT_EQ(updated.body["spec"]["clusterIP"], "10.0.0.9");
  auto holder = testing::runLoop(io_, objects_.claimHolder("ipaddresses", "10.0.0.9"));
  ASSERT_TRUE(holder);
  ASSERT_TRUE(*holder);
  EXPECT_EQ((**holder)["name"], "old");
}

TEST_F(ServiceIpTest, ReleasingAnUnclaimedIpLeavesAnotherServicesClaimAlone) {
  // An old Service and a newer one that (before claims were checked against stored Services)
  // got the same IP with a claim: the old one's type change must not drop the other's claim.
  const ResourceInfo* services = findResource("", "v1", "services");
  ASSERT_NE(services, nullptr);
  json legacy = json::parse(service("old", "10.0.0.9"));
  legacy["metadata"]["namespace"] = "default";
  legacy["spec"]["clusterIPs"] = {"10.0.0.9"};
  ASSERT_TRUE(testing::runLoop(io_, objects_.create(*services, legacy)));
  json twin = json::parse(service("twin", "10.0.0.9"));
  twin["metadata"]["namespace"] = "default";
  ASSERT_TRUE(testing::runLoop(
      io_, objects_.create(*services, twin, {objects_.claimKey("ipaddresses", "10.0.0.9")})));
  json ext = call("GET", "/api/v1/namespaces/default/services/old").body;
  ext["spec"]["type"] = "ExternalName";
  ext["spec"]["externalName"] = "example.com";
  ASSERT_EQ(call("PUT", "/api/v1/namespaces/default/services/old", ext.dump()).status, 200);
  auto holder = testing::runLoop(io_, objects_.claimHolder("ipaddresses", "10.0.0.9"));
  ASSERT_TRUE(holder);
  ASSERT_TRUE(*holder);
  EXPECT_EQ((**holder)["name"], "twin");
}

TEST_F(ServiceIpTest, DryRunAllocatesNothing) {
  auto r = call("POST", "/api/v1/namespaces/default/services?dryRun=All", service("web"));
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_FALSE(r.body["spec"]["clusterIP"].get<std::string>().empty());
  auto held = testing::runLoop(io_, objects_.claims("ipaddresses"));
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->empty());
}

}  // namespace
}  // namespace rampart::api
