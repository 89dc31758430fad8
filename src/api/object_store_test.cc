#include "api/object_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

class ObjectStoreTest : public ::testing::Test {
 protected:
  template <typename T>
  T run(asio::awaitable<T> work) {
    return testing::runLoop(io_, std::move(work));
  }
  json pod(const std::string& name, const std::string& node = "", const std::string& app = "web") {
    json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}}},
              {"spec", {{"containers", json::array()}}}};
    if (!node.empty()) {
      p["spec"]["nodeName"] = node;
    }
    return p;
  }
  Result<json> create(json object) { return run(objects_.create(*pods_, std::move(object))); }
  std::vector<std::string> names(const ListResult& list) {
    std::vector<std::string> out;
    for (const auto& item : list.items) {
      out.push_back(item["metadata"]["name"]);
    }
    return out;
  }

  asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  ObjectStore objects_{store_, "/registry"};
  const ResourceInfo* pods_ = findResource("", "v1", "pods");
  const ResourceInfo* nodes_ = findResource("", "v1", "nodes");
};

TEST_F(ObjectStoreTest, KeysFollowGroupResourceNamespaceAndName) {
  EXPECT_EQ(objects_.key(*pods_, "default", "web"), "/registry/core/pods/default/web");
  EXPECT_EQ(objects_.key(*nodes_, "ignored", "n1"), "/registry/core/nodes/n1");
  EXPECT_EQ(objects_.key(*findResource("apps", "v1", "deployments"), "d", "x"),
            "/registry/apps/deployments/d/x");
}

TEST_F(ObjectStoreTest, CreateThenGetCarriesTheRevisionAsResourceVersion) {
  auto created = create(pod("a"));
  ASSERT_TRUE(created) << created.error().message;
  auto got = run(objects_.get(*pods_, "default", "a"));
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["metadata"]["resourceVersion"], (*created)["metadata"]["resourceVersion"]);
  auto raw = run(store_.range(store::RangeRequest::single("/registry/core/pods/default/a")));
  EXPECT_FALSE(json::parse(raw->kvs.at(0).value)["metadata"].contains("resourceVersion"));
}

