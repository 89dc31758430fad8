#include "redis/operator_rest.h"

// g++ 12 reports asio's coroutine frames as mismatched new/delete: a false positive, GCC PR
// 109224 and asio issue 1391 (as in failover/engine.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <nlohmann/json.hpp>

#include "failover/requests.h"
#include "net/http/async_routes.h"
#include "pg/rest_auth.h"

namespace rampart::redis {
namespace asio = boost::asio;
namespace http = net::http;

namespace {

struct Context {
  std::string token;
  std::string prefix;
  store::Store* store;
  std::function<OperatorView()> view;
};

http::Response accepted(const std::string& key, const std::string& value) {
  auto parsed = nlohmann::json::parse(value, nullptr, false);
  return http::Response::json(
      200, nlohmann::json{{"ok", true},
                          {"key", key},
                          {"request", parsed.is_discarded() ? nlohmann::json(value) : parsed}}
               .dump());
}

// The body's "to" ("" for an empty body). Nothing else is accepted: a misspelt field
// (Patroni's "candidate") must not quietly mean "any member".
Result<std::string> targetOf(const http::Request& request) {
  if (request.body.empty()) {
    return std::string();
  }
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  if (!j.is_object()) {
    return fail(ErrorCode::InvalidArgument, "body: expected a JSON object");
  }
  for (const auto& item : j.items()) {
    if (item.key() != "to") {
      return fail(ErrorCode::InvalidArgument, "body: unknown field '", item.key(),
                  "' (the only field is \"to\")");
    }
    if (!item.value().is_string()) {
      return fail(ErrorCode::InvalidArgument, "body: 'to' must be a string");
    }
  }
  return j.value("to", std::string());
}

// By value: a coroutine.
asio::awaitable<http::Response> switchoverCall(Context c, bool failover, http::Request request,
                                               TimePoint /*deadline: the store's own timeout*/) {
  if (auto refused = pg::refuseOperatorCall(request, c.token)) {
    co_return *refused;
  }
  auto to = targetOf(request);
  if (!to) {
    co_return pg::errorResponse(to.error());
  }
  auto v = c.view();
  auto record = failover::operatorRequest(failover, *to, v.leader, v.leader_alive, v.replicas);
  if (!record) {
    co_return pg::errorResponse(record.error());
  }
  // One request at a time: created only where none is pending.
  const std::string key = c.prefix + "/switchover";
  const std::string value = failover::encodeSwitchover(*record);
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare::createRevision(key, store::Compare::Op::Equal, 0));
  txn.success.push_back(store::PutRequest{key, value});
  auto r = co_await c.store->txn(std::move(txn));
  if (!r) {
    co_return pg::errorResponse(r.error());
  }
  if (!r->succeeded) {
    co_return pg::errorResponse(Error{ErrorCode::FailedPrecondition,
                                      "a switchover or failover is already pending (" + key + ")"});
  }
  co_return accepted(key, value);
}

asio::awaitable<http::Response> pauseCall(Context c, bool paused, http::Request request,
                                          TimePoint /*deadline*/) {
  if (auto refused = pg::refuseOperatorCall(request, c.token)) {
    co_return *refused;
  }
  const std::string key = c.prefix + "/config";
  const std::string value = failover::encodeSettings(failover::GroupSettings{paused});
  store::PutRequest put{key, value};
  auto r = co_await c.store->put(std::move(put));
  if (!r) {
    co_return pg::errorResponse(r.error());
  }
  co_return accepted(key, value);
}

}  // namespace

void addOperatorRoutes(http::Server& server, std::string operator_token, std::string prefix,
                       store::Store& store, std::function<OperatorView()> view, Duration timeout) {
  Context c{std::move(operator_token), std::move(prefix), &store, std::move(view)};
  http::AsyncRoutes routes;
  for (auto [path, failover] : {std::pair{"/switchover", false}, std::pair{"/failover", true}}) {
    bool f = failover;
    routes.route(path, timeout, [c, f](http::Request request, TimePoint deadline) {
      return switchoverCall(c, f, std::move(request), deadline);
    });
  }
  for (auto [path, paused] : {std::pair{"/pause", true}, std::pair{"/resume", false}}) {
    bool p = paused;
    routes.route(path, timeout, [c, p](http::Request request, TimePoint deadline) {
      return pauseCall(c, p, std::move(request), deadline);
    });
  }
  routes.mount(server);
}

}  // namespace rampart::redis
