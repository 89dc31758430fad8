#include "api/validation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;

const ResourceInfo& kind(const char* group, const char* plural) {
  return *findResource(group, "v1", plural);
}

json deployment() {
  return json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"default"},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"app","image":"nginx:1.25","ports":[{"containerPort":80}]}]}}}})");
}

std::vector<std::string> messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.toString());
  }
  return out;
}

TEST(Defaults, DeploymentGetsKubernetesDefaults) {
  json d = deployment();
  d["spec"].erase("replicas");
  applyDefaults(kind("apps", "deployments"), d);
  EXPECT_EQ(d["spec"]["replicas"], 1);
  EXPECT_EQ(d["spec"]["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  EXPECT_EQ(d["spec"]["revisionHistoryLimit"], 10);
  EXPECT_EQ(d["spec"]["progressDeadlineSeconds"], 600);
  auto& pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Always");
  EXPECT_EQ(pod["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(pod["containers"][0]["ports"][0]["protocol"], "TCP");
}

TEST(Defaults, ExplicitValuesAreKept) {
  json d = deployment();
  d["spec"]["strategy"] = {{"type", "Recreate"}};
  applyDefaults(kind("apps", "deployments"), d);
  EXPECT_EQ(d["spec"]["replicas"], 3);
  EXPECT_FALSE(d["spec"]["strategy"].contains("rollingUpdate"));
}

TEST(Defaults, ServicePortsTargetTheirOwnPort) {
  json s =
      json::parse(R"({"metadata":{"name":"web","namespace":"d"},"spec":{"ports":[{"port":80}]}})");
  applyDefaults(kind("", "services"), s);
  EXPECT_EQ(s["spec"]["type"], "ClusterIP");
  EXPECT_EQ(s["spec"]["ports"][0]["targetPort"], 80);
  EXPECT_EQ(s["spec"]["ports"][0]["protocol"], "TCP");
}

TEST(Validation, AValidDeploymentPasses) {
  json d = deployment();
  applyDefaults(kind("apps", "deployments"), d);
  EXPECT_TRUE(validateObject(kind("apps", "deployments"), d, json()).empty())
      << ::testing::PrintToString(messages(validateObject(kind("apps", "deployments"), d, json())));
}

TEST(Validation, NegativeReplicasNamesTheFieldAsKubernetesDoes) {
  json d = deployment();
  d["spec"]["replicas"] = -1;
  EXPECT_EQ(messages(validateObject(kind("apps", "deployments"), d, json())),
            (std::vector<std::string>{
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0"}));
}

TEST(Validation, SelectorMustMatchTheTemplateAndIsImmutable) {
  json d = deployment();
  d["spec"]["template"]["metadata"]["labels"]["app"] = "other";
  auto errors = messages(validateObject(kind("apps", "deployments"), d, json()));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("`selector` does not match template `labels`"), std::string::npos);
  json old = deployment();
  json changed = deployment();
  changed["spec"]["selector"]["matchLabels"]["tier"] = "x";
  changed["spec"]["template"]["metadata"]["labels"]["tier"] = "x";
  errors = messages(validateObject(kind("apps", "deployments"), changed, old));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("spec.selector: Invalid value"), std::string::npos);
  EXPECT_NE(errors[0].find("field is immutable"), std::string::npos);
}

TEST(Validation, PodContainersNeedNamesImagesAndValidResources) {
  json pod = json::parse(R"({"metadata":{"name":"p","namespace":"d"},"spec":{"containers":[
      {"name":"a","image":"i","resources":{"requests":{"cpu":"lots"}}},
      {"name":"a","image":"i"},
      {"image":"i"},
      {"name":"b"}],"restartPolicy":"Sometimes"}})");
  auto errors = messages(validateObject(kind("", "pods"), pod, json()));
  std::vector<std::string> fields;
  for (const auto& e : validateObject(kind("", "pods"), pod, json())) {
    fields.push_back(e.field);
  }
  EXPECT_EQ(fields, (std::vector<std::string>{"spec.containers[0].resources.requests[cpu]",
                                              "spec.containers[1].name", "spec.containers[2].name",
                                              "spec.containers[3].image", "spec.restartPolicy"}));
  json empty = json::parse(R"({"metadata":{"name":"p","namespace":"d"},"spec":{}})");
  EXPECT_EQ(messages(validateObject(kind("", "pods"), empty, json())),
            (std::vector<std::string>{"spec.containers: Required value"}));
}

TEST(Validation, TopologySpreadNodeInclusionPoliciesAreHonorOrIgnore) {
  json pod = json::parse(R"({"metadata":{"name":"p","namespace":"d"},"spec":{
      "containers":[{"name":"a","image":"i"}],
      "topologySpreadConstraints":[
        {"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone",
         "whenUnsatisfiable":"DoNotSchedule","nodeAffinityPolicy":"Honor",
         "nodeTaintsPolicy":"Sometimes"},
        {"maxSkew":1,"topologyKey":"kubernetes.io/hostname",
         "whenUnsatisfiable":"ScheduleAnyway","nodeAffinityPolicy":"ignore",
         "nodeTaintsPolicy":"Ignore"}]}})");
  EXPECT_EQ(messages(validateObject(kind("", "pods"), pod, json())),
            (std::vector<std::string>{
                "spec.topologySpreadConstraints[0].nodeTaintsPolicy: Unsupported value: "
                "\"Sometimes\": supported values: \"Honor\", \"Ignore\"",
                "spec.topologySpreadConstraints[1].nodeAffinityPolicy: Unsupported value: "
                "\"ignore\": supported values: \"Honor\", \"Ignore\""}));
  pod["spec"]["topologySpreadConstraints"][0]["nodeTaintsPolicy"] = "Honor";
  pod["spec"]["topologySpreadConstraints"][1].erase("nodeAffinityPolicy");
  EXPECT_TRUE(validateObject(kind("", "pods"), pod, json()).empty());
  // In a workload's template the path starts at the template.
  json d = deployment();
  d["spec"]["template"]["spec"]["topologySpreadConstraints"] = {
      {{"maxSkew", 1},
       {"topologyKey", "topology.kubernetes.io/zone"},
       {"whenUnsatisfiable", "DoNotSchedule"},
       {"nodeTaintsPolicy", "Always"}}};
  EXPECT_EQ(messages(validateObject(kind("apps", "deployments"), d, json())),
            (std::vector<std::string>{
                "spec.template.spec.topologySpreadConstraints[0].nodeTaintsPolicy: Unsupported "
                "value: \"Always\": supported values: \"Honor\", \"Ignore\""}));
}

