#pragma once
// ApiProbe: a client that asks the API (or any HTTP server, e.g. a Service) a question every
// `period` from inside one node (its own
// thread, moved into the node's network namespace), each time on a new connection, through the
// node's API VIP — what an agent, a controller or a pod sees while masters die. It records every
// request (start, latency, answer), so the judges below can say how many failed and the longest
// time without a successful answer. Used by the cluster tests, the failover bench and the demo.
//
// Thread-safe: start/stop/results from one owner thread; the probe runs on its own.

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::cluster {

struct ProbeSample {
  TimePoint start;
  Duration latency{};
  bool ok = false;
  std::string error;  // "" when ok
};

struct ProbeSummary {
  size_t requests = 0;
  size_t failed = 0;
  // Of the failed: broken after the request was on its way (the server died with it in hand:
  // "stream truncated", a reset, an early end). No TCP balancer can replay those; the others
  // (refused, unreachable, timed out before an answer began) are what routing must prevent.
  size_t in_flight = 0;
  Duration longest_gap{};  // longest time between two successful answers' starts
  std::string first_error;
};

// Pure: judges a window of samples (ordered by start).
ProbeSummary summarize(const std::vector<ProbeSample>& samples);
// Whether a failed request's error says the connection broke while the request was in flight.
bool brokenInFlight(const std::string& error);

struct ApiProbeOptions {
  std::string netns;       // the node's namespace ("" : this thread's)
  std::string host;        // e.g. the API VIP
  uint16_t port = 6443;
  std::string path = "/api/v1/namespaces/default";
  std::string ca_file;  // set: https, the server verified against it; empty: plain http
  std::string token;    // set: Authorization: Bearer
  // The name the server's certificate must carry (empty: `host`), for fronts whose address is
  // not in the certificate (a reference balancer in a bench).
  std::string tls_server_name;
  Duration period = std::chrono::milliseconds(10);
  Duration timeout = std::chrono::seconds(2);  // per request
};

class ApiProbe {
 public:
  explicit ApiProbe(ApiProbeOptions options);
  ~ApiProbe();
  ApiProbe(const ApiProbe&) = delete;
  ApiProbe& operator=(const ApiProbe&) = delete;

  Result<void> start();
  void stop();
  // Every sample so far.
  std::vector<ProbeSample> samples() const;
  // Samples that started in [from, to).
  std::vector<ProbeSample> between(TimePoint from, TimePoint to) const;

 private:
  void run();

  ApiProbeOptions options_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> entered_{0};  // 1: in the namespace, -1: could not enter
  mutable std::mutex mutex_;
  std::vector<ProbeSample> samples_;
};

}  // namespace rampart::cluster
