// Informer over LocalClient and MemoryStore: list, watch, paginated lists, and a watch that fell
// behind a compaction relists and delivers what changed meanwhile.

#include "kube/informer.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "kube/local_client.h"
#include "store/memory_store.h"
#include "testing/loop_until.h"

namespace rampart::kube {
namespace {
using json = nlohmann::json;
using Change = Informer::Change;

struct Seen {
  Change change;
  std::string name;
  std::string value;
};

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", json{{"metadata", {{"name", "default"}}}}).status, 201);
  }

  Reply call(const std::string& method, const std::string& target, const json& body = nullptr,
             const std::string& type = "application/json") {
    auto reply =
        testing::runLoop(io_, client_.call(method, target, body.is_null() ? "" : body.dump(), type));
    EXPECT_TRUE(reply);
    return reply ? *reply : Reply{};
  }

  std::string put(const std::string& name, const std::string& value) {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}}},
               {"data", {{"v", value}}}};
    auto reply = call("POST", "/api/v1/namespaces/default/configmaps", cm);
    if (reply.status == 409) {
      reply = call("PATCH", "/api/v1/namespaces/default/configmaps/" + name,
                   json{{"data", {{"v", value}}}}, "application/merge-patch+json");
    }
    EXPECT_TRUE(reply.ok()) << reply.body.dump();
    return reply.body.value("/metadata/resourceVersion"_json_pointer, std::string());
  }

  void remove(const std::string& name) {
    EXPECT_TRUE(call("DELETE", "/api/v1/namespaces/default/configmaps/" + name).ok());
  }

  std::unique_ptr<Informer> makeInformer(InformerOptions options = {}) {
    options.poll = std::chrono::milliseconds(10);
    options.ns = "default";
    auto informer = std::make_unique<Informer>(client_, Resource{"", "v1", "configmaps", true},
                                               options);
    informer->addHandler([this](Change change, const json* before, const json* after) {
      const json& o = after ? *after : *before;
      seen_.push_back({change, o["metadata"]["name"].get<std::string>(),
                       o.value("/data/v"_json_pointer, std::string())});
    });
    return informer;
  }

  void start(Informer& informer) {
    boost::asio::co_spawn(io_, informer.run(), boost::asio::detached);
  }

  void stop(Informer& informer) {
    informer.stop();
    ASSERT_TRUE(testing::loopUntil(io_, [&] { return !informer.running(); }));
  }

  bool sawFor(Change change, const std::string& name) {
    for (const auto& s : seen_) {
      if (s.change == change && s.name == name) {
        return true;
      }
    }
    return false;
  }

  boost::asio::io_context io_;
  SteadyClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  LocalClient client_{store_, clock_, [] { return std::chrono::system_clock::now(); }};
  std::vector<Seen> seen_;
};

TEST_F(InformerTest, ListsThenDeliversEveryWatchedChangeToTheCacheAndHandlers) {
  put("a", "1");
  put("b", "1");
  auto informer = makeInformer();
  start(*informer);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->synced(); }));
  EXPECT_EQ(informer->items().size(), 2u);
  EXPECT_TRUE(sawFor(Change::Added, "a"));
  put("c", "1");
  put("a", "2");
  remove("b");
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return sawFor(Change::Deleted, "b"); }));
  EXPECT_TRUE(sawFor(Change::Added, "c"));
  EXPECT_TRUE(sawFor(Change::Modified, "a"));
  EXPECT_EQ((*informer->get("default/a"))["data"]["v"], "2");
  EXPECT_EQ(informer->get("default/b"), nullptr);
  EXPECT_EQ(informer->lists(), 1);
  stop(*informer);
}

TEST_F(InformerTest, ListsPageByPage) {
  for (int i = 0; i < 7; ++i) {
    put("cm-" + std::to_string(i), "x");
  }
  InformerOptions options;
  options.page_size = 2;
  auto informer = makeInformer(options);
  start(*informer);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->synced(); }));
  EXPECT_EQ(informer->items().size(), 7u);
  EXPECT_EQ(informer->inNamespace("default").size(), 7u);
  EXPECT_TRUE(informer->inNamespace("other").empty());
  stop(*informer);
}

TEST_F(InformerTest, AWatchBehindTheCompactionRelistsAndDeliversTheDifferences) {
  put("keep", "1");
  put("change", "1");
  put("gone", "1");
  auto informer = makeInformer();
  start(*informer);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->synced(); }));
  stop(*informer);  // the informer misses what follows
  seen_.clear();
  put("change", "2");
  remove("gone");
  std::string rv = put("new", "1");
  ASSERT_TRUE(testing::runLoop(io_, store_.compact(std::stoll(rv))));
  start(*informer);  // watches from its old resourceVersion: 410, then a relist
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->lists() == 2; }));
  EXPECT_TRUE(sawFor(Change::Modified, "change"));
  EXPECT_TRUE(sawFor(Change::Deleted, "gone"));
  EXPECT_TRUE(sawFor(Change::Added, "new"));
  EXPECT_FALSE(sawFor(Change::Modified, "keep")) << "unchanged objects are not redelivered";
  EXPECT_EQ(informer->items().size(), 3u);
  // And it watches again after the relist.
  put("later", "1");
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return sawFor(Change::Added, "later"); }));
  stop(*informer);
}

TEST_F(InformerTest, ARequestedRelistCoversWritesMadeBeforeTheRequest) {
  auto informer = makeInformer();
  start(*informer);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->synced(); }));
  put("x", "1");
  uint64_t ticket = informer->requestRelist();
  EXPECT_FALSE(informer->relisted(ticket));
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->relisted(ticket); }));
  EXPECT_NE(informer->get("default/x"), nullptr);
  EXPECT_EQ(informer->lists(), 2);
  stop(*informer);
}

TEST_F(InformerTest, StopEndsRunWithinOnePoll) {
  auto informer = makeInformer();
  start(*informer);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return informer->synced(); }));
  auto before = std::chrono::steady_clock::now();
  stop(*informer);
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace rampart::kube
