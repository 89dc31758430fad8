#include "pg/config.h"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "pg/validate.h"
#include "runtime/secret_file.h"
#include "store/etcd_config.h"

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
    // The user goes into pg_hba.conf, .pgpass and CREATE ROLE; the password into .pgpass (one
    // line per credential) and initdb's password file (its first line).
    if (!r.error) {
      if (auto n = checkRoleName(cred->user); !n) {
        r.error = Error{ErrorCode::InvalidArgument,
                        s->whereIs("user") + ": " + s->path() + ".user: " + n.error().message};
      } else if (auto c = checkNoControlCharacters(cred->password); !c) {
        r.error = Error{ErrorCode::InvalidArgument,
                        s->whereIs("password") + ": " + s->path() +
                            ".password: holds a control character (a newline or the like)"};
      }
    }
  }
}

// A field's value failed `check`: the error names file:line:col and the field path.
Result<void> checked(const config::Section& s, std::string_view key, Result<void> check) {
  if (!check) {
    std::string path = s.path().empty() ? std::string(key) : s.path() + "." + std::string(key);
    return fail(ErrorCode::InvalidArgument, s.whereIs(key), ": ", path, ": ",
                check.error().message);
  }
  return ok();
}

void readPostgresSecurity(Reader& r, const config::Section& pg, MemberConfig& out) {
  r.get(pg.stringList("pg_hba"), out.pg_hba);
  for (const auto& line : out.pg_hba) {
    r.check(checked(pg, "pg_hba", checkHbaLine(line)));
  }
  if (!r.error && pg.has("hba_networks")) {
    r.get(pg.stringList("hba_networks"), out.hba_networks);
  }
  for (const auto& network : out.hba_networks) {
    r.check(checked(pg, "hba_networks", checkCidr(network)));
  }
  if (auto tls = r.section(pg, "tls", {"cert", "key", "ca"})) {
    r.get(tls->string("cert", ""), out.tls.cert);
    r.get(tls->string("key", ""), out.tls.key);
    r.get(tls->string("ca", ""), out.tls.ca);
    if (!r.error && out.tls.cert.empty() != out.tls.key.empty()) {
      r.error = Error{ErrorCode::InvalidArgument,
                      tls->where() + ": postgres.tls: cert and key go together"};
    }
    for (auto [key, file] : {std::pair{"cert", &out.tls.cert}, std::pair{"key", &out.tls.key},
                             std::pair{"ca", &out.tls.ca}}) {
      if (!r.error && !file->empty() && ::access(file->c_str(), R_OK) != 0) {
        r.error = Error{ErrorCode::InvalidArgument,
                        tls->whereIs(key) + ": postgres.tls." + key + ": cannot read " + *file};
      }
    }
  }
  // Secure by default: with a CA to verify against, replication verifies the peer's
  // certificate and name; without one it uses TLS where the peer offers it.
  out.sslmode = out.tls.ca.empty() ? "prefer" : "verify-full";
  r.get(pg.string("sslmode", out.sslmode), out.sslmode);
  if (!r.error) {
    static const std::set<std::string> kModes = {"disable", "allow",     "prefer",
                                                 "require", "verify-ca", "verify-full"};
    if (!kModes.count(out.sslmode)) {
      r.error =
          Error{ErrorCode::InvalidArgument,
                pg.whereIs("sslmode") + ": postgres.sslmode: '" + out.sslmode +
                    "' is not one of disable, allow, prefer, require, verify-ca, verify-full"};
    } else if (out.sslmode.starts_with("verify") && out.tls.ca.empty()) {
      r.error = Error{ErrorCode::InvalidArgument,
                      pg.whereIs("sslmode") + ": postgres.sslmode: " + out.sslmode +
                          " needs postgres.tls.ca (the CA the other members' certificates are "
                          "verified against)"};
    }
  }
}

}  // namespace

store::EtcdOptions MemberConfig::etcdOptions() const {
  store::EtcdOptions options;
  options.endpoints = etcd_endpoints;
  options.request_timeout = etcd_request_timeout;
  options.watch_idle_timeout = std::chrono::seconds(2);
  options.tls = etcd_tls;
  options.user = etcd_user;
  options.password_file = etcd_password_file;
  return options;
}

