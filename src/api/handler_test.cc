#include "api/handler.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

class ApiHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})").status, 201);
  }

  ApiResponse call(const char* method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json",
                   const std::string& accept = "application/json") {
    auto info = parseRequestInfo(method, target);
    EXPECT_TRUE(info) << target;
    ApiRequest req{*info, content_type, accept, body};
    return testing::runLoop(io_, handler_.handle(std::move(req)));
  }

  asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  ObjectStore objects_{store_, "/registry"};
  WallTime now_ = *parseRfc3339("2026-12-06T03:00:00Z");
  ApiHandler handler_{objects_, [this] { return now_; }};
};

std::string deploymentJson(int replicas) {
  json d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
      "spec":{"selector":{"matchLabels":{"app":"web"}},
        "template":{"metadata":{"labels":{"app":"web"}},
          "spec":{"containers":[{"name":"app","image":"nginx:1"}]}}}})");
  d["spec"]["replicas"] = replicas;
  return d.dump();
}

std::string podJson(const std::string& name, const std::string& node = "") {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
            {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  if (!node.empty()) {
    p["spec"]["nodeName"] = node;
  }
  return p.dump();
}

TEST_F(ApiHandlerTest, DiscoveryDocumentsAreServed) {
  EXPECT_EQ(call("GET", "/api").body["versions"][0], "v1");
  EXPECT_EQ(call("GET", "/apis").body["kind"], "APIGroupList");
  EXPECT_EQ(call("GET", "/apis/apps/v1").body["groupVersion"], "apps/v1");
  EXPECT_EQ(call("GET", "/apis/apps").body["name"], "apps");
  EXPECT_EQ(call("GET", "/version").body["major"], "1");
  EXPECT_EQ(call("GET", "/apis/batch/v1").status, 404);
  EXPECT_EQ(call("GET", "/apis/apps/v1/namespaces/default/cronjobs").status, 404);
}

TEST_F(ApiHandlerTest, CreateSetsServerFieldsAndDefaultsThenGetReturnsIt) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(3));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["metadata"]["namespace"], "default");
  EXPECT_EQ(created.body["metadata"]["generation"], 1);
  EXPECT_EQ(created.body["metadata"]["creationTimestamp"], "2026-12-06T03:00:00Z");
  EXPECT_FALSE(created.body["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ(created.body["spec"]["strategy"]["type"], "RollingUpdate");
  auto got = call("GET", "/apis/apps/v1/namespaces/default/deployments/web");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["metadata"]["resourceVersion"], created.body["metadata"]["resourceVersion"]);
  auto again = call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(3));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["reason"], "AlreadyExists");
  EXPECT_EQ(again.body["message"], "deployments.apps \"web\" already exists");
}

TEST_F(ApiHandlerTest, InvalidManifestIs422WithTheFieldAndChangesNothing) {
  auto bad = call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(-1));
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.body["message"],
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater "
            "than or equal to 0");
  EXPECT_EQ(call("GET", "/apis/apps/v1/namespaces/default/deployments/web").status, 404);
}

TEST_F(ApiHandlerTest, DryRunValidatesButDoesNotStore) {
  auto dry =
      call("POST", "/apis/apps/v1/namespaces/default/deployments?dryRun=All", deploymentJson(2));
  EXPECT_EQ(dry.status, 201);
  EXPECT_EQ(call("GET", "/apis/apps/v1/namespaces/default/deployments/web").status, 404);
}

TEST_F(ApiHandlerTest, MissingNamespaceOrMismatchedBodyIsRefused) {
  auto nowhere = call("POST", "/api/v1/namespaces/nope/pods", podJson("p"));
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(nowhere.body["message"], "namespaces \"nope\" not found");
  json other = json::parse(podJson("p"));
  other["metadata"]["namespace"] = "elsewhere";
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/pods", other.dump()).status, 400);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/pods", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/apis/apps/v1/namespaces/default/deployments", podJson("p")).status, 400);
}

