#include "lb/etcd_source.h"

#include <cstdint>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/backoff.h"
#include "base/log.h"

namespace rampart::lb {
namespace asio = boost::asio;

Result<BackendConfig> parseBackendValue(const std::string& key, const std::string& value) {
  BackendConfig out;
  std::string address = value;
  if (!value.empty() && value.front() == '{') {
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("address") || !j["address"].is_string()) {
      return fail(ErrorCode::InvalidArgument, "etcd key ", key,
                  ": expected \"host:port\" or {\"address\": \"host:port\", ...}");
    }
    address = j["address"].get<std::string>();
    // Whole numbers only: json::value() throws on a string and converts a float with undefined
    // behaviour when it does not fit.
    auto integer = [&j](const char* name, int64_t fallback) -> std::optional<int64_t> {
      auto it = j.find(name);
      if (it == j.end()) {
        return fallback;
      }
      if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX}) {
        return std::nullopt;
      }
      if (!it->is_number_integer()) {
        return std::nullopt;
      }
      return it->get<int64_t>();
    };
    auto weight_field = integer("weight", 1);
    auto max_connections_field = integer("max_connections", 0);
    auto check_port_field = integer("check_port", 0);
    if (!weight_field || !max_connections_field || !check_port_field) {
      return fail(ErrorCode::InvalidArgument, "etcd key ", key,
                  ": weight, max_connections and check_port must be whole numbers");
    }
    int64_t weight = *weight_field;
    int64_t max_connections = *max_connections_field;
    int64_t check_port = *check_port_field;
    if (weight < 0 || weight > 1000 || max_connections < 0 || check_port < 0 ||
        check_port > 65535) {
      return fail(ErrorCode::InvalidArgument, "etcd key ", key,
                  ": weight must be 0..1000, max_connections >= 0, check_port 0..65535");
    }
    out.check_port = static_cast<uint16_t>(check_port);
    out.weight = static_cast<uint32_t>(weight);
    out.max_connections = max_connections;
  }
  auto endpoint = net::parseEndpoint(address);
  if (!endpoint) {
    return fail(ErrorCode::InvalidArgument, "etcd key ", key, ": ", endpoint.error().message);
  }
  out.address = *endpoint;
  return out;
}

asio::awaitable<void> followEtcdPrefix(asio::any_io_executor executor, store::EtcdOptions etcd,
                                       std::string prefix,
                                       std::function<void(std::vector<BackendConfig>)> on_change,
                                       std::function<bool()> wanted) {
  auto logger = log::get("lb");
  store::EtcdStore store(executor, etcd);
  asio::steady_timer pause(executor);
  Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
  bool failing = false;
  while (wanted()) {
    auto list = store::RangeRequest::prefix(prefix);  // a local: the g++ 12 co_await rule
    auto listed = co_await store.range(std::move(list));
    if (!listed) {
      if (!failing) {
        logger->warn(
            "etcd backend source unavailable, keeping the last backends prefix={} "
            "error=\"{}\"",
            prefix, listed.error().toString());
      }
      failing = true;
      pause.expires_after(backoff.next());
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    failing = false;
    backoff.reset();
    std::vector<BackendConfig> backends;
    for (const auto& kv : listed->kvs) {
      auto backend = parseBackendValue(kv.key, kv.value);
      if (!backend) {
        logger->warn("ignoring backend: {}", backend.error().message);
        continue;
      }
      backends.push_back(*backend);
    }
    on_change(std::move(backends));
    // Wait for any change under the prefix, then list again.
    auto watch = store.watch(store::WatchRequest::prefix(prefix, listed->revision + 1));
    while (wanted()) {
      auto batch = co_await watch->next(std::chrono::seconds(1));
      if (!batch || batch->compacted || !batch->events.empty()) {
        break;
      }
    }
  }
}

}  // namespace rampart::lb
