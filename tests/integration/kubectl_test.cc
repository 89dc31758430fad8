// The Kubernetes-compatible API driven by the real kubectl: two `rampart server` processes over
// one 3-member etcd cluster (kubectl_fixture.h).

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "kubectl_fixture.h"

namespace rampart {
namespace {
using testing::KubectlTest;

constexpr const char* kManifest = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
)";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(KubectlTest, ApplyCreatesAMultiDocumentManifestThenUpdatesIt) {
  std::string manifest = writeFile("web.yaml", kManifest);
  auto created = kubectl({"apply", "-f", manifest});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_TRUE(contains(created.output, "deployment.apps/web created")) << created.output;
  EXPECT_TRUE(contains(created.output, "service/web created")) << created.output;
  EXPECT_TRUE(contains(created.output, "configmap/settings created")) << created.output;

  std::string changed = kManifest;
  changed.replace(changed.find("replicas: 3"), 11, "replicas: 5");
  changed.replace(changed.find("mode: fast"), 10, "mode: safe");
  auto updated = kubectl({"apply", "-f", writeFile("web2.yaml", changed)});
  ASSERT_EQ(updated.exit_code, 0) << updated.output;
  EXPECT_TRUE(contains(updated.output, "deployment.apps/web configured")) << updated.output;
  EXPECT_TRUE(contains(updated.output, "service/web unchanged")) << updated.output;
  EXPECT_TRUE(contains(updated.output, "configmap/settings configured")) << updated.output;
  EXPECT_EQ(kubectl({"get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"}).output, "5");
  EXPECT_EQ(kubectl({"get", "cm", "settings", "-o", "jsonpath={.data.mode}"}).output, "safe");
  auto last_applied = kubectl({"apply", "view-last-applied", "deploy/web"});
  EXPECT_TRUE(contains(last_applied.output, "replicas: 5")) << last_applied.output;
}

TEST_F(KubectlTest, GetPrintsKubernetesColumnsAndOutputFormats) {
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("web.yaml", kManifest)})
                .exit_code,
            0);
  auto table = kubectl({"get", "deployments"});
  EXPECT_TRUE(contains(table.output, "NAME   READY   UP-TO-DATE   AVAILABLE   AGE")) << table.output;
  EXPECT_TRUE(contains(table.output, "web    0/3     0            0")) << table.output;
  auto wide = kubectl({"get", "deploy", "-o", "wide"});
  EXPECT_TRUE(contains(wide.output, "CONTAINERS   IMAGES       SELECTOR")) << wide.output;
  EXPECT_TRUE(contains(wide.output, "nginx:1.25")) << wide.output;
  auto names = kubectl({"get", "deploy,svc,cm", "-o", "name"});
  EXPECT_TRUE(contains(names.output, "deployment.apps/web")) << names.output;
  EXPECT_TRUE(contains(names.output, "service/web")) << names.output;
  EXPECT_TRUE(contains(names.output, "configmap/settings")) << names.output;
  auto as_json = kubectl({"get", "svc", "web", "-o", "json"});
  auto object = nlohmann::json::parse(as_json.output, nullptr, false);
  ASSERT_FALSE(object.is_discarded()) << as_json.output;
  EXPECT_EQ(object["kind"], "Service");
  EXPECT_EQ(object["spec"]["ports"][0]["protocol"], "TCP");  // defaulted
  auto labelled = kubectl({"get", "deploy", "-l", "app=web", "-o", "name"});
  EXPECT_EQ(labelled.output, "deployment.apps/web");
  auto none = kubectl({"get", "deploy", "-l", "app=db"});
  EXPECT_TRUE(contains(none.output, "No resources found in default namespace.")) << none.output;
  auto all_namespaces = kubectl({"get", "namespaces"});
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    EXPECT_TRUE(contains(all_namespaces.output, ns)) << all_namespaces.output;
  }
  auto everywhere = kubectl({"get", "cm", "-A"});
  EXPECT_TRUE(contains(everywhere.output, "NAMESPACE   NAME       DATA   AGE")) << everywhere.output;
}

