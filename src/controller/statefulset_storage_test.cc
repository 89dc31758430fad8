#include "controller/statefulset_storage.h"

#include <gtest/gtest.h>

#include "controller/statefulset.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json setWithClaims(const std::string& when_deleted = "Retain") {
  return {{"metadata", {{"name", "web"}, {"namespace", "db"}, {"uid", "s1"}}},
          {"spec",
           {{"replicas", 2},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"persistentVolumeClaimRetentionPolicy",
             {{"whenDeleted", when_deleted}, {"whenScaled", "Retain"}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec",
               {{"containers", {{{"name", "c"}, {"command", {"sleep", "1"}}}}},
                {"volumes",
                 {{{"name", "data"}, {"emptyDir", json::object()}},
                  {{"name", "cfg"}, {"configMap", {{"name", "x"}}}}}}}}}},
            {"volumeClaimTemplates",
             {{{"metadata", {{"name", "data"}, {"labels", {{"tier", "db"}}}}},
               {"spec",
                {{"accessModes", {"ReadWriteOnce"}},
                 {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}}}}}}};
}

TEST(StatefulSetStorage, EachPodGetsOneClaimPerTemplateNamedTemplateSetOrdinal) {
  auto claims = claimsForPod(setWithClaims(), 3);
  ASSERT_EQ(claims.size(), 1u);
  const json& c = claims[0];
  EXPECT_EQ(c["kind"], "PersistentVolumeClaim");
  EXPECT_EQ(c["metadata"]["name"], "data-web-3");
  EXPECT_EQ(c["metadata"]["namespace"], "db");
  EXPECT_EQ(c["metadata"]["labels"], (json{{"tier", "db"}, {"app", "web"}}));
  EXPECT_EQ(c["spec"]["resources"]["requests"]["storage"], "1Gi");
}

TEST(StatefulSetStorage, RetainedClaimsHaveNoOwnerSoTheyOutliveTheSet) {
  EXPECT_FALSE(claimsForPod(setWithClaims("Retain"), 0)[0]["metadata"].contains("ownerReferences"));
  json owned = claimsForPod(setWithClaims("Delete"), 0)[0];
  ASSERT_TRUE(owned["metadata"].contains("ownerReferences"));
  EXPECT_EQ(owned["metadata"]["ownerReferences"][0]["uid"], "s1");
  EXPECT_EQ(owned["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
}

TEST(StatefulSetStorage, ThePodsVolumeOfTheTemplatesNameRefersToItsClaim) {
  json s = setWithClaims();
  auto d = decideStatefulSet(s, {});
  ASSERT_EQ(d.create.size(), 1u);
  json volumes = d.create[0]["spec"]["volumes"];
  ASSERT_EQ(volumes.size(), 2u);  // the template's emptyDir "data" was replaced, not doubled
  EXPECT_EQ(volumes[0],
            (json{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "data-web-0"}}}}));
  EXPECT_EQ(volumes[1]["name"], "cfg");
}

TEST(StatefulSetStorage, ASetWithoutTemplatesMakesNoClaimsAndNoVolumes) {
  json s = setWithClaims();
  s["spec"].erase("volumeClaimTemplates");
  s["spec"]["template"]["spec"].erase("volumes");
  EXPECT_TRUE(claimsForPod(s, 0).empty());
  auto d = decideStatefulSet(s, {});
  EXPECT_FALSE(d.create[0]["spec"].contains("volumes"));
}

}  // namespace
}  // namespace rampart::controller