TEST_F(ApiHandlerTest, UpdateWithAStaleResourceVersionIs409Conflict) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(1));
  json v1 = created.body;
  json changed = v1;
  changed["spec"]["replicas"] = 2;
  auto updated = call("PUT", "/apis/apps/v1/namespaces/default/deployments/web", changed.dump());
  ASSERT_EQ(updated.status, 200) << updated.body.dump();
  EXPECT_EQ(updated.body["metadata"]["generation"], 2);
  changed["spec"]["replicas"] = 5;
  auto stale = call("PUT", "/apis/apps/v1/namespaces/default/deployments/web", changed.dump());
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["reason"], "Conflict");
}

TEST_F(ApiHandlerTest, StatusUpdatesTouchOnlyTheStatusAndMainUpdatesKeepIt) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(1));
  json s = created.body;
  s["status"] = {{"replicas", 1}, {"readyReplicas", 1}};
  s["spec"]["replicas"] = 9;  // ignored through /status
  auto st = call("PUT", "/apis/apps/v1/namespaces/default/deployments/web/status", s.dump());
  ASSERT_EQ(st.status, 200) << st.body.dump();
  EXPECT_EQ(st.body["spec"]["replicas"], 1);
  EXPECT_EQ(st.body["status"]["readyReplicas"], 1);
  json main = st.body;
  main["status"] = json::object();
  auto up = call("PUT", "/apis/apps/v1/namespaces/default/deployments/web", main.dump());
  ASSERT_EQ(up.status, 200);
  EXPECT_EQ(up.body["status"]["readyReplicas"], 1);
}

TEST_F(ApiHandlerTest, AllThreePatchTypesAndScale) {
  call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(1));
  const std::string path = "/apis/apps/v1/namespaces/default/deployments/web";
  auto smp =
      call("PATCH", path,
           R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:2"}]}}}})",
           "application/strategic-merge-patch+json");
  ASSERT_EQ(smp.status, 200) << smp.body.dump();
  EXPECT_EQ(smp.body["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
  EXPECT_EQ(smp.body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent");
  auto merge = call("PATCH", path, R"({"metadata":{"labels":{"tier":"front"}}})",
                    "application/merge-patch+json");
  EXPECT_EQ(merge.body["metadata"]["labels"]["tier"], "front");
  auto jp = call("PATCH", path, R"([{"op":"replace","path":"/spec/replicas","value":4}])",
                 "application/json-patch+json");
  EXPECT_EQ(jp.body["spec"]["replicas"], 4);
  auto scale = call("GET", path + "/scale");
  EXPECT_EQ(scale.body["kind"], "Scale");
  EXPECT_EQ(scale.body["spec"]["replicas"], 4);
  EXPECT_EQ(scale.body["status"]["selector"], "app=web");
  auto rescaled =
      call("PATCH", path + "/scale", R"({"spec":{"replicas":7}})", "application/merge-patch+json");
  ASSERT_EQ(rescaled.status, 200) << rescaled.body.dump();
  EXPECT_EQ(call("GET", path).body["spec"]["replicas"], 7);
  EXPECT_EQ(call("PATCH", path, "{}", "text/plain").status, 415);
  auto invalid = call("PATCH", path, R"({"spec":{"replicas":-3}})", "application/merge-patch+json");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(call("GET", path).body["spec"]["replicas"], 7);
}

TEST_F(ApiHandlerTest, ListsFilterPageAndPrintTables) {
  call("POST", "/api/v1/namespaces/default/pods", podJson("a", "n1"));
  call("POST", "/api/v1/namespaces/default/pods", podJson("b", "n2"));
  call("POST", "/api/v1/namespaces/default/pods", podJson("c", "n1"));
  auto on_n1 = call("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1");
  ASSERT_EQ(on_n1.status, 200);
  EXPECT_EQ(on_n1.body["kind"], "PodList");
  EXPECT_EQ(on_n1.body["items"].size(), 2u);
  auto page = call("GET", "/api/v1/pods?limit=2");
  EXPECT_EQ(page.body["items"].size(), 2u);
  EXPECT_TRUE(page.body["metadata"].contains("continue"));
  EXPECT_EQ(page.body["metadata"]["remainingItemCount"], 1);
  auto table = call("GET", "/api/v1/namespaces/default/pods", "", "",
                    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
  EXPECT_EQ(table.body["kind"], "Table");
  EXPECT_EQ(table.body["rows"].size(), 3u);
  EXPECT_EQ(call("GET", "/api/v1/pods?labelSelector=app%3D%3D%3D").status, 400);
}

TEST_F(ApiHandlerTest, BindingAssignsANodeOnce) {
  call("POST", "/api/v1/namespaces/default/pods", podJson("p"));
  const char* binding = R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},
                            "target":{"kind":"Node","name":"n1"}})";
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/pods/p/binding", binding).status, 201);
  auto pod = call("GET", "/api/v1/namespaces/default/pods/p");
  EXPECT_EQ(pod.body["spec"]["nodeName"], "n1");
  EXPECT_EQ(pod.body["status"]["conditions"][0]["type"], "PodScheduled");
  auto twice = call("POST", "/api/v1/namespaces/default/pods/p/binding", binding);
  EXPECT_EQ(twice.status, 409);
}

