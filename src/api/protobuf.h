#pragma once
// Kubernetes' protobuf request bodies (`Content-Type: application/vnd.kubernetes.protobuf`) as
// the JSON the API works on. kubectl's typed clients (`kubectl create namespace|deployment|...`,
// drain's evictions and DeleteOptions, `auth whoami`) always send protobuf, and client-go does
// not fall back to JSON when a server answers 415, so a server that speaks only JSON cannot
// serve them.
//
// The body is the magic "k8s\0" followed by a runtime.Unknown message (typeMeta {apiVersion,
// kind}, raw, contentEncoding, contentType); `raw` is the object of that kind. Decoding is
// driven by a table generated from k8s.io/api and k8s.io/apimachinery (v0.32) by
// scripts/gen_protobuf_schema.py (src/api/protobuf_schema.inc) and covers Namespace, Pod,
// Service, Endpoints, ConfigMap, Secret, Node, Event, Binding, Deployment, ReplicaSet,
// StatefulSet, Scale (autoscaling/v1), PodDisruptionBudget, Eviction, Lease, SelfSubjectReview
// and DeleteOptions (under any group version) with every message they reach.
//
// The result is the object kube-apiserver would have received as JSON: apiVersion and kind
// set; Time/MicroTime as RFC 3339 strings; Quantity as its string; IntOrString as a number or a
// string; FieldsV1 as embedded JSON; maps as objects; bytes as base64; int64 as numbers. gogo-
// protobuf writes every non-pointer field even when zero, where Go's JSON (omitempty) drops it:
// empty strings, zero numbers, false, and empty lists, maps and messages are left out, except
// in fields whose Go type is a pointer (DeploymentSpec.replicas = 0, DeleteOptions.
// gracePeriodSeconds = 0, `emptyDir: {}`), which keep the zero they were sent with. Unknown
// field numbers are skipped, as Go's decoder does. Pure; thread-safe.

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace rampart::api {

// The protobuf body's object as JSON. InvalidArgument (naming the field path) for anything
// malformed: no magic, truncated varints or lengths past the end, a wire type the field does not
// have, an unknown apiVersion/kind, a content encoding (gzip) or nesting deeper than 64.
Result<nlohmann::json> protobufToJson(std::string_view body);

// The media type kubectl's typed clients send.
inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

}  // namespace rampart::api
