// The simulator against the API's own handler in process (LocalClient over MemoryStore): real
// request semantics, real timers, no sockets.
#include "agent/simulator.h"

#include <set>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kube/local_client.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::agent {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;

// Lease writes that take `delay` each (a slow API server), everything else passed through.
class SlowLeases : public kube::Client {
 public:
  SlowLeases(asio::io_context& io, kube::Client& inner, Duration delay)
      : io_(io), inner_(inner), delay_(delay) {}
  kube::Async<kube::Reply> call(std::string method, std::string target, std::string body,
                                std::string content_type) override {
    if (target.find("/leases") != std::string::npos) {
      asio::steady_timer timer(io_, delay_);
      co_await timer.async_wait(asio::use_awaitable);
    }
    auto reply = co_await inner_.call(std::move(method), std::move(target), std::move(body),
                                      std::move(content_type));
    co_return reply;
  }
  kube::Async<std::unique_ptr<kube::EventStream>> watch(std::string target) override {
    auto stream = co_await inner_.watch(std::move(target));
    co_return stream;
  }

 private:
  asio::io_context& io_;
  kube::Client& inner_;
  Duration delay_;
};

// Answers the first `failures` node creations with 503, as a server that lost etcd would.
class BusyNodeCreates : public kube::Client {
 public:
  BusyNodeCreates(kube::Client& inner, int failures) : inner_(inner), failures_(failures) {}
  kube::Async<kube::Reply> call(std::string method, std::string target, std::string body,
                                std::string content_type) override {
    if (method == "POST" && target == "/api/v1/nodes" && failures_ > 0) {
      --failures_;
      co_return kube::Reply{503, json{{"kind", "Status"},
                                      {"code", 503},
                                      {"reason", "ServiceUnavailable"},
                                      {"message", "etcd down"}}};
    }
    auto reply = co_await inner_.call(std::move(method), std::move(target), std::move(body),
                                      std::move(content_type));
    co_return reply;
  }
  kube::Async<std::unique_ptr<kube::EventStream>> watch(std::string target) override {
    auto stream = co_await inner_.watch(std::move(target));
    co_return stream;
  }

 private:
  kube::Client& inner_;
  int failures_;
};

// Watches that the test can cut (every open stream ends, as when a server goes away) and keep
// down until resume().
class CuttableWatches : public kube::Client {
 public:
  CuttableWatches(asio::io_context& io, kube::Client& inner) : io_(io), inner_(inner) {}

  kube::Async<kube::Reply> call(std::string method, std::string target, std::string body,
                                std::string content_type) override {
    auto reply = co_await inner_.call(std::move(method), std::move(target), std::move(body),
                                      std::move(content_type));
    co_return reply;
  }
  kube::Async<std::unique_ptr<kube::EventStream>> watch(std::string target) override {
    while (down_) {
      asio::steady_timer timer(io_, milliseconds(5));
      co_await timer.async_wait(asio::use_awaitable);
    }
    auto stream = co_await inner_.watch(std::move(target));
    if (!stream) {
      co_return stream;
    }
    co_return std::unique_ptr<kube::EventStream>(new Tracked(*this, std::move(*stream)));
  }

  void cut() {
    down_ = true;
    for (auto* s : open_) {
      s->inner->cancel();
    }
  }
  void resume() { down_ = false; }