TEST_F(ObjectStoreTest, SecondCreateIsAlreadyExistsAndMissingGetIsNotFound) {
  ASSERT_TRUE(create(pod("a")));
  auto again = create(pod("a"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
  auto missing = run(objects_.get(*pods_, "default", "zz"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(ObjectStoreTest, UpdateWithAStaleResourceVersionIsAConflict) {
  auto v1 = create(pod("a"));
  ASSERT_TRUE(v1);
  store::Revision rv1 = std::stoll((*v1)["metadata"]["resourceVersion"].get<std::string>());
  json changed = *v1;
  changed["spec"]["nodeName"] = "n1";
  auto v2 = run(objects_.update(*pods_, changed, rv1));
  ASSERT_TRUE(v2) << v2.error().message;
  changed["spec"]["nodeName"] = "n2";
  auto stale = run(objects_.update(*pods_, changed, rv1));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::FailedPrecondition);
  EXPECT_EQ(run(objects_.get(*pods_, "default", "a")).value()["spec"]["nodeName"], "n1");
  auto gone = run(objects_.update(*pods_, pod("nope"), 0));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
}

TEST_F(ObjectStoreTest, UpdateClaimsAndReleasesInItsTransactionAndTellsAHeldClaimFromAStaleObject) {
  auto v1 = create(pod("a"));
  ASSERT_TRUE(v1);
  ASSERT_TRUE(create(pod("b")));
  std::string one = objects_.claimKey("nodeports", "30001");
  std::string two = objects_.claimKey("nodeports", "30002");
  ASSERT_TRUE(run(objects_.create(*pods_, pod("c"), {two})));
  store::Revision rv1 = std::stoll((*v1)["metadata"]["resourceVersion"].get<std::string>());
  auto v2 = run(objects_.update(*pods_, *v1, rv1, {one}));
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(run(objects_.claims("nodeports")).value(), (std::vector<std::string>{"30001", "30002"}));
  store::Revision rv2 = std::stoll((*v2)["metadata"]["resourceVersion"].get<std::string>());
  // The claim is held: AlreadyExists, and nothing changes (30001 is not released).
  auto held = run(objects_.update(*pods_, *v2, rv2, {two}, {one}));
  ASSERT_FALSE(held);
  EXPECT_EQ(held.error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(run(objects_.claims("nodeports")).value().size(), 2u);
  // A stale revision stays a conflict, even with a claim in the transaction.
  auto stale = run(objects_.update(*pods_, *v2, rv1, {objects_.claimKey("nodeports", "30003")}));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::FailedPrecondition);
  auto moved = run(objects_.update(*pods_, *v2, rv2, {objects_.claimKey("nodeports", "30003")},
                                   {one}));
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(run(objects_.claims("nodeports")).value(), (std::vector<std::string>{"30002", "30003"}));
}

TEST_F(ObjectStoreTest, RemoveReturnsTheDeletedObjectOnlyAtTheExpectedRevision) {
  auto v1 = create(pod("a"));
  auto touched = run(objects_.update(*pods_, pod("a", "n1"), 0));
  ASSERT_TRUE(v1 && touched);
  store::Revision rv1 = std::stoll((*v1)["metadata"]["resourceVersion"].get<std::string>());
  auto stale = run(objects_.remove(*pods_, "default", "a", rv1));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::FailedPrecondition);
  auto removed = run(objects_.remove(*pods_, "default", "a", 0));
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ((*removed)["spec"]["nodeName"], "n1");
  EXPECT_FALSE(run(objects_.get(*pods_, "default", "a")));
}

TEST_F(ObjectStoreTest, PagesAreReadAtTheFirstPagesRevision) {
  for (const char* n : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(create(pod(n)));
  }
  auto first = run(objects_.list(*pods_, "default", ListOptions{.limit = 2}));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(names(*first), (std::vector<std::string>{"a", "b"}));
  ASSERT_FALSE(first->continue_token.empty());
  EXPECT_EQ(first->remaining, 3);
  ASSERT_TRUE(create(pod("bb")));  // after the first page: not in this list
  auto second = run(objects_.list(
      *pods_, "default", ListOptions{.limit = 2, .continue_token = first->continue_token}));
  ASSERT_TRUE(second);
  EXPECT_EQ(names(*second), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(second->revision, first->revision);
  auto last = run(objects_.list(*pods_, "default",
                                ListOptions{.limit = 2, .continue_token = second->continue_token}));
  ASSERT_TRUE(last);
  EXPECT_EQ(names(*last), (std::vector<std::string>{"e"}));
  EXPECT_TRUE(last->continue_token.empty());
}

TEST_F(ObjectStoreTest, SelectorsFilterAndFillWholePages) {
  ASSERT_TRUE(create(pod("a", "n1", "web")));
  ASSERT_TRUE(create(pod("b", "n2", "db")));
  ASSERT_TRUE(create(pod("c", "n1", "web")));
  ASSERT_TRUE(create(pod("d", "n1", "web")));
  auto web = run(
      objects_.list(*pods_, "", ListOptions{.limit = 2, .labels = *parseLabelSelector("app=web")}));
  ASSERT_TRUE(web);
  EXPECT_EQ(names(*web), (std::vector<std::string>{"a", "c"}));
  EXPECT_FALSE(web->continue_token.empty());
  EXPECT_FALSE(web->remaining);
  auto on_n2 = run(
      objects_.list(*pods_, "", ListOptions{.fields = *parseFieldSelector("spec.nodeName=n2")}));
  ASSERT_TRUE(on_n2);
  EXPECT_EQ(names(*on_n2), (std::vector<std::string>{"b"}));
  auto bad =
      run(objects_.list(*pods_, "", ListOptions{.fields = *parseFieldSelector("spec.color=red")}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "field label not supported: spec.color");
}

TEST_F(ObjectStoreTest, ForgedOrCompactedContinueTokensAreRefused) {
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_TRUE(create(pod(n)));
  }
  EXPECT_FALSE(
      run(objects_.list(*pods_, "default", ListOptions{.limit = 1, .continue_token = "!!"})));
  std::string other = encodeContinue(1, "/registry/core/secrets/default/x");
  EXPECT_FALSE(
      run(objects_.list(*pods_, "default", ListOptions{.limit = 1, .continue_token = other})));
  auto first = run(objects_.list(*pods_, "default", ListOptions{.limit = 1}));
  ASSERT_TRUE(first);
  ASSERT_TRUE(run(objects_.update(*pods_, pod("a", "n9"), 0)));
  ASSERT_TRUE(run(store_.compact(store_.revision())));
  auto expired = run(objects_.list(
      *pods_, "default", ListOptions{.limit = 1, .continue_token = first->continue_token}));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::OutOfRange);
}

TEST_F(ObjectStoreTest, AValueThatDoesNotMatchItsKeyIsNeverServed) {
  ASSERT_TRUE(run(store_.put(
      store::PutRequest{.key = "/registry/core/pods/default/a",
                        .value = R"({"metadata":{"name":"b","namespace":"default"}})"})));
  auto got = run(objects_.get(*pods_, "default", "a"));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::Internal);
  ASSERT_TRUE(run(
      store_.put(store::PutRequest{.key = "/registry/core/pods/default/c", .value = "not json"})));
  EXPECT_FALSE(run(objects_.get(*pods_, "default", "c")));
}

TEST_F(ObjectStoreTest, GuaranteedUpdateRetriesAfterALostRace) {
  ASSERT_TRUE(create(pod("a")));
  int calls = 0;
  auto result =
      run(objects_.guaranteedUpdate(*pods_, "default", "a", [&](json current) -> Result<json> {
        if (++calls == 1) {
          // Someone else writes between our read and our write (on a loop of its own: the store's
          // calls complete without suspending).
          asio::io_context other;
          EXPECT_TRUE(testing::runLoop(other, objects_.update(*pods_, pod("a", "other"), 0)));
        }
        current["metadata"]["labels"]["touched"] = std::to_string(calls);
        return current;
      }));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(calls, 2);
  auto got = run(objects_.get(*pods_, "default", "a"));
  EXPECT_EQ((*got)["spec"]["nodeName"], "other");
  EXPECT_EQ((*got)["metadata"]["labels"]["touched"], "2");
}

TEST(WatchEvents, SelectorTransitionsBecomeAddedAndDeleted) {
  const ResourceInfo& pods = *findResource("", "v1", "pods");
  auto kv = [](const char* app, store::Revision create, store::Revision mod) {
    json p = {{"metadata", {{"name", "a"}, {"namespace", "default"}, {"labels", {{"app", app}}}}}};
    return store::KeyValue{"/registry/core/pods/default/a", p.dump(), create, mod, 1, 0};
  };
  LabelSelector web = *parseLabelSelector("app=web");
  store::WatchEvent created{store::WatchEvent::Type::Put, kv("web", 5, 5), std::nullopt};
  auto e = toWatchEvent(pods, created, web, {});
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((**e)["type"], "ADDED");
  EXPECT_EQ((**e)["object"]["metadata"]["resourceVersion"], "5");
  store::WatchEvent relabelled{store::WatchEvent::Type::Put, kv("db", 5, 6), kv("web", 5, 5)};
  e = toWatchEvent(pods, relabelled, web, {});
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((**e)["type"], "DELETED");
  store::WatchEvent back{store::WatchEvent::Type::Put, kv("web", 5, 7), kv("db", 5, 6)};
  EXPECT_EQ((**toWatchEvent(pods, back, web, {}))["type"], "ADDED");
  store::WatchEvent changed{store::WatchEvent::Type::Put, kv("web", 5, 8), kv("web", 5, 7)};
  EXPECT_EQ((**toWatchEvent(pods, changed, web, {}))["type"], "MODIFIED");
  store::WatchEvent unrelated{store::WatchEvent::Type::Put, kv("db", 9, 9), std::nullopt};
  EXPECT_FALSE(*toWatchEvent(pods, unrelated, web, {}));
  store::WatchEvent deleted{store::WatchEvent::Type::Delete,
                            store::KeyValue{"/registry/core/pods/default/a", "", 0, 10, 0, 0},
                            kv("web", 5, 8)};
  e = toWatchEvent(pods, deleted, web, {});
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((**e)["type"], "DELETED");
  EXPECT_EQ((**e)["object"]["metadata"]["resourceVersion"], "10");
}

}  // namespace
}  // namespace rampart::api
