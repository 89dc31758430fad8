#include "controller/db/objects.h"

#include <algorithm>
#include <charconv>

#include "store/etcd_codec.h"

namespace rampart::controller::db {
using json = nlohmann::json;

namespace {

// Where a member pod finds what it is given.
constexpr const char* kConfigDir = "/etc/rampart-db/config";
constexpr const char* kCredentialsDir = "/etc/rampart-db/credentials";
constexpr const char* kEtcdDir = "/etc/rampart-db/etcd";
constexpr const char* kDataDir = "/var/lib/rampart-db";
constexpr const char* kRunDir = "/run/rampart-db";
// Secret files are read by `rampart pg|redis` (root in the pod), which refuse credential files that
// others can read.
constexpr int kSecretMode = 0600;

std::string nameOf(const json& cluster) {
  return cluster.value("/metadata/name"_json_pointer, std::string());
}
std::string uidOf(const json& cluster) {
  return cluster.value("/metadata/uid"_json_pointer, std::string());
}
std::string namespaceOf(const json& cluster) {
  return cluster.value("/metadata/namespace"_json_pointer, std::string("default"));
}

json ownedMetadata(const json& cluster, const std::string& name) {
  return {{"name", name},
          {"namespace", namespaceOf(cluster)},
          {"labels", {{kClusterLabel, nameOf(cluster)}}},
          {"ownerReferences",
           json::array({{{"apiVersion", cluster.value("apiVersion", "rampart.io/v1")},
                         {"kind", kindOf(engineOf(cluster))},
                         {"name", nameOf(cluster)},
                         {"uid", cluster.value("/metadata/uid"_json_pointer, std::string())},
                         {"controller", true},
                         {"blockOwnerDeletion", true}}})}};
}

json secretOf(const json& cluster, const std::string& name, const json& plain) {
  json data = json::object();
  for (const auto& [key, value] : plain.items()) {
    data[key] = store::etcd::base64Encode(value.get<std::string>());
  }
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", ownedMetadata(cluster, name)},
          {"type", "Opaque"},
          {"data", data}};
}

json service(const json& cluster, const std::string& name, json selector, bool not_ready,
             const char* port_name, int port) {
  json spec = {
      {"selector", std::move(selector)},
      {"ports",
       json::array(
           {{{"name", port_name}, {"port", port}, {"targetPort", port}, {"protocol", "TCP"}}})}};
  if (not_ready) {
    spec["publishNotReadyAddresses"] = true;
  }
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", ownedMetadata(cluster, name)},
          {"spec", std::move(spec)}};
}

// The database's own port, as the write and read Services name it.
json databaseService(const json& cluster, const std::string& name, json selector, bool not_ready) {
  Engine engine = engineOf(cluster);
  return service(cluster, name, std::move(selector), not_ready,
                 engine == Engine::Postgres ? "postgres" : "redis", serverPort(engine));
}

// ".<the uid's first 8 letters and digits>", "" without a uid.
std::string uidSuffix(const std::string& uid) {
  std::string tag;
  for (char c : uid) {
    if (tag.size() == 8) {
      break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      tag += c;
    }
  }
  return tag.empty() ? "" : "." + tag;
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

}  // namespace

Engine engineOf(const json& cluster) {
  return cluster.value("kind", std::string()) == "RedisCluster" ? Engine::Redis : Engine::Postgres;
}
const char* kindOf(Engine engine) {
  return engine == Engine::Redis ? "RedisCluster" : "PostgresCluster";
}
const char* pluralOf(Engine engine) {
  return engine == Engine::Redis ? "redisclusters" : "postgresclusters";
}
int serverPort(Engine engine) { return engine == Engine::Redis ? kRedisPort : kPostgresPort; }

std::string podName(const std::string& cluster, int ordinal) {
  return cluster + "-" + std::to_string(ordinal);
}
std::string credentialsSecretName(const std::string& cluster) { return cluster + "-credentials"; }
std::string etcdSecretName(const std::string& cluster) { return cluster + "-etcd"; }
std::string configMapName(const std::string& cluster) { return cluster + "-config"; }
std::string writeServiceName(const std::string& cluster) { return cluster + "-rw"; }
std::string readServiceName(const std::string& cluster) { return cluster + "-ro"; }
std::string sentinelServiceName(const std::string& cluster) { return cluster + "-sentinel"; }