TEST_F(ApiHandlerTest, BoundPodsAreDeletedGracefullyAndUnboundAtOnce) {
  call("POST", "/api/v1/namespaces/default/pods", podJson("bound", "n1"));
  call("POST", "/api/v1/namespaces/default/pods", podJson("loose"));
  auto graceful = call("DELETE", "/api/v1/namespaces/default/pods/bound");
  ASSERT_EQ(graceful.status, 200);
  EXPECT_EQ(graceful.body["metadata"]["deletionGracePeriodSeconds"], 30);
  EXPECT_EQ(graceful.body["metadata"]["deletionTimestamp"], "2026-12-06T03:00:30Z");
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/bound").status, 200);
  // The node's agent confirms with grace 0.
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=0").status,
            200);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/bound").status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/default/pods/loose").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/loose").status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/default/pods/loose").status, 404);
}

TEST_F(ApiHandlerTest, FinalizersHoldAnObjectUntilTheyAreRemoved) {
  call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(1));
  const std::string path = "/apis/apps/v1/namespaces/default/deployments/web";
  auto held = call("DELETE", path + "?propagationPolicy=Foreground");
  ASSERT_EQ(held.status, 200);
  EXPECT_EQ(held.body["metadata"]["finalizers"][0], "foregroundDeletion");
  EXPECT_TRUE(held.body["metadata"].contains("deletionTimestamp"));
  json released = call("GET", path).body;
  released["metadata"]["finalizers"] = json::array();
  EXPECT_EQ(call("PUT", path, released.dump()).status, 200);
  EXPECT_EQ(call("GET", path).status, 404);
}

TEST_F(ApiHandlerTest, DeleteCollectionRemovesWhatTheSelectorMatches) {
  call("POST", "/api/v1/namespaces/default/pods", podJson("a"));
  json other = json::parse(podJson("b"));
  other["metadata"]["labels"]["app"] = "db";
  call("POST", "/api/v1/namespaces/default/pods", other.dump());
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/a").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/b").status, 200);
}

