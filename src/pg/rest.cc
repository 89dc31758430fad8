#include "pg/rest.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>

#include "net/http/async_routes.h"
#include "pg/rest_auth.h"

namespace rampart::pg {
namespace asio = boost::asio;
namespace http = net::http;

namespace {

// The value of `name` in the target's query ("" when given without one), or nullopt.
std::optional<std::string> queryParam(const std::string& target, const std::string& name) {
  auto q = target.find('?');
  if (q == std::string::npos) {
    return std::nullopt;
  }
  std::string query = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    auto part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = part.find('=');
    if (part.substr(0, eq) == name) {
      return eq == std::string::npos ? "" : part.substr(eq + 1);
    }
    if (amp == std::string::npos) {
      break;
    }
    pos = amp + 1;
  }
  return std::nullopt;
}

http::Response verdict(bool ok, const MemberView& v) {
  return http::Response::json(ok ? 200 : 503, encode(v.self));
}

http::Response fromResult(const Result<void>& r) {
  if (r) {
    return http::Response::json(200, R"({"ok":true})");
  }
  return errorResponse(r.error());
}

// 200 with what etcd now holds: the key, its value (JSON, embedded as such) and the revision.
http::Response fromWritten(const Result<Written>& r) {
  if (!r) {
    return errorResponse(r.error());
  }
  auto value = nlohmann::json::parse(r->value, nullptr, false);
  nlohmann::json body = {{"ok", true},
                         {"key", r->key},
                         {"value", value.is_discarded() ? nlohmann::json(r->value) : value},
                         {"revision", r->revision}};
  return http::Response::json(200, body.dump());
}

// The string field `key` of a JSON object body ("" when the body is empty or lacks it);
// InvalidArgument when the body is no JSON object or the field no string.
Result<std::string> bodyField(const http::Request& request, const char* key) {
  if (request.body.empty()) {
    return std::string();
  }
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::InvalidArgument, "body: expected a JSON object");
  }
  auto it = j.find(key);
  if (it == j.end()) {
    return std::string();
  }
  if (!it->is_string()) {
    return fail(ErrorCode::InvalidArgument, "body: '", key, "' must be a string");
  }
  return it->get<std::string>();
}

// POST /switchover and /failover: checked here, then the write; answers after it. By value: a
// coroutine.
asio::awaitable<http::Response> switchoverCall(RestActions actions, std::string operator_token,
                                               bool force, http::Request request,
                                               TimePoint deadline) {
  if (auto refused = refuseOperatorCall(request, operator_token)) {
    co_return *refused;
  }
  auto to = bodyField(request, "to");
  if (!to) {
    co_return errorResponse(to.error());
  }
  if (force && to->empty()) {
    co_return errorResponse(
        Error{ErrorCode::InvalidArgument, "failover needs a candidate: {\"to\": \"name\"}"});
  }
  if (!actions.switchover) {
    co_return errorResponse(Error{ErrorCode::Unavailable, "not supported here"});
  }
  auto written = co_await actions.switchover(*to, force, deadline);
  co_return fromWritten(written);
}

// POST /pause and /resume. By value: a coroutine.
asio::awaitable<http::Response> pauseCall(RestActions actions, std::string operator_token,
                                          bool paused, http::Request request, TimePoint deadline) {
  if (auto refused = refuseOperatorCall(request, operator_token)) {
    co_return *refused;
  }
  if (!actions.pause) {
    co_return errorResponse(Error{ErrorCode::Unavailable, "not supported here"});
  }
  auto written = co_await actions.pause(paused, deadline);
  co_return fromWritten(written);
}

}  // namespace

Result<int64_t> parseLag(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
  if (i == 0) {
    return fail(ErrorCode::InvalidArgument, "lag '", text, "' is not a number of bytes");
  }
  std::string unit = text.substr(i);
  int shift = unit.empty() || unit == "B" ? 0
              : unit == "kB"              ? 10
              : unit == "MB"              ? 20
              : unit == "GB"              ? 30
                                          : -1;
  if (shift < 0) {
    return fail(ErrorCode::InvalidArgument, "lag '", text, "': unit must be B, kB, MB or GB");
  }
  // The query string is a client's: a number too large is an error, not an exception.
  int64_t n = 0;
  auto parsed = std::from_chars(text.data(), text.data() + i, n);
  if (parsed.ec != std::errc() || n > (INT64_MAX >> shift)) {
    return fail(ErrorCode::InvalidArgument, "lag '", text, "' is too large");
  }
  return n << shift;
}