TEST(Validation, TopologySpreadConstraintsAreCheckedFieldByFieldAsKubernetesDoes) {
  json pod = json::parse(R"({"metadata":{"name":"p","namespace":"d","labels":{"app":"a"}},
    "spec":{"containers":[{"name":"a","image":"i"}],
      "topologySpreadConstraints":[
        {"maxSkew":0,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"},
        {"maxSkew":1,"topologyKey":"","whenUnsatisfiable":"Sometimes"},
        {"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","minDomains":0},
        {"maxSkew":1,"topologyKey":"host","whenUnsatisfiable":"ScheduleAnyway","minDomains":2},
        {"maxSkew":1,"topologyKey":"rack","whenUnsatisfiable":"DoNotSchedule",
         "matchLabelKeys":["pod-template-hash"]},
        {"maxSkew":1,"topologyKey":"row","whenUnsatisfiable":"DoNotSchedule",
         "labelSelector":{"matchLabels":{"app":"a"},
                          "matchExpressions":[{"key":"tier","operator":"In","values":["x"]}]},
         "matchLabelKeys":["app","tier","bad key!","pod-template-hash"]}]}})");
  EXPECT_EQ(
      messages(validateObject(kind("", "pods"), pod, json())),
      (std::vector<std::string>{
          "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
          "spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}: Duplicate value: "
          "\"{zone, DoNotSchedule}\"",
          "spec.topologySpreadConstraints[1].topologyKey: Required value: can not be empty",
          "spec.topologySpreadConstraints[1].whenUnsatisfiable: Unsupported value: \"Sometimes\": "
          "supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
          "spec.topologySpreadConstraints[2].minDomains: Invalid value: 0: must be greater than "
          "zero",
          "spec.topologySpreadConstraints[3].minDomains: Invalid value: 2: can only use "
          "minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
          "spec.topologySpreadConstraints[4].matchLabelKeys: Forbidden: must not be specified "
          "when labelSelector is not set",
          "spec.topologySpreadConstraints[5].matchLabelKeys[0]: Invalid value: \"app\": exists "
          "in both matchLabelKeys and labelSelector",
          "spec.topologySpreadConstraints[5].matchLabelKeys[1]: Invalid value: \"tier\": exists "
          "in both matchLabelKeys and labelSelector",
          "spec.topologySpreadConstraints[5].matchLabelKeys[2]: Invalid value: \"bad key!\": "
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
          "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
          "'123-abc', regex used for validation is "
          "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"}));
  // What kubectl's users write is accepted.
  json good = json::parse(R"({"metadata":{"name":"p","namespace":"d"},
    "spec":{"containers":[{"name":"a","image":"i"}],
      "topologySpreadConstraints":[
        {"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone",
         "whenUnsatisfiable":"DoNotSchedule","minDomains":3,
         "labelSelector":{"matchLabels":{"app":"a"}},"matchLabelKeys":["pod-template-hash"]},
        {"maxSkew":2,"topologyKey":"topology.kubernetes.io/zone",
         "whenUnsatisfiable":"ScheduleAnyway"}]}})");
  EXPECT_EQ(messages(validateObject(kind("", "pods"), good, json())), std::vector<std::string>{});
}

