#include "chaos/cluster.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/secret_file.h"

namespace rampart::chaos {
namespace {

using Json = nlohmann::json;

// Reads the fields of one JSON object, each error naming the file and the field's path.
class Fields {
 public:
  Fields(const Json& object, const std::string& file, std::string path)
      : object_(object), file_(file), path_(std::move(path)) {}

  tl::unexpected<Error> invalid(const std::string& key, const std::string& why) const {
    return fail(ErrorCode::InvalidArgument, file_, ": ", field(key), ": ", why);
  }
  std::string field(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  bool has(const std::string& key) const {
    return object_.contains(key) && !object_.at(key).is_null();
  }

  Result<std::string> string(const std::string& key, std::optional<std::string> fallback) const {
    if (!has(key)) {
      if (fallback) {
        return *fallback;
      }
      return invalid(key, "missing");
    }
    const Json& v = object_.at(key);
    if (!v.is_string()) {
      return invalid(key, "expected a string");
    }
    return v.get<std::string>();
  }

  Result<std::string> nonEmptyString(const std::string& key) const {
    auto v = string(key, std::nullopt);
    if (v && v->empty()) {
      return invalid(key, "must not be empty");
    }
    return v;
  }

  Result<int64_t> integer(const std::string& key, std::optional<int64_t> fallback, int64_t min,
                          int64_t max) const {
    if (!has(key)) {
      if (fallback) {
        return *fallback;
      }
      return invalid(key, "missing");
    }
    const Json& v = object_.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
      return invalid(key, "expected an integer " + std::to_string(min) + "-" + std::to_string(max));
    }
    return v.get<int64_t>();
  }

  Result<net::Endpoint> endpoint(const std::string& key) const {
    auto text = nonEmptyString(key);
    if (!text) {
      return fail(text.error());
    }
    auto ep = net::parseEndpoint(*text);
    if (!ep) {
      return invalid(key, ep.error().message);
    }
    return ep;
  }