void addRestRoutes(http::Server& server, std::string operator_token, int64_t maximum_lag,
                   Duration liveness_limit, RestActions actions, Duration mutation_timeout) {
  auto primary = [actions](const http::Request& request) {
    auto v = actions.view();
    if (queryParam(request.target, "promoting")) {
      // Asked for by a `rampart lb` with protocol postgres (plain /primary never answers these):
      // 202 on the way to primary, 307 handing over (new clients go to the target; open
      // sessions stay until the switchover ends them).
      if (v.writable_leader && v.draining) {
        return http::Response::json(307, encode(v.self));
      }
      if (!v.writable_leader && v.promoting) {
        return http::Response::json(202, encode(v.self));
      }
    }
    return verdict(v.writable_leader, v);
  };
  for (const char* path : {"/primary", "/leader", "/read-write", "/master"}) {
    server.route(path, primary);
  }
  auto lag_ok = [](const MemberView& v, int64_t limit) {
    Lsn own = std::max(v.self.replay_lsn, v.self.receive_lsn);
    return v.leader_lsn <= own || static_cast<int64_t>(v.leader_lsn - own) <= limit;
  };
  server.route("/replica", [actions, lag_ok](const http::Request& request) {
    auto v = actions.view();
    auto lag_text = queryParam(request.target, "lag").value_or("");
    int64_t limit = INT64_MAX;
    if (!lag_text.empty()) {
      auto lag = parseLag(lag_text);
      if (!lag) {
        return errorResponse(lag.error());
      }
      limit = *lag;
    }
    return verdict(v.replica && lag_ok(v, limit), v);
  });
  server.route("/read-only", [actions](const http::Request&) {
    auto v = actions.view();
    return verdict(v.writable_leader || v.replica, v);
  });
  server.route("/health", [actions](const http::Request&) {
    auto v = actions.view();
    return verdict(v.running, v);
  });
  server.route("/liveness", [actions, liveness_limit](const http::Request&) {
    auto v = actions.view();
    return verdict(v.since_loop <= liveness_limit, v);
  });
  server.route("/readiness", [actions, lag_ok, maximum_lag](const http::Request&) {
    auto v = actions.view();
    return verdict(v.writable_leader || (v.replica && lag_ok(v, maximum_lag)), v);
  });
  server.route("/status", [actions](const http::Request&) {
    return http::Response::json(200, encode(actions.view().self));
  });
  server.route("/cluster", [actions](const http::Request&) {
    return http::Response::json(200, actions.cluster_json());
  });
  server.route("/history", [actions](const http::Request&) {
    return http::Response::json(200, actions.history_json());
  });

  // Operator calls. The etcd writes answer after their write (async routes, bounded by
  // mutation_timeout); restart and reinitialize only note a request for this member's loop.
  net::http::AsyncRoutes writes;
  for (auto route : {std::pair{"/switchover", false}, std::pair{"/failover", true}}) {
    bool force = route.second;
    writes.route(route.first, mutation_timeout,
                 [actions, operator_token, force](http::Request request, TimePoint deadline) {
                   return switchoverCall(actions, operator_token, force, std::move(request),
                                         deadline);
                 });
  }
  for (auto route : {std::pair{"/pause", true}, std::pair{"/resume", false}}) {
    bool paused = route.second;
    writes.route(route.first, mutation_timeout,
                 [actions, operator_token, paused](http::Request request, TimePoint deadline) {
                   return pauseCall(actions, operator_token, paused, std::move(request), deadline);
                 });
  }
  writes.mount(server);
  auto guarded = [operator_token](auto handler) {
    return [operator_token, handler](const http::Request& request) {
      if (auto refused = refuseOperatorCall(request, operator_token)) {
        return *refused;
      }
      return handler(request);
    };
  };
  server.route("/restart",
               guarded([actions](const http::Request&) { return fromResult(actions.restart()); }));
  server.route("/reinitialize", guarded([actions](const http::Request&) {
                 return fromResult(actions.reinitialize());
               }));
  // Not an operator call: the member credential's proof, judged by decideVouch.
  server.route("/failsafe", [actions](const http::Request& request) {
    return answerVouch(request, actions.failsafe);
  });
}

}  // namespace rampart::pg
