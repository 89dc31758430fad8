#include "controller/ownership.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json rs() {
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata", {{"name", "web-1"}, {"namespace", "default"}, {"uid", "rs1"}}},
          {"spec", {{"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
}

json pod(const std::string& name, const std::string& app, const std::string& owner_uid = "") {
  json p = {{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}}}};
  if (!owner_uid.empty()) {
    p["metadata"]["ownerReferences"] = {{{"uid", owner_uid}, {"controller", true}}};
  }
  return p;
}

TEST(Ownership, AdoptsMatchingOrphansKeepsItsOwnAndReleasesThoseNoLongerSelected) {
  json other_ns = pod("x", "web");
  other_ns["metadata"]["namespace"] = "other";
  json leaving = pod("y", "web");
  leaving["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  auto d = decideOwnership(
      rs(), {pod("orphan", "web"), pod("mine", "web", "rs1"), pod("relabelled", "db", "rs1"),
             pod("theirs", "web", "rs2"), pod("unrelated", "db"), other_ns, leaving});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->adopt, std::vector<std::string>{"orphan"});
  EXPECT_EQ(d->release, std::vector<std::string>{"relabelled"});
  EXPECT_EQ(d->owned, (std::vector<std::string>{"orphan", "mine"}));
}

TEST(Ownership, AControllerBeingDeletedNeitherAdoptsNorReleases) {
  json going = rs();
  going["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  auto d = decideOwnership(going, {pod("orphan", "web"), pod("relabelled", "db", "rs1")});
  EXPECT_TRUE(d->adopt.empty());
  EXPECT_TRUE(d->release.empty());
  EXPECT_EQ(d->owned, std::vector<std::string>{"relabelled"});
}

TEST(Ownership, TheControllerReferenceNamesTheController) {
  EXPECT_EQ(controllerRef(rs()), json({{"apiVersion", "apps/v1"},
                                       {"kind", "ReplicaSet"},
                                       {"name", "web-1"},
                                       {"uid", "rs1"},
                                       {"controller", true},
                                       {"blockOwnerDeletion", true}}));
}

TEST(Ownership, AnInvalidSelectorIsAnError) {
  json bad = rs();
  bad["spec"]["selector"] = {{"matchExpressions", {{{"key", "app"}, {"operator", "Near"}}}}};
  auto d = decideOwnership(bad, {});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("spec.selector"), std::string::npos) << d.error().message;
}

}  // namespace
}  // namespace rampart::controller
