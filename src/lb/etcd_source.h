#pragma once
// Backends of a virtual server taken from an etcd prefix, so the control plane and `rampart pg`
// can steer the balancer. Each key under the prefix is one backend; its value is either
// "host:port" or JSON {"address": "host:port", "weight": 2, "max_connections": 100}.
// The follower lists the prefix, then watches it from the listed revision + 1; on every change it
// lists again and hands the whole set to `on_change` (simple, and a missed event is impossible).
// When etcd is unreachable it keeps the last set (fail static) and retries with backoff; a watch
// that falls behind compaction re-lists. Runs on the control loop until `wanted()` turns false.

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "lb/config.h"
#include "store/etcd_store.h"

namespace rampart::lb {

// Parses one key's value; errors name the key.
Result<BackendConfig> parseBackendValue(const std::string& key, const std::string& value);

boost::asio::awaitable<void> followEtcdPrefix(
    boost::asio::any_io_executor executor, store::EtcdOptions etcd, std::string prefix,
    std::function<void(std::vector<BackendConfig>)> on_change, std::function<bool()> wanted);

}  // namespace rampart::lb
