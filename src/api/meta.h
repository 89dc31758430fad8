#pragma once
// ObjectMeta as the API server keeps it: name rules and metadata validation with Kubernetes'
// messages, and the fields the server owns on create and update (uid, creationTimestamp,
// generation, generateName, what an update may not change). Pure functions over an object's
// JSON; the caller supplies randomness and time so tests are deterministic.

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "api/status.h"

namespace rampart::api {

// Empty when valid, else Kubernetes' detail text ("must be no more than 63 characters", "a
// lowercase RFC 1123 label must consist of ...").
std::string dns1123LabelError(std::string_view name);
std::string dns1123SubdomainError(std::string_view name);

enum class NameRule { Subdomain, Label };

// Checks metadata: name (or generateName) by `rule`, namespace present exactly when
// `namespaced`, labels and annotations (keys, values, total annotation size ≤ 256 KiB).
FieldErrors validateObjectMeta(const nlohmann::json& object, bool namespaced, NameRule rule);

struct ServerFacts {
  std::string now_rfc3339;                    // "2026-12-06T02:50:10Z"
  std::function<std::string()> new_uid;       // a random RFC 4122 UUID
  std::function<std::string(size_t)> random;  // n characters for generateName suffixes
};

// Fills what the server owns on create: the name from generateName (+5 characters), uid,
// creationTimestamp, generation 1 when `has_generation`; drops resourceVersion, deletion fields
// and anything a client may not set. The caller validates afterwards.
void prepareForCreate(nlohmann::json& object, bool has_generation, const ServerFacts& facts);

// For an update of the main resource (not /status): the server-owned metadata comes from `old`,
// the status is kept from `old` when `keep_status` (resources with a status subresource), and
// generation increases when the spec changed.
void prepareForUpdate(nlohmann::json& object, const nlohmann::json& old, bool has_generation,
                      bool keep_status);
// For an update through /status: only the status may change; everything else comes from `old`
// (resourceVersion stays the caller's, for the optimistic-concurrency check).
void prepareForStatusUpdate(nlohmann::json& object, const nlohmann::json& old);

// A random RFC 4122 version 4 UUID from /dev/urandom-grade randomness.
std::string randomUuid();
// n characters from Kubernetes' generateName alphabet ("bcdfghjklmnpqrstvwxz2456789").
std::string randomNameSuffix(size_t n);

}  // namespace rampart::api
