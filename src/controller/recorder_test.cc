// Recorder over LocalClient: Events written, aggregated into counts, rate-bounded per object.

#include "controller/recorder.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"
#include "kube/local_client.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = testing::runLoop(
        io_, client_.call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})",
                          "application/json"));
    ASSERT_TRUE(made && made->status == 201);
  }

  json events() {
    auto reply = testing::runLoop(
        io_, client_.call("GET", "/api/v1/namespaces/default/events", "", "application/json"));
    EXPECT_TRUE(reply && reply->ok());
    return reply ? reply->body["items"] : json::array();
  }

  ObjectRef rs(const std::string& name) {
    return ObjectRef{"ReplicaSet", "apps/v1", "default", name, "uid-" + name, "5"};
  }

  boost::asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  kube::LocalClient client_{store_, clock_, [] { return *api::parseRfc3339("2026-12-06T05:00:00Z"); }};
  Recorder recorder_{client_, clock_, [] { return *api::parseRfc3339("2026-12-06T05:00:00Z"); }};
};

TEST_F(RecorderTest, WritesAnEventNamingTheObjectReasonAndMessage) {
  EXPECT_TRUE(recorder_.event(rs("web"), "Normal", "SuccessfulCreate", "Created pod: web-x"));
  testing::runLoop(io_, recorder_.flush());
  json items = events();
  ASSERT_EQ(items.size(), 1u);
  const json& e = items[0];
  EXPECT_EQ(e["reason"], "SuccessfulCreate");
  EXPECT_EQ(e["message"], "Created pod: web-x");
  EXPECT_EQ(e["type"], "Normal");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["involvedObject"]["kind"], "ReplicaSet");
  EXPECT_EQ(e["involvedObject"]["name"], "web");
  EXPECT_EQ(e["involvedObject"]["uid"], "uid-web");
  EXPECT_EQ(e["source"]["component"], "rampart-controller");
  EXPECT_EQ(e["firstTimestamp"], "2026-12-06T05:00:00Z");
}

TEST_F(RecorderTest, TheSameEventAgainIncrementsTheCountOfOneObject) {
  for (int i = 0; i < 3; ++i) {
    recorder_.event(rs("web"), "Warning", "FailedCreate", "Error creating: quota");
  }
  recorder_.event(rs("web"), "Normal", "SuccessfulCreate", "Created pod: web-y");
  testing::runLoop(io_, recorder_.flush());
  json items = events();
  ASSERT_EQ(items.size(), 2u);
  int64_t failed_count = 0;
  for (const auto& e : items) {
    if (e["reason"] == "FailedCreate") {
      failed_count = e["count"].get<int64_t>();
    }
  }
  EXPECT_EQ(failed_count, 3);
  EXPECT_EQ(recorder_.written(), 4u);
}

TEST_F(RecorderTest, AnObjectGetsABurstOfEventsThenOneMorePerRefill) {
  int accepted = 0;
  for (int i = 0; i < 40; ++i) {
    accepted += recorder_.event(rs("web"), "Normal", "SuccessfulCreate",
                                "Created pod: web-" + std::to_string(i));
  }
  EXPECT_EQ(accepted, 25);
  EXPECT_EQ(recorder_.dropped(), 15u);
  EXPECT_TRUE(recorder_.event(rs("other"), "Normal", "SuccessfulCreate", "Created pod: o"))
      << "another object has its own budget";
  clock_.advance(std::chrono::minutes(5));
  EXPECT_TRUE(recorder_.event(rs("web"), "Normal", "SuccessfulCreate", "Created pod: late"));
  EXPECT_FALSE(recorder_.event(rs("web"), "Normal", "SuccessfulCreate", "Created pod: late2"));
}

TEST_F(RecorderTest, AFullQueueDropsInsteadOfBlocking) {
  RecorderOptions options;
  options.queue_limit = 2;
  Recorder small(client_, clock_, [] { return std::chrono::system_clock::now(); }, options);
  EXPECT_TRUE(small.event(rs("a"), "Normal", "R", "1"));
  EXPECT_TRUE(small.event(rs("b"), "Normal", "R", "2"));
  EXPECT_FALSE(small.event(rs("c"), "Normal", "R", "3"));
  EXPECT_EQ(small.dropped(), 1u);
}

}  // namespace
}  // namespace rampart::controller
