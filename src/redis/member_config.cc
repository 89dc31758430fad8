#include "redis/member_config.h"

#include "pg/validate.h"
#include "store/etcd_config.h"

namespace rampart::redis {
namespace {

// `check` failed on the value of `key` in `s`: the error names where and which field.
Error fieldError(const config::Section& s, std::string_view key, const std::string& why) {
  std::string path = s.path().empty() ? std::string(key) : s.path() + "." + std::string(key);
  return Error{ErrorCode::InvalidArgument, s.whereIs(key) + ": " + path + ": " + why};
}

Result<config::Section> sectionOf(const config::Section& parent, std::string_view key,
                                  std::initializer_list<std::string_view> allowed) {
  auto s = parent.section(key);
  if (!s) {
    return s;
  }
  if (auto a = s->allowOnly(allowed); !a) {
    return fail(a.error());
  }
  return s;
}

Result<void> readRedis(const config::Section& root, MemberConfig& out) {
  auto s = sectionOf(root, "redis",
                     {"listen", "dir", "redis_server", "min_replicas_to_write",
                      "min_replicas_max_lag", "announce_ip", "unresponsive_timeout"});
  if (!s) {
    return fail(s.error());
  }
  if (!s->has("listen")) {
    return fail(ErrorCode::InvalidArgument, s->where(), ": redis.listen: required");
  }
  auto listen = s->endpoint("listen", {});
  if (!listen) {
    return fail(listen.error());
  }
  if (auto h = pg::checkHost(listen->host); !h || listen->port == 0) {
    return fail(fieldError(*s, "listen", h ? "a port is required" : h.error().message));
  }
  auto& server = out.server;
  server.bind = listen->host;
  server.port = listen->port;
  auto dir = s->requiredString("dir");
  auto binary = s->string("redis_server", server.redis_server);
  auto min_replicas =
      s->integer("min_replicas_to_write", server.min_replicas_to_write, 0, kFencedMinReplicas - 1);
  auto lag = s->duration("min_replicas_max_lag", std::chrono::seconds(10));
  auto announce = s->string("announce_ip", "");
  for (const auto* e : {dir ? nullptr : &dir.error(), binary ? nullptr : &binary.error(),
                        min_replicas ? nullptr : &min_replicas.error(),
                        lag ? nullptr : &lag.error(), announce ? nullptr : &announce.error()}) {
    if (e) {
      return fail(*e);
    }
  }
  // Redis counts the lag in whole seconds, and 0 would switch the check (and fencing) off.
  if (*lag < std::chrono::seconds(1) || *lag % std::chrono::seconds(1) != Duration::zero()) {
    return fail(fieldError(*s, "min_replicas_max_lag", "whole seconds, at least 1s"));
  }
  server.dir = *dir;
  server.redis_server = *binary;
  server.min_replicas_to_write = static_cast<int>(*min_replicas);
  server.min_replicas_max_lag_s =
      static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(*lag).count());
  server.announce_ip = *announce;
  auto unresponsive = s->duration("unresponsive_timeout", out.unresponsive_timeout);
  if (!unresponsive) {
    return fail(unresponsive.error());
  }
  // Below a few ROLE round trips (300 ms each at most) a busy server would be killed.
  if (*unresponsive < std::chrono::milliseconds(500)) {
    return fail(fieldError(*s, "unresponsive_timeout", "at least 500ms"));
  }
  out.unresponsive_timeout = *unresponsive;
  // What redis.conf cannot carry is refused now, not at the first start.
  if (auto r = renderServerConfig(server, StartRole::Master); !r) {
    return fail(fieldError(*s, "dir", r.error().message));
  }
  return ok();
}

Result<void> readHa(const config::Section& root, MemberConfig& out) {
  auto s = sectionOf(root, "ha",
                     {"leader_timeout", "heartbeat_interval", "fence_margin", "loop_interval",
                      "members", "wait_replicas", "failsafe"});
  if (!s) {
    return fail(s.error());
  }
  auto& h = out.ha;
  for (auto [key, field] :
       {std::pair{"leader_timeout", &h.leader_timeout},
        std::pair{"heartbeat_interval", &h.heartbeat_interval},
        std::pair{"fence_margin", &h.fence_margin}, std::pair{"loop_interval", &h.loop_interval}}) {
    auto d = s->duration(key, *field);
    if (!d) {
      return fail(d.error());
    }
    *field = *d;
  }
  auto members = s->integer("members", h.durability.members, 1, 9);
  if (!members) {
    return fail(members.error());
  }
  h.durability.members = static_cast<int>(*members);
  auto k = s->integer("wait_replicas", h.durability.wait_replicas, 0, h.durability.members);
  if (!k) {
    return fail(k.error());
  }
  h.durability.wait_replicas = static_cast<int>(*k);
  auto failsafe = s->boolean("failsafe", h.failsafe);
  if (!failsafe) {
    return fail(failsafe.error());
  }
  h.failsafe = *failsafe;
  // The fencing invariant (failover/fencing.h) needs the leader to stop before any follower
  // may start, with room for two heartbeats before that.
  if (h.fence_margin <= Duration::zero() || h.fence_margin >= h.leader_timeout ||
      h.heartbeat_interval * 2 > h.leader_timeout - h.fence_margin) {
    return fail(ErrorCode::InvalidArgument, s->where(),
                ": ha: need 0 < fence_margin < leader_timeout and "
                "2 x heartbeat_interval <= leader_timeout - fence_margin");
  }
  return ok();
}

}  // namespace

