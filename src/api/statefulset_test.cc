// apps/v1 StatefulSet as kube-apiserver serves it: discovery, defaults, validation messages and
// field paths, the immutable-spec rule on update, the printed table, and the scale subresource
// through the handler.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/handler.h"
#include "api/openapi.h"
#include "api/registry.h"
#include "api/schema.h"
#include "api/table.h"
#include "api/validation.h"
#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

const ResourceInfo& statefulSets() { return *findResource("apps", "v1", "statefulsets"); }

json statefulSet() {
  return json::parse(R"({"apiVersion":"apps/v1","kind":"StatefulSet",
    "metadata":{"name":"db","namespace":"default"},
    "spec":{"replicas":2,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},
      "template":{"metadata":{"labels":{"app":"db"}},
        "spec":{"containers":[{"name":"pg","image":"postgres:16"}]}},
      "volumeClaimTemplates":[{"metadata":{"name":"data"},
        "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}})");
}

std::vector<std::string> messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.toString());
  }
  return out;
}

std::vector<std::string> problemsOf(json object, const json& old = json()) {
  applyDefaults(statefulSets(), object);
  return messages(validateObject(statefulSets(), object, old));
}

TEST(StatefulSetRegistry, ServedAsAppsV1WithShortNameCategoryStatusAndScale) {
  const ResourceInfo* r = findResource("apps", "v1", "statefulsets");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(findKind("apps/v1", "StatefulSet"), r);
  EXPECT_EQ(r->kind, "StatefulSet");
  EXPECT_EQ(r->singular, "statefulset");
  EXPECT_TRUE(r->namespaced);
  EXPECT_EQ(r->short_names, std::vector<std::string>{"sts"});
  EXPECT_EQ(r->categories, std::vector<std::string>{"all"});
  ASSERT_NE(r->subresource("status"), nullptr);
  ASSERT_NE(r->subresource("scale"), nullptr);
  EXPECT_EQ(r->subresource("scale")->kind, "Scale");
  EXPECT_EQ(r->subresource("scale")->group, "autoscaling");
}

TEST(StatefulSetSchema, SpecAndStatusCarryKubernetesFieldsForExplain) {
  EXPECT_EQ(schemaNameOf("apps", "v1", "StatefulSet"), "io.k8s.api.apps.v1.StatefulSet");
  const json& defs = schemaDefinitions();
  const json& spec = defs.at("io.k8s.api.apps.v1.StatefulSetSpec");
  for (const char* field :
       {"replicas", "selector", "template", "serviceName", "podManagementPolicy", "updateStrategy",
        "revisionHistoryLimit", "minReadySeconds", "persistentVolumeClaimRetentionPolicy",
        "volumeClaimTemplates", "ordinals"}) {
    EXPECT_TRUE(spec["properties"].contains(field)) << field;
  }
  const json& status = defs.at("io.k8s.api.apps.v1.StatefulSetStatus");
  for (const char* field :
       {"observedGeneration", "replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
        "availableReplicas", "currentRevision", "updateRevision", "collisionCount", "conditions"}) {
    EXPECT_TRUE(status["properties"].contains(field)) << field;
  }
  EXPECT_EQ(resolveSchema(defs.at(
                "io.k8s.api.apps.v1.RollingUpdateStatefulSetStrategy")["properties"]
                                                                      ["partition"])["format"],
            "int32");
}