TEST_F(ApiHandlerTest, StoreOutageIs503WithRetryAfterAndWritesNothing) {
  store_.setUnavailable(true);
  auto r = call("POST", "/api/v1/namespaces/default/configmaps",
                R"({"metadata":{"name":"c"},"data":{"k":"v"}})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after_seconds, 1);
  store_.setUnavailable(false);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/configmaps/c").status, 404);
}

TEST_F(ApiHandlerTest, OpenApiIndexAndGroupVersionDocumentsAreServed) {
  auto index = call("GET", "/openapi/v3");
  ASSERT_EQ(index.status, 200);
  std::string url = index.body["paths"]["apis/apps/v1"]["serverRelativeURL"];
  EXPECT_TRUE(url.starts_with("/openapi/v3/apis/apps/v1?hash=")) << url;
  auto doc = call("GET", url);
  ASSERT_EQ(doc.status, 200);
  EXPECT_TRUE(doc.body["components"]["schemas"].contains("io.k8s.api.apps.v1.Deployment"));
  EXPECT_TRUE(call("GET", "/openapi/v3/api/v1").body["paths"].contains("/api/v1/nodes"));
  EXPECT_EQ(call("GET", "/openapi/v3/apis/batch/v1").status, 404);
  // kubectl asks for v2 only when v3 failed; like a kube-apiserver without it, 404.
  EXPECT_EQ(call("GET", "/openapi/v2", "", "",
                 "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
                .status,
            404);
  EXPECT_EQ(call("GET", "/openapi/v3/api/v1", "", "",
                 "application/com.github.proto-openapi.spec.v3@v1.0+protobuf")
                .status,
            406);
}

json withUnknownField() {
  json d = json::parse(deploymentJson(2));
  d["spec"]["foo"] = 1;
  d["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x";
  return d;
}

TEST_F(ApiHandlerTest, StrictCreateRefusesUnknownFieldsNamingTheirPathsAndStoresNothing) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict",
                      withUnknownField().dump());
  ASSERT_EQ(created.status, 400) << created.body.dump();
  EXPECT_EQ(created.body["reason"], "BadRequest");
  EXPECT_EQ(created.body["message"],
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding "
            "error: unknown field \"spec.foo\", unknown field "
            "\"spec.template.spec.containers[0].imagee\"");
  EXPECT_EQ(call("GET", "/apis/apps/v1/namespaces/default/deployments/web").status, 404);
}

TEST_F(ApiHandlerTest, CreateWithoutDirectiveWarnsAndDropsUnknownFields) {
  auto created =
      call("POST", "/apis/apps/v1/namespaces/default/deployments", withUnknownField().dump());
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.warnings, (std::vector<std::string>{
                                  "unknown field \"spec.foo\"",
                                  "unknown field \"spec.template.spec.containers[0].imagee\""}));
  auto got = call("GET", "/apis/apps/v1/namespaces/default/deployments/web");
  EXPECT_FALSE(got.body["spec"].contains("foo"));
  EXPECT_FALSE(got.body["spec"]["template"]["spec"]["containers"][0].contains("imagee"));
}

TEST_F(ApiHandlerTest, IgnoreDropsUnknownFieldsSilently) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Ignore",
                      withUnknownField().dump());
  ASSERT_EQ(created.status, 201);
  EXPECT_TRUE(created.warnings.empty());
  EXPECT_FALSE(created.body["spec"].contains("foo"));
}

TEST_F(ApiHandlerTest, DuplicateFieldsAreRefusedUnderStrictAndWarnedAboutOtherwise) {
  std::string body = deploymentJson(2);
  body.insert(body.rfind('}'), R"(,"kind":"Deployment")");
  auto strict =
      call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", body);
  ASSERT_EQ(strict.status, 400);
  EXPECT_NE(strict.body["message"].get<std::string>().find("duplicate field \"kind\""),
            std::string::npos)
      << strict.body.dump();
  auto warned = call("POST", "/apis/apps/v1/namespaces/default/deployments", body);
  ASSERT_EQ(warned.status, 201);
  EXPECT_EQ(warned.warnings, std::vector<std::string>{"duplicate field \"kind\""});
}

TEST_F(ApiHandlerTest, AWrongJsonTypeIsABadRequestUnderEveryDirective) {
  json d = json::parse(deploymentJson(2));
  d["spec"]["replicas"] = "3";
  for (const char* directive : {"Strict", "Warn", "Ignore"}) {
    auto created = call(
        "POST",
        std::string("/apis/apps/v1/namespaces/default/deployments?fieldValidation=") + directive,
        d.dump());
    ASSERT_EQ(created.status, 400) << directive;
    EXPECT_EQ(created.body["message"],
              "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot "
              "unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32");
  }
  EXPECT_EQ(call("GET", "/apis/apps/v1/namespaces/default/deployments/web").status, 404);
}

TEST_F(ApiHandlerTest, AnUnsupportedDirectiveIsABadRequest) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Loud",
                      deploymentJson(1));
  EXPECT_EQ(created.status, 400);
}

TEST_F(ApiHandlerTest, StrictUpdateRefusesUnknownFieldsAndWarnUpdateDropsThem) {
  auto created = call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(1));
  ASSERT_EQ(created.status, 201);
  json next = created.body;
  next["spec"]["foo"] = true;
  auto strict =
      call("PUT", "/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Strict",
           next.dump());
  EXPECT_EQ(strict.status, 400);
  auto warned = call("PUT", "/apis/apps/v1/namespaces/default/deployments/web", next.dump());
  ASSERT_EQ(warned.status, 200) << warned.body.dump();
  EXPECT_EQ(warned.warnings, std::vector<std::string>{"unknown field \"spec.foo\""});
  EXPECT_FALSE(warned.body["spec"].contains("foo"));
}