std::string memberName(const std::string& pod) {
  std::string out = pod;
  std::replace(out.begin(), out.end(), '-', '_');
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::string memberClusterName(const std::string& ns, const std::string& cluster,
                              const std::string& uid) {
  return ns + "." + cluster + uidSuffix(uid);
}

int ordinalOf(const std::string& cluster, const std::string& pod) {
  if (pod.size() <= cluster.size() + 1 || !pod.starts_with(cluster + "-")) {
    return -1;
  }
  std::string_view digits = std::string_view(pod).substr(cluster.size() + 1);
  if (digits.size() > 1 && digits[0] == '0') {
    return -1;  // "<name>-01" is not a member name this controller makes
  }
  int ordinal = -1;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ordinal);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || ordinal < 0) {
    return -1;
  }
  return ordinal;
}

json credentialsSecret(const json& cluster, const GeneratedSecrets& secrets) {
  if (engineOf(cluster) == Engine::Redis) {
    // `rampart redis` has no database users: its clients connect without a password (the
    // server listens on the pod network only).
    return secretOf(cluster, credentialsSecretName(nameOf(cluster)),
                    {{"rest-token", secrets.rest_token}, {"member-token", secrets.member_token}});
  }
  json credentials = {{"superuser", {{"user", "postgres"}, {"password", secrets.superuser_password}}},
                      {"replication",
                       {{"user", "replicator"}, {"password", secrets.replication_password}}}};
  return secretOf(cluster, credentialsSecretName(nameOf(cluster)),
                  {{"username", "postgres"},
                   {"password", secrets.superuser_password},
                   {"replication-username", "replicator"},
                   {"replication-password", secrets.replication_password},
                   {"rest-token", secrets.rest_token},
                   {"member-token", secrets.member_token},
                   {"credentials.yaml", credentials.dump()}});
}

json etcdSecret(const json& cluster, const DbSettings& settings) {
  return secretOf(cluster, etcdSecretName(nameOf(cluster)),
                  {{"ca.pem", settings.etcd_ca},
                   {"cert.pem", settings.etcd_cert},
                   {"key.pem", settings.etcd_key}});
}

json configMap(const json& cluster, const DbSettings& settings) {
  const std::string name = nameOf(cluster);
  const std::string ns = namespaceOf(cluster);
  const json spec = cluster.value("spec", json::object());
  std::string mode = spec.value("synchronousMode", "On");
  json etcd = {{"endpoints", settings.etcd_endpoints}, {"prefix", settings.etcd_prefix}};
  if (!settings.etcd_cert.empty()) {
    etcd["tls"] = {{"ca", std::string(kEtcdDir) + "/ca.pem"},
                   {"cert", std::string(kEtcdDir) + "/cert.pem"},
                   {"key", std::string(kEtcdDir) + "/key.pem"}};
  }
  json parameters = spec.value("parameters", json::object());
  json rest = {{"listen", "@POD_IP@:" + std::to_string(kRestPort)},
               {"token_file", std::string(kCredentialsDir) + "/rest-token"},
               {"member_token_file", std::string(kCredentialsDir) + "/member-token"}};
  json data = json::object();
  int members = spec.value("members", 3);
  for (int i = 0; i < members; ++i) {
    std::string pod = podName(name, i);
    json member = {{"cluster", memberClusterName(ns, name, uidOf(cluster))},
                   {"name", memberName(pod)},
                   {"etcd", etcd},
                   {"rest", rest}};
    if (engineOf(cluster) == Engine::Redis) {
      // synchronousMode maps onto WAIT: On and Strict alike promise a write confirmed by WAIT 1
      // (the failover's candidate rule, redis/durability.h) and make a master without a good
      // replica refuse writes; Off promises nothing and keeps taking writes alone, as does a
      // single member (no replica could ever confirm).
      bool sync = mode != "Off" && members > 1;
      member["redis"] = {{"listen", "@POD_IP@:" + std::to_string(kRedisPort)},
                         {"dir", std::string(kDataDir) + "/data"},
                         {"min_replicas_to_write", sync ? 1 : 0}};
      member["sentinel"] = {{"listen", "@POD_IP@:" + std::to_string(kSentinelPort)},
                            {"master_name", name}};
      member["ha"] = {{"members", members}, {"wait_replicas", sync ? 1 : 0}};
    } else {
      member["postgres"] = {{"listen", "@POD_IP@:" + std::to_string(kPostgresPort)},
                            {"data_dir", std::string(kDataDir) + "/data"},
                            {"bin_dir", settings.pg_bin_dir},
                            {"parameters", parameters}};
      member["credentials_file"] = std::string(kCredentialsDir) + "/credentials.yaml";
      member["ha"] = {{"synchronous_mode", mode != "Off"},
                      {"synchronous_mode_strict", mode == "Strict"}};
    }
    data[pod + ".yaml"] = member.dump(2) + "\n";
  }
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", ownedMetadata(cluster, configMapName(name))},
          {"data", data}};
}

json writeService(const json& cluster) {
  return databaseService(cluster, writeServiceName(nameOf(cluster)),
                         {{kClusterLabel, nameOf(cluster)}}, false);
}

