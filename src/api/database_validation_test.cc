#include "api/database_validation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/openapi.h"
#include "api/schema.h"
#include "api/table.h"
#include "api/validation.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;

const ResourceInfo& postgres() { return *findResource("rampart.io", "v1", "postgresclusters"); }
const ResourceInfo& redis() { return *findResource("rampart.io", "v1", "redisclusters"); }

json cluster(const char* kind = "PostgresCluster") {
  return json{{"apiVersion", "rampart.io/v1"},
              {"kind", kind},
              {"metadata", {{"name", "orders"}, {"namespace", "default"}}},
              {"spec", json::object()}};
}

std::vector<std::string> messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.toString());
  }
  return out;
}

// The errors of `object` after defaults, as kube-apiserver orders it.
std::vector<std::string> problems(const ResourceInfo& r, json object, const json& old = json()) {
  applyDefaults(r, object);
  return messages(validateObject(r, object, old));
}

bool mentions(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& e : errors) {
    if (e.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(DatabaseKinds, AreServedInTheRampartGroupWithShortNamesAndStatus) {
  ASSERT_NE(findResource("rampart.io", "v1", "postgresclusters"), nullptr);
  EXPECT_EQ(postgres().kind, "PostgresCluster");
  EXPECT_EQ(postgres().short_names, std::vector<std::string>{"pgc"});
  EXPECT_TRUE(postgres().namespaced);
  EXPECT_NE(postgres().subresource("status"), nullptr);
  EXPECT_EQ(redis().short_names, std::vector<std::string>{"rdc"});
  auto list = apiResourceList("rampart.io", "v1");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ((*list)["resources"].size(), 4u);  // two kinds and their /status
  EXPECT_EQ(findKind("rampart.io/v1", "RedisCluster"), &redis());
}

TEST(DatabaseKinds, HaveASchemaThatExplainCanFollow) {
  std::string name = schemaNameOf("rampart.io", "v1", "PostgresCluster");
  ASSERT_EQ(name, "io.rampart.v1.PostgresCluster");
  const json& spec = resolveSchema(schemaDefinitions()[name]["properties"]["spec"]);
  EXPECT_TRUE(spec["properties"].contains("members"));
  EXPECT_EQ(spec["properties"]["terminationPolicy"]["enum"],
            json({"Delete", "WipeOut", "DoNotTerminate"}));
  EXPECT_TRUE(schemaDefinitions().contains("io.rampart.v1.RedisClusterList"));
}

TEST(DatabaseDefaults, AnEmptySpecGetsThreeMembersAndTheSupportedVersion) {
  json pg = cluster();
  applyDefaults(postgres(), pg);
  EXPECT_EQ(pg["spec"]["members"], 3);
  EXPECT_EQ(pg["spec"]["version"], "15");
  EXPECT_EQ(pg["spec"]["synchronousMode"], "On");
  EXPECT_EQ(pg["spec"]["terminationPolicy"], "Delete");
  EXPECT_EQ(pg["spec"]["zoneSpreading"], "Preferred");
  EXPECT_EQ(pg["spec"]["storage"]["size"], "1Gi");
  EXPECT_FALSE(pg["spec"].contains("backup"));
  json rd = cluster("RedisCluster");
  rd.erase("spec");
  applyDefaults(redis(), rd);
  EXPECT_EQ(rd["spec"]["version"], "7");
  EXPECT_TRUE(validateObject(redis(), rd, json()).empty());
}

TEST(DatabaseDefaults, KeepWhatIsSetAndGiveABackupItsRetention) {
  json pg = cluster();
  pg["spec"] = {{"members", 5}, {"backup", {{"schedule", "0 3 * * *"}}}, {"paused", true}};
  applyDefaults(postgres(), pg);
  EXPECT_EQ(pg["spec"]["members"], 5);
  EXPECT_EQ(pg["spec"]["backup"]["retentionDays"], 14);
  EXPECT_TRUE(validateObject(postgres(), pg, json()).empty());
}

TEST(DatabaseValidation, MembersMustBeOneToNine) {
  for (int bad : {0, -1, 10}) {
    json pg = cluster();
    pg["spec"]["members"] = bad;
    auto errors = problems(postgres(), pg);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0], "spec.members: Invalid value: " + std::to_string(bad) +
                             ": must be between 1 and 9, inclusive");
  }
  json pg = cluster();
  pg["spec"]["members"] = "three";
  EXPECT_TRUE(mentions(problems(postgres(), pg), "spec.members: Invalid value: \"three\""));
  for (int good : {1, 9}) {
    pg["spec"]["members"] = good;
    EXPECT_TRUE(problems(postgres(), pg).empty()) << good;
  }
}

