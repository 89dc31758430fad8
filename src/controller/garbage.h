#pragma once
// The garbage collector's decision, as kube-controller-manager's: from every object's
// ownerReferences (owners matched by uid, never by name) → which dependents to delete, which
// owner references to strip, which deletion finalizers to remove. Pure over a snapshot.
//   - Background (the default): once no owner of a dependent exists, delete the dependent
//     (with Foreground propagation itself when it has dependents of its own and one of its
//     owners is being deleted in the foreground, else as its own finalizers ask).
//     A dependent that still has an owner keeps living; references to absent owners, and to
//     owners being deleted in the foreground, are stripped from it instead.
//   - Foreground: an owner with deletionTimestamp and the `foregroundDeletion` finalizer gets
//     its dependents deleted; the finalizer is removed once no dependent that references it
//     with blockOwnerDeletion=true remains.
//   - Orphan: an owner with deletionTimestamp and the `orphan` finalizer gets its reference
//     stripped from every dependent, then the finalizer removed.
// Owner identity: a reference is satisfied by an object with that uid in the dependent's
// namespace, or a cluster-scoped one. The snapshot must hold every kind that can own
// something; because a missing kind would look like an absent owner, each delete lists the
// references it found dangling, and the caller confirms each owner is gone (GET, uid compared,
// 404 or another uid) before deleting — as Kubernetes does.
// The caller applies strips before the finalizer removals of the same decision, and skips a
// finalizer removal if a strip for that owner failed.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller {

inline constexpr const char* kFinalizerForeground = "foregroundDeletion";
inline constexpr const char* kFinalizerOrphan = "orphan";

struct ObjectId {
  std::string api_version;
  std::string kind;
  std::string namespace_;  // empty for cluster-scoped objects
  std::string name;
  std::string uid;
  friend bool operator==(const ObjectId&, const ObjectId&) = default;
};

struct GcDelete {
  ObjectId object;
  std::string propagation;                     // Background | Foreground | Orphan
  std::vector<nlohmann::json> missing_owners;  // references to confirm absent before deleting
  std::string reason;
};

struct GcStrip {
  ObjectId object;
  std::vector<std::string> owner_uids;  // ownerReferences to remove from it
  std::string reason;
};

struct GcFinalize {
  ObjectId object;
  std::string finalizer;  // to remove from metadata.finalizers
  std::string reason;
};

struct GarbageDecision {
  std::vector<GcDelete> deletes;
  std::vector<GcStrip> strips;
  std::vector<GcFinalize> finalize;
};

ObjectId objectIdOf(const nlohmann::json& object);

// `objects`: everything the collector watches (all namespaces, all kinds), each with apiVersion,
// kind and metadata.
GarbageDecision decideGarbage(const std::vector<nlohmann::json>& objects);

}  // namespace rampart::controller
