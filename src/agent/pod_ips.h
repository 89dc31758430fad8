#pragma once
// PodIps: which pod address of its node's /24 each simulated pod holds (node_spec.h: slot s of
// node n is 10.(64 + n / 256).(n % 256).(s + 2)). An address stays with its pod until the pod is
// gone, and a pod already reporting an address of its node (after an agent restart) keeps it,
// so no two live pods of a node ever share one. Pure. Not thread-safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/node_spec.h"

namespace rampart::agent {

class PodIps {
 public:
  explicit PodIps(int nodes);

  // The pod's address on `node`: the one it holds, else `reported` (its status.podIP) if that
  // is a free address of this node, else the lowest free one; nullopt when the node's range is
  // full.
  std::optional<std::string> assign(const std::string& pod_key, int node,
                                    const std::string& reported = "");
  void release(const std::string& pod_key);
  size_t held() const { return holders_.size(); }

 private:
  struct Holding {
    int node;
    int slot;
    std::string ip;
  };
  std::vector<std::vector<bool>> used_;  // [node][slot]
  std::map<std::string, Holding> holders_;
};

}  // namespace rampart::agent
