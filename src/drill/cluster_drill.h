#pragma once
// The whole-cluster drill behind `rampart demo` (issue 15): a `rampart up` cluster, a web app
// under a steady client, then faults, each with a live timeline and a checker's verdict:
//   1. up: 3 masters, 3 workers in zones a, b, c (time until every node is Ready)
//   2. the web app: a Deployment of 3 pods spread over the zones (readiness probe), a
//      disruption budget minAvailable 2 and a Service; a client asks the Service every 10 ms
//      from a worker's namespace
//   3. (the caller runs the PostgreSQL drill here)
//   4. SIGKILL of the master whose controller leads: failed API requests through the VIP (a
//      client every 10 ms, a new connection each time), longest gap, controller handover
//   5. a worker with a web pod killed: its pods Ready elsewhere; the Service's failed requests
//   6. a worker drained for maintenance (disruption budget honoured), then uncordoned
// Each fault heals (`rampart up` on the directory brings killed nodes back) before the next.
// Blocking; root only; prints as it goes. Everything it made is removed at the end unless
// `keep`.

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::drill {

struct ClusterDrillOptions {
  std::string dir;     // the cluster's directory (created)
  std::string binary;  // the rampart executable
  std::string name = "demo";
};

struct Verdict {
  std::string check;   // "API requests failed while a master died"
  std::string figure;  // "0 of 412"
  std::string target;  // "0"
  bool met = false;
};

class ClusterDrill {
 public:
  explicit ClusterDrill(ClusterDrillOptions options);
  ~ClusterDrill();  // `rampart down --purge` unless keep()
  ClusterDrill(const ClusterDrill&) = delete;
  ClusterDrill& operator=(const ClusterDrill&) = delete;

  Result<void> up();          // step 1
  Result<void> deployWeb();   // step 2 (and starts the Service client)
  Result<void> killMaster();  // step 4
  Result<void> killWorker();  // step 5
  Result<void> drainWorker();  // step 6
  void keep() { keep_ = true; }

  const std::vector<Verdict>& verdicts() const { return verdicts_; }

 private:
  struct State;
  ClusterDrillOptions options_;
  std::unique_ptr<State> state_;
  std::vector<Verdict> verdicts_;
  bool keep_ = false;
};

}  // namespace rampart::drill