TEST(DatabaseValidation, OnlyTheSupportedVersionIsAccepted) {
  json pg = cluster();
  pg["spec"]["version"] = "16";
  EXPECT_EQ(problems(postgres(), pg),
            std::vector<std::string>{
                "spec.version: Unsupported value: \"16\": supported values: \"15\""});
  json rd = cluster("RedisCluster");
  rd["spec"]["version"] = "15";
  EXPECT_TRUE(mentions(problems(redis(), rd), "supported values: \"7\""));
}

TEST(DatabaseValidation, ARedisClusterRefusesServerParametersItWouldIgnore) {
  json rd = cluster("RedisCluster");
  rd["spec"]["parameters"] = {{"maxmemory", "100mb"}};
  auto errors = problems(redis(), rd);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("spec.parameters: Invalid value")) << errors[0];
  EXPECT_TRUE(mentions(errors, "RedisCluster members take no server parameters yet")) << errors[0];
  json stored = rd;  // stored before they were refused: its status writes still pass
  EXPECT_TRUE(problems(redis(), rd, stored).empty());
  rd["spec"]["parameters"]["maxmemory"] = "200mb";
  EXPECT_EQ(problems(redis(), rd, stored).size(), 1u);
  rd["spec"]["parameters"] = json::object();
  EXPECT_TRUE(problems(redis(), rd).empty());
  json pg = cluster();
  pg["spec"]["parameters"] = {{"work_mem", "8MB"}};
  EXPECT_TRUE(problems(postgres(), pg).empty());
}

TEST(DatabaseValidation, EnumsNameTheirSupportedValues) {
  json pg = cluster();
  pg["spec"]["synchronousMode"] = "sometimes";
  pg["spec"]["terminationPolicy"] = "Keep";
  pg["spec"]["zoneSpreading"] = "Always";
  auto errors = problems(postgres(), pg);
  EXPECT_TRUE(mentions(errors, "spec.synchronousMode: Unsupported value: \"sometimes\""));
  EXPECT_TRUE(mentions(errors, "spec.terminationPolicy: Unsupported value: \"Keep\""));
  EXPECT_TRUE(mentions(errors, "spec.zoneSpreading: Unsupported value: \"Always\""));
  EXPECT_EQ(errors.size(), 3u);
}

TEST(DatabaseValidation, ResourcesAndStorageMustBeQuantities) {
  json pg = cluster();
  pg["spec"]["resources"] = {{"requests", {{"cpu", "500m"}, {"memory", "lots"}}},
                             {"limits", {{"gpu", "1"}}}};
  pg["spec"]["storage"] = {{"size", "0"}};
  auto errors = problems(postgres(), pg);
  EXPECT_TRUE(mentions(errors, "spec.resources.requests[memory]: Invalid value: \"lots\""));
  EXPECT_TRUE(mentions(errors, "spec.resources.limits[gpu]: Unsupported value: \"gpu\""));
  EXPECT_TRUE(mentions(errors, "spec.storage.size: Invalid value: \"0\": must be greater than 0"));
  EXPECT_EQ(errors.size(), 3u);
  pg["spec"]["resources"] = {{"requests", {{"cpu", "500m"}, {"memory", "256Mi"}}}};
  pg["spec"]["storage"] = {{"size", "10Gi"}};
  EXPECT_TRUE(problems(postgres(), pg).empty());
}

