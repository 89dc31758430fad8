#pragma once
// pods/log (`GET .../pods/P/log`): where kube-apiserver would fetch a container's log — from
// the node agent (kubelet API) of the pod's node, at
//   <InternalIP of the Node>:<status.daemonEndpoints.kubeletEndpoint.Port>
//   /containerLogs/<namespace>/<pod>/<container>?follow=&previous=&timestamps=&tailLines=&...
// — and the request's PodLogOptions checked with Kubernetes' messages (400 "pod P does not have a
// host assigned", "a container name must be specified for pod P, choose one of: [a b]",
// "container X is not valid for pod P"; 422 for a negative tailLines ...). Pure: the proxying
// is ApiServer's (api/log_proxy.h).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "api/status.h"
#include "base/result.h"

namespace rampart::api {

struct LogRequest {
  std::string container;  // as asked ("" = the only one)
  bool follow = false;
  bool previous = false;
  bool timestamps = false;
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> since_seconds;
  std::optional<int64_t> limit_bytes;
  std::string since_time;  // RFC 3339
};

// The log options from the query: InvalidArgument (400) for a value that is not a number or a
// boolean; out-of-range values are returned in `invalid` (422 PodLogOptions "P" is invalid).
struct ParsedLogRequest {
  LogRequest request;
  FieldErrors invalid;
};
Result<ParsedLogRequest> parseLogRequest(const std::map<std::string, std::string>& query);

struct LogTarget {
  std::string host;  // the node agent's address
  uint16_t port = 10250;
  std::string path;  // /containerLogs/... with the query
  bool follow = false;
};

// From the pod and its node. InvalidArgument (→ 400) for the pod-side problems above;
// FailedPrecondition (→ 503 in the server: nowhere to ask) when the node has no InternalIP.
Result<LogTarget> logTargetOf(const nlohmann::json& pod, const nlohmann::json& node,
                              const LogRequest& request);
// The pod-side checks alone (container choice, host assigned): the container's name.
Result<std::string> logContainerOf(const nlohmann::json& pod, const LogRequest& request);

}  // namespace rampart::api
