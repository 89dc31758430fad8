#pragma once
// pods/exec (and pods/attach): where kube-apiserver would send `kubectl exec` — the node agent of
// the pod's node, /exec/<namespace>/<pod>/<container>?<the client's query> (same addressing as
// pods/log: api/pod_log.h) — and the checks it makes first, with its messages (all 400):
//   "you must specify at least one command for the container",
//   "a container name must be specified for pod P, choose one of: [a b]",
//   "container X is not valid for pod P", "pod P does not have a host assigned",
//   "cannot exec into a container in a completed pod; current phase is Succeeded",
// attach: 400 "attach is not supported by this server". Pure: the proxying is
// api/upgrade_proxy.h's.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::api {

struct ExecTarget {
  std::string host;  // the node agent's address
  uint16_t port = 10250;
  std::string path;  // /exec/<ns>/<pod>/<container>?<query>
};

// `raw_query` as the client sent it (command= repeats: it is forwarded as is, after the
// container is filled in when the pod has one container). InvalidArgument → 400 with the
// message; FailedPrecondition → 503 (the node has no InternalIP: nowhere to connect).
Result<ExecTarget> execTargetOf(const nlohmann::json& pod, const nlohmann::json& node,
                                std::string_view raw_query);

}  // namespace rampart::api
