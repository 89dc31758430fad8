#pragma once
// `rampart db`'s pure side: the manifest `rampart db create` sends (the same object a user would
// `kubectl apply`), what `list` and `describe` print from the objects the API returns, the
// connection strings of a cluster's write and read Services (libpq URIs for PostgreSQL,
// redis:// and the Sentinel Service for Redis), and when `create --wait` is done. Pure functions
// over Kubernetes-shaped JSON; time is passed in.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"

namespace rampart::db {

enum class Engine { Postgres, Redis };

// "postgres" | "redis" → Engine; nullopt otherwise.
std::optional<Engine> parseEngine(const std::string& text);
const char* kindOf(Engine engine);    // PostgresCluster | RedisCluster
const char* pluralOf(Engine engine);  // postgresclusters | redisclusters

// apiVersion rampart.io/v1, the kind, metadata {name, namespace}, spec {members}.
nlohmann::json clusterManifest(Engine engine, const std::string& name, const std::string& ns,
                               int members);

// kubectl's layout (columns padded to their widest cell, three spaces apart):
// NAME KIND MEMBERS READY PRIMARY PHASE AGE; "No database clusters found in <ns> namespace."
// when there are none.
std::string listTable(const std::vector<nlohmann::json>& clusters, const std::string& ns,
                      api::WallTime now);

// The cluster as `kubectl describe` lays it out: name, namespace, kind, spec, phase, members
// (name, node, zone, role), endpoints, connection strings, conditions.
std::string describe(const nlohmann::json& cluster, api::WallTime now);

struct ConnectionStrings {
  std::string write;  // postgresql://postgres@10.96.0.10:5432/postgres | redis://10.96.0.10:6379
  std::string read;
  std::string sentinel;  // Redis: the Sentinel Service's host:port (master name: the cluster's)
};
// From status.endpoints; `password` is put in a PostgreSQL URI (percent-encoded) when not empty.
// nullopt until the Services (for Redis also the Sentinel Service) have addresses.
std::optional<ConnectionStrings> connectionStrings(const nlohmann::json& cluster,
                                                   const std::string& password = "");

// `create --wait`: done when the phase is Running.
bool ready(const nlohmann::json& cluster);

}  // namespace rampart::db
