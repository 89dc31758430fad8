#include "api/openapi.h"

#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "api/registry.h"
#include "api/schema.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;

void forEachRef(const json& value, const std::function<void(const std::string&)>& visit) {
  if (value.is_object() && value.contains("$ref")) {
    visit(value["$ref"].get<std::string>());
  }
  if (value.is_structured()) {
    for (const auto& child : value) {
      forEachRef(child, visit);
    }
  }
}

TEST(OpenApi, TheIndexPointsAtADocumentPerServedGroupVersion) {
  const json& index = openApiIndex();
  std::vector<std::string> paths;
  for (const auto& [path, entry] : index["paths"].items()) {
    paths.push_back(path);
    std::string url = entry["serverRelativeURL"];
    EXPECT_TRUE(url.starts_with("/openapi/v3/" + path + "?hash=")) << url;
    EXPECT_NE(openApiDocument(path), nullptr) << path;
  }
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths,
            (std::vector<std::string>{"api/v1", "apis/apps/v1", "apis/authentication.k8s.io/v1",
                                      "apis/coordination.k8s.io/v1", "apis/policy/v1",
                                      "apis/rampart.io/v1"}));
  EXPECT_EQ(openApiDocument("apis/batch/v1"), nullptr);
}

TEST(OpenApi, EveryReferenceInADocumentResolvesWithinIt) {
  for (const auto& [path, entry] : openApiIndex()["paths"].items()) {
    const json& doc = *openApiDocument(path);
    EXPECT_EQ(doc["openapi"], "3.0.0");
    const json& schemas = doc["components"]["schemas"];
    forEachRef(doc, [&](const std::string& ref) {
      ASSERT_TRUE(ref.starts_with(kSchemaRefPrefix)) << ref;
      EXPECT_TRUE(schemas.contains(ref.substr(kSchemaRefPrefix.size()))) << path << " " << ref;
    });
  }
}

// What kubectl's QueryParamVerifierV3 and apply's gvkSupportsPatchOpenAPIV3 look for: a PATCH
// operation tagged with the kind's GVK, taking fieldValidation in the query and a strategic
// merge patch body.
TEST(OpenApi, EveryPatchOperationOffersFieldValidationAndStrategicMergePatch) {
  for (const auto& r : builtinResources()) {
    std::string doc_path = r.group.empty() ? "api/v1" : "apis/" + r.group + "/" + r.version;
    const json& doc = *openApiDocument(doc_path);
    json gvk = {{"group", r.group}, {"kind", r.kind}, {"version", r.version}};
    int patches = 0;
    for (const auto& [path, item] : doc["paths"].items()) {
      if (!item.contains("patch") || item["patch"]["x-kubernetes-group-version-kind"] != gvk) {
        continue;
      }
      ++patches;
      const json& op = item["patch"];
      bool field_validation = false;
      for (const auto& p : op["parameters"]) {
        field_validation |= p["name"] == "fieldValidation" && p["in"] == "query";
      }
      EXPECT_TRUE(field_validation) << path;
      EXPECT_TRUE(op["requestBody"]["content"].contains("application/strategic-merge-patch+json"))
          << path;
    }
    EXPECT_GE(patches, 1) << r.kind;
  }
}

// kubectl explain: the GVK of GET .../<plural>, then the component carrying it.
TEST(OpenApi, ExplainFindsTheKindFromTheResourcePathAndItsComponent) {
  const json& doc = *openApiDocument("apis/apps/v1");
  const json& op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["get"];
  json gvk = op["x-kubernetes-group-version-kind"];
  EXPECT_EQ(gvk, json({{"group", "apps"}, {"kind", "Deployment"}, {"version", "v1"}}));
  int carriers = 0;
  for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
    for (const auto& g : schema.value("x-kubernetes-group-version-kind", json::array())) {
      if (g == gvk) {
        ++carriers;
        EXPECT_EQ(name, "io.k8s.api.apps.v1.Deployment");
      }
    }
  }
  EXPECT_EQ(carriers, 1);
  const json& core = *openApiDocument("api/v1");
  EXPECT_TRUE(core["paths"].contains("/api/v1/nodes"));
  EXPECT_TRUE(core["paths"].contains("/api/v1/nodes/{name}/status"));
  EXPECT_TRUE(core["paths"].contains("/api/v1/pods"));
  EXPECT_TRUE(core["paths"].contains("/api/v1/namespaces/{namespace}/pods/{name}/eviction"));
  EXPECT_EQ(core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
                ["x-kubernetes-group-version-kind"]["group"],
            "policy");
  EXPECT_TRUE(core["components"]["schemas"].contains("io.k8s.api.policy.v1.Eviction"));
  const json& scale =
      doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"];
  EXPECT_EQ(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
}