TEST(DatabaseValidation, ParametersAreAMapOfSingleLineStrings) {
  json pg = cluster();
  pg["spec"]["parameters"] = {{"shared_buffers", "128MB"}, {"bad name", "1"},
                              {"work_mem", 4}, {"search_path", "a\nb"}};
  auto errors = problems(postgres(), pg);
  EXPECT_TRUE(mentions(errors, "spec.parameters[bad name]"));
  EXPECT_TRUE(mentions(errors, "spec.parameters[work_mem]: Invalid value: 4: must be a string"));
  EXPECT_TRUE(mentions(errors, "spec.parameters[search_path]"));
  EXPECT_EQ(errors.size(), 3u);
  pg["spec"]["parameters"] = "shared_buffers=1";
  EXPECT_TRUE(mentions(problems(postgres(), pg), "spec.parameters: Invalid value"));
}

TEST(DatabaseValidation, ABackupNeedsACronScheduleAndABoundedRetention) {
  json pg = cluster();
  pg["spec"]["backup"] = {{"retentionDays", 0}};
  auto errors = problems(postgres(), pg);
  EXPECT_TRUE(mentions(errors, "spec.backup.schedule: Required value"));
  EXPECT_TRUE(mentions(errors, "spec.backup.retentionDays: Invalid value: 0"));
  pg["spec"]["backup"] = {{"schedule", "0 25 * * *"}};
  EXPECT_TRUE(mentions(problems(postgres(), pg), "spec.backup.schedule: Invalid value"));
  pg["spec"]["backup"] = {{"schedule", "*/15 1-5,22 * 1-12/2 0,7"}};
  EXPECT_TRUE(problems(postgres(), pg).empty());
}

TEST(DatabaseValidation, PausedMustBeABoolean) {
  json pg = cluster();
  pg["spec"]["paused"] = "yes";
  EXPECT_TRUE(mentions(problems(postgres(), pg), "spec.paused: Invalid value: \"yes\""));
}

TEST(DatabaseValidation, TheVersionCannotChangeOnUpdate) {
  json old = cluster();
  applyDefaults(postgres(), old);
  json next = old;
  next["spec"]["members"] = 5;
  EXPECT_TRUE(validateObject(postgres(), next, old).empty());
  next["spec"]["version"] = "14";
  EXPECT_TRUE(mentions(messages(validateObject(postgres(), next, old)),
                       "spec.version: Invalid value: \"14\": field is immutable"));
}

TEST(Cron, AcceptsTheUsualFormsAndNamesWhatIsWrong) {
  EXPECT_EQ(cronProblem("0 3 * * *"), "");
  EXPECT_EQ(cronProblem("*/5 * * * 1-5"), "");
  EXPECT_EQ(cronProblem("0  3 *  * *"), "");
  EXPECT_NE(cronProblem("0 3 * *"), "");
  EXPECT_NE(cronProblem("60 * * * *").find("minute \"60\""), std::string::npos);
  EXPECT_NE(cronProblem("* * 0 * *").find("day-of-month"), std::string::npos);
  EXPECT_NE(cronProblem("*/0 * * * *"), "");
  EXPECT_NE(cronProblem("5-1 * * * *"), "");
  EXPECT_NE(cronProblem("a * * * *"), "");
  EXPECT_NE(cronProblem("@daily"), "");
}

TEST(DatabaseTable, ShowsMembersReadyPrimaryAndPhase) {
  json pg = cluster();
  applyDefaults(postgres(), pg);
  pg["metadata"]["creationTimestamp"] = "2026-12-07T03:00:00Z";
  pg["status"] = {{"readyMembers", 2}, {"primary", "orders-0"}, {"phase", "Degraded"}};
  auto now = *parseRfc3339("2026-12-07T03:05:00Z");
  json table = makeTable(postgres(), {pg}, json::object(), now);
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) {
    if (c["priority"] == 0) {
      names.push_back(c["name"]);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Members", "Ready", "Primary", "Phase", "Age"}));
  EXPECT_EQ(table["rows"][0]["cells"],
            json({"orders", 3, "2/3", "orders-0", "Degraded", "5m", "<none>", "<none>"}));
}

}  // namespace
}  // namespace rampart::api
