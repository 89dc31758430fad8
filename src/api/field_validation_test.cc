#include "api/field_validation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;

const std::string kDeployment = "io.k8s.api.apps.v1.Deployment";

json deployment() {
  return json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",
      "labels":{"app":"web"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app",
      "image":"nginx","ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1",
      "memory":1024}},"livenessProbe":{"httpGet":{"port":"http","path":"/"}}}]}}}})");
}

TEST(FieldValidation, AKnownObjectPassesUnchanged) {
  json d = deployment();
  json before = d;
  std::vector<std::string> problems;
  ASSERT_TRUE(pruneUnknownFields(d, kDeployment, problems));
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(d, before);
}

TEST(FieldValidation, UnknownFieldsAreReportedWithTheirPathAndDropped) {
  json d = deployment();
  d["spec"]["foo"] = 1;
  d["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x";
  d["metadata"]["bogus"] = true;
  std::vector<std::string> problems;
  ASSERT_TRUE(pruneUnknownFields(d, kDeployment, problems));
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "unknown field \"metadata.bogus\"", "unknown field \"spec.foo\"",
                          "unknown field \"spec.template.spec.containers[0].imagee\""}));
  EXPECT_FALSE(d["spec"].contains("foo"));
  EXPECT_FALSE(d["metadata"].contains("bogus"));
  EXPECT_FALSE(d["spec"]["template"]["spec"]["containers"][0].contains("imagee"));
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx");
}

TEST(FieldValidation, MapsAndFreeFormValuesTakeAnyKey) {
  json d = deployment();
  d["metadata"]["annotations"] = {{"anything.example.com/x", "y"}};
  d["metadata"]["managedFields"] = {
      {{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", json::object()}}}}};
  std::vector<std::string> problems;
  ASSERT_TRUE(pruneUnknownFields(d, kDeployment, problems));
  EXPECT_TRUE(problems.empty());
  EXPECT_TRUE(d["metadata"]["managedFields"][0]["fieldsV1"].contains("f:spec"));
}

TEST(FieldValidation, AWrongJsonTypeFailsWithGoDecodersMessage) {
  json d = deployment();
  d["spec"]["replicas"] = "3";
  std::vector<std::string> problems;
  auto result = pruneUnknownFields(d, kDeployment, problems);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
            "type int32");

  d = deployment();
  d["spec"]["template"]["spec"]["containers"] = {{"name", "x"}};
  result = pruneUnknownFields(d, kDeployment, problems);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec."
            "containers of type []v1.Container");

  d = deployment();
  d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 1.5;
  result = pruneUnknownFields(d, kDeployment, problems);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("ContainerPort.spec.template.spec.containers.ports."
                                        "containerPort of type int32"),
            std::string::npos)
      << result.error().message;

  d = deployment();
  d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = true;
  EXPECT_FALSE(pruneUnknownFields(d, kDeployment, problems));
  d = deployment();
  d["spec"]["paused"] = "yes";
  EXPECT_FALSE(pruneUnknownFields(d, kDeployment, problems));
  d = deployment();
  d["spec"]["replicas"] = 3000000000LL;
  EXPECT_FALSE(pruneUnknownFields(d, kDeployment, problems));
  d = deployment();
  d["metadata"]["labels"]["app"] = 1;
  EXPECT_FALSE(pruneUnknownFields(d, kDeployment, problems));
  d = deployment();
  d["spec"]["replicas"] = nullptr;  // null is the zero value to Go, never a type error
  EXPECT_TRUE(pruneUnknownFields(d, kDeployment, problems));
}

TEST(FieldValidation, TimestampsMustBeRfc3339) {
  json d = deployment();
  d["metadata"]["creationTimestamp"] = "2026-12-06T05:00:00Z";
  std::vector<std::string> problems;
  EXPECT_TRUE(pruneUnknownFields(d, kDeployment, problems));
  d["metadata"]["creationTimestamp"] = "yesterday";
  auto result = pruneUnknownFields(d, kDeployment, problems);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().message.starts_with("parsing time \"yesterday\""));
  json lease = {{"spec", {{"renewTime", "2026-12-06T05:00:00.123456Z"}}}};
  EXPECT_TRUE(pruneUnknownFields(lease, "io.k8s.api.coordination.v1.Lease", problems));
}

TEST(FieldValidation, SecretDataMustBeBase64) {
  json s = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"data", {{"k", "aGVsbG8="}}}};
  std::vector<std::string> problems;
  EXPECT_TRUE(pruneUnknownFields(s, "io.k8s.api.core.v1.Secret", problems));
  s["data"]["k"] = "not base64!";
  EXPECT_FALSE(pruneUnknownFields(s, "io.k8s.api.core.v1.Secret", problems));
}

TEST(FieldValidation, DuplicateKeysAreReportedWithTheirPathAndTheLastWins) {
  std::vector<std::string> problems;
  auto parsed = parseJsonCheckingDuplicates(
      R"({"spec":{"replicas":1,"replicas":2,"template":{"spec":{"containers":[{"name":"a"},
         {"name":"b","name":"c"}]}}},"kind":"Deployment"})",
      problems);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "duplicate field \"spec.replicas\"",
                          "duplicate field \"spec.template.spec.containers[1].name\""}));
  EXPECT_EQ((*parsed)["spec"]["replicas"], 2);
  EXPECT_EQ((*parsed)["spec"]["template"]["spec"]["containers"][1]["name"], "c");
  EXPECT_FALSE(parseJsonCheckingDuplicates("{", problems));
}

TEST(FieldValidation, DirectiveDefaultsToWarnAndRejectsOtherValues) {
  EXPECT_EQ(*parseFieldValidation(""), FieldValidation::Warn);
  EXPECT_EQ(*parseFieldValidation("Warn"), FieldValidation::Warn);
  EXPECT_EQ(*parseFieldValidation("Strict"), FieldValidation::Strict);
  EXPECT_EQ(*parseFieldValidation("Ignore"), FieldValidation::Ignore);
  EXPECT_FALSE(parseFieldValidation("strict"));
}

TEST(FieldValidation, StrictMessageNamesTheKindAndEveryProblem) {
  EXPECT_EQ(strictDecodingMessage("Deployment", "v1",
                                  {"unknown field \"spec.foo\"", "duplicate field \"spec.a\""}),
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding "
            "error: unknown field \"spec.foo\", duplicate field \"spec.a\"");
}

}  // namespace
}  // namespace rampart::api
