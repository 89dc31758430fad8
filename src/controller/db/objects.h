#pragma once
// What the database controller makes for a PostgresCluster or a RedisCluster (rampart.io/v1)
// <name> in namespace <ns>, as Kubernetes objects built from the cluster and the controller's
// settings. Every object carries the label rampart.io/cluster=<name> and a controller
// ownerReference to the cluster. The two kinds share one name space per namespace (a
// PostgresCluster and a RedisCluster of the same name would claim the same objects).
//   Secret    <name>-credentials  generated once and never rewritten: the members' REST operator
//                                 and member tokens; for PostgreSQL also the superuser
//                                 (username, password), the replication user and
//                                 credentials.yaml (`rampart pg`'s credentials_file)
//   Secret    <name>-etcd         the etcd client certificate the controller was given
//                                 (--database-etcd-*): ca.pem, cert.pem, key.pem
//   ConfigMap <name>-config       one member config per member, <pod>.yaml (JSON, which YAML
//                                 reads): `rampart pg` or `rampart redis`, with @POD_IP@ where
//                                 the pod's address goes
//   Service   <name>-rw           the write Service: every member is selected, and only the
//                                 primary is Ready (readiness probe: the member's REST /primary)
//   Service   <name>-ro           the read Service: members labelled rampart.io/role=replica,
//                                 not-ready addresses published (a replica is never Ready)
//   Service   <name>-sentinel     RedisCluster only: the Sentinel protocol every member serves
//                                 (port 26379), not-ready addresses published, for
//                                 Sentinel-aware clients (master name: the cluster's name)
//   Pod       <name>-<i>          i in 0..members-1: `sh -c` puts the pod IP into its config and
//                                 execs `rampart pg|redis --config`; data in a hostPath
//                                 <data_root>/<ns>/<name>.<uid8>/<pod> (until per-pod volumes
//                                 land);
//                                 one per zone where zones allow (pod anti-affinity on
//                                 topology.kubernetes.io/zone, required or preferred)
// Pure functions; thread-compatible.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller::db {

inline constexpr const char* kClusterLabel = "rampart.io/cluster";
inline constexpr const char* kRoleLabel = "rampart.io/role";  // primary | replica
inline constexpr const char* kZoneLabel = "topology.kubernetes.io/zone";
inline constexpr int kPostgresPort = 5432;
inline constexpr int kRedisPort = 6379;
inline constexpr int kSentinelPort = 26379;
inline constexpr int kRestPort = 8008;

enum class Engine { Postgres, Redis };

// The engine a cluster object's kind names: RedisCluster → Redis, anything else → Postgres.
Engine engineOf(const nlohmann::json& cluster);
const char* kindOf(Engine engine);    // PostgresCluster | RedisCluster
const char* pluralOf(Engine engine);  // postgresclusters | redisclusters
int serverPort(Engine engine);        // 5432 | 6379

// The database controller's settings (`rampart controller --database-*` flags).
struct DbSettings {
  std::vector<std::string> etcd_endpoints;  // "https://10.240.0.11:2379"; empty: not configured
  std::string etcd_ca;                      // PEM contents, not paths
  std::string etcd_cert;
  std::string etcd_key;
  std::string etcd_prefix = "/rampart/db";
  std::string binary;     // the rampart binary on the nodes
  std::string data_root;  // hostPath root of the members' data directories
  std::string pg_bin_dir = "/usr/lib/postgresql/15/bin";

  bool configured() const { return !etcd_endpoints.empty() && !binary.empty() && !data_root.empty(); }
};

// Fresh random values, used only when the credentials Secret does not exist yet (the passwords
// only for PostgreSQL).
struct GeneratedSecrets {
  std::string superuser_password;
  std::string replication_password;
  std::string rest_token;    // operator calls to the members' REST API
  std::string member_token;  // the members' calls to each other (failsafe)
};

std::string podName(const std::string& cluster, int ordinal);
std::string credentialsSecretName(const std::string& cluster);
std::string etcdSecretName(const std::string& cluster);
std::string configMapName(const std::string& cluster);
std::string writeServiceName(const std::string& cluster);
std::string readServiceName(const std::string& cluster);
std::string sentinelServiceName(const std::string& cluster);
// `rampart pg` and `rampart redis` names: the member ([a-z0-9_]: the pod name with '-' and '.' as
// '_') and the cluster (<ns>.<name>.<first 8 of the uid>, a path segment of its etcd keys). The uid
// keeps a cluster created again under the same name from finding the old one's etcd keys (its
// bootstrap would wait forever on the old `initialize`) and data directories.
std::string memberName(const std::string& pod);
std::string memberClusterName(const std::string& ns, const std::string& cluster,
                              const std::string& uid);
// The ordinal of a member pod name (<cluster>-<i>), or -1.
int ordinalOf(const std::string& cluster, const std::string& pod);

nlohmann::json credentialsSecret(const nlohmann::json& cluster, const GeneratedSecrets& secrets);
nlohmann::json etcdSecret(const nlohmann::json& cluster, const DbSettings& settings);
nlohmann::json configMap(const nlohmann::json& cluster, const DbSettings& settings);
nlohmann::json writeService(const nlohmann::json& cluster);
nlohmann::json readService(const nlohmann::json& cluster);
nlohmann::json sentinelService(const nlohmann::json& cluster);
nlohmann::json memberPod(const nlohmann::json& cluster, const DbSettings& settings, int ordinal);

}  // namespace rampart::controller::db
