#include "api/registry.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;

TEST(Registry, EveryServedResourceIsFoundByItsUrlAndByItsKind) {
  for (const auto& r : builtinResources()) {
    EXPECT_EQ(findResource(r.group, r.version, r.plural), &r) << r.plural;
    EXPECT_EQ(findKind(r.apiVersion(), r.kind), &r) << r.kind;
  }
  EXPECT_EQ(findResource("apps", "v1", "pods"), nullptr);
  EXPECT_EQ(findKind("v1", "Deployment"), nullptr);
}

TEST(Registry, CoreDiscoveryListsPodsWithTheirSubresourcesAndShortName) {
  auto list = apiResourceList("", "v1");
  ASSERT_TRUE(list);
  EXPECT_EQ((*list)["groupVersion"], "v1");
  std::map<std::string, json> by_name;
  for (const auto& r : (*list)["resources"]) {
    by_name[r["name"].get<std::string>()] = r;
  }
  ASSERT_TRUE(by_name.count("pods"));
  EXPECT_EQ(by_name["pods"]["shortNames"], json::array({"po"}));
  EXPECT_EQ(by_name["pods"]["namespaced"], true);
  EXPECT_EQ(by_name["nodes"]["namespaced"], false);
  ASSERT_TRUE(by_name.count("pods/eviction"));
  EXPECT_EQ(by_name["pods/eviction"]["group"], "policy");
  EXPECT_TRUE(by_name.count("pods/log"));
  EXPECT_TRUE(by_name.count("nodes/status"));
}

TEST(Registry, GroupsAreDiscoverableWithTheirPreferredVersion) {
  json groups = apiGroupList()["groups"];
  std::vector<std::string> names;
  for (const auto& g : groups) {
    names.push_back(g["name"]);
    EXPECT_EQ(g["preferredVersion"]["version"], "v1");
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "apps"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "policy"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "coordination.k8s.io"), names.end());
  auto apps = apiResourceList("apps", "v1");
  ASSERT_TRUE(apps);
  EXPECT_EQ((*apps)["groupVersion"], "apps/v1");
  EXPECT_TRUE(apiGroup("apps"));
  EXPECT_FALSE(apiGroup("batch"));
  EXPECT_FALSE(apiResourceList("batch", "v1"));
}

TEST(Registry, ScaleSubresourceSpeaksAutoscalingV1) {
  const ResourceInfo* d = findResource("apps", "v1", "deployments");
  ASSERT_NE(d, nullptr);
  const Subresource* s = d->subresource("scale");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, "Scale");
  EXPECT_EQ(s->group, "autoscaling");
}

}  // namespace
}  // namespace rampart::api
