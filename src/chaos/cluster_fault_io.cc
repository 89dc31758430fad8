#include "chaos/cluster_fault_io.h"

#include <signal.h>

#include <algorithm>

#include "agent/runtime/node_cleanup.h"
#include "chaos/processes.h"
#include "cluster/lab_network.h"
#include "runtime/process.h"

namespace rampart::chaos {
namespace {

using namespace std::chrono_literals;

// Every process of the node: those in its namespace and its pods' (which live in namespaces of
// their own but in the node's cgroups).
std::vector<pid_t> nodeProcesses(const std::string& node) {
  auto pids = cluster::netnsPids(node);
  for (pid_t p : agent::runtime::nodePodProcesses(node)) {
    if (std::find(pids.begin(), pids.end(), p) == pids.end()) {
      pids.push_back(p);
    }
  }
  // Never this process (a test may run its client thread inside a node's namespace).
  std::erase_if(pids, [](pid_t p) { return p <= 1 || p == ::getpid(); });
  return pids;
}

Result<void> setLinks(const FaultPlan& plan, const char* state) {
  for (const auto& link : plan.hub_links) {
    auto r = runtime::runCommand({"ip", "-n", plan.hub_netns, "link", "set", link, state}, 5s);
    if (r.exit_code != 0) {
      return fail(ErrorCode::Unavailable, "ip -n ", plan.hub_netns, " link set ", link, " ", state,
                  ": ", r.output);
    }
  }
  return ok();
}

}  // namespace

Result<Injected> injectFault(const FaultPlan& plan) {
  Injected injected;
  switch (plan.kind.action) {
    case FaultAction::Kill:
    case FaultAction::Freeze: {
      int signal = plan.kind.action == FaultAction::Kill ? SIGKILL : SIGSTOP;
      for (const auto& node : plan.nodes) {
        for (pid_t p : nodeProcesses(node)) {
          if (::kill(p, signal) == 0) {
            injected.signalled.push_back(p);
          }
        }
        // A pod started meanwhile by a not yet stopped agent: one more pass over the cgroups.
        for (pid_t p : agent::runtime::nodePodProcesses(node)) {
          if (std::find(injected.signalled.begin(), injected.signalled.end(), p) ==
                  injected.signalled.end() &&
              ::kill(p, signal) == 0) {
            injected.signalled.push_back(p);
          }
        }
      }
      if (injected.signalled.empty()) {
        return fail(ErrorCode::FailedPrecondition, "no process runs on ", plan.nodes.front());
      }
      return injected;
    }
    case FaultAction::Partition: {
      if (auto r = setLinks(plan, "down"); !r) {
        (void)setLinks(plan, "up");
        return fail(r.error());
      }
      return injected;
    }
    case FaultAction::KillEtcd: {
      const auto& node = plan.nodes.front();
      auto in_node = cluster::netnsPids(node);
      if (std::find(in_node.begin(), in_node.end(), plan.etcd_pid) == in_node.end()) {
        return fail(ErrorCode::FailedPrecondition, node, "'s etcd (PID ",
                    std::to_string(plan.etcd_pid), ") does not run in its namespace");
      }
      if (auto r = signalProcess(plan.etcd_pid, SIGKILL, node + "'s etcd", "etcd"); !r) {
        return fail(r.error());
      }
      injected.signalled.push_back(plan.etcd_pid);
      return injected;
    }
  }
  return fail(ErrorCode::Internal, "unknown fault action");
}

Result<void> healFault(const FaultPlan& plan, const Injected& injected,
                       const HealOptions& options) {
  switch (plan.kind.action) {
    case FaultAction::Freeze: {
      for (pid_t p : injected.signalled) {
        ::kill(p, SIGCONT);
      }
      // And whatever of the node is stopped without us knowing (forked between the passes).
      for (const auto& node : plan.nodes) {
        for (pid_t p : nodeProcesses(node)) {
          ::kill(p, SIGCONT);
        }
      }
      return ok();
    }
    case FaultAction::Partition:
      return setLinks(plan, "up");
    case FaultAction::Kill:
    case FaultAction::KillEtcd: {
      auto r = runtime::runCommand({options.binary, "up", "--dir", options.dir}, options.timeout);
      if (r.exit_code != 0) {
        return fail(ErrorCode::Unavailable, "rampart up --dir ", options.dir, " (exit ",
                    std::to_string(r.exit_code), "): ",
                    r.output.size() > 800 ? r.output.substr(r.output.size() - 800) : r.output);
      }
      return ok();
    }
  }
  return fail(ErrorCode::Internal, "unknown fault action");
}

}  // namespace rampart::chaos