Result<MemberConfig> parseMemberConfig(const config::Section& root) {
  MemberConfig out;
  if (auto a = root.allowOnly({"cluster", "name", "etcd", "redis", "sentinel", "rest", "ha"}); !a) {
    return fail(a.error());
  }
  auto cluster = root.requiredString("cluster");
  auto name = root.requiredString("name");
  if (!cluster || !name) {
    return fail(!cluster ? cluster.error() : name.error());
  }
  if (auto c = pg::checkClusterName(*cluster); !c) {
    return fail(fieldError(root, "cluster", c.error().message));
  }
  if (auto c = pg::checkMemberName(*name); !c) {
    return fail(fieldError(root, "name", c.error().message));
  }
  out.cluster = *cluster;
  out.name = *name;

  auto etcd = sectionOf(root, "etcd",
                        {"endpoints", "prefix", "request_timeout", "tls", "user", "password_file"});
  if (!etcd) {
    return fail(etcd.error());
  }
  store::EtcdSection defaults;
  defaults.options.request_timeout = std::chrono::milliseconds(500);
  defaults.prefix = out.etcd_prefix;
  auto parsed = store::parseEtcdSection(*etcd, defaults, true);
  if (!parsed) {
    return fail(parsed.error());
  }
  if (parsed->options.endpoints.empty()) {
    return fail(ErrorCode::InvalidArgument, etcd->whereIs("endpoints"),
                ": etcd.endpoints: at least one endpoint is required");
  }
  out.etcd = parsed->options;
  out.etcd.watch_idle_timeout = std::chrono::seconds(2);
  out.etcd_prefix = parsed->prefix;

  if (auto r = readRedis(root, out); !r) {
    return fail(r.error());
  }
  if (root.has("sentinel")) {
    auto s = sectionOf(root, "sentinel", {"listen", "master_name"});
    if (!s) {
      return fail(s.error());
    }
    auto listen = s->endpoint("listen", {});
    auto master = s->string("master_name", out.master_name);
    if (!listen || !master) {
      return fail(!listen ? listen.error() : master.error());
    }
    if (listen->port == 0 || master->empty()) {
      return fail(fieldError(*s, listen->port == 0 ? "listen" : "master_name", "required"));
    }
    out.sentinel = true;
    out.sentinel_listen = *listen;
    out.master_name = *master;
  }
  auto rest = sectionOf(root, "rest",
                        {"listen", "token", "token_file", "member_token", "member_token_file"});
  if (!rest) {
    return fail(rest.error());
  }
  auto rest_listen = rest->endpoint("listen", out.rest);
  if (!rest_listen) {
    return fail(rest_listen.error());
  }
  out.rest = *rest_listen;
  // The operator credential (the mutating calls) and the member credential (only the
  // failsafe's vouch): kept apart, so a leaked member credential moves no leader.
  for (auto [key, into] :
       {std::pair{"token", &out.rest_token}, std::pair{"member_token", &out.member_token}}) {
    auto credential = rest->credential(key);
    if (!credential) {
      return fail(credential.error());
    }
    *into = std::move(*credential);
  }
  if (!out.member_token.empty() && out.member_token == out.rest_token) {
    return fail(
        fieldError(*rest, "member_token", "must differ from rest.token (the operator credential)"));
  }
  if (auto r = readHa(root, out); !r) {
    return fail(r.error());
  }
  return out;
}

Result<MemberConfig> loadMemberConfig(const std::string& path) {
  return config::loadFile(path).and_then(parseMemberConfig);
}

}  // namespace rampart::redis
