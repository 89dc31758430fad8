// StatefulSet revisions with the real kubectl (1.32): the controller keeps one apps/v1
// ControllerRevision per template, so `kubectl rollout history statefulset/web` lists them,
// `--revision=N` prints that revision's template, and `kubectl rollout undo` (which lists the
// revisions by the set's selector and owner and PATCHes the set with the revision's data) brings
// the first template back; deleting the set takes its revisions and keeps its claims. etcd x3, two `rampart server`s, one `rampart controller` and
// `rampart agent --simulate 2` as the nodes.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::seconds;
using testing::eventually;

constexpr const char* kWeb = R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 2
  serviceName: web
  podManagementPolicy: Parallel
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.26
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
)";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class KubectlStatefulSetRolloutTest : public testing::ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    startSimulatedAgent(2, "a,b");
    if (HasFatalFailure()) {
      return;
    }
    startController("ctrl", 0);
  }

  std::string image() {
    auto got = kubectl({"get", "sts", "web", "-o",
                        "jsonpath={.spec.template.spec.containers[0].image}"});
    return got.output;
  }

  // Both pods run the update revision of the set's latest generation.
  bool rolledOut() {
    auto got = kubectl({"get", "sts", "web", "-o", "json"});
    json set = json::parse(got.output, nullptr, false);
    if (set.is_discarded() || !set.contains("status")) {
      return false;
    }
    const json& st = set["status"];
    return st.value("observedGeneration", -1) == set["metadata"].value("generation", 0) &&
           st.value("updatedReplicas", 0) == 2 && st.value("readyReplicas", 0) == 2 &&
           st.value("currentRevision", "") == st.value("updateRevision", "x");
  }
};

TEST_F(KubectlStatefulSetRolloutTest, EditHistoryAndUndoBringTheFirstTemplateBack) {
  auto applied = kubectl({"apply", "-f", writeFile("web.yaml", kWeb)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually([&] { return rolledOut(); }, seconds(60)))
      << kubectl({"get", "sts,pods,controllerrevisions", "-o", "wide"}).output;

  // The claims were made before the pods and bound to the pods' nodes.
  auto claims = kubectl({"get", "pvc"});
  EXPECT_TRUE(contains(claims.output, "NAME        STATUS   VOLUME")) << claims.output;
  EXPECT_TRUE(contains(claims.output, "www-web-0   Bound")) << claims.output;
  EXPECT_TRUE(contains(claims.output, "www-web-1   Bound")) << claims.output;
  EXPECT_TRUE(contains(claims.output, "1Gi        RWO")) << claims.output;

  auto described = kubectl({"describe", "pvc", "www-web-0"});
  EXPECT_EQ(described.exit_code, 0) << described.output;
  EXPECT_TRUE(contains(described.output, "Bound")) << described.output;
  EXPECT_TRUE(contains(described.output, "web-0")) << described.output;  // Used By

  auto edited = kubectl({"set", "image", "statefulset/web", "nginx=nginx:1.27"});
  ASSERT_EQ(edited.exit_code, 0) << edited.output;
  ASSERT_TRUE(eventually([&] { return rolledOut(); }, seconds(60)))
      << kubectl({"get", "sts,pods", "-o", "wide"}).output;

  auto revisions = kubectl({"get", "controllerrevisions"});
  EXPECT_TRUE(contains(revisions.output, "NAME")) << revisions.output;
  EXPECT_TRUE(contains(revisions.output, "statefulset.apps/web   1")) << revisions.output;
  EXPECT_TRUE(contains(revisions.output, "statefulset.apps/web   2")) << revisions.output;

  auto history = kubectl({"rollout", "history", "statefulset/web"});
  ASSERT_EQ(history.exit_code, 0) << history.output;
  EXPECT_TRUE(contains(history.output, "statefulset.apps/web")) << history.output;
  EXPECT_TRUE(contains(history.output, "REVISION  CHANGE-CAUSE")) << history.output;
  EXPECT_TRUE(contains(history.output, "1         <none>")) << history.output;
  EXPECT_TRUE(contains(history.output, "2         <none>")) << history.output;

  auto first = kubectl({"rollout", "history", "statefulset/web", "--revision=1"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "revision #1")) << first.output;
  EXPECT_TRUE(contains(first.output, "nginx:1.26")) << first.output;
  auto second = kubectl({"rollout", "history", "statefulset/web", "--revision=2"});
  EXPECT_TRUE(contains(second.output, "nginx:1.27")) << second.output;

  auto undone = kubectl({"rollout", "undo", "statefulset/web"});
  ASSERT_EQ(undone.exit_code, 0) << undone.output;
  EXPECT_TRUE(contains(undone.output, "statefulset.apps/web rolled back")) << undone.output;
  EXPECT_EQ(image(), "nginx:1.26");
  ASSERT_TRUE(eventually([&] { return rolledOut(); }, seconds(60)))
      << kubectl({"get", "sts,pods", "-o", "wide"}).output;
  // The first template's revision is reused as the newest: history lists 2 and 3.
  ASSERT_TRUE(eventually(
      [&] {
        auto h = kubectl({"rollout", "history", "statefulset/web"});
        return contains(h.output, "3         <none>") && !contains(h.output, "1         <none>");
      },
      seconds(20)))
      << kubectl({"rollout", "history", "statefulset/web"}).output;

  auto to_two = kubectl({"rollout", "undo", "statefulset/web", "--to-revision=2"});
  ASSERT_EQ(to_two.exit_code, 0) << to_two.output;
  EXPECT_EQ(image(), "nginx:1.27");

  // Deleting the set takes its revisions (owned) but not its claims (retention Retain).
  ASSERT_EQ(kubectl({"delete", "sts", "web"}).exit_code, 0);
  EXPECT_TRUE(eventually(
      [&] {
        return kubectl({"get", "controllerrevisions", "-o", "name"}).output.empty() &&
               kubectl({"get", "pods", "-o", "name"}).output.empty();
      },
      seconds(30)))
      << kubectl({"get", "controllerrevisions,pods"}).output;
  EXPECT_TRUE(contains(kubectl({"get", "pvc", "-o", "name"}).output,
                       "persistentvolumeclaim/www-web-0"));
}

}  // namespace
}  // namespace rampart
