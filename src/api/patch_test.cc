#include "api/patch.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;

json strategic(const char* object, const char* patch) {
  auto r = applyStrategicMergePatch(json::parse(object), json::parse(patch));
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : json();
}

const char* kDeployment = R"({
  "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a"]},
  "spec": {"replicas": 3, "template": {"spec": {
    "containers": [
      {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}],
       "ports": [{"containerPort": 80}]},
      {"name": "sidecar", "image": "side:1"}],
    "volumes": [{"name": "data", "emptyDir": {}}]}}}})";

TEST(StrategicMergePatch, ContainersMergeByNameInsteadOfReplacingTheList) {
  json out = strategic(
      kDeployment,
      R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}})");
  auto& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["image"], "app:2");
  EXPECT_EQ(containers[0]["env"][0]["value"], "1");  // untouched fields stay
  EXPECT_EQ(containers[1]["name"], "sidecar");
}

TEST(StrategicMergePatch, NewElementsAreAppendedAndNestedListsMergeByTheirKeys) {
  json out = strategic(kDeployment, R"({"spec":{"template":{"spec":{"containers":[
      {"name":"app","env":[{"name":"B","value":"2"}],"ports":[{"containerPort":443}]},
      {"name":"third","image":"t:1"}]}}}})");
  auto& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 3u);
  EXPECT_EQ(containers[0]["env"].size(), 2u);
  EXPECT_EQ(containers[0]["ports"].size(), 2u);
  EXPECT_EQ(containers[2]["name"], "third");
}

TEST(StrategicMergePatch, DeleteDirectiveRemovesOneListElement) {
  json out = strategic(
      kDeployment,
      R"({"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}})");
  auto& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0]["name"], "app");
}

TEST(StrategicMergePatch, ReplaceDirectiveReplacesAListOrAMap) {
  json out = strategic(kDeployment, R"({"spec":{"template":{"spec":{"containers":[
      {"name":"only","image":"o:1"},{"$patch":"replace"}]}}}})");
  ASSERT_EQ(out["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["name"], "only");
  out = strategic(kDeployment, R"({"metadata":{"labels":{"tier":"x","$patch":"replace"}}})");
  EXPECT_EQ(out["metadata"]["labels"], json::parse(R"({"tier":"x"})"));
}

TEST(StrategicMergePatch, NullDeletesAKeyAndListsWithoutAStrategyAreReplaced) {
  json out = strategic(R"({"spec":{"tolerations":[{"key":"a"},{"key":"b"}],"nodeName":"n1"}})",
                       R"({"spec":{"tolerations":[{"key":"c"}],"nodeName":null}})");
  EXPECT_EQ(out["spec"]["tolerations"], json::parse(R"([{"key":"c"}])"));
  EXPECT_FALSE(out["spec"].contains("nodeName"));
}

TEST(StrategicMergePatch, PrimitiveSetsMergeAndDeleteFromPrimitiveListRemoves) {
  json out = strategic(kDeployment, R"({"metadata":{"finalizers":["b","a"]}})");
  EXPECT_EQ(out["metadata"]["finalizers"], json::parse(R"(["a","b"])"));
  out = strategic(kDeployment, R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}})");
  EXPECT_EQ(out["metadata"]["finalizers"], json::array());
}

TEST(StrategicMergePatch, SetElementOrderReordersTheMergedList) {
  json out = strategic(kDeployment, R"({"spec":{"template":{"spec":{
      "$setElementOrder/containers":[{"name":"sidecar"},{"name":"app"}],
      "containers":[{"name":"app","image":"app:3"}]}}}})");
  auto& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["name"], "sidecar");
  EXPECT_EQ(containers[1]["image"], "app:3");
  EXPECT_FALSE(out["spec"]["template"]["spec"].contains("$setElementOrder/containers"));
}

TEST(StrategicMergePatch, RetainKeysClearsFieldsTheVolumeSourceNoLongerHas) {
  json out = strategic(kDeployment, R"({"spec":{"template":{"spec":{"volumes":[
      {"name":"data","$retainKeys":["name","hostPath"],"hostPath":{"path":"/d"}}]}}}})");
  auto& volume = out["spec"]["template"]["spec"]["volumes"][0];
  EXPECT_FALSE(volume.contains("emptyDir"));
  EXPECT_EQ(volume["hostPath"]["path"], "/d");
  EXPECT_FALSE(volume.contains("$retainKeys"));
}

TEST(StrategicMergePatch, ServicePortsMergeByPort) {
  json out = strategic(R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443}]}})",
                       R"({"spec":{"ports":[{"port":80,"targetPort":9090}]}})");
  ASSERT_EQ(out["spec"]["ports"].size(), 2u);
  EXPECT_EQ(out["spec"]["ports"][0]["targetPort"], 9090);
}

TEST(StrategicMergePatch, DirectivesInsideANewFieldAreNotStoredInTheObject) {
  json out = strategic(R"({"metadata":{"name":"x"}})",
                       R"({"spec":{"$setElementOrder/containers":[{"name":"a"}],
                           "containers":[{"name":"a","image":"i"}]}})");
  EXPECT_EQ(out["spec"], json::parse(R"({"containers":[{"name":"a","image":"i"}]})"));
}

TEST(StrategicMergePatch, AnElementWithoutItsMergeKeyIsRejected) {
  auto r = applyStrategicMergePatch(
      json::parse(kDeployment),
      json::parse(R"({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not contain declared merge key: name"), std::string::npos);
  EXPECT_FALSE(applyStrategicMergePatch(json::parse(kDeployment), json::parse(R"([1])")));
  EXPECT_FALSE(applyStrategicMergePatch(json::parse(kDeployment),
                                        json::parse(R"({"metadata":{"$patch":"explode"}})")));
}

TEST(MergePatch, FollowsRfc7386) {
  auto r = applyMergePatch(json::parse(R"({"a":{"b":1,"c":2},"l":[1,2]})"),
                           json::parse(R"({"a":{"b":null,"d":3},"l":[3]})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, json::parse(R"({"a":{"c":2,"d":3},"l":[3]})"));
}

TEST(JsonPatch, AppliesOperationsAndRejectsAFailedTest) {
  json object = json::parse(R"({"spec":{"replicas":3}})");
  auto r =
      applyJsonPatch(object, json::parse(R"([{"op":"replace","path":"/spec/replicas","value":5},
                                                  {"op":"add","path":"/metadata","value":{}}])"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["spec"]["replicas"], 5);
  EXPECT_FALSE(
      applyJsonPatch(object, json::parse(R"([{"op":"test","path":"/spec/replicas","value":4}])")));
  EXPECT_FALSE(applyJsonPatch(object, json::parse(R"([{"op":"remove","path":"/nope"}])")));
  EXPECT_FALSE(applyJsonPatch(object, json::parse(R"({"op":"remove"})")));
}

TEST(PatchType, ChosenByContentType) {
  EXPECT_EQ(patchTypeFromContentType("application/strategic-merge-patch+json"),
            PatchType::Strategic);
  EXPECT_EQ(patchTypeFromContentType("application/merge-patch+json; charset=utf-8"),
            PatchType::Merge);
  EXPECT_EQ(patchTypeFromContentType("application/json-patch+json"), PatchType::Json);
  EXPECT_FALSE(patchTypeFromContentType("application/json"));
}

}  // namespace
}  // namespace rampart::api