TEST(OpenApi, ExplainFindsSelfSubjectReviewInTheAuthenticationDocument) {
  const json* doc = openApiDocument("apis/authentication.k8s.io/v1");
  ASSERT_NE(doc, nullptr);
  const json& op = (*doc)["paths"]["/apis/authentication.k8s.io/v1/selfsubjectreviews"]["post"];
  json gvk = {{"group", "authentication.k8s.io"}, {"kind", "SelfSubjectReview"}, {"version", "v1"}};
  EXPECT_EQ(op["x-kubernetes-group-version-kind"], gvk);
  const json& schema =
      (*doc)["components"]["schemas"]["io.k8s.api.authentication.v1.SelfSubjectReview"];
  EXPECT_EQ(schema["x-kubernetes-group-version-kind"][0], gvk);
  EXPECT_TRUE(schema["properties"].contains("status"));
  EXPECT_TRUE((*doc)["components"]["schemas"].contains("io.k8s.api.authentication.v1.UserInfo"));
}

// kubectl's client-side validation of a `kind: List` parses this with gnostic's
// openapi_v2.Document: swagger (1) "2.0", info (2) {title (1), version (2)}, paths (8) and
// definitions (9) empty.
TEST(OpenApi, TheV2DocumentIsAnEmptySwaggerDocumentInProtobuf) {
  const std::string& bytes = openApiV2Protobuf();
  std::string expected = std::string("\x0a\x03", 2) + "2.0" + std::string("\x12\x15", 2) +
                         std::string("\x0a\x0a", 2) + "Kubernetes" + std::string("\x12\x07", 2) +
                         "v1.32.0" + std::string("\x42\x00\x4a\x00", 4);
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(openApiV2Json()["swagger"], "2.0");
  EXPECT_TRUE(openApiV2Json()["definitions"].empty());
}

// kubectl apply's PatchMetaFromOpenAPIV3: from the component carrying the GVK, each field is a
// property whose allOf[0] (or $ref) names a component of the same document; a list's strategy
// sits on the property itself.
TEST(OpenApi, StrategicMergePatchMetadataIsFoundTheWayKubectlApplyLooksItUp) {
  const json& doc = *openApiDocument("apis/apps/v1");
  const json& schemas = doc["components"]["schemas"];
  auto resolve = [&](const json& property) -> const json& {
    const json& target = property.contains("allOf") ? property["allOf"][0] : property;
    if (!target.contains("$ref")) {
      return property;
    }
    std::string ref = target["$ref"];
    return schemas.at(ref.substr(kSchemaRefPrefix.size()));
  };
  const json* s = &schemas.at("io.k8s.api.apps.v1.Deployment");
  for (const char* field : {"spec", "template", "spec"}) {
    s = &resolve((*s)["properties"].at(field));
  }
  const json& containers = (*s)["properties"]["containers"];
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  const json& container = resolve(containers["items"]);
  EXPECT_EQ(container["properties"]["ports"]["x-kubernetes-patch-merge-key"], "containerPort");
  EXPECT_EQ(resolve(container["properties"]["resources"])["properties"]["limits"]["type"],
            "object");
}

TEST(OpenApi, OperationIdsAreUnique) {
  for (const auto& [path, entry] : openApiIndex()["paths"].items()) {
    std::set<std::string> ids;
    for (const auto& [p, item] : (*openApiDocument(path))["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        if (method != "parameters") {
          EXPECT_TRUE(ids.insert(op["operationId"].get<std::string>()).second) << op["operationId"];
        }
      }
    }
  }
}

}  // namespace
}  // namespace rampart::api
