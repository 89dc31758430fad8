#include "api/status.h"

#include <gtest/gtest.h>

namespace rampart::api {
namespace {

TEST(FieldErrorText, ReadsAsKubernetesValidation) {
  EXPECT_EQ(invalidField("spec.replicas", -1, "must be greater than or equal to 0").toString(),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0");
  EXPECT_EQ(invalidField("metadata.name", "Web_1", "a lowercase RFC 1123 subdomain").toString(),
            "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain");
  EXPECT_EQ(requiredField("spec.selector").toString(), "spec.selector: Required value");
  EXPECT_EQ(unsupportedField("spec.restartPolicy", "Sometimes", {"Always", "Never"}).toString(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
            "\"Never\"");
}

TEST(StatusObject, NotFoundNamesTheQualifiedResource) {
  auto s = statusNotFound({"apps", "deployments", "Deployment", "web"});
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["code"], 404);
  EXPECT_EQ(s["reason"], "NotFound");
  EXPECT_EQ(s["message"], "deployments.apps \"web\" not found");
  EXPECT_EQ(s["details"]["group"], "apps");
  EXPECT_EQ(statusNotFound({"", "pods", "Pod", "p"})["message"], "pods \"p\" not found");
}

TEST(StatusObject, InvalidListsEveryCauseWithItsField) {
  auto s = statusInvalid({"apps", "deployments", "Deployment", "web"},
                         {invalidField("spec.replicas", -1, "must be greater than or equal to 0"),
                          requiredField("spec.selector")});
  EXPECT_EQ(s["code"], 422);
  EXPECT_EQ(s["message"],
            "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be "
            "greater than or equal to 0, spec.selector: Required value]");
  ASSERT_EQ(s["details"]["causes"].size(), 2u);
  EXPECT_EQ(s["details"]["causes"][0]["field"], "spec.replicas");
  EXPECT_EQ(s["details"]["causes"][0]["reason"], "FieldValueInvalid");
  EXPECT_EQ(s["details"]["causes"][0]["message"],
            "Invalid value: -1: must be greater than or equal to 0");
  auto one = statusInvalid({"", "pods", "Pod", "p"}, {requiredField("spec.containers")});
  EXPECT_EQ(one["message"], "Pod \"p\" is invalid: spec.containers: Required value");
}

TEST(StatusObject, ConflictAndGone) {
  auto c = statusConflict({"", "pods", "Pod", "p"},
                          "the object has been modified; please apply your changes to the "
                          "latest version and try again");
  EXPECT_EQ(c["code"], 409);
  EXPECT_EQ(c["reason"], "Conflict");
  EXPECT_EQ(
      c["message"].get<std::string>().rfind("Operation cannot be fulfilled on pods \"p\": ", 0),
      0u);
  EXPECT_EQ(statusGone("too old resource version: 5 (10)")["code"], 410);
}

}  // namespace
}  // namespace rampart::api
