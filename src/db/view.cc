#include "db/view.h"

#include <algorithm>
#include <sstream>

#include "base/hex.h"

namespace rampart::db {
using json = nlohmann::json;

namespace {

std::string str(const json& o, const json::json_pointer& at, std::string fallback = "") {
  if (!o.contains(at) || o[at].is_null()) {
    return fallback;
  }
  const json& v = o[at];
  if (v.is_string()) {
    return v.get<std::string>().empty() ? fallback : v.get<std::string>();
  }
  return v.dump();
}

std::string age(const json& o, api::WallTime now) {
  auto t = api::parseRfc3339(str(o, "/metadata/creationTimestamp"_json_pointer));
  if (!t) {
    return "<unknown>";
  }
  return api::humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

std::string readyText(const json& o) {
  return str(o, "/status/readyMembers"_json_pointer, "0") + "/" +
         str(o, "/spec/members"_json_pointer, "?");
}

// Rows padded as kubectl pads them: each column as wide as its widest cell, 3 spaces apart.
std::string columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 3, ' ');
      }
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::optional<Engine> parseEngine(const std::string& text) {
  if (text == "postgres" || text == "postgresql" || text == "pg") {
    return Engine::Postgres;
  }
  if (text == "redis") {
    return Engine::Redis;
  }
  return std::nullopt;
}

const char* kindOf(Engine engine) {
  return engine == Engine::Postgres ? "PostgresCluster" : "RedisCluster";
}

const char* pluralOf(Engine engine) {
  return engine == Engine::Postgres ? "postgresclusters" : "redisclusters";
}

json clusterManifest(Engine engine, const std::string& name, const std::string& ns,
                     int members) {
  return {{"apiVersion", "rampart.io/v1"},
          {"kind", kindOf(engine)},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"members", members}}}};
}

std::string listTable(const std::vector<json>& clusters, const std::string& ns,
                      api::WallTime now) {
  if (clusters.empty()) {
    return "No database clusters found in " + ns + " namespace.\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "KIND", "MEMBERS", "READY", "PRIMARY", "PHASE", "AGE"}};
  for (const auto& c : clusters) {
    rows.push_back({str(c, "/metadata/name"_json_pointer), str(c, "/kind"_json_pointer),
                    str(c, "/spec/members"_json_pointer), readyText(c),
                    str(c, "/status/primary"_json_pointer, "<none>"),
                    str(c, "/status/phase"_json_pointer, "Pending"), age(c, now)});
  }
  return columns(rows);
}

std::string describe(const json& c, api::WallTime now) {
  std::ostringstream out;
  out << "Name:          " << str(c, "/metadata/name"_json_pointer) << "\n"
      << "Namespace:     " << str(c, "/metadata/namespace"_json_pointer) << "\n"
      << "Kind:          " << str(c, "/kind"_json_pointer) << " (rampart.io/v1)\n"
      << "Age:           " << age(c, now) << "\n"
      << "Version:       " << str(c, "/spec/version"_json_pointer) << "\n"
      << "Members:       " << str(c, "/spec/members"_json_pointer) << " desired, " << readyText(c)
      << " ready\n"
      << "Sync mode:     " << str(c, "/spec/synchronousMode"_json_pointer, "On") << "\n"
      << "Spreading:     " << str(c, "/spec/zoneSpreading"_json_pointer, "Preferred") << "\n"
      << "Storage:       " << str(c, "/spec/storage/size"_json_pointer, "<unset>") << "\n"
      << "Termination:   " << str(c, "/spec/terminationPolicy"_json_pointer, "Delete") << "\n"
      << "Paused:        " << (c.value("/spec/paused"_json_pointer, false) ? "true" : "false")
      << "\n"
      << "Phase:         " << str(c, "/status/phase"_json_pointer, "Pending") << "\n"
      << "Primary:       " << str(c, "/status/primary"_json_pointer, "<none>") << "\n";
  out << "Member Pods:\n";
  std::vector<std::vector<std::string>> rows = {{"  NAME", "NODE", "ZONE", "ROLE", "READY"}};
  for (const auto& m : c.value("/status/members"_json_pointer, json::array())) {
    rows.push_back({"  " + str(m, "/name"_json_pointer), str(m, "/node"_json_pointer, "<none>"),
                    str(m, "/zone"_json_pointer, "<none>"), str(m, "/role"_json_pointer),
                    m.value("ready", false) ? "true" : "false"});
  }
  out << (rows.size() > 1 ? columns(rows) : "  <none>\n");
  out << "Endpoints:\n"
      << "  Write:       " << str(c, "/status/endpoints/write"_json_pointer, "<none>") << "\n"
      << "  Read:        " << str(c, "/status/endpoints/read"_json_pointer, "<none>") << "\n"
      << "  Credentials: Secret "
      << str(c, "/status/endpoints/secret"_json_pointer, "<none>") << "\n";
  if (auto uris = connectionStrings(c); uris && uris->sentinel.empty()) {
    out << "Connection strings (password: key `password` of the credentials Secret):\n"
        << "  Write:       " << uris->write << "\n"
        << "  Read:        " << uris->read << "\n";
  } else if (uris) {
    out << "Connection strings:\n"
        << "  Write:       " << uris->write << "\n"
        << "  Read:        " << uris->read << "\n"
        << "  Sentinel:    " << uris->sentinel << " (master name "
        << str(c, "/metadata/name"_json_pointer) << ")\n";
  }
  out << "Conditions:\n";
  std::vector<std::vector<std::string>> conditions = {{"  TYPE", "STATUS", "REASON", "MESSAGE"}};
  for (const auto& cond : c.value("/status/conditions"_json_pointer, json::array())) {
    conditions.push_back({"  " + str(cond, "/type"_json_pointer), str(cond, "/status"_json_pointer),
                          str(cond, "/reason"_json_pointer), str(cond, "/message"_json_pointer)});
  }
  out << (conditions.size() > 1 ? columns(conditions) : "  <none>\n");
  return out.str();
}

std::optional<ConnectionStrings> connectionStrings(const json& cluster,
                                                   const std::string& password) {
  std::string write = str(cluster, "/status/endpoints/write"_json_pointer);
  std::string read = str(cluster, "/status/endpoints/read"_json_pointer);
  std::string kind = str(cluster, "/kind"_json_pointer);
  if (write.empty() || read.empty()) {
    return std::nullopt;
  }
  if (kind == "RedisCluster") {
    std::string sentinel = str(cluster, "/status/endpoints/sentinel"_json_pointer);
    if (sentinel.empty()) {
      return std::nullopt;
    }
    return ConnectionStrings{"redis://" + write, "redis://" + read, sentinel};
  }
  if (kind != "PostgresCluster") {
    return std::nullopt;
  }
  std::string user = "postgres" + (password.empty() ? "" : ":" + percentEncode(password));
  return ConnectionStrings{"postgresql://" + user + "@" + write + "/postgres",
                           "postgresql://" + user + "@" + read + "/postgres"};
}

bool ready(const json& cluster) {
  return str(cluster, "/status/phase"_json_pointer) == "Running";
}

}  // namespace rampart::db
