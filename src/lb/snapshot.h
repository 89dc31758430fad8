#pragma once
// What the control thread hands to the data-path workers: an immutable picture of each virtual
// server (its backends, which of them may take new connections, its timeouts), replaced
// wholesale on every health transition or reload. Workers read their copy without locks
// (Envoy's pattern). The only shared mutable state is each backend's counters, which are atomics
// written by every worker and read by the control thread for metrics and least-connections.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "lb/config.h"

namespace rampart::lb {

struct BackendCounters {
  std::atomic<int64_t> active{0};
  std::atomic<uint64_t> connections{0};       // established through this backend
  std::atomic<uint64_t> connect_failures{0};  // client connects that failed and were retried
  std::atomic<uint64_t> bytes_to_backend{0};
  std::atomic<uint64_t> bytes_to_client{0};
};

struct BackendSlot {
  std::string id;  // "127.0.0.11:6443": stable across reloads
  boost::asio::ip::tcp::endpoint address;
  uint32_t weight = 1;
  int64_t max_connections = 0;
  bool usable = true;
  uint64_t id_hash = 0;
  std::shared_ptr<BackendCounters> counters;
  bool promoting = false;  // not usable, but being promoted (see VirtualServerConfig::postgres)
  // Not usable for new connections, but its open ones stay (HAProxy's drain): on_down: close
  // waits until it is neither usable nor draining.
  bool draining = false;
};

struct VirtualServerSnapshot {
  std::string name;
  Policy policy = Policy::RoundRobin;
  Duration connect_timeout{};
  Duration idle_timeout{};
  OnDown on_down = OnDown::Keep;
  Duration stalled_after{};  // on_down: close_stalled
  bool retry_unanswered = false;  // see VirtualServerConfig
  bool passive_ejection = true;
  bool postgres = false;  // clients may be connected early to a promoting backend
  Duration promotion_wait{};
  std::vector<BackendSlot> backends;
  // One listening socket per worker (SO_REUSEPORT): worker i accepts on listen_fds[i]. Owned by
  // the control thread until a worker adopts it.
  std::vector<int> listen_fds;
  std::shared_ptr<std::atomic<uint64_t>> failed_connections;  // no backend could be reached
  // retry_unanswered: sessions moved to another backend after theirs failed before answering
  std::shared_ptr<std::atomic<uint64_t>> retried_connections;
};

using SnapshotPtr = std::shared_ptr<const std::vector<std::shared_ptr<const VirtualServerSnapshot>>>;

}  // namespace rampart::lb
