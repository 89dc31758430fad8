#include "pg/config.h"

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

namespace rampart::pg {
namespace {

// Reads fields one after another and keeps the first error, so a parser reads as a list of
// fields instead of a ladder of ifs.
struct Reader {
  std::optional<Error> error;

  template <typename T, typename U>
  void get(Result<T> r, U& out) {
    if (error) {
      return;
    }
    if (!r) {
      error = r.error();
    } else {
      out = static_cast<U>(std::move(*r));
    }
  }
  void check(Result<void> r) {
    if (!error && !r) {
      error = r.error();
    }
  }
  std::optional<config::Section> section(const config::Section& parent, std::string_view key,
                                         std::initializer_list<std::string_view> allowed) {
    if (error) {
      return std::nullopt;
    }
    auto s = parent.section(key);
    if (!s) {
      error = s.error();
      return std::nullopt;
    }
    check(s->allowOnly(allowed));
    return error ? std::nullopt : std::optional<config::Section>(*s);
  }
};

void readCredentials(Reader& r, const config::Section& root, MemberConfig& out) {
  for (auto [key, cred] :
       {std::pair{"superuser", &out.superuser}, std::pair{"replication", &out.replication}}) {
    auto s = r.section(root, key, {"user", "password"});
    if (!s) {
      return;
    }
    r.get(s->string("user", cred->user), cred->user);
    r.get(s->string("password", cred->password), cred->password);
  }
}

}  // namespace

Result<void> checkMemberName(const std::string& name) {
  if (name.empty() || name.size() > 63) {
    return fail(ErrorCode::InvalidArgument, "member name must have 1 to 63 characters");
  }
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return fail(ErrorCode::InvalidArgument, "member name '", name,
                  "' may only contain a-z, 0-9 and _ (it names a replication slot)");
    }
  }
  return ok();
}

