#include "api/schema.h"

#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "api/registry.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;

const json& propertyAt(const std::string& definition, const std::vector<std::string>& path) {
  const json* s = &schemaDefinitions().at(definition);
  for (const auto& p : path) {
    const json& resolved = resolveSchema(*s);
    const json& items = resolved.contains("items") ? resolveSchema(resolved["items"]) : resolved;
    s = &items.at("properties").at(p);
  }
  return *s;
}

TEST(Schema, EveryServedKindAndSubresourceKindHasADefinitionWithItsGvk) {
  for (const auto& r : builtinResources()) {
    std::string name = schemaNameOf(r.group, r.version, r.kind);
    ASSERT_FALSE(name.empty()) << r.kind;
    const json& s = schemaDefinitions().at(name);
    EXPECT_EQ(s["x-kubernetes-group-version-kind"][0],
              json({{"group", r.group}, {"kind", r.kind}, {"version", r.version}}));
    for (const char* field : {"apiVersion", "kind", "metadata"}) {
      EXPECT_TRUE(s["properties"].contains(field)) << r.kind << " " << field;
    }
    EXPECT_FALSE(schemaNameOf(r.group, r.version, r.kind + "List").empty()) << r.kind;
    for (const auto& sub : r.subresources) {
      std::string group = sub.group.empty() && sub.version.empty() ? r.group : sub.group;
      std::string version = sub.version.empty() ? r.version : sub.version;
      EXPECT_FALSE(schemaNameOf(group, version, sub.kind).empty()) << sub.kind;
    }
  }
  EXPECT_EQ(schemaNameOf("apps", "v1", "Deployment"), "io.k8s.api.apps.v1.Deployment");
  EXPECT_EQ(schemaNameOf("autoscaling", "v1", "Scale"), "io.k8s.api.autoscaling.v1.Scale");
  EXPECT_EQ(schemaNameOf("policy", "v1", "Eviction"), "io.k8s.api.policy.v1.Eviction");
  EXPECT_EQ(schemaNameOf("", "v1", "Binding"), "io.k8s.api.core.v1.Binding");
  EXPECT_EQ(schemaNameOf("apps", "v1", "Status"), "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
  EXPECT_EQ(schemaNameOf("", "v1", "DeleteOptions"),
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions");
  EXPECT_EQ(schemaNameOf("batch", "v1", "Job"), "");
}

TEST(Schema, EveryPropertyHasATypeOrReferenceAndADescription) {
  int properties = 0;
  for (const auto& [name, s] : schemaDefinitions().items()) {
    EXPECT_FALSE(s.value("description", "").empty()) << name;
    json props = s.value("properties", json::object());
    for (const auto& [field, p] : props.items()) {
      ++properties;
      EXPECT_FALSE(p.value("description", "").empty()) << name << "." << field;
      EXPECT_TRUE(p.contains("type") || p.contains("allOf")) << name << "." << field;
    }
  }
  EXPECT_GT(properties, 500);
}

TEST(Schema, SharedMetaTypesAreDefined) {
  for (const char* name : {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
                           "io.k8s.apimachinery.pkg.api.resource.Quantity",
                           "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                           "io.k8s.api.core.v1.PodList", "io.k8s.api.apps.v1.DeploymentList"}) {
    EXPECT_TRUE(schemaDefinitions().contains(name)) << name;
  }
  const json& ios = schemaDefinitions()["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
  EXPECT_EQ(ios["x-kubernetes-int-or-string"], true);
  EXPECT_EQ(ios["format"], "int-or-string");
}

TEST(Schema, ListsCarryTheMergeKeysStrategicMergePatchUses) {
  const std::string pod_spec = "io.k8s.api.core.v1.PodSpec";
  json containers = propertyAt(pod_spec, {"containers"});
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-list-type"], "map");
  EXPECT_EQ(containers["x-kubernetes-list-map-keys"], json::array({"name"}));
  json ports = propertyAt(pod_spec, {"containers", "ports"});
  EXPECT_EQ(ports["x-kubernetes-patch-merge-key"], "containerPort");
  EXPECT_EQ(ports["x-kubernetes-list-map-keys"], json::array({"containerPort", "protocol"}));
  EXPECT_EQ(propertyAt(pod_spec, {"containers", "env"})["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(propertyAt(pod_spec, {"containers", "volumeMounts"})["x-kubernetes-patch-merge-key"],
            "mountPath");
  json volumes = propertyAt(pod_spec, {"volumes"});
  EXPECT_EQ(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
  EXPECT_EQ(volumes["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(propertyAt(pod_spec, {"tolerations"})["x-kubernetes-list-type"], "atomic");
  EXPECT_EQ(propertyAt(pod_spec, {"initContainers"})["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(
      propertyAt("io.k8s.api.apps.v1.DeploymentSpec", {"strategy"})["x-kubernetes-patch-strategy"],
      "retainKeys");
  EXPECT_EQ(propertyAt("io.k8s.api.core.v1.ServiceSpec", {"ports"})["x-kubernetes-patch-merge-key"],
            "port");
  EXPECT_EQ(propertyAt("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                       {"ownerReferences"})["x-kubernetes-patch-merge-key"],
            "uid");
  EXPECT_EQ(
      propertyAt("io.k8s.api.core.v1.NodeStatus", {"conditions"})["x-kubernetes-patch-merge-key"],
      "type");
}

TEST(Schema, PodSpecCoversProbesVolumesAffinityAndSpreading) {
  const std::string c = "io.k8s.api.core.v1.Container";
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    const json& p = resolveSchema(propertyAt(c, {probe}));
    for (const char* action : {"exec", "httpGet", "tcpSocket", "grpc"}) {
      EXPECT_TRUE(p["properties"].contains(action)) << probe << " " << action;
    }
  }
  const json& volume =
      resolveSchema(propertyAt("io.k8s.api.core.v1.PodSpec", {"volumes"})["items"]);
  for (const char* source : {"emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim",
                             "projected", "downwardAPI"}) {
    EXPECT_TRUE(volume["properties"].contains(source)) << source;
  }
  const json& affinity = resolveSchema(propertyAt("io.k8s.api.core.v1.PodSpec", {"affinity"}));
  for (const char* kind : {"nodeAffinity", "podAffinity", "podAntiAffinity"}) {
    EXPECT_TRUE(affinity["properties"].contains(kind)) << kind;
  }
  json required = schemaDefinitions()["io.k8s.api.core.v1.TopologySpreadConstraint"]["required"];
  EXPECT_EQ(required, json::array({"maxSkew", "topologyKey", "whenUnsatisfiable"}));
  // kubectl explain lists the node inclusion policies with their values.
  for (const char* policy : {"nodeAffinityPolicy", "nodeTaintsPolicy"}) {
    json field = propertyAt("io.k8s.api.core.v1.PodSpec", {"topologySpreadConstraints", policy});
    EXPECT_EQ(field["enum"], json::array({"Honor", "Ignore"})) << policy;
    EXPECT_NE(field.value("description", "").find("(the default)"), std::string::npos) << policy;
  }
  EXPECT_EQ(
      propertyAt("io.k8s.api.core.v1.PodSpec",
                 {"containers", "resources", "limits"})["additionalProperties"]["allOf"][0]["$ref"],
      "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity");
  // Ephemeral containers share the container's fields.
  EXPECT_TRUE(schemaDefinitions()["io.k8s.api.core.v1.EphemeralContainer"]["properties"].contains(
      "livenessProbe"));
}

TEST(Schema, BuildReportsAnUnknownReferenceWithTheFieldAtFault) {
  auto built = buildSchemaDefinitions({R"({"a.b.T": {"@": "T.", "f": "Missing | A field."}})"});
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().message.find("a.b.T.f"), std::string::npos) << built.error().message;
  EXPECT_NE(built.error().message.find("Missing"), std::string::npos);
}

TEST(Schema, BuildRejectsAListTypeOnAScalarAndAMissingDescription) {
  EXPECT_FALSE(buildSchemaDefinitions({R"({"a.T": {"@": "T.", "f": "string atomic | F."}})"}));
  EXPECT_FALSE(buildSchemaDefinitions({R"({"a.T": {"@": "T.", "f": "string"}})"}));
  EXPECT_FALSE(buildSchemaDefinitions({R"({"a.T": {"f": "string | F."}})"}));
  EXPECT_FALSE(buildSchemaDefinitions({R"({"a.T": {"@": "T.", "f": "string bogus | F."}})"}));
  auto built = buildSchemaDefinitions(
      {R"({"a.T": {"@": "T.", "f": "[]a.U ! map=k patch=merge key=k | F."}, "a.U": {"@": "U.", "k": "string ! | K."}})"});
  ASSERT_TRUE(built) << built.error().message;
  EXPECT_EQ((*built)["a.T"]["required"], json::array({"f"}));
  EXPECT_EQ((*built)["a.T"]["properties"]["f"]["items"]["allOf"][0]["$ref"],
            "#/components/schemas/a.U");
}

}  // namespace
}  // namespace rampart::api