TEST_F(ApiHandlerTest, EveryPatchTypeIsValidatedOnThePatchedObject) {
  ASSERT_EQ(call("POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJson(1)).status,
            201);
  const std::string url = "/apis/apps/v1/namespaces/default/deployments/web";
  struct Case {
    const char* content_type;
    const char* body;
  };
  for (const Case& c :
       {Case{"application/merge-patch+json", R"({"spec":{"foo":1}})"},
        Case{"application/strategic-merge-patch+json", R"({"spec":{"foo":1}})"},
        Case{"application/json-patch+json", R"([{"op":"add","path":"/spec/foo","value":1}])"}}) {
    auto strict = call("PATCH", url + "?fieldValidation=Strict", c.body, c.content_type);
    EXPECT_EQ(strict.status, 422) << c.content_type;
    EXPECT_EQ(strict.body["details"]["causes"][0]["field"], "patch");
    EXPECT_NE(
        strict.body.value("message", "").find("strict decoding error: unknown field \"spec.foo\""),
        std::string::npos)
        << c.content_type << strict.body.dump();
    auto warned = call("PATCH", url, c.body, c.content_type);
    ASSERT_EQ(warned.status, 200) << c.content_type << warned.body.dump();
    EXPECT_EQ(warned.warnings, std::vector<std::string>{"unknown field \"spec.foo\""});
    EXPECT_FALSE(warned.body["spec"].contains("foo"));
  }
  auto typed = call("PATCH", url, R"({"spec":{"replicas":"two"}})", "application/merge-patch+json");
  EXPECT_EQ(typed.status, 422);
  EXPECT_NE(typed.body.value("message", "").find("cannot unmarshal string"), std::string::npos);
  auto scale = call("PATCH", url + "/scale?fieldValidation=Strict", R"({"spec":{"replicaz":3}})",
                    "application/merge-patch+json");
  EXPECT_EQ(scale.status, 422) << scale.body.dump();
  auto duplicate = call("PATCH", url + "?fieldValidation=Strict",
                        R"({"spec":{"replicas":2,"replicas":3}})", "application/merge-patch+json");
  EXPECT_EQ(duplicate.status, 422);
  EXPECT_NE(duplicate.body.value("message", "").find("duplicate field \"spec.replicas\""),
            std::string::npos)
      << duplicate.body.dump();
}

}  // namespace
}  // namespace rampart::api

namespace rampart::api {
namespace {

TEST_F(ApiHandlerTest, SelfSubjectReviewAnswersTheCallersIdentityAndIsDiscoverable) {
  auto info = parseRequestInfo("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews");
  ASSERT_TRUE(info);
  ApiRequest req{*info, "application/json", "application/json",
                 R"({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"})",
                 UserInfo{"alice", "alice-uid", {"devs"}}};
  auto r = testing::runLoop(io_, handler_.handle(std::move(req)));
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(r.body["kind"], "SelfSubjectReview");
  EXPECT_EQ(r.body["status"]["userInfo"]["username"], "alice");
  EXPECT_EQ(r.body["status"]["userInfo"]["uid"], "alice-uid");
  EXPECT_EQ(r.body["status"]["userInfo"]["groups"],
            json::array({"devs", "system:authenticated"}));
  EXPECT_EQ(call("GET", "/apis/authentication.k8s.io/v1/selfsubjectreviews").status, 405);
  auto discovery = call("GET", "/apis/authentication.k8s.io/v1");
  ASSERT_EQ(discovery.status, 200);
  EXPECT_EQ(discovery.body["resources"][0]["name"], "selfsubjectreviews");
  EXPECT_EQ(discovery.body["resources"][0]["verbs"], json::array({"create"}));
  EXPECT_EQ(call("GET", "/apis/authentication.k8s.io").status, 200);
}

}  // namespace
}  // namespace rampart::api
