#pragma once
// ElectionDrill: a live election lab. It starts an etcd cluster (lab::EtcdCluster) and N
// `rampart elect` campaigner processes on one key, then takes the leader down on request and
// measures the handover from the outside, by watching the key: when the old leader's key went
// (lease expiry or resignation) and when a new leader created it, both from the moment the signal
// was sent (monotonic clock). The killed candidate is started again afterwards so every round
// begins with N candidates. Used by `rampart demo` and bench/election_bench.
//
// Blocking API (each call runs the drill's own event loop); not thread-safe.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "lab/etcd_cluster.h"
#include "store/etcd_store.h"

namespace rampart::drill {

struct ElectionDrillOptions {
  std::string dir;                 // required: etcd data, candidate logs
  int etcd_members = 3;
  int candidates = 3;
  std::chrono::seconds ttl{1};
  std::string key = "/rampart/drill/leader";
  std::string rampart_binary;      // default: this executable
};

struct Handover {
  std::string old_leader;
  std::string new_leader;
  Duration key_gone{};             // signal sent -> old leader's key deleted
  Duration new_leader_elected{};   // signal sent -> new leader's key created
};

class ElectionDrill {
 public:
  static Result<std::unique_ptr<ElectionDrill>> start(ElectionDrillOptions options);
  ~ElectionDrill();

  // Waits until some candidate holds the key; returns its name.
  Result<std::string> waitForLeader(Duration timeout);
  // Sends `signal` to the leader's process (SIGKILL: crash; SIGTERM: resign) and measures.
  Result<Handover> signalLeader(int signal, Duration timeout);

  lab::EtcdCluster& etcd() { return *etcd_; }
  // Runs `body` on the drill's event loop with its store and returns its result.
  Result<Duration> timeStoreCall(std::function<boost::asio::awaitable<Result<void>>(store::Store&)>
                                     body);

 private:
  struct Candidate {
    std::string name;
    pid_t pid = 0;
    std::string log_file;
  };
  explicit ElectionDrill(ElectionDrillOptions options);
  Result<void> spawnCandidate(Candidate& candidate);
  Result<void> waitUntilCampaigning(const Candidate& candidate, Duration timeout);
  Candidate* findCandidate(const std::string& name);

  ElectionDrillOptions options_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::vector<Candidate> candidates_;
  struct Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace rampart::drill
