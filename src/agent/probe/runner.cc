#include "agent/probe/runner.h"

#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/duration.h"
#include "net/endpoint.h"
#include "net/http/client.h"
#include "runtime/deadline.h"

namespace rampart::agent::probe {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// What the kubelet of the Kubernetes version we speak sends (kube-probe/<major>.<minor>).
constexpr const char* kUserAgent = "kube-probe/1.32";

std::string hostOf(const std::string& host, const std::string& pod_ip) {
  return host.empty() ? pod_ip : host;
}

std::string quoteCommand(const std::vector<std::string>& argv) {
  std::string out = "\"";
  for (size_t i = 0; i < argv.size(); ++i) {
    out += (i ? " " : "") + argv[i];
  }
  return out + "\"";
}

bool hasHeader(const std::vector<std::pair<std::string, std::string>>& headers,
               std::string_view name) {
  net::http::Request probe;
  probe.headers = headers;
  return !probe.header(name).empty();
}

}  // namespace

asio::awaitable<ProbeOutcome> runHttpGet(asio::any_io_executor executor, HttpGetAction action,
                                         std::string pod_ip, Duration timeout) {
  auto url = describeTarget(action, pod_ip);
  net::Endpoint endpoint{hostOf(action.host, pod_ip), action.port, action.https};
  net::http::Request request;
  request.method = "GET";
  request.target = action.path;
  request.headers = action.headers;
  if (!hasHeader(request.headers, "User-Agent")) {
    request.headers.emplace_back("User-Agent", kUserAgent);
  }
  if (!hasHeader(request.headers, "Accept")) {
    request.headers.emplace_back("Accept", "*/*");
  }
  // steady_clock: the HTTP client's deadlines are steady_timer expiries.
  auto deadline = SteadyClock::instance().now() + timeout;
  auto response =
      co_await net::http::fetchOnce(executor, endpoint, std::move(request), deadline, action.https);
  if (!response) {
    co_return ProbeOutcome{false, "Get \"" + url + "\": " + response.error().toString()};
  }
  int status = response->status;
  if (status >= 200 && status < 400) {
    co_return ProbeOutcome{true, ""};
  }
  co_return ProbeOutcome{false, "HTTP probe failed with statuscode: " + std::to_string(status)};
}

asio::awaitable<ProbeOutcome> runTcpSocket(asio::any_io_executor executor, TcpSocketAction action,
                                           std::string pod_ip, Duration timeout) {
  std::string host = hostOf(action.host, pod_ip);
  std::string target = net::Endpoint{host, action.port, false}.hostPort();
  auto deadline = SteadyClock::instance().now() + timeout;
  std::vector<tcp::endpoint> addresses;
  boost::system::error_code parse_ec;
  auto address = asio::ip::make_address(host, parse_ec);
  if (!parse_ec) {
    addresses.emplace_back(address, action.port);
  } else {
    tcp::resolver resolver(executor);
    runtime::DeadlineGuard guard(executor, deadline, [&resolver] { resolver.cancel(); });
    auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(action.port), kTuple);
    if (guard.expired()) {
      co_return ProbeOutcome{false, "dial tcp " + target + ": i/o timeout"};
    }
    if (ec) {
      co_return ProbeOutcome{false,
                             "dial tcp " + target + ": lookup " + host + ": " + ec.message()};
    }
    for (const auto& entry : results) {
      addresses.push_back(entry.endpoint());
    }
  }
  std::string last_error = "no address";
  for (const auto& address_to : addresses) {
    tcp::socket socket(executor);
    runtime::DeadlineGuard guard(executor, deadline, [&socket] {
      boost::system::error_code ignored;
      socket.close(ignored);
    });
    auto [ec] = co_await socket.async_connect(address_to, kTuple);
    if (guard.expired()) {
      co_return ProbeOutcome{false, "dial tcp " + target + ": i/o timeout"};
    }
    if (!ec) {
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      co_return ProbeOutcome{true, ""};
    }
    last_error = ec.message();
  }
  co_return ProbeOutcome{false, "dial tcp " + target + ": connect: " + last_error};
}

asio::awaitable<ProbeOutcome> runExec(ExecAction action, ExecFn exec, Duration timeout) {
  auto command = quoteCommand(action.command);
  if (!exec) {
    co_return ProbeOutcome{false, "command " + command + ": no exec runner"};
  }
  Result<int> code = fail(ErrorCode::Internal, "not run");
  try {
    code = co_await exec(action.command, timeout);
  } catch (const std::exception& e) {
    code = fail(ErrorCode::Internal, e.what());
  }
  if (!code) {
    if (code.error().code == ErrorCode::DeadlineExceeded) {
      co_return ProbeOutcome{false,
                             "command " + command + " timed out after " + formatDuration(timeout)};
    }
    co_return ProbeOutcome{false, "command " + command + ": " + code.error().toString()};
  }
  if (*code != 0) {
    co_return ProbeOutcome{false,
                           "command " + command + " exited with code " + std::to_string(*code)};
  }
  co_return ProbeOutcome{true, ""};
}

asio::awaitable<ProbeOutcome> runProbe(asio::any_io_executor executor, ProbeSpec spec,
                                       std::string pod_ip, ExecFn exec) {
  if (auto* http = std::get_if<HttpGetAction>(&spec.handler)) {
    co_return co_await runHttpGet(executor, std::move(*http), std::move(pod_ip), spec.timeout);
  }
  if (auto* tcp_action = std::get_if<TcpSocketAction>(&spec.handler)) {
    co_return co_await runTcpSocket(executor, std::move(*tcp_action), std::move(pod_ip),
                                    spec.timeout);
  }
  co_return co_await runExec(std::get<ExecAction>(spec.handler), std::move(exec), spec.timeout);
}

}  // namespace rampart::agent::probe
