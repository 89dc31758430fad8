#include "chaos/rest.h"

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "net/http/client.h"

namespace rampart::chaos {
namespace asio = boost::asio;

namespace {

asio::awaitable<void> fetchInto(asio::any_io_executor ex, net::Endpoint endpoint,
                                net::http::Request request, TimePoint deadline,
                                Result<net::http::Response>* out, net::TlsFiles tls) {
  if (endpoint.tls) {
    // A verified connection (etcd with client certificates), closed afterwards.
    request.headers.emplace_back("Connection", "close");
    net::http::Client client(ex, std::move(tls));
    *out = co_await client.fetch(std::move(endpoint), std::move(request), deadline);
    co_return;
  }
  auto response = co_await net::http::fetchOnce(ex, std::move(endpoint), std::move(request),
                                                deadline, /*tls=*/false);
  *out = std::move(response);
}

}  // namespace

std::vector<Result<net::http::Response>> httpAll(const std::vector<HttpCall>& calls,
                                                 Duration timeout) {
  std::vector<Result<net::http::Response>> out(
      calls.size(), fail(ErrorCode::DeadlineExceeded, "no answer in time"));
  asio::io_context io;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t i = 0; i < calls.size(); ++i) {
    asio::co_spawn(io,
                   fetchInto(io.get_executor(), calls[i].endpoint, calls[i].request, deadline,
                             &out[i], calls[i].tls),
                   asio::detached);
  }
  // fetchOnce ends every call by its deadline; run_for is a second bound in case one did not.
  io.run_for(timeout + std::chrono::seconds(1));
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i]) {
      out[i] = fail(out[i].error().code, calls[i].endpoint.toString(), calls[i].request.target,
                    ": ", out[i].error().message);
    }
  }
  return out;
}

Result<net::http::Response> httpGet(const net::Endpoint& endpoint, const std::string& target,
                                    Duration timeout, const net::TlsFiles& tls) {
  std::vector<HttpCall> calls{HttpCall{endpoint, net::http::Request{"GET", target, {}, {}},
                                       endpoint.tls ? tls : net::TlsFiles{}}};
  return std::move(httpAll(calls, timeout)[0]);
}

Roles probeRoles(const Cluster& cluster, Duration timeout) {
  std::vector<HttpCall> calls;
  for (const auto& m : cluster.members) {
    auto tls = m.rest.tls ? cluster.rest_tls : net::TlsFiles{};
    calls.push_back(HttpCall{m.rest, net::http::Request{"GET", "/primary", {}, {}}, tls});
    calls.push_back(HttpCall{m.rest, net::http::Request{"GET", "/replica", {}, {}}, tls});
  }
  auto answers = httpAll(calls, timeout);
  Roles roles;
  for (size_t i = 0; i < cluster.members.size(); ++i) {
    if (answers[2 * i] && answers[2 * i]->status == 200) {
      roles.primaries.push_back(cluster.members[i].name);
    }
    if (answers[2 * i + 1] && answers[2 * i + 1]->status == 200) {
      roles.replicas.push_back(cluster.members[i].name);
    }
  }
  return roles;
}

std::optional<std::string> waitForPrimary(const Cluster& cluster, Duration timeout, Roles* roles,
                                          const std::atomic<bool>* cancel) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Bounded by the deadline; each probe is bounded by its own timeout.
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    Duration probe = std::min<Duration>(std::chrono::milliseconds(500),
                                        std::max<Duration>(deadline - now, Duration(0)));
    Roles r = probeRoles(cluster, std::max<Duration>(probe, std::chrono::milliseconds(100)));
    if (roles) {
      *roles = r;
    }
    if (r.primaries.size() == 1) {
      return r.primaries[0];
    }
    if (std::chrono::steady_clock::now() >= deadline || (cancel && cancel->load())) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::optional<size_t> etcdLeader(const Cluster& cluster, Duration timeout) {
  std::vector<HttpCall> calls;
  for (const auto& e : cluster.etcd) {
    calls.push_back(HttpCall{
        e.client,
        net::http::Request{
            "POST", "/v3/maintenance/status", {{"Content-Type", "application/json"}}, "{}"},
        cluster.etcd_tls});
  }
  auto answers = httpAll(calls, timeout);
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i] || answers[i]->status != 200) {
      continue;
    }
    auto j = nlohmann::json::parse(answers[i]->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("header") || !j.contains("leader")) {
      continue;
    }
    // The gateway renders uint64 ids as strings.
    auto id = j["header"].value("member_id", nlohmann::json()).dump();
    auto leader = j["leader"].dump();
    if (id == leader && id != "null") {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace rampart::chaos