TEST(StatefulSetDefaults, UnsetFieldsGetKubeApiserversDefaults) {
  json s = statefulSet();
  s["spec"].erase("replicas");
  applyDefaults(statefulSets(), s);
  const json& spec = s["spec"];
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["podManagementPolicy"], "OrderedReady");
  EXPECT_EQ(spec["updateStrategy"],
            json::parse(R"({"type":"RollingUpdate","rollingUpdate":{"partition":0}})"));
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_EQ(spec["persistentVolumeClaimRetentionPolicy"],
            json::parse(R"({"whenDeleted":"Retain","whenScaled":"Retain"})"));
  EXPECT_EQ(spec["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(spec["volumeClaimTemplates"][0]["status"]["phase"], "Pending");
  EXPECT_EQ(spec["template"]["spec"]["restartPolicy"], "Always");
  EXPECT_EQ(spec["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
}

TEST(StatefulSetDefaults, ExplicitChoicesAreKeptAndOnDeleteGetsNoRollingUpdate) {
  json s = statefulSet();
  s["spec"]["podManagementPolicy"] = "Parallel";
  s["spec"]["updateStrategy"] = {{"type", "OnDelete"}};
  s["spec"]["revisionHistoryLimit"] = 3;
  applyDefaults(statefulSets(), s);
  EXPECT_EQ(s["spec"]["replicas"], 2);
  EXPECT_EQ(s["spec"]["podManagementPolicy"], "Parallel");
  EXPECT_EQ(s["spec"]["updateStrategy"], json::parse(R"({"type":"OnDelete"})"));
  EXPECT_EQ(s["spec"]["revisionHistoryLimit"], 3);
}

TEST(StatefulSetValidation, AValidStatefulSetPasses) {
  EXPECT_EQ(problemsOf(statefulSet()), std::vector<std::string>{});
}

TEST(StatefulSetValidation, SelectorIsRequiredAndMustMatchTheTemplateLabels) {
  json missing = statefulSet();
  missing["spec"].erase("selector");
  EXPECT_EQ(problemsOf(missing), std::vector<std::string>{"spec.selector: Required value"});
  json mismatched = statefulSet();
  mismatched["spec"]["selector"]["matchLabels"]["app"] = "other";
  EXPECT_EQ(problemsOf(mismatched),
            std::vector<std::string>{"spec.template.metadata.labels: Invalid value: "
                                     "{\"app\":\"db\"}: `selector` does not match template "
                                     "`labels`"});
  json empty = statefulSet();
  empty["spec"]["selector"] = json::object();
  ASSERT_EQ(problemsOf(empty).size(), 1u);
  EXPECT_NE(problemsOf(empty)[0].find("empty selector is invalid for statefulset"),
            std::string::npos);
}

TEST(StatefulSetValidation, CountsMustNotBeNegative) {
  json s = statefulSet();
  s["spec"]["replicas"] = -1;
  s["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", -2}}}};
  s["spec"]["ordinals"] = {{"start", -1}};
  EXPECT_EQ(problemsOf(s),
            (std::vector<std::string>{
                "spec.updateStrategy.rollingUpdate.partition: Invalid value: -2: must be greater "
                "than or equal to 0",
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.ordinals.start: Invalid value: -1: must be greater than or equal to 0"}));
}

TEST(StatefulSetValidation, PolicyAndStrategyValuesAreKubernetesOwn) {
  json s = statefulSet();
  s["spec"]["podManagementPolicy"] = "Random";
  s["spec"]["updateStrategy"] = {{"type", "Recreate"}};
  s["spec"]["persistentVolumeClaimRetentionPolicy"] = {{"whenDeleted", "Keep"}};
  EXPECT_EQ(problemsOf(s),
            (std::vector<std::string>{
                "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or "
                "'Parallel'",
                "spec.updateStrategy: Invalid value: \"Recreate\": must be 'RollingUpdate' or "
                "'OnDelete'",
                "spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "
                "\"Keep\": supported values: \"Delete\", \"Retain\""}));
  json on_delete = statefulSet();
  on_delete["spec"]["updateStrategy"] = {{"type", "OnDelete"},
                                         {"rollingUpdate", {{"partition", 1}}}};
  EXPECT_EQ(problemsOf(on_delete),
            std::vector<std::string>{"spec.updateStrategy.rollingUpdate: Invalid value: "
                                     "{\"partition\":1}: only allowed for updateStrategy "
                                     "'RollingUpdate'"});
  json restart = statefulSet();
  restart["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  EXPECT_EQ(problemsOf(restart),
            std::vector<std::string>{"spec.template.spec.restartPolicy: Unsupported value: "
                                     "\"Never\": supported values: \"Always\""});
}

TEST(StatefulSetValidation, UpdatesMayChangeOnlyTheMutableSpecFields) {
  json old = statefulSet();
  applyDefaults(statefulSets(), old);
  json allowed = old;
  allowed["spec"]["replicas"] = 5;
  allowed["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:17";
  allowed["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 3;
  allowed["spec"]["minReadySeconds"] = 10;
  allowed["spec"]["revisionHistoryLimit"] = 2;
  allowed["spec"]["ordinals"] = {{"start", 1}};
  allowed["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = "Delete";
  EXPECT_EQ(problemsOf(allowed, old), std::vector<std::string>{});
  const std::string forbidden =
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
      "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
      "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
  json service = old;
  service["spec"]["serviceName"] = "other";
  EXPECT_EQ(problemsOf(service, old), std::vector<std::string>{forbidden});
  json claims = old;
  claims["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi";
  EXPECT_EQ(problemsOf(claims, old), std::vector<std::string>{forbidden});
  json policy = old;
  policy["spec"]["podManagementPolicy"] = "Parallel";
  EXPECT_EQ(problemsOf(policy, old), std::vector<std::string>{forbidden});
}

TEST(StatefulSetValidation, StatusCountsMustAddUp) {
  json s = statefulSet();
  s["status"] = {{"replicas", 2},
                 {"readyReplicas", 2},
                 {"currentReplicas", 2},
                 {"updatedReplicas", 2},
                 {"availableReplicas", 1}};
  EXPECT_EQ(problemsOf(s), std::vector<std::string>{});
  s["status"] = {
      {"replicas", 2}, {"readyReplicas", 3}, {"availableReplicas", 3}, {"collisionCount", -1}};
  EXPECT_EQ(problemsOf(s),
            (std::vector<std::string>{
                "status.collisionCount: Invalid value: -1: must be greater than or equal to 0",
                "status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas",
                "status.availableReplicas: Invalid value: 3: cannot be greater than "
                "status.replicas"}));
  s["status"] = {{"replicas", 3}, {"readyReplicas", 1}, {"availableReplicas", 2}};
  EXPECT_EQ(problemsOf(s),
            std::vector<std::string>{"status.availableReplicas: Invalid value: 2: cannot be "
                                     "greater than status.readyReplicas"});
}

TEST(StatefulSetTable, ReadyOfDesiredAndAgeWithContainersAndImagesWhenWide) {
  json s = json::parse(R"({"metadata":{"name":"db","creationTimestamp":"2026-12-06T02:59:00Z"},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"db"}},
      "template":{"spec":{"containers":[{"name":"pg","image":"postgres:16"},
                                        {"name":"exporter","image":"exporter:1"}]}}},
    "status":{"replicas":3,"readyReplicas":1}})");
  json t = makeTable(statefulSets(), {s}, json{{"resourceVersion", "42"}},
                     *parseRfc3339("2026-12-06T03:00:00Z"));
  std::vector<std::string> names;
  std::vector<int> priorities;
  for (const auto& c : t["columnDefinitions"]) {
    names.push_back(c["name"]);
    priorities.push_back(c["priority"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Ready", "Age", "Containers", "Images"}));
  EXPECT_EQ(priorities, (std::vector<int>{0, 0, 0, 1, 1}));
  EXPECT_EQ(t["rows"][0]["cells"],
            json::parse(R"(["db","1/3","60s","pg,exporter","postgres:16,exporter:1"])"));
  s.erase("status");
  s["spec"].erase("replicas");
  EXPECT_EQ(makeTable(statefulSets(), {s}, json::object(),
                      *parseRfc3339("2026-12-06T03:00:00Z"))["rows"][0]["cells"][1],
            "0/1");
}

class StatefulSetHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})").status, 201);
  }

  ApiResponse call(const char* method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json") {
    auto info = parseRequestInfo(method, target);
    EXPECT_TRUE(info) << target;
    ApiRequest req{*info, content_type, "application/json", body};
    return testing::runLoop(io_, handler_.handle(std::move(req)));
  }

  asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  ObjectStore objects_{store_, "/registry"};
  ApiHandler handler_{objects_, [] { return *parseRfc3339("2026-12-06T03:00:00Z"); }};
  const std::string path_ = "/apis/apps/v1/namespaces/default/statefulsets/db";
};

TEST_F(StatefulSetHandlerTest, CreateDropsStatusCountsGenerationsAndScalesThroughScale) {
  json s = statefulSet();
  s["status"] = {{"replicas", 9}};
  auto created = call("POST", "/apis/apps/v1/namespaces/default/statefulsets", s.dump());
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_FALSE(created.body.contains("status"));
  EXPECT_EQ(created.body["metadata"]["generation"], 1);
  EXPECT_EQ(created.body["spec"]["podManagementPolicy"], "OrderedReady");

  auto scale = call("GET", path_ + "/scale");
  ASSERT_EQ(scale.status, 200) << scale.body.dump();
  EXPECT_EQ(scale.body["kind"], "Scale");
  EXPECT_EQ(scale.body["spec"]["replicas"], 2);
  EXPECT_EQ(scale.body["status"]["selector"], "app=db");
  auto rescaled =
      call("PATCH", path_ + "/scale", R"({"spec":{"replicas":3}})", "application/merge-patch+json");
  ASSERT_EQ(rescaled.status, 200) << rescaled.body.dump();
  EXPECT_EQ(rescaled.body["spec"]["replicas"], 3);
  json stored = call("GET", path_).body;
  EXPECT_EQ(stored["spec"]["replicas"], 3);
  EXPECT_EQ(stored["metadata"]["generation"], 2);

  auto inconsistent = call("PATCH", path_ + "/status", R"({"status":{"readyReplicas":4}})",
                           "application/merge-patch+json");
  EXPECT_EQ(inconsistent.status, 422) << inconsistent.body.dump();
  auto status = call("PATCH", path_ + "/status",
                     R"({"status":{"replicas":3,"readyReplicas":3,"observedGeneration":2}})",
                     "application/merge-patch+json");
  ASSERT_EQ(status.status, 200) << status.body.dump();
  EXPECT_EQ(call("GET", path_).body["status"]["readyReplicas"], 3);
  EXPECT_EQ(call("GET", path_).body["metadata"]["generation"], 2);
}

TEST_F(StatefulSetHandlerTest, ReplacingWithTheOriginalManifestIsNoSpecChange) {
  ASSERT_EQ(
      call("POST", "/apis/apps/v1/namespaces/default/statefulsets", statefulSet().dump()).status,
      201);
  // The manifest lacks every default the server filled in (strategy, claim status, ...).
  json same = statefulSet();
  same["metadata"]["resourceVersion"] = call("GET", path_).body["metadata"]["resourceVersion"];
  auto replaced = call("PUT", path_, same.dump());
  ASSERT_EQ(replaced.status, 200) << replaced.body.dump();
  EXPECT_EQ(replaced.body["metadata"]["generation"], 1);
  EXPECT_EQ(replaced.body["spec"]["volumeClaimTemplates"][0]["status"]["phase"], "Pending");
}

TEST_F(StatefulSetHandlerTest, PatchingAFixedFieldIs422AndChangesNothing) {
  ASSERT_EQ(
      call("POST", "/apis/apps/v1/namespaces/default/statefulsets", statefulSet().dump()).status,
      201);
  auto refused =
      call("PATCH", path_, R"({"spec":{"serviceName":"other"}})", "application/merge-patch+json");
  EXPECT_EQ(refused.status, 422) << refused.body.dump();
  EXPECT_EQ(refused.body["details"]["causes"][0]["field"], "spec");
  EXPECT_EQ(call("GET", path_).body["spec"]["serviceName"], "db");
  auto patched =
      call("PATCH", path_, R"({"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}})",
           "application/strategic-merge-patch+json");
  ASSERT_EQ(patched.status, 200) << patched.body.dump();
  EXPECT_EQ(patched.body["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 1);
  EXPECT_EQ(patched.body["spec"]["updateStrategy"]["type"], "RollingUpdate");
}

}  // namespace
}  // namespace rampart::api