TEST(Validation, AnUpdateThatKeepsStoredSpreadConstraintsIsNotHeldToNewerRules) {
  json old = json::parse(R"({"metadata":{"name":"p","namespace":"d"},"spec":{
      "containers":[{"name":"a","image":"i"}],
      "topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone",
        "whenUnsatisfiable":"ScheduleAnyway","minDomains":2}]}})");
  json status_update = old;
  status_update["status"] = {{"phase", "Running"}};
  EXPECT_EQ(messages(validateObject(kind("", "pods"), status_update, old)),
            std::vector<std::string>{});
  json changed = old;
  changed["spec"]["topologySpreadConstraints"][0]["minDomains"] = 3;
  EXPECT_EQ(messages(validateObject(kind("", "pods"), changed, old)).size(), 1u);
  EXPECT_EQ(messages(validateObject(kind("", "pods"), old, json())).size(), 1u) << "a create is";
}

TEST(Validation, BoundPodsKeepTheirNode) {
  json old = json::parse(R"({"metadata":{"name":"p","namespace":"d"},"spec":{"nodeName":"n1",
      "containers":[{"name":"a","image":"i"}]}})");
  json moved = old;
  moved["spec"]["nodeName"] = "n2";
  auto errors = validateObject(kind("", "pods"), moved, old);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "spec.nodeName");
}

TEST(Validation, ServicePortsAndTypes) {
  json s = json::parse(R"({"metadata":{"name":"web","namespace":"d"},"spec":{"type":"Magic",
      "ports":[{"port":0},{"port":80,"name":"http"}]}})");
  std::vector<std::string> fields;
  for (const auto& e : validateObject(kind("", "services"), s, json())) {
    fields.push_back(e.field);
  }
  EXPECT_EQ(fields,
            (std::vector<std::string>{"spec.ports[0].port", "spec.ports[0].name", "spec.type"}));
}

TEST(Validation, ConfigMapKeysAndValues) {
  json cm = json::parse(
      R"({"metadata":{"name":"c","namespace":"d"},"data":{"ok.key":"v","bad key":"v","n":1}})");
  std::vector<std::string> fields;
  for (const auto& e : validateObject(kind("", "configmaps"), cm, json())) {
    fields.push_back(e.field);
  }
  EXPECT_EQ(fields, (std::vector<std::string>{"data[bad key]", "data[n]"}));
}

TEST(Validation, BudgetCannotSetBothBounds) {
  json pdb = json::parse(
      R"({"metadata":{"name":"b","namespace":"d"},"spec":{"minAvailable":2,"maxUnavailable":1}})");
  EXPECT_EQ(validateObject(kind("policy", "poddisruptionbudgets"), pdb, json()).size(), 1u);
}

}  // namespace
}  // namespace rampart::api
