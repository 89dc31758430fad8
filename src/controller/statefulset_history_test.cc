#include "controller/statefulset_history.h"

#include <gtest/gtest.h>

#include "controller/statefulset.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json setWithImage(const std::string& image, int limit = 10) {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "s1"}}},
          {"spec",
           {{"replicas", 1},
            {"revisionHistoryLimit", limit},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", image}}}}}}}}}}};
}

// The revision the controller would have made for `set` with number `n`.
json revisionOf(const json& set, int64_t n) {
  auto d = decideRevisions(set, {}, {});
  json r = *d.create;
  r["revision"] = n;
  return r;
}

TEST(StatefulSetHistory, TheFirstTemplateBecomesRevisionOneOwnedByTheSet) {
  json s = setWithImage("v1");
  auto d = decideRevisions(s, {}, {});
  ASSERT_TRUE(d.create);
  const json& r = *d.create;
  EXPECT_EQ(r["kind"], "ControllerRevision");
  EXPECT_EQ(r["metadata"]["name"], templateRevision(s));
  EXPECT_EQ(r["revision"], 1);
  EXPECT_EQ(r["metadata"]["labels"]["app"], "web");  // kubectl lists by the set's selector
  EXPECT_EQ("web-" + r["metadata"]["labels"][kRevisionLabel].get<std::string>(),
            templateRevision(s));
  EXPECT_EQ(r["metadata"]["ownerReferences"][0]["uid"], "s1");
  EXPECT_EQ(r["metadata"]["ownerReferences"][0]["controller"], true);
  // The data is the patch `kubectl rollout undo` sends back.
  EXPECT_EQ(r["data"]["spec"]["template"]["$patch"], "replace");
  EXPECT_EQ(r["data"]["spec"]["template"]["spec"]["containers"][0]["image"], "v1");
}

TEST(StatefulSetHistory, AnEditedTemplateGetsTheNextNumberAndAnUnchangedOneNothing) {
  json v1 = setWithImage("v1");
  json v2 = setWithImage("v2");
  std::vector<json> revisions = {revisionOf(v1, 1)};
  auto same = decideRevisions(v1, revisions, {});
  EXPECT_FALSE(same.create);
  EXPECT_TRUE(same.renumber.empty());
  EXPECT_TRUE(same.reason.empty());
  auto edited = decideRevisions(v2, revisions, {});
  ASSERT_TRUE(edited.create);
  EXPECT_EQ((*edited.create)["revision"], 2);
  EXPECT_NE((*edited.create)["metadata"]["name"], revisions[0]["metadata"]["name"]);
}

TEST(StatefulSetHistory, UndoToAnOlderTemplateRenumbersThatRevisionAsTheNewest) {
  json v1 = setWithImage("v1");
  json v2 = setWithImage("v2");
  std::vector<json> revisions = {revisionOf(v1, 1), revisionOf(v2, 2)};
  auto d = decideRevisions(v1, revisions, {});
  EXPECT_FALSE(d.create);
  EXPECT_EQ(d.renumber, templateRevision(v1));
  EXPECT_EQ(d.renumber_to, 3);
}

TEST(StatefulSetHistory, RevisionsBeyondTheLimitArePrunedOldestFirstButNeverLiveOnes) {
  std::vector<json> revisions;
  for (int i = 1; i <= 5; ++i) {
    revisions.push_back(revisionOf(setWithImage("v" + std::to_string(i)), i));
  }
  json s = setWithImage("v5", 2);
  s["status"]["currentRevision"] = templateRevision(setWithImage("v1"));  // still rolling
  json pod = {{"metadata", {{"labels", {{kRevisionLabel, templateRevision(setWithImage("v2"))}}}}}};
  auto d = decideRevisions(s, revisions, {pod});
  // Live: v5 (update), v1 (current), v2 (a pod). History: v3, v4 within the limit of 2.
  EXPECT_TRUE(d.remove.empty());
  s["spec"]["revisionHistoryLimit"] = 1;
  d = decideRevisions(s, revisions, {pod});
  EXPECT_EQ(d.remove, std::vector<std::string>{templateRevision(setWithImage("v3"))});
  s["spec"]["revisionHistoryLimit"] = 0;
  s["status"].erase("currentRevision");
  d = decideRevisions(s, revisions, {});
  EXPECT_EQ(d.remove.size(), 4u);
}

}  // namespace
}  // namespace rampart::controller
