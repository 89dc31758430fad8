#pragma once
// A StatefulSet's template history as apps/v1 ControllerRevisions, kept as kube-controller-
// manager keeps them so that `kubectl rollout history|undo statefulset/<set>` work:
//   name      "<set>-<hash>", the set's update revision (templateRevision(), statefulset.h),
//             which is also the pods' controller-revision-hash label and status.updateRevision
//   labels    the template's labels (kubectl finds the revisions by the set's selector) and
//             controller-revision-hash = <hash>
//   owner     the set (controller=true); kubectl keeps only the revisions the set controls
//   data      the template as a strategic merge patch: {"spec":{"template":{...,
//             "$patch":"replace"}}}; `rollout undo` PATCHes the set with exactly this
//   revision  1 + the highest of the set's revisions when made. A template that returns to an
//             older revision (an undo) reuses that revision object and renumbers it to the
//             highest + 1, as Kubernetes does, so history lists it as the newest.
// Pruning: revisions that no pod, status.currentRevision nor the update revision uses are
// deleted, oldest first, beyond spec.revisionHistoryLimit (default 10).
// Pure; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller {

struct RevisionDecision {
  std::optional<nlohmann::json> create;  // a whole ControllerRevision
  std::string renumber;                  // an existing revision to make the newest ...
  int64_t renumber_to = 0;               // ... with this number
  std::vector<std::string> remove;       // revisions pruned
  std::string reason;                    // for logs; empty when nothing changes
};

// `revisions`: the ControllerRevisions the set controls (controller ownerReference with its
// uid); `pods`: the pods it controls.
RevisionDecision decideRevisions(const nlohmann::json& set,
                                 const std::vector<nlohmann::json>& revisions,
                                 const std::vector<nlohmann::json>& pods);

// {"spec":{"template":{<the template>, "$patch":"replace"}}}.
nlohmann::json revisionData(const nlohmann::json& set);

}  // namespace rampart::controller
