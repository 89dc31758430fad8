#include "agent/pod_ips.h"

namespace rampart::agent {

PodIps::PodIps(int nodes)
    : used_(static_cast<size_t>(nodes), std::vector<bool>(kPodSlotsPerNode, false)) {}

std::optional<std::string> PodIps::assign(const std::string& pod_key, int node,
                                          const std::string& reported) {
  if (auto it = holders_.find(pod_key); it != holders_.end()) {
    if (it->second.node == node) {
      return it->second.ip;
    }
    release(pod_key);  // a pod never moves node; a recreated one of the same name may
  }
  auto& slots = used_.at(static_cast<size_t>(node));
  int chosen = -1;
  for (int s = 0; s < kPodSlotsPerNode && !reported.empty(); ++s) {
    if (podIp(node, s) == reported) {
      if (!slots[static_cast<size_t>(s)]) {
        chosen = s;
      }
      break;
    }
  }
  for (int s = 0; chosen < 0 && s < kPodSlotsPerNode; ++s) {
    if (!slots[static_cast<size_t>(s)]) {
      chosen = s;
    }
  }
  if (chosen < 0) {
    return std::nullopt;
  }
  slots[static_cast<size_t>(chosen)] = true;
  std::string ip = podIp(node, chosen);
  holders_[pod_key] = Holding{node, chosen, ip};
  return ip;
}

void PodIps::release(const std::string& pod_key) {
  auto it = holders_.find(pod_key);
  if (it == holders_.end()) {
    return;
  }
  used_.at(static_cast<size_t>(it->second.node))[static_cast<size_t>(it->second.slot)] = false;
  holders_.erase(it);
}

}  // namespace rampart::agent
