// core/v1 PersistentVolumeClaim and apps/v1 ControllerRevision as kube-apiserver serves them:
// discovery, defaults, validation messages, the printed tables kubectl shows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/registry.h"
#include "api/schema.h"
#include "api/table.h"
#include "api/validation.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;

const ResourceInfo& claims() { return *findResource("", "v1", "persistentvolumeclaims"); }
const ResourceInfo& revisions() { return *findResource("apps", "v1", "controllerrevisions"); }

json claim() {
  return json::parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"data-web-0","namespace":"default",
                "creationTimestamp":"2026-12-06T03:00:00Z"},
    "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}})");
}

std::vector<std::string> messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.toString());
  }
  return out;
}

TEST(StorageKinds, ClaimsAndRevisionsAreDiscoverableWithTheirSchemas) {
  ASSERT_NE(findResource("", "v1", "persistentvolumeclaims"), nullptr);
  EXPECT_EQ(claims().short_names, std::vector<std::string>{"pvc"});
  EXPECT_NE(claims().subresource("status"), nullptr);
  ASSERT_NE(findResource("apps", "v1", "controllerrevisions"), nullptr);
  EXPECT_EQ(schemaNameOf("", "v1", "PersistentVolumeClaim"),
            "io.k8s.api.core.v1.PersistentVolumeClaim");
  EXPECT_EQ(schemaNameOf("apps", "v1", "ControllerRevision"),
            "io.k8s.api.apps.v1.ControllerRevision");
}

TEST(StorageKinds, AClaimIsDefaultedPendingFilesystemAndNeedsModesAndASize) {
  json c = claim();
  applyDefaults(claims(), c);
  EXPECT_EQ(c["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(c["status"]["phase"], "Pending");
  EXPECT_TRUE(validateObject(claims(), c, json()).empty());

  json bad = claim();
  bad["spec"].erase("accessModes");
  bad["spec"].erase("resources");
  auto errors = messages(validateObject(claims(), bad, json()));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("spec.accessModes"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("spec.resources[storage]"), std::string::npos) << errors[1];
}

TEST(StorageKinds, AClaimsSpecIsFixedExceptItsSizeAndAFirstVolumeName) {
  json old = claim();
  applyDefaults(claims(), old);
  json bound = old;
  bound["spec"]["volumeName"] = "pvc-1";
  bound["spec"]["resources"]["requests"]["storage"] = "2Gi";
  EXPECT_TRUE(validateObject(claims(), bound, old).empty());
  json changed = bound;
  changed["spec"]["accessModes"] = {"ReadWriteMany"};
  auto errors = messages(validateObject(claims(), changed, bound));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("spec is immutable after creation"), std::string::npos) << errors[0];
  json rebound = bound;
  rebound["spec"]["volumeName"] = "pvc-2";
  EXPECT_EQ(validateObject(claims(), rebound, bound).size(), 1u);
}

TEST(StorageKinds, TheClaimTableHasKubectlsColumns) {
  json c = claim();
  applyDefaults(claims(), c);
  c["spec"]["volumeName"] = "pvc-1";
  c["status"] = {{"phase", "Bound"},
                 {"accessModes", {"ReadWriteOnce", "ReadOnlyMany"}},
                 {"capacity", {{"storage", "1Gi"}}}};
  json t = makeTable(claims(), {c}, json::object(), *parseRfc3339("2026-12-06T03:05:00Z"));
  std::vector<std::string> names;
  for (const auto& col : t["columnDefinitions"]) {
    if (col["priority"] == 0) {
      names.push_back(col["name"]);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Status", "Volume", "Capacity", "Access Modes",
                                             "StorageClass", "Age"}));
  EXPECT_EQ(t["rows"][0]["cells"],
            (json{"data-web-0", "Bound", "pvc-1", "1Gi", "RWO,ROX", "", "5m", "Filesystem"}));
}

TEST(StorageKinds, ARevisionNeedsANumberKeepsItsDataAndPrintsItsController) {
  json r = json::parse(R"({"apiVersion":"apps/v1","kind":"ControllerRevision",
    "metadata":{"name":"web-abc","namespace":"default",
      "creationTimestamp":"2026-12-06T03:00:00Z",
      "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"u",
                          "controller":true}]},
    "data":{"spec":{"template":{"$patch":"replace"}}},"revision":2})");
  EXPECT_TRUE(validateObject(revisions(), r, json()).empty());
  json renumbered = r;
  renumbered["revision"] = 3;
  EXPECT_TRUE(validateObject(revisions(), renumbered, r).empty());
  json rewritten = r;
  rewritten["data"] = json::object();
  EXPECT_EQ(validateObject(revisions(), rewritten, r).size(), 1u);
  json missing = r;
  missing.erase("revision");
  EXPECT_EQ(validateObject(revisions(), missing, json()).size(), 1u);
  json t = makeTable(revisions(), {r}, json::object(), *parseRfc3339("2026-12-06T03:00:30Z"));
  EXPECT_EQ(t["rows"][0]["cells"], (json{"web-abc", "statefulset.apps/web", 2, "30s"}));
}

}  // namespace
}  // namespace rampart::api