Result<MemberConfig> parseMemberConfig(const config::Section& root) {
  MemberConfig out;
  Reader r;
  r.check(root.allowOnly({"cluster", "name", "etcd", "postgres", "rest", "credentials",
                          "credentials_file", "ha", "tags", "os_user"}));
  r.get(root.requiredString("cluster"), out.cluster);
  r.get(root.requiredString("name"), out.name);
  if (!r.error) {
    if (auto c = checkMemberName(out.name); !c) {
      return fail(ErrorCode::InvalidArgument, root.whereIs("name"), ": name: ", c.error().message);
    }
  }
  r.get(root.string("os_user", out.os_user), out.os_user);

  if (auto etcd = r.section(root, "etcd", {"endpoints", "prefix", "request_timeout"})) {
    r.get(etcd->endpointList("endpoints"), out.etcd_endpoints);
    r.get(etcd->string("prefix", out.etcd_prefix), out.etcd_prefix);
    r.get(etcd->duration("request_timeout", out.etcd_request_timeout), out.etcd_request_timeout);
    if (!r.error && out.etcd_endpoints.empty()) {
      return fail(ErrorCode::InvalidArgument, etcd->whereIs("endpoints"),
                  ": etcd.endpoints: at least one endpoint is required");
    }
  }
  if (auto pg = r.section(root, "postgres", {"listen", "data_dir", "bin_dir", "parameters"})) {
    if (!r.error && !pg->has("listen")) {
      return fail(ErrorCode::InvalidArgument, pg->where(), ": postgres.listen: required");
    }
    r.get(pg->endpoint("listen", out.listen), out.listen);
    r.get(pg->requiredString("data_dir"), out.data_dir);
    r.get(pg->string("bin_dir", out.bin_dir), out.bin_dir);
    r.get(pg->stringMap("parameters"), out.parameters);
  }
  if (auto rest = r.section(
          root, "rest", {"listen", "token", "token_file", "member_token", "member_token_file"})) {
    r.get(rest->endpoint("listen", out.rest), out.rest);
    // Operator and member credentials, each given inline or in a file (its first line).
    for (auto [key, token] : {std::pair{std::string("token"), &out.token},
                              std::pair{std::string("member_token"), &out.member_token}}) {
      r.get(rest->string(key, ""), *token);
      std::string file;
      r.get(rest->string(key + "_file", ""), file);
      if (!r.error && !file.empty()) {
        std::ifstream in(file);
        if (!in) {
          return fail(ErrorCode::InvalidArgument, rest->whereIs(key + "_file"), ": rest.", key,
                      "_file: cannot read ", file);
        }
        std::getline(in, *token);
      }
    }
    if (!r.error && !out.token.empty() && out.token == out.member_token) {
      // One secret for both would let every member (and whoever reads a member's files) make
      // operator calls: the point of two credentials is lost.
      return fail(ErrorCode::InvalidArgument, rest->whereIs("member_token"),
                  ": rest.member_token: must differ from rest.token (the operator credential)");
    }
  }
  if (!r.error && root.has("credentials") && root.has("credentials_file")) {
    return fail(ErrorCode::InvalidArgument, root.whereIs("credentials_file"),
                ": credentials_file: give either credentials or credentials_file, not both");
  }
  if (auto creds = r.section(root, "credentials", {"superuser", "replication"})) {
    readCredentials(r, *creds, out);
  }
  std::string credentials_file;
  r.get(root.string("credentials_file", ""), credentials_file);
  if (!r.error && !credentials_file.empty()) {
    auto file = config::loadFile(credentials_file);
    if (!file) {
      return fail(file.error());
    }
    r.check(file->allowOnly({"superuser", "replication"}));
    readCredentials(r, *file, out);
  }
  if (auto ha = r.section(root, "ha",
                          {"leader_timeout", "heartbeat_interval", "fence_margin", "loop_interval",
                           "synchronous_mode", "synchronous_mode_strict", "synchronous_node_count",
                           "maximum_lag_on_failover", "failsafe"})) {
    auto& h = out.ha;
    r.get(ha->duration("leader_timeout", h.leader_timeout), h.leader_timeout);
    r.get(ha->duration("heartbeat_interval", h.heartbeat_interval), h.heartbeat_interval);
    r.get(ha->duration("fence_margin", h.fence_margin), h.fence_margin);
    r.get(ha->duration("loop_interval", h.loop_interval), h.loop_interval);
    r.get(ha->boolean("synchronous_mode", h.synchronous_mode), h.synchronous_mode);
    r.get(ha->boolean("synchronous_mode_strict", h.synchronous_mode_strict),
          h.synchronous_mode_strict);
    r.get(ha->integer("synchronous_node_count", h.synchronous_node_count, 1, 16),
          h.synchronous_node_count);
    r.get(ha->integer("maximum_lag_on_failover", h.maximum_lag_on_failover, 0, INT64_MAX),
          h.maximum_lag_on_failover);
    r.get(ha->boolean("failsafe", h.failsafe), h.failsafe);
    // The fencing invariant needs room: the leader must fence itself (timeout - margin after
    // its last acknowledged heartbeat was sent) while heartbeats still have time to succeed.
    if (!r.error && (h.fence_margin <= Duration::zero() || h.fence_margin >= h.leader_timeout ||
                     h.heartbeat_interval * 2 > h.leader_timeout - h.fence_margin)) {
      return fail(ErrorCode::InvalidArgument, ha->where(),
                  ": ha: need 0 < fence_margin < leader_timeout and "
                  "2 x heartbeat_interval <= leader_timeout - fence_margin");
    }
  }
  if (auto tags = r.section(root, "tags", {"nofailover", "priority"})) {
    r.get(tags->boolean("nofailover", out.nofailover), out.nofailover);
    r.get(tags->integer("priority", out.priority, 0, 1000), out.priority);
  }
  if (r.error) {
    return fail(*r.error);
  }
  if (out.superuser.password.empty() || out.replication.password.empty()) {
    return fail(ErrorCode::InvalidArgument, root.where(),
                ": credentials: superuser and replication passwords are required "
                "(credentials or credentials_file)");
  }
  return out;
}

Result<MemberConfig> loadMemberConfig(const std::string& path) {
  auto root = config::loadFile(path);
  if (!root) {
    return fail(root.error());
  }
  return parseMemberConfig(*root);
}

}  // namespace rampart::pg
