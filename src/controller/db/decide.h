#pragma once
// The database controller's decision for one PostgresCluster or RedisCluster (its engine says
// which): from the cluster object and what
// exists for it (its pods, Services, Secrets and ConfigMap, found by the label
// rampart.io/cluster=<name>), the nodes' zones and, when known, the members' roles → the writes
// that move it toward its spec, each with its reason, and its status. The two engines differ
// only in what objects.h makes; the decision is the same. Pure; time is passed in.
//   - objects.h says what is made. Missing Secrets, ConfigMap, Services and member pods are
//     created; the credentials Secret is never rewritten (its passwords are in the data
//     directories), the etcd Secret and the ConfigMap are updated when they differ.
//   - A member pod that ended (Succeeded/Failed) is deleted, to be created again next round; a
//     member beyond spec.members is deleted, the highest ordinal first, one at a time.
//   - spec.paused: nothing is created, changed or deleted; only the status is written.
//   - The cluster gone: every object whose controller reference names it (of this engine's
//     kind) is deleted (the controller, not the garbage collector, does this: the collector does
//     not watch these kinds).
//   - Roles. A member's pod is Ready only when its REST API answers /primary (objects.h), so the
//     write Service's endpoints hold the primary alone without this controller in the path: a
//     demoted, fenced or unreachable primary leaves them at its next probe, even while no
//     controller runs. Labelling pods from a view (this controller's, or etcd's) instead would
//     keep a stale primary label for as long as the labeller is slow or down, so the write
//     Service could send writes to a member that is no longer primary. The read Service needs
//     the replicas, which are never Ready: this decision labels them rampart.io/role=replica
//     (roles from the members' etcd view when the caller has it, else a running container
//     whose pod is not Ready), and the read Service publishes not-ready addresses. A stale
//     replica label costs a read that fails or lands on the primary, never a lost write.
//   - status: phase (Pending, Creating, Running, Degraded, Failed, Paused), members (node, zone,
//     role, ready), primary, readyMembers, endpoints (the Services' cluster IPs and ports; for
//     Redis also the Sentinel Service's), a Ready condition, observedGeneration.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "controller/db/objects.h"

namespace rampart::controller::db {

struct ClusterFacts {
  Engine engine = Engine::Postgres;  // whose clusters these are (the reconciler's kind)
  std::string ns;
  std::string name;
  const nlohmann::json* cluster = nullptr;  // null: the cluster is gone
  // Objects of the namespace labelled rampart.io/cluster=<name>.
  std::vector<nlohmann::json> pods;
  std::vector<nlohmann::json> services;
  std::vector<nlohmann::json> secrets;
  std::vector<nlohmann::json> config_maps;
  std::map<std::string, std::string> node_zones;  // node name → topology.kubernetes.io/zone
  // Member pod name → "primary" | "replica" from the members' etcd view; nullopt: not known.
  std::optional<std::map<std::string, std::string>> roles;
  api::WallTime now;
};

struct DbAction {
  enum class Verb { Create, Update, Patch, Delete, UpdateStatus };
  Verb verb = Verb::Create;
  std::string
      resource;  // pods | services | secrets | configmaps | postgresclusters | redisclusters
  std::string name;
  // Create/Update: the object (Update keeps the resourceVersion read); Patch: a JSON merge
  // patch; Delete: the uid to delete (a precondition); UpdateStatus: the cluster with its status.
  nlohmann::json body;
  std::string reason;
};

struct DbDecision {
  std::vector<DbAction> actions;
  nlohmann::json status;  // the status computed (also when unchanged)
};

DbDecision decideDatabaseCluster(const ClusterFacts& facts, const DbSettings& settings,
                                 const GeneratedSecrets& fresh);

}  // namespace rampart::controller::db
