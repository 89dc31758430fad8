#pragma once
// Defaults and validation of Rampart's database kinds (rampart.io/v1 PostgresCluster and
// RedisCluster), called from applyDefaults/validateObject for resources of the "rampart.io"
// group. Errors are Kubernetes-shaped and name the field (`spec.members: Invalid value: 12:
// must be between 1 and 9, inclusive`). Pure functions.

#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "api/registry.h"
#include "api/status.h"

namespace rampart::api {

inline constexpr std::string_view kDatabaseGroup = "rampart.io";
inline constexpr int kMaxDatabaseMembers = 9;

bool isDatabaseKind(const ResourceInfo& resource);

// The server version a kind supports ("15" for PostgresCluster, "7" for RedisCluster).
std::string_view databaseVersionOf(std::string_view kind);

// Fills spec.members (3), version, synchronousMode (On), terminationPolicy (Delete),
// zoneSpreading (Preferred), storage.size (1Gi) and, when a backup is set, its
// retentionDays (14). In place; a missing spec becomes one with every default.
void applyDatabaseDefaults(const ResourceInfo& resource, nlohmann::json& object);

// The spec's problems (appended to `errors`); `old` is the stored object on update (null on
// create): spec.version may not change.
void validateDatabase(const ResourceInfo& resource, const nlohmann::json& object,
                      const nlohmann::json& old, FieldErrors& errors);

// A five-field cron expression (minute hour day-of-month month day-of-week; `*`, `a`, `a-b`,
// `*/n`, `a-b/n`, comma lists). Empty when valid, else what is wrong.
std::string cronProblem(std::string_view expression);

}  // namespace rampart::api