json readService(const json& cluster) {
  return databaseService(cluster, readServiceName(nameOf(cluster)),
                         {{kClusterLabel, nameOf(cluster)}, {kRoleLabel, "replica"}}, true);
}

json sentinelService(const json& cluster) {
  // Every member answers the Sentinel protocol with the group's view, the replicas included,
  // and none is Ready unless primary: not-ready addresses are published.
  return service(cluster, sentinelServiceName(nameOf(cluster)), {{kClusterLabel, nameOf(cluster)}},
                 true, "sentinel", kSentinelPort);
}

json memberPod(const json& cluster, const DbSettings& settings, int ordinal) {
  const std::string name = nameOf(cluster);
  const std::string ns = namespaceOf(cluster);
  const std::string pod = podName(name, ordinal);
  const json spec = cluster.value("spec", json::object());
  std::string config = std::string(kRunDir) + "/member.yaml";
  // The member's config needs its own address (what it listens on and publishes to the other
  // members), known only once the pod runs.
  const bool redis = engineOf(cluster) == Engine::Redis;
  const char* program = redis ? "redis" : "postgres";
  std::string script = "sed \"s/@POD_IP@/$POD_IP/g\" " + std::string(kConfigDir) + "/" + pod +
                       ".yaml > " + config + " && exec " + quoted(settings.binary) +
                       (redis ? " redis" : " pg") + " --config " + config;
  json ports = json::array({{{"name", program}, {"containerPort", serverPort(engineOf(cluster))}},
                            {{"name", "rest"}, {"containerPort", kRestPort}}});
  if (redis) {
    ports.push_back({{"name", "sentinel"}, {"containerPort", kSentinelPort}});
  }
  json container = {
      {"name", program},
      {"image", std::string("rampart/") + program + ":" +
                    spec.value("version", std::string(redis ? "7" : "15"))},
      {"command", json::array({"sh", "-c", script})},
      {"env", json::array({{{"name", "POD_IP"},
                            {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}}})},
      {"ports", ports},
      // Ready means primary: the write Service then holds the primary alone, as the member
      // itself reports it (a member that fenced itself or cannot be reached is not Ready).
      {"readinessProbe",
       {{"httpGet", {{"path", "/primary"}, {"port", kRestPort}}},
        {"periodSeconds", 1},
        {"timeoutSeconds", 1},
        {"successThreshold", 1},
        {"failureThreshold", 1}}},
      {"volumeMounts",
       json::array({{{"name", "config"}, {"mountPath", kConfigDir}, {"readOnly", true}},
                    {{"name", "credentials"}, {"mountPath", kCredentialsDir}, {"readOnly", true}},
                    {{"name", "etcd"}, {"mountPath", kEtcdDir}, {"readOnly", true}},
                    {{"name", "data"}, {"mountPath", kDataDir}},
                    {{"name", "run"}, {"mountPath", kRunDir}}})}};
  if (spec.contains("resources") && spec["resources"].is_object()) {
    container["resources"] = spec["resources"];
  }
  json pod_spec = {
      {"containers", json::array({container})},
      {"terminationGracePeriodSeconds", 10},
      {"volumes",
       json::array({{{"name", "config"}, {"configMap", {{"name", configMapName(name)}}}},
                    {{"name", "credentials"},
                     {"secret",
                      {{"secretName", credentialsSecretName(name)}, {"defaultMode", kSecretMode}}}},
                    {{"name", "etcd"},
                     {"secret", {{"secretName", etcdSecretName(name)}, {"defaultMode", kSecretMode}}}},
                    {{"name", "data"},
                     {"hostPath",
                      {{"path", settings.data_root + "/" + ns + "/" + name +
                                    uidSuffix(uidOf(cluster)) + "/" + pod},
                       {"type", "DirectoryOrCreate"}}}},
                    {{"name", "run"}, {"emptyDir", json::object()}}})}};
  json term = {{"labelSelector", {{"matchLabels", {{kClusterLabel, name}}}}},
               {"topologyKey", kZoneLabel}};
  std::string spreading = spec.value("zoneSpreading", "Preferred");
  if (spreading == "Required") {
    pod_spec["affinity"] = {
        {"podAntiAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution", json::array({term})}}}};
  } else if (spreading == "Preferred") {
    pod_spec["affinity"] = {
        {"podAntiAffinity",
         {{"preferredDuringSchedulingIgnoredDuringExecution",
           json::array({{{"weight", 100}, {"podAffinityTerm", term}}})}}}};
  }
  json metadata = ownedMetadata(cluster, pod);
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata}, {"spec", pod_spec}};
}

}  // namespace rampart::controller::db
