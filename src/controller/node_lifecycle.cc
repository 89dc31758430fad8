#include "controller/node_lifecycle.h"

#include <algorithm>

#include "controller/replicaset.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

std::string readyHeartbeat(const json& node) {
  json::json_pointer at("/status/conditions");
  if (!node.contains(at) || !node[at].is_array()) {
    return "";
  }
  for (const auto& c : node[at]) {
    if (c.is_object() && c.value("type", "") == "Ready") {
      // The heartbeat only: the status may be our own write (Unknown), which is no sign of life.
      return c.value("lastHeartbeatTime", "");
    }
  }
  return "";
}

bool managedTaint(const Taint& t) {
  return (t.key == kTaintNotReady || t.key == kTaintUnreachable) &&
         (t.effect == "NoSchedule" || t.effect == "NoExecute");
}

}  // namespace

void observeNode(NodeProbe& probe, const json& node, const json& lease, TimePoint now) {
  std::string marker = readyHeartbeat(node);
  if (lease.is_object()) {
    marker += "|" + lease.value("/spec/renewTime"_json_pointer, std::string());
  }
  // Only a change counts, and it counts at the moment *we* see it.
  if (!probe.seen || marker != probe.marker) {
    probe.seen = true;
    probe.marker = std::move(marker);
    probe.last_change = now;
  }
}

NodeLifecycleDecision decideNodeLifecycle(const json& node, const NodeProbe& probe, TimePoint now,
                                          api::WallTime wall_now, const NodeLifecycleConfig& config,
                                          const std::vector<json>& pods_on_node) {
  NodeLifecycleDecision d;
  std::string name = node.value("/metadata/name"_json_pointer, std::string());
  Duration silent = probe.seen ? now - probe.last_change : Duration::zero();
  d.alive = silent <= config.grace;
  d.fenced = probe.seen && silent >= config.fence_after;
  std::string wall = api::formatRfc3339(wall_now);

  json conditions = node.value("/status/conditions"_json_pointer, json::array());
  if (!conditions.is_array()) {
    conditions = json::array();
  }
  std::string ready = readyStatus(node);
  if (!d.alive) {
    bool changed = false;
    bool has_ready = false;
    for (auto& c : conditions) {
      std::string type = c.value("type", "");
      if (type != "Ready" && type != "MemoryPressure" && type != "DiskPressure" &&
          type != "PIDPressure") {
        continue;
      }
      has_ready |= type == "Ready";
      if (c.value("status", "") != "Unknown") {
        c["status"] = "Unknown";
        c["reason"] = "NodeStatusUnknown";
        c["message"] = "Kubelet stopped posting node status.";
        c["lastTransitionTime"] = wall;
        changed = true;
      }
    }
    if (!has_ready) {
      conditions.push_back({{"type", "Ready"},
                            {"status", "Unknown"},
                            {"reason", "NodeStatusNeverUpdated"},
                            {"message", "Kubelet never posted node status."},
                            {"lastHeartbeatTime", wall},
                            {"lastTransitionTime", wall}});
      changed = true;
    }
    if (changed) {
      d.conditions = conditions;
      if (ready == "True") {
        d.events.push_back(
            {"Normal", "NodeNotReady", "Node " + name + " status is now: NodeNotReady", name});
      }
    }
    ready = "Unknown";
    d.reason =
        "no lease renewal or status seen for " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()) +
        " ms (grace " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(config.grace).count()) +
        " ms)";
  } else {
    d.reason = "alive, Ready " + (ready.empty() ? std::string("not posted") : ready);
  }

  if (ready != "True" && !ready.empty()) {
    for (const auto& pod : pods_on_node) {
      if (isActivePod(pod) && isPodReady(pod)) {
        d.pods_not_ready.push_back(objectKey(pod));
      }
    }
  }

  // Taints follow the Ready condition (no Ready condition yet, a node registering: those are
  // left alone), and spec.unschedulable (a cordon): node.kubernetes.io/unschedulable NoSchedule,
  // as kube-controller-manager's TaintNodesByCondition writes it, without timeAdded.
  const bool judge_ready = !ready.empty();
  const char* want_key = !judge_ready      ? nullptr
                         : ready == "False"   ? kTaintNotReady
                         : ready == "Unknown" ? kTaintUnreachable
                                              : nullptr;
  const bool want_unschedulable = node.value("/spec/unschedulable"_json_pointer, false);
  std::vector<Taint> have = taintsOf(node);
  std::vector<Taint> next;
  bool changed = false;
  bool unschedulable_present = false;
  for (const auto& t : have) {
    if (judge_ready && managedTaint(t) && (!want_key || t.key != want_key)) {
      changed = true;  // the other condition's taint, or a healthy node's
      continue;
    }
    if (t.key == kTaintUnschedulable && t.effect == "NoSchedule") {
      if (!want_unschedulable) {
        changed = true;  // uncordoned
        continue;
      }
      unschedulable_present = true;
    }
    next.push_back(t);
  }
  if (want_key) {
    for (const char* effect : {"NoSchedule", "NoExecute"}) {
      bool present = std::any_of(next.begin(), next.end(), [&](const Taint& t) {
        return t.key == want_key && t.effect == effect;
      });
      if (!present) {
        Taint t{want_key, "", effect, std::nullopt};
        if (std::string_view(effect) == "NoExecute") {
          t.added = wall_now;  // the taint manager counts tolerationSeconds from here
        }
        next.push_back(std::move(t));
        changed = true;
      }
    }
  }
  if (want_unschedulable && !unschedulable_present) {
    next.push_back(Taint{kTaintUnschedulable, "", "NoSchedule", std::nullopt});
    changed = true;
  }
  if (changed) {
    d.taints = json::array();
    for (const auto& t : next) {
      d.taints.push_back(taintToJson(t));
    }
  }
  return d;
}

ViewVerdict observeView(ViewFreshness& view, uint64_t heard, TimePoint now, Duration window) {
  ViewVerdict verdict;
  if (!view.started) {
    view.started = true;
    view.heard = heard;
    view.heard_at = now;
  } else if (heard != view.heard) {
    Duration silence = now - view.heard_at;
    if (view.blind) {
      verdict.regained = true;
      verdict.blind_for = std::max(Duration::zero(), silence - window);
    }
    view.heard = heard;
    view.heard_at = now;
  }
  verdict.fresh = now - view.heard_at <= window;
  view.blind = !verdict.fresh;
  return verdict;
}

}  // namespace rampart::controller