TEST_F(KubectlTest, LabelAnnotateScaleAndTheThreePatchTypesChangeTheObject) {
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("web.yaml", kManifest)})
                .exit_code,
            0);
  EXPECT_EQ(kubectl({"label", "deploy", "web", "tier=front"}).exit_code, 0);
  EXPECT_EQ(kubectl({"annotate", "deploy", "web", "owner=ops"}).exit_code, 0);
  EXPECT_EQ(kubectl({"scale", "deploy", "web", "--replicas=7"}).exit_code, 0);
  auto strategic = kubectl({"patch", "deploy", "web", "-p",
                            R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}}})"});
  EXPECT_EQ(strategic.exit_code, 0) << strategic.output;
  auto merge = kubectl({"patch", "deploy", "web", "--type=merge", "-p",
                        R"({"spec":{"minReadySeconds":3}})"});
  EXPECT_EQ(merge.exit_code, 0) << merge.output;
  auto json_patch = kubectl({"patch", "svc", "web", "--type=json", "-p",
                             R"([{"op":"add","path":"/metadata/labels","value":{"x":"y"}}])"});
  EXPECT_EQ(json_patch.exit_code, 0) << json_patch.output;
  auto object = nlohmann::json::parse(kubectl({"get", "deploy", "web", "-o", "json"}).output);
  EXPECT_EQ(object["metadata"]["labels"]["tier"], "front");
  EXPECT_EQ(object["metadata"]["annotations"]["owner"], "ops");
  EXPECT_EQ(object["spec"]["replicas"], 7);
  EXPECT_EQ(object["spec"]["minReadySeconds"], 3);
  // Strategic merge kept the container's other fields (ports) while changing its image.
  EXPECT_EQ(object["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
  EXPECT_EQ(object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
  EXPECT_EQ(kubectl({"get", "svc", "web", "-o", "jsonpath={.metadata.labels.x}"}).output, "y");
}

TEST_F(KubectlTest, AnInvalidManifestIsRefusedNamingTheFieldAndChangesNothing) {
  std::string bad = kManifest;
  bad.replace(bad.find("replicas: 3"), 11, "replicas: -1");
  auto refused = kubectl({"apply", "-f", writeFile("bad.yaml", bad)});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output,
                       "spec.replicas: Invalid value: -1: must be greater than or equal to 0"))
      << refused.output;
  auto missing = kubectl({"get", "deploy", "web"});
  EXPECT_TRUE(contains(missing.output, "deployments.apps \"web\" not found")) << missing.output;
}

TEST_F(KubectlTest, WatchStreamsChangesMadeThroughTheOtherServer) {
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("web.yaml", kManifest)})
                .exit_code,
            0);
  // `kubectl get -w` on server 0 while server 1 scales the deployment.
  std::string log = dir_.path() + "/watch.log";
  auto watcher = runtime::spawn(runtime::SpawnOptions{
      {"kubectl", "--kubeconfig", servers_[0].kubeconfig, "--cache-dir", dir_.path() + "/kc2",
       "get", "deploy", "web", "-w", "--output-watch-events"},
      log});
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(testing::eventually([&] { return contains(testing::readWholeFile(log), "0/3"); },
                                  std::chrono::seconds(10)))
      << testing::readWholeFile(log);
  auto scaled = kubectl(servers_[1].kubeconfig, {"scale", "deploy", "web", "--replicas=4"});
  EXPECT_EQ(scaled.exit_code, 0) << scaled.output;
  bool seen = testing::eventually(
      [&] {
        std::string out = testing::readWholeFile(log);
        return contains(out, "MODIFIED") && contains(out, "0/4");
      },
      std::chrono::seconds(10));
  runtime::terminate(*watcher, std::chrono::seconds(1));
  EXPECT_TRUE(seen) << testing::readWholeFile(log);
}

TEST_F(KubectlTest, AnUnknownTokenIsUnauthorized) {
  std::string config = testing::readWholeFile(servers_[0].kubeconfig);
  config.replace(config.find(kToken), std::string(kToken).size(), "wrong-token");
  auto refused = kubectl(writeFile("bad-kubeconfig", config), {"get", "pods"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "error: You must be logged in to the server")) << refused.output;
}

TEST_F(KubectlTest, DeleteRemovesObjectsAndApiResourcesListsTheServedTypes) {
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("web.yaml", kManifest)})
                .exit_code,
            0);
  auto deleted = kubectl({"delete", "-f", dir_.path() + "/web.yaml"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_TRUE(contains(deleted.output, "configmap \"settings\" deleted")) << deleted.output;
  EXPECT_TRUE(contains(kubectl({"get", "cm,svc"}).output, "No resources found"));
  auto resources = kubectl({"api-resources"});
  for (const char* line : {"deployments", "replicasets", "poddisruptionbudgets", "leases",
                           "endpoints", "events", "nodes", "secrets"}) {
    EXPECT_TRUE(contains(resources.output, line)) << resources.output;
  }
}

TEST_F(KubectlTest, ApplyRefusesUnknownFieldsUnderStrictValidationNamingThem) {
  std::string bad = kManifest;
  bad.replace(bad.find("replicas: 3"), 11, "replicas: 3\n  replicaz: 4");
  auto refused = kubectl({"apply", "-f", writeFile("typo.yaml", bad)});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "unknown field \"spec.replicaz\"")) << refused.output;
  EXPECT_TRUE(contains(kubectl({"get", "deploy", "web"}).output, "not found"));
}

