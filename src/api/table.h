#pragma once
// Server-side printing: the `Table` (meta.k8s.io/v1) answer to a get or list asked for with
// `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`, which is how `kubectl get` prints its
// columns. The columns and their cell text follow Kubernetes' own printers (pods: NAME READY STATUS
// RESTARTS AGE, and IP NODE ... with -o wide as priority-1 columns; deployments: READY UP-TO-DATE
// AVAILABLE; nodes: STATUS ROLES AGE VERSION; ...). Pure functions; time is passed in.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/registry.h"

namespace rampart::api {

using WallTime = std::chrono::system_clock::time_point;

// "2026-12-06T02:50:10Z" (and fractional seconds / numeric offsets); nullopt when malformed.
std::optional<WallTime> parseRfc3339(std::string_view text);
std::string formatRfc3339(WallTime t);

// Kubernetes' HumanDuration: "45s", "3m20s", "12m", "5h3m", "3d4h", "400d", "2y30d".
std::string humanDuration(std::chrono::seconds d);

// A Table of `objects` (full objects of `resource`); `list_metadata` is the list's metadata
// (resourceVersion, continue). Each row carries the object's metadata as a
// PartialObjectMetadata, which kubectl needs for names, namespaces and -L/--show-labels.
nlohmann::json makeTable(const ResourceInfo& resource, const std::vector<nlohmann::json>& objects,
                         const nlohmann::json& list_metadata, WallTime now);

}  // namespace rampart::api