 private:
  struct Tracked : kube::EventStream {
    Tracked(CuttableWatches& owner, std::unique_ptr<kube::EventStream> s)
        : owner(owner), inner(std::move(s)) {
      owner.open_.insert(this);
    }
    ~Tracked() override { owner.open_.erase(this); }
    kube::Async<std::optional<json>> next(Duration max_wait) override {
      auto event = co_await inner->next(max_wait);
      co_return event;
    }
    void cancel() override { inner->cancel(); }
    CuttableWatches& owner;
    std::unique_ptr<kube::EventStream> inner;
  };
  asio::io_context& io_;
  kube::Client& inner_;
  bool down_ = false;
  std::set<Tracked*> open_;
};

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* ns : {"default", "kube-node-lease"}) {
      ASSERT_EQ(
          call("POST", "/api/v1/namespaces", json{{"metadata", {{"name", ns}}}}.dump()).status,
          201);
    }
    options_.nodes = 3;
    options_.spec.zones = {"a", "b"};
    options_.renew_interval = milliseconds(50);
    options_.spec.lease_duration = milliseconds(200);
    options_.max_in_flight = 4;
    options_.retry_delay = milliseconds(20);
  }

  void TearDown() override {
    if (sim_) {
      sim_->stop();
      EXPECT_TRUE(waitFor([&] { return run_done_; }, milliseconds(2000))) << "run() ended";
    }
  }

  kube::Reply call(const std::string& method, const std::string& target,
                   const std::string& body = "",
                   const std::string& content_type = "application/json") {
    auto reply = testing::runLoop(io_, client_.call(method, target, body, content_type));
    EXPECT_TRUE(reply) << target;
    return reply ? *reply : kube::Reply{};
  }

  // Drives the loop (and the simulator on it) until `pred` holds or `limit` passes.
  template <typename Pred>
  bool waitFor(Pred pred, Duration limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) {
        return true;
      }
      testing::runLoop(io_, [this]() -> asio::awaitable<void> {
        asio::steady_timer t(io_, milliseconds(5));
        co_await t.async_wait(asio::use_awaitable);
      }());
    }
    return pred();
  }

  Simulator& startSimulator() {
    sim_ = std::make_unique<Simulator>(
        io_.get_executor(), *sim_client_, SteadyClock::instance(),
        [] { return std::chrono::system_clock::now(); }, options_);
    auto registered = testing::runLoop(io_, sim_->registerNodes());
    EXPECT_TRUE(registered) << (registered ? "" : registered.error().message);
    asio::co_spawn(io_, runToEnd(), asio::detached);
    return *sim_;
  }

  asio::awaitable<void> runToEnd() {
    co_await sim_->run();
    run_done_ = true;
  }

  json createPod(const std::string& name, const std::string& node) {
    json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", name}}},
        {"spec", {{"nodeName", node}, {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    auto reply = call("POST", "/api/v1/namespaces/default/pods", pod.dump());
    EXPECT_EQ(reply.status, 201) << reply.body.dump();
    return reply.body;
  }

  json get(const std::string& path) { return call("GET", path).body; }

  asio::io_context io_;
  store::MemoryStore store_{io_.get_executor(), SteadyClock::instance()};
  kube::LocalClient client_{store_, SteadyClock::instance(),
                            [] { return std::chrono::system_clock::now(); }};
  std::unique_ptr<kube::Client> interposed_;  // outlives the simulator (stopped in TearDown)
  kube::Client* sim_client_ = &client_;       // what the simulator talks to
  SimulatorOptions options_;
  std::unique_ptr<Simulator> sim_;
  bool run_done_ = false;
};

TEST_F(SimulatorTest, RegistersReadyNodesInZonesWithTheirLeases) {
  startSimulator();
  auto nodes = get("/api/v1/nodes");
  ASSERT_EQ(nodes["items"].size(), 3u);
  EXPECT_EQ(nodes["items"][1]["metadata"]["labels"]["topology.kubernetes.io/zone"], "b");
  auto lease = get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/sim-2");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "sim-2");
  EXPECT_EQ(lease["metadata"]["annotations"]["rampart.io/lease-duration-ms"], "200");
  EXPECT_EQ(sim_->stats().nodes_registered, 3);
}

TEST_F(SimulatorTest, LeasesKeepBeingRenewedUntilStopped) {
  startSimulator();
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/sim-1";
  std::string first = get(path)["spec"]["renewTime"];
  ASSERT_TRUE(waitFor([&] { return get(path)["spec"]["renewTime"] != first; }, milliseconds(1000)));
  EXPECT_TRUE(waitFor([&] { return sim_->stats().leases_renewed >= 6; }, milliseconds(1000)));
  sim_->stop();
  ASSERT_TRUE(waitFor([&] { return run_done_; }, milliseconds(2000)));
  std::string last = get(path)["spec"]["renewTime"];
  waitFor([] { return false; }, milliseconds(200));
  EXPECT_EQ(get(path)["spec"]["renewTime"], last) << "no renewal after stop()";
}

TEST_F(SimulatorTest, ABoundPodRunsAndAPodOnAnotherNodeIsLeftAlone) {
  startSimulator();
  createPod("web-1", "sim-1");
  createPod("web-2", "sim-1");
  createPod("other", "real-node");
  const std::string path = "/api/v1/namespaces/default/pods/";
  ASSERT_TRUE(waitFor(
      [&] {
        return get(path + "web-1")["status"]["phase"] == "Running" &&
               get(path + "web-2")["status"]["phase"] == "Running";
      },
      milliseconds(2000)));
  json pod = get(path + "web-1");
  EXPECT_EQ(pod["status"]["hostIP"], nodeInternalIp(1));
  EXPECT_NE(pod["status"]["podIP"], get(path + "web-2")["status"]["podIP"]);
  EXPECT_EQ(get(path + "other")["status"]["phase"], "Pending");
  EXPECT_EQ(sim_->stats().pods_started, 2);
}

TEST_F(SimulatorTest, AGracefullyDeletedPodIsRemovedByItsNode) {
  startSimulator();
  createPod("web-1", "sim-0");
  const std::string path = "/api/v1/namespaces/default/pods/web-1";
  ASSERT_TRUE(
      waitFor([&] { return get(path)["status"]["phase"] == "Running"; }, milliseconds(2000)));
  auto deleting = call("DELETE", path);  // grace 30 s: only marks it
  ASSERT_EQ(deleting.status, 200);
  ASSERT_TRUE(deleting.body["metadata"].contains("deletionTimestamp"));
  EXPECT_TRUE(waitFor([&] { return call("GET", path).status == 404; }, milliseconds(2000)));
  EXPECT_EQ(sim_->stats().pods_deleted, 1);
}

TEST_F(SimulatorTest, PodsBoundBeforeTheAgentStartedRunToo) {
  createPod("early", "sim-2");
  startSimulator();
  EXPECT_TRUE(waitFor(
      [&] { return get("/api/v1/namespaces/default/pods/early")["status"]["phase"] == "Running"; },
      milliseconds(2000)));
}

TEST_F(SimulatorTest, PodsStillStartWhileLeaseRenewalsSaturateTheWriters) {
  // 50 renewals every 20 ms, 20 ms each, on two writers: the lease queue never empties.
  interposed_ = std::make_unique<SlowLeases>(io_, client_, milliseconds(20));
  sim_client_ = interposed_.get();
  options_.nodes = 50;
  options_.renew_interval = milliseconds(20);
  options_.max_in_flight = 2;
  startSimulator();
  ASSERT_TRUE(waitFor([&] { return sim_->stats().lease_slots_missed > 0; }, milliseconds(2000)))
      << "the renewals saturate the writers";
  createPod("web-1", "sim-7");
  EXPECT_TRUE(waitFor(
      [&] { return get("/api/v1/namespaces/default/pods/web-1")["status"]["phase"] == "Running"; },
      milliseconds(2000)));
}

TEST_F(SimulatorTest, RegistrationRetriesABusyServer) {
  interposed_ = std::make_unique<BusyNodeCreates>(client_, 4);
  sim_client_ = interposed_.get();
  startSimulator();  // expects registerNodes() to succeed
  EXPECT_EQ(get("/api/v1/nodes")["items"].size(), 3u);
}

TEST_F(SimulatorTest, AfterALostWatchBelowTheCompactionItListsAgainAndForgetsDeletedPods) {
  auto cuttable = std::make_unique<CuttableWatches>(io_, client_);
  CuttableWatches& watches = *cuttable;
  interposed_ = std::move(cuttable);
  sim_client_ = interposed_.get();
  startSimulator();
  const std::string pods = "/api/v1/namespaces/default/pods/";
  createPod("first", "sim-0");
  ASSERT_TRUE(waitFor([&] { return get(pods + "first")["status"]["phase"] == "Running"; },
                      milliseconds(2000)));
  EXPECT_EQ(get(pods + "first")["status"]["podIP"], "10.64.0.2");

  watches.cut();
  ASSERT_EQ(call("DELETE", pods + "first?gracePeriodSeconds=0").status, 200);
  createPod("filler", "real-node");
  std::string rv = get("/api/v1/namespaces/default/pods")["metadata"]["resourceVersion"];
  ASSERT_TRUE(testing::runLoop(io_, store_.compact(std::stoll(rv))));
  watches.resume();

  // The watch from the old revision ends with 410; the list that follows no longer has
  // "first", so its address is free again for the next pod on that node.
  createPod("second", "sim-0");
  ASSERT_TRUE(waitFor([&] { return get(pods + "second")["status"]["phase"] == "Running"; },
                      milliseconds(2000)));
  EXPECT_EQ(get(pods + "second")["status"]["podIP"], "10.64.0.2");
  EXPECT_GE(sim_->stats().relists, 2);
  EXPECT_GE(sim_->stats().watch_restarts, 1);
}

TEST_F(SimulatorTest, ANodeRegisteredBeforeIsMadeReadyAgain) {
  json stale = makeNode(options_.spec, 0, std::chrono::system_clock::now());
  stale["metadata"]["labels"].erase("topology.kubernetes.io/zone");
  for (auto& c : stale["status"]["conditions"]) {
    if (c["type"] == "Ready") {
      c["status"] = "Unknown";
    }
  }
  ASSERT_EQ(call("POST", "/api/v1/nodes", stale.dump()).status, 201);
  startSimulator();
  json node = get("/api/v1/nodes/sim-0");
  EXPECT_EQ(node["metadata"]["labels"]["topology.kubernetes.io/zone"], "a");
  for (const auto& c : node["status"]["conditions"]) {
    if (c["type"] == "Ready") {
      EXPECT_EQ(c["status"], "True");
    }
  }
}

}  // namespace
}  // namespace rampart::agent