TEST_F(KubectlTest, ExplainDescribesServedTypesFromTheOpenApiDocuments) {
  auto explained = kubectl({"explain", "deployment.spec.strategy"});
  EXPECT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_TRUE(contains(explained.output, "GROUP:      apps")) << explained.output;
  EXPECT_TRUE(contains(explained.output, "rollingUpdate")) << explained.output;
  auto pod = kubectl({"explain", "pods.spec.containers.livenessProbe"});
  EXPECT_TRUE(contains(pod.output, "httpGet")) << pod.output;
}

TEST_F(KubectlTest, SpreadConstraintsAreExplainedAndInvalidOnesAreRefusedWithKubernetesMessages) {
  auto explained = kubectl({"explain", "pods.spec.topologySpreadConstraints"});
  EXPECT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_TRUE(contains(explained.output, "nodeAffinityPolicy")) << explained.output;
  EXPECT_TRUE(contains(explained.output, "nodeTaintsPolicy")) << explained.output;
  auto policy = kubectl({"explain", "pods.spec.topologySpreadConstraints.nodeTaintsPolicy"});
  EXPECT_TRUE(contains(policy.output, "Ignore (the default)")) << policy.output;
  // A Deployment whose template carries `constraint` is refused with `message`, and not created.
  auto refusedWith = [&](const std::string& file, const std::string& constraint,
                         const std::string& message) {
    std::string bad = kManifest;
    bad.replace(bad.find("      containers:"), 0,
                "      topologySpreadConstraints:\n      - " + constraint + "\n");
    auto refused = kubectl({"apply", "-f", writeFile(file, bad)});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_TRUE(contains(refused.output, message)) << refused.output;
    EXPECT_TRUE(contains(kubectl({"get", "deploy", "web"}).output, "not found"));
  };
  refusedWith("policy.yaml",
              "{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, "
              "whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Sometimes}",
              "spec.template.spec.topologySpreadConstraints[0].nodeTaintsPolicy: "
              "Unsupported value: \"Sometimes\": supported values: \"Honor\", \"Ignore\"");
  refusedWith("domains.yaml",
              "{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, "
              "whenUnsatisfiable: ScheduleAnyway, minDomains: 3}",
              "spec.template.spec.topologySpreadConstraints[0].minDomains: Invalid value: 3: can "
              "only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway");
}

// kubectl validates a `kind: List` client-side (its check that the server validates fields
// excludes List), which needs /openapi/v2; the items are then validated by the server.
TEST_F(KubectlTest, ApplyOfAListManifestNeedsNoValidateFalse) {
  const std::string list = R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: listed-a
  data:
    k: a
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: listed-b
  data:
    k: b
)";
  auto applied = kubectl({"apply", "-f", writeFile("list.yaml", list)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(contains(applied.output, "configmap/listed-a created")) << applied.output;
  EXPECT_TRUE(contains(applied.output, "configmap/listed-b created")) << applied.output;
  EXPECT_EQ(kubectl({"get", "configmap", "listed-b", "-o", "jsonpath={.data.k}"}).output, "b");
  // An item with an unknown field is still refused, by the server, naming it.
  std::string typo = list;
  typo.replace(typo.find("    k: b"), 8, "    k: b\n  dataz: {}");
  auto refused = kubectl({"apply", "-f", writeFile("typo-list.yaml", typo)});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "unknown field \"dataz\"")) << refused.output;
}

TEST_F(KubectlTest, ExplainDescribesSelfSubjectReviews) {
  auto explained = kubectl({"explain", "selfsubjectreviews"});
  ASSERT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_TRUE(contains(explained.output, "KIND:       SelfSubjectReview")) << explained.output;
  EXPECT_TRUE(contains(explained.output, "GROUP:      authentication.k8s.io"))
      << explained.output;
  auto status = kubectl({"explain", "selfsubjectreviews.status.userInfo"});
  EXPECT_TRUE(contains(status.output, "username")) << status.output;
}

TEST_F(KubectlTest, EditWithAnEditorScriptUpdatesTheObject) {
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("web.yaml", kManifest)}).exit_code, 0);
  std::string editor = writeFile("editor.sh", "#!/bin/sh\nsed -i 's/replicas: 3/replicas: 6/' \"$1\"\n");
  ::chmod(editor.c_str(), 0755);
  auto edited = runtime::runCommand(
      {"env", "EDITOR=" + editor, "kubectl", "--kubeconfig", servers_[0].kubeconfig,
       "--cache-dir", dir_.path() + "/kube-cache", "edit", "deploy", "web"},
      std::chrono::seconds(30));
  EXPECT_EQ(edited.exit_code, 0) << edited.output;
  EXPECT_TRUE(contains(edited.output, "deployment.apps/web edited")) << edited.output;
  EXPECT_EQ(kubectl({"get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"}).output, "6");
}

}  // namespace
}  // namespace rampart
