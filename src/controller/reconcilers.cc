#include "controller/reconcilers.h"

#include <algorithm>

namespace rampart::controller {

const std::vector<KnownController>& knownControllers() {
  static const std::vector<KnownController> kAll = {
      {"replicaset-controller", true},        {"deployment-controller", true},
      {"statefulset-controller", true},       {"pvc-protection-controller", true},
      {"disruption-controller", true},        {"endpoints-controller", true},
      {"garbage-collector-controller", true}, {"scheduler", true},
      {"node-lifecycle-controller", true},  // kube-scheduler's job, in the same leader-elected
                                            // process
      {"database-controller", true},  // Rampart's: PostgresCluster, RedisCluster (rampart.io/v1)
  };
  return kAll;
}

Result<std::vector<std::string>> selectControllers(const std::vector<std::string>& flags) {
  std::vector<std::string> chosen;
  auto known = [](const std::string& name) {
    const auto& all = knownControllers();
    return std::any_of(all.begin(), all.end(), [&](const auto& c) { return c.name == name; });
  };
  std::vector<std::string> items;
  for (const auto& flag : flags) {
    size_t start = 0;
    while (start <= flag.size()) {
      size_t comma = flag.find(',', start);
      std::string item = flag.substr(start, comma == std::string::npos ? std::string::npos
                                                                       : comma - start);
      if (!item.empty()) {
        items.push_back(item);
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  if (items.empty()) {
    items.push_back("*");
  }
  bool star = std::find(items.begin(), items.end(), "*") != items.end();
  for (const auto& c : knownControllers()) {
    bool on = star && c.enabled_by_default;
    for (const auto& item : items) {
      if (item == c.name) {
        on = true;
      } else if (item == "-" + c.name) {
        on = false;
      }
    }
    if (on) {
      chosen.push_back(c.name);
    }
  }
  for (const auto& item : items) {
    std::string name = item.starts_with("-") ? item.substr(1) : item;
    if (item != "*" && !known(name)) {
      std::string list;
      for (const auto& c : knownControllers()) {
        list += (list.empty() ? "" : ", ") + c.name;
      }
      return fail(ErrorCode::InvalidArgument, "--controllers: unknown controller \"", name,
                  "\" (known: ", list, ")");
    }
  }
  return chosen;
}

Result<void> addControllers(Manager& manager, const std::vector<std::string>& names,
                            const ReconcilerOptions& options) {
  for (const auto& name : names) {
    if (name == "replicaset-controller") {
      manager.add(name, [options](ControllerContext& c, Enqueue e) {
        return makeReplicaSetReconciler(c, std::move(e), options);
      });
    } else if (name == "disruption-controller") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeDisruptionReconciler(c, std::move(e));
      });
    } else if (name == "deployment-controller") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeDeploymentReconciler(c, std::move(e));
      });
    } else if (name == "endpoints-controller") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeEndpointsReconciler(c, std::move(e));
      });
    } else if (name == "statefulset-controller") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeStatefulSetReconciler(c, std::move(e));
      });
    } else if (name == "pvc-protection-controller") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeClaimProtectionReconciler(c, std::move(e));
      });
    } else if (name == "garbage-collector-controller") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeGarbageReconciler(c, std::move(e));
      });
    } else if (name == "node-lifecycle-controller") {
      manager.add(name, [options](ControllerContext& c, Enqueue e) {
        return makeNodeLifecycleReconciler(c, std::move(e), options);
      });
    } else if (name == "database-controller") {
      // One reconciler (and queue) per kind, named apart in logs and metrics.
      for (auto engine : {db::Engine::Postgres, db::Engine::Redis}) {
        manager.add(name + "/" + db::pluralOf(engine),
                    [options, engine](ControllerContext& c, Enqueue e) {
                      return makeDatabaseReconciler(c, std::move(e), options, engine);
                    });
      }
    } else if (name == "scheduler") {
      manager.add(name, [](ControllerContext& c, Enqueue e) {
        return makeSchedulerReconciler(c, std::move(e));
      });
    } else {
      return fail(ErrorCode::InvalidArgument, "--controllers: unknown controller \"", name, "\"");
    }
  }
  return ok();
}

}  // namespace rampart::controller
