#include "controller/garbage.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json obj(const std::string& kind, const std::string& name, const std::string& uid,
         const std::string& ns = "default") {
  json o = {{"apiVersion", kind == "Deployment" || kind == "ReplicaSet" ? "apps/v1" : "v1"},
            {"kind", kind},
            {"metadata", {{"name", name}, {"uid", uid}}}};
  if (!ns.empty()) {
    o["metadata"]["namespace"] = ns;
  }
  return o;
}

json ownedBy(json o, const std::string& kind, const std::string& name, const std::string& uid,
             bool block = true) {
  o["metadata"]["ownerReferences"].push_back({{"apiVersion", "apps/v1"},
                                              {"kind", kind},
                                              {"name", name},
                                              {"uid", uid},
                                              {"controller", true},
                                              {"blockOwnerDeletion", block}});
  return o;
}

json deletingWith(json o, const std::string& finalizer) {
  o["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  o["metadata"]["finalizers"] = {finalizer};
  return o;
}

TEST(GarbageCollector, DependentsOfAGoneOwnerAreDeletedInTheBackground) {
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  json pod = ownedBy(obj("Pod", "web-1-a", "p1"), "ReplicaSet", "web-1", "rs1");
  auto d = decideGarbage({rs, pod});
  ASSERT_EQ(d.deletes.size(), 1u);
  EXPECT_EQ(d.deletes[0].object.name, "web-1");
  EXPECT_EQ(d.deletes[0].object.kind, "ReplicaSet");
  EXPECT_EQ(d.deletes[0].propagation, "Background");
  ASSERT_EQ(d.deletes[0].missing_owners.size(), 1u);
  EXPECT_EQ(d.deletes[0].missing_owners[0]["uid"], "d1");
  EXPECT_TRUE(d.strips.empty());
  EXPECT_TRUE(d.finalize.empty());
}

TEST(GarbageCollector, OwnersAreMatchedByUidNotByName) {
  // A new Deployment with the old one's name is not the owner of the old ReplicaSet.
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  EXPECT_EQ(decideGarbage({obj("Deployment", "web", "d2"), rs}).deletes.size(), 1u);
  EXPECT_TRUE(decideGarbage({obj("Deployment", "web", "d1"), rs}).deletes.empty());
}

TEST(GarbageCollector, AnOwnerInAnotherNamespaceDoesNotCountButAClusterScopedOneDoes) {
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  EXPECT_EQ(decideGarbage({obj("Deployment", "web", "d1", "other"), rs}).deletes.size(), 1u);
  json pod = ownedBy(obj("Pod", "mirror", "p1"), "Node", "n1", "n1");
  EXPECT_TRUE(decideGarbage({obj("Node", "n1", "n1", ""), pod}).deletes.empty());
}

TEST(GarbageCollector, ADependentWithAnotherOwnerLosesOnlyTheDanglingReference) {
  json cm = ownedBy(ownedBy(obj("ConfigMap", "shared", "c1"), "Deployment", "a", "d1"),
                    "Deployment", "b", "d2");
  auto d = decideGarbage({obj("Deployment", "b", "d2"), cm});
  EXPECT_TRUE(d.deletes.empty());
  ASSERT_EQ(d.strips.size(), 1u);
  EXPECT_EQ(d.strips[0].object.name, "shared");
  EXPECT_EQ(d.strips[0].owner_uids, std::vector<std::string>{"d1"});
}

TEST(GarbageCollector, ForegroundDeletesDependentsFirstAndReleasesTheOwnerAfter) {
  json deploy = deletingWith(obj("Deployment", "web", "d1"), kFinalizerForeground);
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  json pod = ownedBy(obj("Pod", "web-1-a", "p1"), "ReplicaSet", "web-1", "rs1");
  auto d = decideGarbage({deploy, rs, pod});
  ASSERT_EQ(d.deletes.size(), 1u);
  EXPECT_EQ(d.deletes[0].object.name, "web-1");
  EXPECT_EQ(d.deletes[0].propagation, "Foreground");  // it has pods of its own
  EXPECT_TRUE(d.finalize.empty());                    // the ReplicaSet still blocks
  // The ReplicaSet, deleting in the foreground too, waits for its pod.
  json rs_going = deletingWith(rs, kFinalizerForeground);
  d = decideGarbage({deploy, rs_going, pod});
  ASSERT_EQ(d.deletes.size(), 1u);
  EXPECT_EQ(d.deletes[0].object.name, "web-1-a");
  EXPECT_EQ(d.deletes[0].propagation, "Background");
  EXPECT_TRUE(d.finalize.empty());
  // Pod gone: the ReplicaSet is released; ReplicaSet gone: the Deployment is.
  d = decideGarbage({deploy, rs_going});
  ASSERT_EQ(d.finalize.size(), 1u);
  EXPECT_EQ(d.finalize[0].object.name, "web-1");
  EXPECT_EQ(d.finalize[0].finalizer, "foregroundDeletion");
  d = decideGarbage({deploy});
  ASSERT_EQ(d.finalize.size(), 1u);
  EXPECT_EQ(d.finalize[0].object.name, "web");
}

TEST(GarbageCollector, DependentsThatDoNotBlockDoNotHoldTheOwner) {
  json deploy = deletingWith(obj("Deployment", "web", "d1"), kFinalizerForeground);
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1", false);
  auto d = decideGarbage({deploy, rs});
  EXPECT_EQ(d.deletes.size(), 1u);
  ASSERT_EQ(d.finalize.size(), 1u);
  EXPECT_EQ(d.finalize[0].object.name, "web");
}

TEST(GarbageCollector, OrphanStripsTheReferenceAndKeepsTheDependents) {
  json deploy = deletingWith(obj("Deployment", "web", "d1"), kFinalizerOrphan);
  json rs1 = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  json rs2 = ownedBy(obj("ReplicaSet", "web-2", "rs2"), "Deployment", "web", "d1");
  auto d = decideGarbage({deploy, rs1, rs2});
  EXPECT_TRUE(d.deletes.empty());
  ASSERT_EQ(d.strips.size(), 2u);
  EXPECT_EQ(d.strips[0].owner_uids, std::vector<std::string>{"d1"});
  ASSERT_EQ(d.finalize.size(), 1u);
  EXPECT_EQ(d.finalize[0].finalizer, "orphan");
}

TEST(GarbageCollector, DependentsAlreadyBeingDeletedAreLeftAlone) {
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  rs["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  EXPECT_TRUE(decideGarbage({rs}).deletes.empty());
}

TEST(GarbageCollector, ADependentsOwnFinalizersChooseItsPropagation) {
  json rs = ownedBy(obj("ReplicaSet", "web-1", "rs1"), "Deployment", "web", "d1");
  rs["metadata"]["finalizers"] = {"orphan"};
  auto d = decideGarbage({rs});
  ASSERT_EQ(d.deletes.size(), 1u);
  EXPECT_EQ(d.deletes[0].propagation, "Orphan");
}

}  // namespace
}  // namespace rampart::controller