  Result<std::vector<std::string>> stringList(const std::string& key) const {
    std::vector<std::string> out;
    if (!has(key)) {
      return out;
    }
    const Json& v = object_.at(key);
    if (!v.is_array()) {
      return invalid(key, "expected an array of strings");
    }
    for (const auto& item : v) {
      if (!item.is_string()) {
        return invalid(key, "expected an array of strings");
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  Result<const Json*> array(const std::string& key, bool required) const {
    static const Json kEmpty = Json::array();
    if (!has(key)) {
      if (required) {
        return invalid(key, "missing");
      }
      return &kEmpty;
    }
    const Json& v = object_.at(key);
    if (!v.is_array()) {
      return invalid(key, "expected an array");
    }
    return &v;
  }

 private:
  const Json& object_;
  const std::string& file_;
  std::string path_;
};

// `auto var = *expr;`, returning expr's error instead if it failed (local to this file).
#define CHAOS_TRY(var, expr)      \
  auto var##_r = (expr);          \
  if (!var##_r) {                 \
    return fail(var##_r.error()); \
  }                               \
  auto var = std::move(*var##_r)

Result<Member> parseMember(const Json& j, const std::string& file, const std::string& path) {
  if (!j.is_object()) {
    return fail(ErrorCode::InvalidArgument, file, ": ", path, ": expected an object");
  }
  Fields f(j, file, path);
  Member m;
  CHAOS_TRY(name, f.nonEmptyString("name"));
  CHAOS_TRY(host, f.nonEmptyString("host"));
  CHAOS_TRY(port, f.integer("port", std::nullopt, 1, 65535));
  CHAOS_TRY(data_dir, f.nonEmptyString("data_dir"));
  CHAOS_TRY(manager_pid, f.integer("manager_pid", 0, 0, 1 << 30));
  CHAOS_TRY(rest, f.endpoint("rest"));
  CHAOS_TRY(start_command, f.stringList("start_command"));
  CHAOS_TRY(log_file, f.string("log_file", ""));
  m.name = std::move(name);
  m.host = std::move(host);
  m.port = static_cast<uint16_t>(port);
  m.data_dir = std::move(data_dir);
  m.manager_pid = static_cast<pid_t>(manager_pid);
  m.rest = std::move(rest);
  m.start_command = std::move(start_command);
  m.log_file = std::move(log_file);
  return m;
}

Result<EtcdMember> parseEtcd(const Json& j, const std::string& file, const std::string& path) {
  if (!j.is_object()) {
    return fail(ErrorCode::InvalidArgument, file, ": ", path, ": expected an object");
  }
  Fields f(j, file, path);
  EtcdMember e;
  CHAOS_TRY(name, f.nonEmptyString("name"));
  CHAOS_TRY(pid, f.integer("pid", std::nullopt, 2, 1 << 30));
  CHAOS_TRY(client, f.endpoint("client"));
  e.name = std::move(name);
  e.pid = static_cast<pid_t>(pid);
  e.client = std::move(client);
  return e;
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
                "cannot read cluster file ", path, ": ", std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return fail(ErrorCode::InvalidArgument, "cannot read cluster file ", path);
  }
  return text.str();
}

}  // namespace

const Member* Cluster::member(const std::string& name) const {
  for (const auto& m : members) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

const Member* Cluster::memberByPort(int port) const {
  for (const auto& m : members) {
    if (m.port == port) {
      return &m;
    }
  }
  return nullptr;
}

Result<Cluster> parseCluster(const std::string& text, const std::string& name) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return fail(ErrorCode::InvalidArgument, name, ": not valid JSON");
  }
  if (!root.is_object()) {
    return fail(ErrorCode::InvalidArgument, name, ": expected a JSON object at the top");
  }
  Fields f(root, name, "");
  Cluster c;
  CHAOS_TRY(kind, f.nonEmptyString("kind"));
  if (kind != "rampart" && kind != "patroni" && kind != "rampart-redis") {
    return f.invalid(
        "kind", "expected \"rampart\", \"patroni\" or \"rampart-redis\", got \"" + kind + "\"");
  }
  c.kind = std::move(kind);
  CHAOS_TRY(dir, f.string("dir", ""));
  c.dir = std::move(dir);

  CHAOS_TRY(members, f.array("members", true));
  if (members->empty()) {
    return f.invalid("members", "must list at least one member");
  }
  std::set<std::string> names;
  std::set<int> ports;
  for (size_t i = 0; i < members->size(); ++i) {
    std::string path = "members[" + std::to_string(i) + "]";
    CHAOS_TRY(m, parseMember((*members)[i], name, path));
    if (!names.insert(m.name).second) {
      return fail(ErrorCode::InvalidArgument, name, ": ", path, ".name: duplicate member name \"",
                  m.name, "\"");
    }
    // Acknowledged writes are attributed to members by server port, so ports must be unique.
    if (!ports.insert(m.port).second) {
      return fail(ErrorCode::InvalidArgument, name, ": ", path, ".port: duplicate port ",
                  std::to_string(m.port));
    }
    c.members.push_back(std::move(m));
  }

  CHAOS_TRY(etcd, f.array("etcd", false));
  for (size_t i = 0; i < etcd->size(); ++i) {
    CHAOS_TRY(e, parseEtcd((*etcd)[i], name, "etcd[" + std::to_string(i) + "]"));
    c.etcd.push_back(std::move(e));
  }

  for (auto [key, into] :
       {std::pair{"etcd_tls", &c.etcd_tls}, std::pair{"rest_tls", &c.rest_tls}}) {
    if (!f.has(key)) {
      continue;
    }
    const Json& tls = root[key];
    if (!tls.is_object()) {
      return fail(ErrorCode::InvalidArgument, name, ": ", key, ": expected an object");
    }
    Fields t(tls, name, key);
    CHAOS_TRY(ca, t.string("ca", ""));
    CHAOS_TRY(cert, t.string("cert", ""));
    CHAOS_TRY(key_file, t.string("key", ""));
    *into = net::TlsFiles{ca, cert, key_file, ""};
  }
  // An https:// REST API is verified against rest_tls.ca: without it every call would fail.
  for (const auto& m : c.members) {
    if (m.rest.tls && c.rest_tls.ca.empty()) {
      return fail(ErrorCode::InvalidArgument, name, ": members: ", m.name,
                  ": an https:// rest needs rest_tls.ca");
    }
  }

  CHAOS_TRY(write_vip, f.endpoint("write_vip"));
  c.write_vip = std::move(write_vip);
  if (f.has("read_vip")) {
    CHAOS_TRY(read_vip, f.endpoint("read_vip"));
    c.read_vip = std::move(read_vip);
  }
  CHAOS_TRY(user, f.string("user", "postgres"));
  CHAOS_TRY(password, f.string("password", ""));
  CHAOS_TRY(database, f.string("database", "postgres"));
  CHAOS_TRY(switchover, f.stringList("switchover_command"));
  c.user = std::move(user);
  c.password = std::move(password);
  c.database = std::move(database);
  c.switchover_command = std::move(switchover);
  return c;
}

#undef CHAOS_TRY

Result<Cluster> loadCluster(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    return fail(text.error());
  }
  auto cluster = parseCluster(*text, path);
  if (cluster) {
    cluster->path = path;
  }
  return cluster;
}

Result<void> updateManagerPid(const std::string& path, const std::string& member, pid_t pid) {
  auto text = readFile(path);
  if (!text) {
    return fail(text.error());
  }
  // ordered_json keeps the lab's key order, so the file only changes where we changed it.
  auto root = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (root.is_discarded() || !root.is_object() || !root.contains("members") ||
      !root["members"].is_array()) {
    return fail(ErrorCode::InvalidArgument, path, ": members: not found (file changed?)");
  }
  bool found = false;
  for (auto& m : root["members"]) {
    if (m.is_object() && m.value("name", "") == member) {
      m["manager_pid"] = pid;
      found = true;
    }
  }
  if (!found) {
    return fail(ErrorCode::NotFound, path, ": members: no member named \"", member, "\"");
  }
  std::string out = root.dump(2) + "\n";
  // The file holds the database password and the REST token: rewritten 0600 whatever its mode
  // was, through a temporary file created 0600 with O_EXCL|O_NOFOLLOW, fsync'ed before the
  // rename (a crash leaves the old file or the new one, never a torn one).
  if (auto w = runtime::writeSecretFile(path, out); !w) {
    return fail(ErrorCode::Unavailable, "replace ", path, ": ", w.error().message);
  }
  return ok();
}

std::vector<std::string> substituteCommand(std::vector<std::string> argv, const std::string& leader,
                                           const std::string& candidate) {
  auto replaceAll = [](std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
      s.replace(pos, from.size(), to);
    }
  };
  for (auto& a : argv) {
    replaceAll(a, "{leader}", leader);
    replaceAll(a, "{candidate}", candidate);
  }
  return argv;
}

}  // namespace rampart::chaos