namespace {

// rest.tls: {cert, key, ca, client_auth}.
void readRestTls(Reader& r, const config::Section& rest, MemberConfig& out) {
  if (!rest.has("tls")) {
    return;  // plain HTTP
  }
  auto tls = r.section(rest, "tls", {"cert", "key", "ca", "client_auth"});
  if (!tls) {
    return;
  }
  r.get(tls->string("cert", ""), out.rest_tls.cert);
  r.get(tls->string("key", ""), out.rest_tls.key);
  r.get(tls->string("ca", ""), out.rest_tls.ca);
  r.get(tls->boolean("client_auth", false), out.rest_client_auth);
  if (r.error) {
    return;
  }
  if (out.rest_tls.cert.empty() || out.rest_tls.key.empty()) {
    r.error = Error{ErrorCode::InvalidArgument,
                    tls->where() +
                        ": rest.tls: cert and key are required (the REST API's "
                        "server certificate)"};
    return;
  }
  if (out.rest_client_auth && out.rest_tls.ca.empty()) {
    r.error = Error{ErrorCode::InvalidArgument,
                    tls->whereIs("client_auth") +
                        ": rest.tls.client_auth needs rest.tls.ca (the CA client certificates "
                        "are verified against)"};
    return;
  }
  for (auto [key, file] :
       {std::pair{"cert", &out.rest_tls.cert}, std::pair{"key", &out.rest_tls.key},
        std::pair{"ca", &out.rest_tls.ca}}) {
    if (!r.error && !file->empty() && ::access(file->c_str(), R_OK) != 0) {
      r.error = Error{ErrorCode::InvalidArgument,
                      tls->whereIs(key) + ": rest.tls." + key + ": cannot read " + *file};
    }
  }
}

}  // namespace

net::TlsFiles MemberConfig::restServerTls() const {
  if (!restTls()) {
    return {};
  }
  net::TlsFiles files{.cert = rest_tls.cert, .key = rest_tls.key};
  if (rest_client_auth) {
    files.ca = rest_tls.ca;  // a server context with a CA requires client certificates
  }
  return files;
}

net::TlsFiles MemberConfig::restClientTls() const {
  if (!restTls()) {
    return {};
  }
  return net::TlsFiles{.ca = rest_tls.ca, .cert = rest_tls.cert, .key = rest_tls.key};
}

std::string MemberConfig::restAddress() const {
  net::Endpoint listen{rest.host, rest.port, restTls()};
  return net::advertisedEndpoint(listen, this->listen.host).toString();
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
    // The cluster name is a segment of every etcd key the member reads and writes.
    r.check(checked(root, "cluster", checkClusterName(out.cluster)));
  }
  r.get(root.string("os_user", out.os_user), out.os_user);

  if (auto etcd =
          r.section(root, "etcd",
                    {"endpoints", "prefix", "request_timeout", "tls", "user", "password_file"})) {
    store::EtcdSection defaults;
    defaults.options.endpoints = out.etcd_endpoints;
    defaults.options.request_timeout = out.etcd_request_timeout;
    defaults.prefix = out.etcd_prefix;
    auto parsed = store::parseEtcdSection(*etcd, defaults, true);
    r.check(parsed ? ok() : Result<void>(fail(parsed.error())));
    if (!r.error) {
      out.etcd_endpoints = parsed->options.endpoints;
      out.etcd_request_timeout = parsed->options.request_timeout;
      out.etcd_prefix = parsed->prefix;
      out.etcd_tls = parsed->options.tls;
      out.etcd_user = parsed->options.user;
      out.etcd_password_file = parsed->options.password_file;
    }
    if (!r.error && out.etcd_endpoints.empty()) {
      return fail(ErrorCode::InvalidArgument, etcd->whereIs("endpoints"),
                  ": etcd.endpoints: at least one endpoint is required");
    }
  }
  if (auto pg = r.section(root, "postgres",
                          {"listen", "data_dir", "bin_dir", "parameters", "pg_hba", "hba_networks",
                           "tls", "sslmode"})) {
    if (!r.error && !pg->has("listen")) {
      return fail(ErrorCode::InvalidArgument, pg->where(), ": postgres.listen: required");
    }
    r.get(pg->endpoint("listen", out.listen), out.listen);
    if (!r.error) {
      // Published in etcd for the other members to connect to.
      r.check(checked(*pg, "listen", checkHost(out.listen.host)));
    }
    r.get(pg->requiredString("data_dir"), out.data_dir);
    r.get(pg->string("bin_dir", out.bin_dir), out.bin_dir);
    r.get(pg->stringMap("parameters"), out.parameters);
    for (const auto& [name, value] : out.parameters) {
      if (!r.error) {
        r.check(checked(*pg, "parameters", checkParameterName(name)));
        r.check(checked(*pg, "parameters", checkNoControlCharacters(value)));
      }
    }
    readPostgresSecurity(r, *pg, out);
  }
  if (auto rest = r.section(
          root, "rest",
          {"listen", "token", "token_file", "member_token", "member_token_file", "tls"})) {
    r.get(rest->endpoint("listen", out.rest), out.rest);
    readRestTls(r, *rest, out);
    // Operator and member credentials, each given inline or in a file (its first line).
    r.get(rest->credential("token"), out.token);
    r.get(rest->credential("member_token"), out.member_token);
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
    if (auto p = runtime::checkSecretFilePermissions(credentials_file); !p) {
      return fail(ErrorCode::InvalidArgument, root.whereIs("credentials_file"),
                  ": credentials_file: ", p.error().message);
    }
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
