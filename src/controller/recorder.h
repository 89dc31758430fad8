#pragma once
// Recorder: core/v1 Events for controllers' decisions (SuccessfulCreate, ScalingReplicaSet,
// Scheduled, NodeNotReady ...), so `kubectl describe` tells an operator what happened. As
// client-go's event recorder does it:
//   - aggregation: an event with the same involved object, type, reason and message as one
//     already written becomes a patch of that Event (count + 1, lastTimestamp) instead of a new
//     object; a patch answered 404 (the Event expired or was deleted) writes a new one;
//   - spam filter: per involved object a token bucket (burst 25, one token per 5 minutes by
//     default), so a ReplicaSet scaled to 10,000 does not write 10,000 Events;
//   - never blocking a controller: event() only queues (bounded; excess dropped and counted)
//     and one background coroutine writes, so a slow or failing API delays nothing else.
// Events are written through the manager's fenced client: a controller that is not the leader
// writes none. Use from the manager's event loop.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/clock.h"
#include "kube/client.h"

namespace rampart::controller {

struct RecorderOptions {
  std::string component = "rampart-controller";  // source.component / reportingController
  std::string instance;                           // reportingInstance (the leader's identity)
  size_t queue_limit = 1000;
  int burst = 25;                                 // per involved object
  Duration refill = std::chrono::minutes(5);      // one more event per object per refill
  size_t cache_limit = 4096;                      // aggregation entries kept
};

// What an Event points at: kind/apiVersion are not in listed items, so callers name them.
struct ObjectRef {
  std::string kind;
  std::string api_version;
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;
};
ObjectRef refOf(const nlohmann::json& object, std::string kind, std::string api_version);

class Recorder {
 public:
  using WallClock = std::function<api::WallTime()>;
  Recorder(kube::Client& client, const Clock& clock, WallClock wall, RecorderOptions options = {});

  // Queues an Event ("Normal" or "Warning"). Never blocks; false when it was dropped (queue full
  // or the object's spam budget spent).
  bool event(const ObjectRef& object, const std::string& type, const std::string& reason,
             const std::string& message);
  // Writes queued events until stop(); each write bounded by the client's request timeout.
  boost::asio::awaitable<void> run();
  void stop();
  // Writes what is queued now (tests, and a final flush).
  boost::asio::awaitable<void> flush();

  uint64_t dropped() const { return dropped_; }
  uint64_t written() const { return written_; }
  size_t queued() const { return queue_.size(); }

 private:
  struct Pending {
    ObjectRef object;
    std::string type;
    std::string reason;
    std::string message;
    api::WallTime at;
  };
  struct Written {
    std::string ns;
    std::string name;
    int64_t count = 0;
  };
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
  };
  boost::asio::awaitable<void> write(Pending pending);

  kube::Client& client_;
  const Clock& clock_;
  WallClock wall_;
  RecorderOptions options_;
  std::deque<Pending> queue_;
  std::unordered_map<std::string, Written> written_events_;  // aggregation key → the Event
  std::unordered_map<std::string, Bucket> buckets_;          // involved object → spam budget
  uint64_t dropped_ = 0;
  uint64_t written_ = 0;
  uint64_t sequence_ = 0;
  bool stopped_ = false;
  std::unique_ptr<boost::asio::steady_timer> wake_;
};

}  // namespace rampart::controller
