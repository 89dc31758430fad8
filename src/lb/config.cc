#include "lb/config.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "base/duration.h"
#include "store/etcd_config.h"

namespace rampart::lb {
namespace {

Result<std::pair<int, int>> parseStatusRange(std::string_view text) {
  auto dash = text.find('-');
  auto number = [](std::string_view s) -> std::optional<int> {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < 100 || v > 599) {
      return std::nullopt;
    }
    return v;
  };
  auto lo = number(text.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : number(text.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) {
    return fail(ErrorCode::InvalidArgument, "invalid status range '", text,
                "' (expected e.g. 200-399 or 200)");
  }
  return std::pair<int, int>(*lo, *hi);
}

// Wraps a plain error with the section's position.
Error at(const config::Section& s, const std::string& field, const std::string& why) {
  return Error{ErrorCode::InvalidArgument,
               s.whereIs(field) + ": " + s.path() + "." + field + ": " + why};
}

Result<HealthConfig> parseHealth(const config::Section& h) {
  HealthConfig out;
  if (auto r = h.allowOnly({"type", "path", "method", "status", "extra_statuses", "interval",
                            "outage_interval", "timeout", "rise", "fall", "initial_state", "role",
                            "user", "database", "promoting_status", "draining_status", "tls"});
      !r) {
    return fail(r.error());
  }
  auto type = h.string("type", "tcp");
  if (!type) {
    return fail(type.error());
  }
  if (*type == "none") {
    out.enabled = false;
  } else if (*type == "tcp") {
    out.probe.kind = health::ProbeSpec::Kind::Tcp;
  } else if (*type == "http" || *type == "https") {
    out.probe.kind = health::ProbeSpec::Kind::Http;
    out.probe.tls = *type == "https";
  } else if (*type == "postgres") {
    out.probe.kind = health::ProbeSpec::Kind::Postgres;
    auto role = h.string("role", "primary");
    auto user = h.string("user", "postgres");
    auto database = h.string("database", "postgres");
    if (!role || !user || !database) {
      return fail(!role ? role.error() : !user ? user.error() : database.error());
    }
    if (*role != "primary" && *role != "replica") {
      return fail(at(h, "role", "expected primary or replica, got '" + *role + "'"));
    }
    out.probe.pg_role = *role;
    out.probe.pg_user = *user;
    out.probe.pg_database = *database;
  } else if (*type == "redis") {
    out.probe.kind = health::ProbeSpec::Kind::Redis;
    auto role = h.string("role", "master");
    if (!role) {
      return fail(role.error());
    }
    if (*role != "master" && *role != "replica") {
      return fail(at(h, "role", "expected master or replica, got '" + *role + "'"));
    }
    out.probe.redis_role = *role;
    for (const char* field : {"user", "database"}) {
      if (h.has(field)) {
        return fail(at(h, field, "needs a postgres check (a redis check has no user)"));
      }
    }
  } else {
    return fail(
        at(h, "type",
           "unknown check type '" + *type + "' (use tcp, http, https, postgres, redis or none)"));
  }
  auto path = h.string("path", out.probe.path);
  auto method = h.string("method", out.probe.method);
  auto status = h.string("status", "200-399");
  auto extra = h.stringList("extra_statuses");
  auto interval = h.duration("interval", out.interval);
  auto outage_interval = interval ? h.duration("outage_interval", *interval) : interval;
  auto timeout = h.duration("timeout", out.probe.timeout);
  auto rise = h.integer("rise", out.rise, 1, 100);
  auto fall = h.integer("fall", out.fall, 1, 100);
  for (auto* e : {&path, &method, &status}) {
    if (!*e) {
      return fail(e->error());
    }
  }
  if (!extra) {
    return fail(extra.error());
  }
  if (!interval || !outage_interval || !timeout) {
    return fail(!interval          ? interval.error()
                : !outage_interval ? outage_interval.error()
                                   : timeout.error());
  }
  if (!rise || !fall) {
    return fail(!rise ? rise.error() : fall.error());
  }
  auto initial = h.string("initial_state", "unknown");
  if (!initial) {
    return fail(initial.error());
  }
  if (*initial != "unknown" && *initial != "down") {
    return fail(at(h, "initial_state", "expected unknown or down, got '" + *initial + "'"));
  }
  out.start_down = *initial == "down";
  auto range = parseStatusRange(*status);
  if (!range) {
    return fail(at(h, "status", range.error().message));
  }
  for (const auto& code : *extra) {
    auto one = parseStatusRange(code);
    if (!one || one->first != one->second) {
      return fail(at(h, "extra_statuses", "invalid status '" + code + "'"));
    }
    out.probe.extra_statuses.push_back(one->first);
  }
  if (*interval < std::chrono::milliseconds(10)) {
    return fail(at(h, "interval", "must be at least 10ms"));
  }
  if (*outage_interval < std::chrono::milliseconds(10) || *outage_interval > *interval) {
    return fail(at(h, "outage_interval", "must be at least 10ms and at most `interval`"));
  }
  if (*timeout <= Duration::zero()) {
    return fail(at(h, "timeout", "must be positive"));
  }
  if (path->empty() || path->front() != '/') {
    return fail(at(h, "path", "must start with '/'"));
  }
  // The two answers of a role check on its way through a switchover: neither may pass.
  for (auto [field, into] : {std::pair{"promoting_status", &out.probe.promoting_status},
                             std::pair{"draining_status", &out.probe.draining_status}}) {
    auto code = h.integer(field, 0, 0, 599);
    if (!code) {
      return fail(code.error());
    }
    if (*code == 0) {
      continue;
    }
    bool passes =
        (*code >= range->first && *code <= range->second) ||
        std::count(out.probe.extra_statuses.begin(), out.probe.extra_statuses.end(), *code);
    if (out.probe.kind != health::ProbeSpec::Kind::Http) {
      return fail(at(h, field, "needs an http or https check"));
    }
    if (*code < 100 || passes) {
      return fail(at(h, field,
                     std::to_string(*code) +
                         " must be a status outside `status` and `extra_statuses` (such a member"
                         " takes no new client as up)"));
    }
    *into = static_cast<int>(*code);
  }
  if (out.probe.promoting_status != 0 && out.probe.promoting_status == out.probe.draining_status) {
    return fail(at(h, "draining_status", "must differ from promoting_status"));
  }
  // https with a client certificate (a backend that requires one) and/or a verified server.
  auto tls = h.tls("tls");
  if (!tls) {
    return fail(tls.error());
  }
  if (!tls->empty()) {
    if (!out.probe.tls) {
      return fail(at(h, "tls", "needs type: https"));
    }
    auto context = health::makeProbeTlsContext(*tls);
    if (!context) {
      // net/tls.h names the field as "tls.key: <file>: <reason>"; the position names the rest.
      std::string why = context.error().message;
      if (why.rfind("tls.", 0) == 0) {
        why = why.substr(4);
      }
      return fail(at(h, "tls", why));
    }
    out.probe.tls_files = *tls;
    out.probe.tls_context = std::move(*context);
  }
  out.probe.path = *path;
  out.probe.method = *method;
  out.probe.status_min = range->first;
  out.probe.status_max = range->second;
  out.probe.timeout = *timeout;
  out.interval = *interval;
  out.outage_interval = *outage_interval;
  out.rise = static_cast<int>(*rise);
  out.fall = static_cast<int>(*fall);
  return out;
}

Result<BackendConfig> parseBackend(const config::Section& b) {
  if (auto r = b.allowOnly({"address", "weight", "max_connections", "check_port"}); !r) {
    return fail(r.error());
  }
  auto address = b.requiredString("address");
  if (!address) {
    return fail(address.error());
  }
  auto endpoint = net::parseEndpoint(*address);
  if (!endpoint) {
    return fail(at(b, "address", endpoint.error().message));
  }
  auto weight = b.integer("weight", 1, 0, 1000);
  auto max_connections = b.integer("max_connections", 0, 0, 10'000'000);
  auto check_port = b.integer("check_port", 0, 0, 65535);
  if (!weight || !max_connections || !check_port) {
    return fail(!weight            ? weight.error()
                : !max_connections ? max_connections.error()
                                   : check_port.error());
  }
  return BackendConfig{*endpoint, static_cast<uint32_t>(*weight), *max_connections,
                       static_cast<uint16_t>(*check_port)};
}

Result<VirtualServerConfig> parseVirtualServer(const config::Section& v) {
  VirtualServerConfig out;
  if (auto r = v.allowOnly({"name", "listen", "policy", "connect_timeout", "idle_timeout",
                            "on_down", "passive_ejection", "health", "backends", "backends_from",
                            "vip_interface", "protocol", "promotion_wait", "stalled_after",
                            "retry_unanswered"});
      !r) {
    return fail(r.error());
  }
  auto name = v.requiredString("name");
  auto listen = v.requiredString("listen");  // required, so not v.endpoint()
  auto policy = v.string("policy", "round-robin");
  auto on_down = v.string("on_down", "keep");
  for (auto* e : {&name, &listen, &policy, &on_down}) {
    if (!*e) {
      return fail(e->error());
    }
  }
  out.name = *name;
  auto endpoint = net::parseEndpoint(*listen);
  if (!endpoint) {
    return fail(at(v, "listen", endpoint.error().message));
  }
  out.listen = *endpoint;
  auto parsed_policy = parsePolicy(*policy);
  if (!parsed_policy) {
    return fail(at(v, "policy", parsed_policy.error().message));
  }
  out.policy = *parsed_policy;
  if (*on_down == "keep") {
    out.on_down = OnDown::Keep;
  } else if (*on_down == "close") {
    out.on_down = OnDown::Close;
  } else if (*on_down == "close_stalled") {
    out.on_down = OnDown::CloseStalled;
  } else {
    return fail(
        at(v, "on_down", "expected keep, close or close_stalled, got '" + *on_down + "'"));
  }
  auto stalled_after = v.duration("stalled_after", out.stalled_after);
  if (!stalled_after) {
    return fail(stalled_after.error());
  }
  if (*stalled_after <= Duration::zero()) {
    return fail(at(v, "stalled_after", "must be positive"));
  }
  out.stalled_after = *stalled_after;
  auto retry_unanswered = v.boolean("retry_unanswered", false);
  if (!retry_unanswered) {
    return fail(retry_unanswered.error());
  }
  out.retry_unanswered = *retry_unanswered;
  auto connect_timeout = v.duration("connect_timeout", out.connect_timeout);
  auto idle_timeout = v.duration("idle_timeout", out.idle_timeout);
  auto vip_interface = v.string("vip_interface", "");
  if (!vip_interface) {
    return fail(vip_interface.error());
  }
  if (vip_interface->size() > 15) {
    return fail(at(v, "vip_interface", "interface names are at most 15 characters"));
  }
  out.vip_interface = *vip_interface;
  auto passive = v.boolean("passive_ejection", true);
  if (!connect_timeout || !idle_timeout || !passive) {
    return fail(!connect_timeout ? connect_timeout.error()
                : !idle_timeout  ? idle_timeout.error()
                                 : passive.error());
  }
  out.connect_timeout = *connect_timeout;
  out.idle_timeout = *idle_timeout;
  out.passive_ejection = *passive;
  auto health = v.section("health");
  if (!health) {
    return fail(health.error());
  }
  auto parsed_health = parseHealth(*health);
  if (!parsed_health) {
    return fail(parsed_health.error());
  }
  out.health = *parsed_health;
  auto protocol = v.string("protocol", "tcp");
  auto promotion_wait = v.duration("promotion_wait", out.promotion_wait);
  if (!protocol || !promotion_wait) {
    return fail(!protocol ? protocol.error() : promotion_wait.error());
  }
  if (*protocol != "tcp" && *protocol != "postgres") {
    return fail(at(v, "protocol", "expected tcp or postgres, got '" + *protocol + "'"));
  }
  out.postgres = *protocol == "postgres";
  if (out.postgres && out.retry_unanswered) {
    // A PostgreSQL server answers the start-up packet before anything else, so nothing would be
    // retried that matters, and its clients may be held at a promoting member (PgStartupGate).
    return fail(at(v, "retry_unanswered", "cannot be used with `protocol: postgres`"));
  }
  if (*promotion_wait <= Duration::zero()) {
    return fail(at(v, "promotion_wait", "must be positive"));
  }
  out.promotion_wait = *promotion_wait;
  if (out.health.probe.promoting_status != 0 && !out.postgres) {
    return fail(at(*health, "promoting_status",
                   "needs `protocol: postgres` on the virtual server (only then can a client's "
                   "statements be held until the promotion)"));
  }
  auto backends = v.sectionList("backends");
  if (!backends) {
    return fail(backends.error());
  }
  for (const auto& b : *backends) {
    auto backend = parseBackend(b);
    if (!backend) {
      return fail(backend.error());
    }
    out.backends.push_back(*backend);
  }
  auto from = v.section("backends_from");
  if (!from) {
    return fail(from.error());
  }
  if (v.has("backends_from")) {
    if (auto r = from->allowOnly({"etcd"}); !r) {
      return fail(r.error());
    }
    auto etcd = from->section("etcd");
    if (!etcd) {
      return fail(etcd.error());
    }
    EtcdBackendSource source;
    if (!etcd->has("prefix")) {
      return fail(at(*etcd, "prefix", "required field is missing"));
    }
    store::EtcdSection defaults;
    defaults.options.request_timeout = source.request_timeout;
    auto parsed = store::parseEtcdSection(*etcd, defaults, true);
    if (!parsed) {
      return fail(parsed.error());
    }
    source.endpoints = parsed->options.endpoints;
    if (source.endpoints.empty()) {
      return fail(at(*etcd, "endpoints", "at least one etcd endpoint is required"));
    }
    source.prefix = parsed->prefix;
    source.request_timeout = parsed->options.request_timeout;
    source.tls = parsed->options.tls;
    source.user = parsed->options.user;
    source.password_file = parsed->options.password_file;
    if (!out.backends.empty()) {
      return fail(at(v, "backends_from", "give either backends or backends_from, not both"));
    }
    out.backends_from = std::move(source);
  } else if (out.backends.empty()) {
    return fail(at(v, "backends", "at least one backend is required"));
  }
  return out;
}

}  // namespace

Result<LbConfig> parseLbConfig(const config::Section& root) {
  LbConfig out;
  if (auto r = root.allowOnly({"mode", "admin", "workers", "virtual_servers"}); !r) {
    return fail(r.error());
  }
  auto mode = root.string("mode", "user");
  if (!mode) {
    return fail(mode.error());
  }
  if (*mode == "kernel") {
    out.mode = Mode::Kernel;
  } else if (*mode != "user") {
    return fail(ErrorCode::InvalidArgument, root.whereIs("mode"),
                ": mode: expected user or kernel, got '", *mode, "'");
  }
  auto admin = config::adminListen(root, out.admin);
  if (!admin) {
    return fail(admin.error());
  }
  out.admin = *admin;
  auto admin_tls = config::adminTls(root);
  if (!admin_tls) {
    return fail(admin_tls.error());
  }
  out.admin_tls = *admin_tls;
  auto workers = root.integer("workers", 0, 0, 64);
  if (!workers) {
    return fail(workers.error());
  }
  out.workers = static_cast<int>(*workers);
  auto servers = root.sectionList("virtual_servers");
  if (!servers) {
    return fail(servers.error());
  }
  for (const auto& s : *servers) {
    auto vs = parseVirtualServer(s);
    if (!vs) {
      return fail(vs.error());
    }
    out.virtual_servers.push_back(std::move(*vs));
  }
  if (auto valid = validate(out); !valid) {
    return fail(ErrorCode::InvalidArgument, root.where(), ": ", valid.error().message);
  }
  return out;
}

Result<LbConfig> loadLbConfigFile(const std::string& path) {
  auto root = config::loadFile(path);
  if (!root) {
    return fail(root.error());
  }
  return parseLbConfig(*root);
}

namespace {

bool isIpv4Literal(const std::string& host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_v4();
}

}  // namespace

Result<void> validate(const LbConfig& config) {
  if (config.virtual_servers.empty()) {
    return fail(ErrorCode::InvalidArgument, "virtual_servers: at least one is required");
  }
  if (config.mode == Mode::Kernel) {
    for (const auto& vs : config.virtual_servers) {
      if (vs.policy == Policy::LeastConnections) {
        return fail(ErrorCode::InvalidArgument, "virtual server '", vs.name,
                    "': least-connections needs the user-space proxy; kernel mode supports "
                    "round-robin and source-hash");
      }
      if (!isIpv4Literal(vs.listen.host)) {
        return fail(ErrorCode::InvalidArgument, "virtual server '", vs.name,
                    "': kernel mode needs an IPv4 listen address, got ", vs.listen.host);
      }
      for (const auto& b : vs.backends) {
        if (!isIpv4Literal(b.address.host)) {
          return fail(ErrorCode::InvalidArgument, "virtual server '", vs.name,
                      "': kernel mode needs IPv4 backend addresses, got ", b.address.host);
        }
      }
    }
  }
  std::set<std::string> names;
  std::set<std::string> listens;
  for (const auto& vs : config.virtual_servers) {
    if (!names.insert(vs.name).second) {
      return fail(ErrorCode::InvalidArgument, "virtual_servers: duplicate name '", vs.name, "'");
    }
    if (!listens.insert(vs.listen.toString()).second) {
      return fail(ErrorCode::InvalidArgument, "virtual_servers: '", vs.name, "' listens on ",
                  vs.listen.toString(), " like another virtual server");
    }
    std::set<std::string> addresses;
    for (const auto& b : vs.backends) {
      if (!addresses.insert(b.address.toString()).second) {
        return fail(ErrorCode::InvalidArgument, "virtual server '", vs.name, "': backend ",
                    b.address.toString(), " is listed twice");
      }
    }
  }
  return ok();
}

Result<LbConfig> fromLvscareFlags(const LvscareFlags& flags) {
  LbConfig out;
  VirtualServerConfig vs;
  vs.name = "vs";
  auto listen = net::parseEndpoint(flags.vs);
  if (!listen) {
    return fail(ErrorCode::InvalidArgument, "--vs: ", listen.error().message);
  }
  vs.listen = *listen;
  if (flags.rs.empty()) {
    return fail(ErrorCode::InvalidArgument, "--rs: at least one real server is required");
  }
  for (const auto& rs : flags.rs) {
    auto endpoint = net::parseEndpoint(rs);
    if (!endpoint) {
      return fail(ErrorCode::InvalidArgument, "--rs: ", endpoint.error().message);
    }
    vs.backends.push_back(BackendConfig{*endpoint, 1, 0});
  }
  auto policy = parsePolicy(flags.scheduler);
  if (!policy) {
    return fail(ErrorCode::InvalidArgument, "--scheduler: ", policy.error().message);
  }
  vs.policy = *policy;
  if (flags.health_scheme == "http" || flags.health_scheme == "https") {
    vs.health.probe.kind = health::ProbeSpec::Kind::Http;
    vs.health.probe.tls = flags.health_scheme == "https";
  } else if (flags.health_scheme == "tcp") {
    vs.health.probe.kind = health::ProbeSpec::Kind::Tcp;
  } else {
    return fail(ErrorCode::InvalidArgument, "--health-schem '", flags.health_scheme,
                "': use https, http or tcp");
  }
  if (flags.health_path.empty() || flags.health_path.front() != '/') {
    return fail(ErrorCode::InvalidArgument, "--health-path must start with '/'");
  }
  vs.health.probe.path = flags.health_path;
  vs.health.probe.extra_statuses = flags.health_status;
  auto timeout = parseDuration(flags.health_timeout);
  if (!timeout || *timeout <= Duration::zero()) {
    return fail(ErrorCode::InvalidArgument, "--health-timeout '", flags.health_timeout,
                "': expected a duration such as 1s or 500ms");
  }
  vs.health.probe.timeout = *timeout;
  auto interval = parseDuration(flags.interval);
  if (!interval || *interval < std::chrono::milliseconds(10)) {
    return fail(ErrorCode::InvalidArgument, "--interval '", flags.interval,
                "': expected a duration of at least 10ms (e.g. 100ms, 5s, or 5 for seconds)");
  }
  vs.health.interval = *interval;
  vs.health.outage_interval = *interval;
  // lvscare drains on the first failed check and re-adds on the first success.
  vs.health.fall = 1;
  vs.health.rise = 1;
  auto admin = net::parseEndpoint(flags.admin);
  if (!admin) {
    return fail(ErrorCode::InvalidArgument, "--admin: ", admin.error().message);
  }
  out.admin = *admin;
  if (flags.iface.size() > 15) {
    return fail(ErrorCode::InvalidArgument, "--iface: interface names are at most 15 characters");
  }
  vs.vip_interface = flags.iface;
  if (flags.mode == "kernel") {
    out.mode = Mode::Kernel;
  } else if (flags.mode != "user") {
    return fail(ErrorCode::InvalidArgument, "--mode '", flags.mode, "': use user or kernel");
  }
  out.virtual_servers.push_back(std::move(vs));
  return out;
}

}  // namespace rampart::lb
