#include "kube/local_client.h"

#include <gtest/gtest.h>

#include "api/table.h"
#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::kube {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;

class LocalClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})").status, 201);
  }

  Reply call(const char* method, const std::string& target, const std::string& body = "",
             const std::string& content_type = "application/json") {
    auto reply = testing::runLoop(io_, client_.call(method, target, body, content_type));
    EXPECT_TRUE(reply) << target;
    return reply ? *reply : Reply{};
  }

  std::unique_ptr<EventStream> watch(const std::string& target) {
    auto stream = testing::runLoop(io_, client_.watch(target));
    EXPECT_TRUE(stream) << (stream ? "" : stream.error().message);
    return stream ? std::move(*stream) : nullptr;
  }

  // The next event within 1 s of waiting, or null.
  json nextEvent(EventStream& stream) {
    for (int i = 0; i < 100; ++i) {
      auto event = testing::runLoop(io_, stream.next(milliseconds(10)));
      if (!event) {
        return json{{"error", event.error().message}};
      }
      if (*event) {
        return **event;
      }
    }
    return nullptr;
  }

  std::string createPod(const std::string& name, const std::string& app) {
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"labels", {{"app", app}}}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    auto reply = call("POST", "/api/v1/namespaces/default/pods", pod.dump());
    EXPECT_EQ(reply.status, 201) << reply.body.dump();
    return reply.body["metadata"]["resourceVersion"].get<std::string>();
  }

  boost::asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  LocalClient client_{store_, clock_, [] { return *api::parseRfc3339("2026-12-06T05:00:00Z"); }};
};

TEST_F(LocalClientTest, CallsRunTheApiSemanticsAndReturnStatusErrors) {
  createPod("web-1", "web");
  auto got = call("GET", "/api/v1/namespaces/default/pods/web-1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body["spec"]["restartPolicy"], "Always");  // defaulted by the handler
  auto missing = call("GET", "/api/v1/namespaces/default/pods/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.reason(), "NotFound");
  EXPECT_EQ(missing.message(), "pods \"nope\" not found");
}

TEST_F(LocalClientTest, AWatchWithoutResourceVersionStartsWithTheCurrentObjects) {
  createPod("web-1", "web");
  createPod("db-1", "db");
  auto stream = watch("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb");
  ASSERT_TRUE(stream);
  auto first = nextEvent(*stream);
  EXPECT_EQ(first["type"], "ADDED");
  EXPECT_EQ(first["object"]["metadata"]["name"], "web-1");
  createPod("web-2", "web");
  createPod("db-2", "db");  // filtered out by the selector
  call("DELETE", "/api/v1/namespaces/default/pods/web-1?gracePeriodSeconds=0");
  auto second = nextEvent(*stream);
  EXPECT_EQ(second["type"], "ADDED");
  EXPECT_EQ(second["object"]["metadata"]["name"], "web-2");
  auto third = nextEvent(*stream);
  EXPECT_EQ(third["type"], "DELETED");
  EXPECT_EQ(third["object"]["metadata"]["name"], "web-1");
}

TEST_F(LocalClientTest, AWatchFromAResourceVersionSendsOnlyLaterChanges) {
  std::string rv = createPod("web-1", "web");
  auto stream = watch("/api/v1/namespaces/default/pods?resourceVersion=" + rv);
  ASSERT_TRUE(stream);
  auto patched = call("PATCH", "/api/v1/namespaces/default/pods/web-1",
                      R"({"metadata":{"labels":{"x":"y"}}})", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << patched.body.dump();
  auto event = nextEvent(*stream);
  EXPECT_EQ(event["type"], "MODIFIED");
  EXPECT_EQ(event["object"]["metadata"]["labels"]["x"], "y");
}

TEST_F(LocalClientTest, AWatchBelowTheCompactionEndsWithA410Error) {
  std::string old_rv = createPod("web-1", "web");
  std::string rv = createPod("web-2", "web");
  createPod("web-3", "web");
  ASSERT_TRUE(testing::runLoop(io_, store_.compact(std::stoll(rv) + 1)));
  auto stream = watch("/api/v1/namespaces/default/pods?resourceVersion=" + old_rv);
  ASSERT_TRUE(stream);
  auto event = nextEvent(*stream);
  EXPECT_EQ(event["type"], "ERROR");
  EXPECT_EQ(event["object"]["code"], 410);
  EXPECT_EQ(event["object"]["reason"], "Expired");
  auto after = testing::runLoop(io_, stream->next(milliseconds(10)));
  EXPECT_FALSE(after) << "the stream ends after its ERROR event";
}

TEST_F(LocalClientTest, BookmarksCarryTheLatestRevisionWhenNothingHappens) {
  std::string rv = createPod("web-1", "web");
  auto stream = watch("/api/v1/namespaces/default/pods?allowWatchBookmarks=true&resourceVersion=" +
                      rv);
  ASSERT_TRUE(stream);
  auto quiet = testing::runLoop(io_, stream->next(milliseconds(10)));
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(*quiet) << "no bookmark before the interval";
  clock_.advance(std::chrono::seconds(31));
  auto event = nextEvent(*stream);
  EXPECT_EQ(event["type"], "BOOKMARK");
  EXPECT_EQ(event["object"]["kind"], "Pod");
  EXPECT_EQ(event["object"]["metadata"]["resourceVersion"], rv);
}

TEST_F(LocalClientTest, AWatchWithAnUnsupportedFieldSelectorIsRefused) {
  auto stream = testing::runLoop(
      io_, client_.watch("/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3Dbar"));
  ASSERT_FALSE(stream);
  EXPECT_NE(stream.error().message.find("spec.foo"), std::string::npos) << stream.error().message;
}

}  // namespace
}  // namespace rampart::kube
