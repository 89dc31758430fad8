// apps/v1 StatefulSet served by `rampart server` and driven by the real kubectl (1.32): apply, get
// (-o wide), describe, scale through the scale subresource, patch, refusal of invalid manifests
// and of changes to the fixed spec fields, explain, api-resources and delete. No controller runs
// here (kubectl_fixture.h starts only etcd and the servers): this is the API's behaviour alone.

#include <gtest/gtest.h>

#include "kubectl_fixture.h"

namespace rampart {
namespace {
using testing::KubectlTest;

constexpr const char* kStatefulSet = R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  labels: {app: db}
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: pg
        image: postgres:16
        ports:
        - containerPort: 5432
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
)";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class KubectlStatefulSetTest : public KubectlTest {
 protected:
  nlohmann::json stored() {
    auto got = kubectl({"get", "statefulset", "db", "-o", "json"});
    auto object = nlohmann::json::parse(got.output, nullptr, false);
    EXPECT_FALSE(object.is_discarded()) << got.output;
    return object;
  }
};

TEST_F(KubectlStatefulSetTest, AppliedStatefulSetIsPrintedDescribedScaledPatchedAndDeleted) {
  auto applied = kubectl({"apply", "-f", writeFile("db.yaml", kStatefulSet)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(contains(applied.output, "statefulset.apps/db created")) << applied.output;

  // Applying again is no spec change although kubectl sends the atomic volumeClaimTemplates list
  // without the defaults the server added to it (so kubectl reports "configured");
  // a changed template is an allowed update.
  auto again = kubectl({"apply", "-f", writeFile("db.yaml", kStatefulSet)});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(stored()["metadata"]["generation"], 1);
  std::string changed = kStatefulSet;
  changed.replace(changed.find("postgres:16"), 11, "postgres:15");
  auto reapplied = kubectl({"apply", "-f", writeFile("db-15.yaml", changed)});
  EXPECT_EQ(reapplied.exit_code, 0) << reapplied.output;
  EXPECT_TRUE(contains(reapplied.output, "statefulset.apps/db configured")) << reapplied.output;
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("db.yaml", kStatefulSet)}).exit_code, 0);

  auto table = kubectl({"get", "sts"});
  EXPECT_TRUE(contains(table.output, "NAME   READY   AGE")) << table.output;
  EXPECT_TRUE(contains(table.output, "db     0/2")) << table.output;
  auto wide = kubectl({"get", "statefulsets", "-o", "wide"});
  EXPECT_TRUE(contains(wide.output, "NAME   READY   AGE   CONTAINERS   IMAGES")) << wide.output;
  EXPECT_TRUE(contains(wide.output, "pg           postgres:16")) << wide.output;
  auto all = kubectl({"get", "all", "-o", "name"});
  EXPECT_TRUE(contains(all.output, "statefulset.apps/db")) << all.output;

  nlohmann::json object = stored();
  EXPECT_EQ(object["metadata"]["generation"], 3);  // created, then two template changes
  EXPECT_EQ(object["spec"]["podManagementPolicy"], "OrderedReady");
  EXPECT_EQ(object["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 0);
  EXPECT_EQ(object["spec"]["revisionHistoryLimit"], 10);
  EXPECT_EQ(object["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "1Gi");

  auto described = kubectl({"describe", "statefulset", "db"});
  EXPECT_EQ(described.exit_code, 0) << described.output;
  EXPECT_TRUE(contains(described.output, "Selector:           app=db")) << described.output;
  EXPECT_TRUE(contains(described.output, "Replicas:           2 desired | 0 total"))
      << described.output;
  EXPECT_TRUE(contains(described.output, "Update Strategy:    RollingUpdate")) << described.output;
  EXPECT_TRUE(contains(described.output, "Volume Claims:")) << described.output;
  EXPECT_TRUE(contains(described.output, "postgres:16")) << described.output;

  auto scaled = kubectl({"scale", "sts", "db", "--replicas=3"});
  EXPECT_EQ(scaled.exit_code, 0) << scaled.output;
  EXPECT_TRUE(contains(scaled.output, "statefulset.apps/db scaled")) << scaled.output;
  auto scale = kubectl({"get", "--raw", "/apis/apps/v1/namespaces/default/statefulsets/db/scale"});
  auto scale_object = nlohmann::json::parse(scale.output, nullptr, false);
  ASSERT_FALSE(scale_object.is_discarded()) << scale.output;
  EXPECT_EQ(scale_object["kind"], "Scale");
  EXPECT_EQ(scale_object["spec"]["replicas"], 3);
  EXPECT_EQ(scale_object["status"]["selector"], "app=db");
  EXPECT_TRUE(contains(kubectl({"get", "sts", "db"}).output, "0/3")) << "after scale";

  auto patched =
      kubectl({"patch", "sts", "db", "-p",
               R"({"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}},)"
               R"("template":{"spec":{"containers":[{"name":"pg","image":"postgres:17"}]}}}})"});
  EXPECT_EQ(patched.exit_code, 0) << patched.output;
  object = stored();
  EXPECT_EQ(object["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 2);
  EXPECT_EQ(object["spec"]["template"]["spec"]["containers"][0]["image"], "postgres:17");
  // Strategic merge kept the container's port while changing its image.
  EXPECT_EQ(object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 5432);
  EXPECT_EQ(object["metadata"]["generation"], 5);  // + scale, + this patch

  auto fixed =
      kubectl({"patch", "sts", "db", "--type=merge", "-p", R"({"spec":{"serviceName":"other"}})"});
  EXPECT_NE(fixed.exit_code, 0);
  EXPECT_TRUE(contains(fixed.output,
                       "spec: Forbidden: updates to statefulset spec for fields other than "
                       "'replicas', 'ordinals', 'template', 'updateStrategy'"))
      << fixed.output;
  EXPECT_EQ(stored()["spec"]["serviceName"], "db");

  auto deleted = kubectl({"delete", "sts", "db"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_TRUE(contains(deleted.output, "statefulset.apps \"db\" deleted")) << deleted.output;
  auto missing = kubectl({"get", "sts", "db"});
  EXPECT_TRUE(contains(missing.output, "statefulsets.apps \"db\" not found")) << missing.output;
}

TEST_F(KubectlStatefulSetTest, InvalidStatefulSetsAreRefusedNamingTheFieldAndStoreNothing) {
  std::string mismatched = kStatefulSet;
  mismatched.replace(mismatched.find("matchLabels: {app: db}"), 22, "matchLabels: {app: other}");
  auto refused = kubectl({"apply", "-f", writeFile("mismatched.yaml", mismatched)});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "The StatefulSet \"db\" is invalid")) << refused.output;
  EXPECT_TRUE(contains(refused.output,
                       "spec.template.metadata.labels: Invalid value: {\"app\":\"db\"}: "
                       "`selector` does not match template `labels`"))
      << refused.output;

  std::string policy = kStatefulSet;
  policy.replace(policy.find("replicas: 2"), 11, "replicas: 2\n  podManagementPolicy: Random");
  auto bad_policy = kubectl({"apply", "-f", writeFile("policy.yaml", policy)});
  EXPECT_NE(bad_policy.exit_code, 0);
  EXPECT_TRUE(contains(bad_policy.output,
                       "spec.podManagementPolicy: Invalid value: \"Random\": must be "
                       "'OrderedReady' or 'Parallel'"))
      << bad_policy.output;

  std::string negative = kStatefulSet;
  negative.replace(negative.find("replicas: 2"), 11, "replicas: -1");
  auto bad_replicas = kubectl({"apply", "-f", writeFile("negative.yaml", negative)});
  EXPECT_NE(bad_replicas.exit_code, 0);
  EXPECT_TRUE(contains(bad_replicas.output,
                       "spec.replicas: Invalid value: -1: must be greater than or equal to 0"))
      << bad_replicas.output;

  auto missing = kubectl({"get", "sts", "db"});
  EXPECT_TRUE(contains(missing.output, "statefulsets.apps \"db\" not found")) << missing.output;
}

TEST_F(KubectlStatefulSetTest, ExplainAndApiResourcesKnowStatefulSets) {
  auto explained = kubectl({"explain", "statefulset.spec"});
  EXPECT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_TRUE(contains(explained.output, "KIND:       StatefulSet")) << explained.output;
  EXPECT_TRUE(contains(explained.output, "GROUP:      apps")) << explained.output;
  for (const char* field : {"podManagementPolicy", "serviceName", "updateStrategy",
                            "volumeClaimTemplates", "persistentVolumeClaimRetentionPolicy"}) {
    EXPECT_TRUE(contains(explained.output, field)) << field << "\n" << explained.output;
  }
  auto partition = kubectl({"explain", "sts.spec.updateStrategy.rollingUpdate.partition"});
  EXPECT_EQ(partition.exit_code, 0) << partition.output;
  EXPECT_TRUE(contains(partition.output, "<integer>")) << partition.output;

  auto resources = kubectl({"api-resources", "--api-group=apps"});
  EXPECT_EQ(resources.exit_code, 0) << resources.output;
  EXPECT_TRUE(contains(resources.output, "statefulsets")) << resources.output;
  EXPECT_TRUE(contains(resources.output, "sts")) << resources.output;
  auto categories = kubectl({"api-resources", "--categories=all", "-o", "name"});
  EXPECT_TRUE(contains(categories.output, "statefulsets.apps")) << categories.output;
}

}  // namespace
}  // namespace rampart
