#pragma once
// The node side of Rampart's node-local PersistentVolumeClaims (controller/volume_binding.h):
// a claim bound to this node is the directory <agent root>/volumes/<namespace>/<claim>, made
// 0755 when its first pod starts here, kept across pod restarts and pod deletion (the next pod
// of that claim — a StatefulSet's replacement — finds the data), and removed only once the
// claim object is gone: the agent lists the directories and, with its claims cache synced,
// removes each whose claim no longer exists (or is bound to another node) and that no pod of
// this node still names. A claim deleted and made again under the same name and bound to this
// node again before the agent looked keeps the old directory (the agent sees names, not uids).
// Pure functions except listClaimDirs (reads the directory tree); thread-safe.

#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::agent::node {

struct ClaimDir {
  std::string ns;
  std::string claim;
  friend bool operator<(const ClaimDir& a, const ClaimDir& b) {
    return std::tie(a.ns, a.claim) < std::tie(b.ns, b.claim);
  }
  friend bool operator==(const ClaimDir&, const ClaimDir&) = default;
};

// "<root>/volumes/<ns>/<claim>": `claims_root` is "<agent root>/volumes".
std::string claimDirPath(const std::string& claims_root, const std::string& ns,
                         const std::string& claim);

// The claims the pod's volumes name, as ClaimDirs of its namespace.
std::vector<ClaimDir> claimsOfPod(const nlohmann::json& pod);

// The claims whose directory this node keeps: those bound to `node` and those not bound yet
// (their first pod may come here). A claim bound to another node — e.g. one deleted and made
// again under the same name, then bound elsewhere — does not keep this node's old directory.
std::set<ClaimDir> claimsKeptOn(const std::vector<const nlohmann::json*>& claims,
                                const std::string& node);

// Directories to remove: on disk, no claim of that namespace/name exists (`claims`), and no pod
// of this node names it (`in_use`). The caller passes `claims` only from a synced cache.
std::vector<ClaimDir> staleClaimDirs(const std::vector<ClaimDir>& on_disk,
                                     const std::set<ClaimDir>& claims,
                                     const std::set<ClaimDir>& in_use);

// The <ns>/<claim> directories under `claims_root` (none when it does not exist).
Result<std::vector<ClaimDir>> listClaimDirs(const std::string& claims_root);

}  // namespace rampart::agent::node
