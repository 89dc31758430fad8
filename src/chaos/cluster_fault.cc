#include "chaos/cluster_fault.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rampart::chaos {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

struct NamedFault {
  const char* name;
  FaultKind kind;
};

constexpr NamedFault kFaults[] = {
    {"kill-master", {FaultAction::Kill, FaultScope::Master}},
    {"freeze-master", {FaultAction::Freeze, FaultScope::Master}},
    {"partition-master", {FaultAction::Partition, FaultScope::Master}},
    {"kill-worker", {FaultAction::Kill, FaultScope::Worker}},
    {"freeze-worker", {FaultAction::Freeze, FaultScope::Worker}},
    {"partition-worker", {FaultAction::Partition, FaultScope::Worker}},
    {"kill-zone", {FaultAction::Kill, FaultScope::Zone}},
    {"freeze-zone", {FaultAction::Freeze, FaultScope::Zone}},
    {"partition-zone", {FaultAction::Partition, FaultScope::Zone}},
    {"etcd-member", {FaultAction::KillEtcd, FaultScope::Master}},
    {"two-masters", {FaultAction::Kill, FaultScope::TwoMasters}},
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

int64_t ms(Duration d) { return duration_cast<milliseconds>(d).count(); }

std::string msText(Duration d) { return std::to_string(ms(d)) + " ms"; }

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

const cluster::NodeState* findNode(const cluster::ClusterState& state, const std::string& name) {
  return state.find(name);
}

}  // namespace

Result<FaultKind> parseFault(std::string_view name) {
  for (const auto& f : kFaults) {
    if (name == f.name) {
      return f.kind;
    }
  }
  return fail(ErrorCode::InvalidArgument, "unknown fault \"", std::string(name), "\" (expected ",
              join(faultNames()), ")");
}

std::string faultName(FaultKind kind) {
  for (const auto& f : kFaults) {
    if (f.kind.action == kind.action && f.kind.scope == kind.scope) {
      return f.name;
    }
  }
  return "unknown";
}

std::vector<std::string> faultNames() {
  std::vector<std::string> names;
  for (const auto& f : kFaults) {
    names.emplace_back(f.name);
  }
  return names;
}

Result<FaultPlan> planFault(const cluster::ClusterState& state, FaultKind kind,
                            const std::string& target, const PlanFacts& facts) {
  FaultPlan plan;
  plan.kind = kind;
  auto masters = state.masters();
  std::vector<const cluster::NodeState*> workers;
  for (const auto& n : state.nodes) {
    if (n.spec.role == cluster::Role::Worker) {
      workers.push_back(&n);
    }
  }
  auto mostPods = [&]() -> const cluster::NodeState* {
    const cluster::NodeState* best = nullptr;
    int best_count = -1;
    for (const auto* w : workers) {
      auto it = facts.pods_by_node.find(w->spec.name);
      int count = it == facts.pods_by_node.end() ? 0 : it->second;
      if (count > best_count) {  // strictly more: ties keep the first
        best = w;
        best_count = count;
      }
    }
    return best;
  };
  auto wantRole = [&](cluster::Role role) -> Result<const cluster::NodeState*> {
    const auto* node = findNode(state, target);
    if (node == nullptr) {
      return fail(ErrorCode::InvalidArgument, "--target ", target, ": no such node in cluster ",
                  state.name);
    }
    if (node->spec.role != role) {
      return fail(ErrorCode::InvalidArgument, "--target ", target, " is not a ",
                  std::string(cluster::roleName(role)));
    }
    return node;
  };

  switch (kind.scope) {
    case FaultScope::Master: {
      if (masters.empty()) {
        return fail(ErrorCode::FailedPrecondition, "cluster ", state.name, " has no master");
      }
      const cluster::NodeState* node = nullptr;
      if (!target.empty()) {
        auto n = wantRole(cluster::Role::Master);
        if (!n) {
          return fail(n.error());
        }
        node = *n;
      } else if (kind.action != FaultAction::KillEtcd) {
        node = findNode(state, facts.controller_holder);
        if (node == nullptr || node->spec.role != cluster::Role::Master) {
          node = masters.front();
        }
      } else {
        node = masters.front();
      }
      plan.target = node->spec.name;
      plan.nodes = {node->spec.name};
      if (kind.action == FaultAction::KillEtcd) {
        auto it = node->pids.find("etcd");
        if (it == node->pids.end() || it->second <= 0) {
          return fail(ErrorCode::FailedPrecondition, node->spec.name,
                      " has no recorded etcd member");
        }
        plan.etcd_pid = it->second;
      }
      break;
    }
    case FaultScope::Worker: {
      if (workers.empty()) {
        return fail(ErrorCode::FailedPrecondition, "cluster ", state.name, " has no worker");
      }
      const cluster::NodeState* node = nullptr;
      if (!target.empty()) {
        auto n = wantRole(cluster::Role::Worker);
        if (!n) {
          return fail(n.error());
        }
        node = *n;
      } else {
        node = mostPods();
      }
      plan.target = node->spec.name;
      plan.nodes = {node->spec.name};
      break;
    }
    case FaultScope::Zone: {
      std::string zone = target;
      if (zone.empty()) {
        const auto* w = mostPods();
        const auto* holder = findNode(state, facts.controller_holder);
        zone = w ? w->spec.zone : holder ? holder->spec.zone : state.nodes.front().spec.zone;
      }
      for (const auto& n : state.nodes) {
        if (n.spec.zone == zone) {
          plan.nodes.push_back(n.spec.name);
        }
      }
      if (plan.nodes.empty()) {
        return fail(ErrorCode::InvalidArgument, "--target ", zone, ": no node of cluster ",
                    state.name, " is in that zone");
      }
      plan.target = zone;
      break;
    }
    case FaultScope::TwoMasters: {
      if (masters.size() < 3) {
        return fail(ErrorCode::FailedPrecondition, "two-masters needs at least 3 masters; ",
                    state.name, " has ", std::to_string(masters.size()));
      }
      std::string stays = masters.back()->spec.name;
      if (!target.empty()) {
        auto n = wantRole(cluster::Role::Master);
        if (!n) {
          return fail(n.error());
        }
        stays = (*n)->spec.name;
      }
      for (const auto* m : masters) {
        if (m->spec.name != stays && plan.nodes.size() < 2) {
          plan.nodes.push_back(m->spec.name);
        }
      }
      plan.target = stays;
      break;
    }
  }

  for (const auto& n : state.nodes) {
    if (!contains(plan.nodes, n.spec.name) || kind.action == FaultAction::KillEtcd) {
      plan.survivors.push_back(n.spec.name);
    }
  }
  // The client: a worker first (what a pod sees), else a master; never a faulted node. An
  // etcd-member fault leaves its node's other processes running, but the client still avoids it.
  for (auto role : {cluster::Role::Worker, cluster::Role::Master}) {
    for (const auto& n : state.nodes) {
      if (plan.probe_node.empty() && n.spec.role == role && !contains(plan.nodes, n.spec.name)) {
        plan.probe_node = n.spec.name;
      }
    }
  }
  if (plan.probe_node.empty()) {
    return fail(ErrorCode::FailedPrecondition, "the fault touches every node of ", state.name,
                ": nowhere left to run the API client");
  }

  // Quorum: etcd keeps serving while a majority of its members run (lost * 2 < members), and a
  // lost member takes its API server with it except for etcd-member.
  size_t masters_lost = 0;
  for (const auto* m : masters) {
    masters_lost += contains(plan.nodes, m->spec.name);
  }
  plan.api_stays_available = masters_lost * 2 < masters.size();
  plan.hits_controller =
      kind.action != FaultAction::KillEtcd && contains(plan.nodes, facts.controller_holder);
  plan.heal_by_up = kind.action == FaultAction::Kill || kind.action == FaultAction::KillEtcd;
  plan.hub_netns = cluster::hubNamespace(state.name);
  if (kind.action == FaultAction::Partition) {
    for (const auto& name : plan.nodes) {
      plan.hub_links.push_back(cluster::hubLinkName(findNode(state, name)->spec.ordinal));
    }
  }
  switch (kind.action) {
    case FaultAction::Kill:
      plan.summary = "SIGKILL every process and pod of " + join(plan.nodes);
      break;
    case FaultAction::Freeze:
      plan.summary = "SIGSTOP every process and pod of " + join(plan.nodes);
      break;
    case FaultAction::Partition:
      plan.summary = "link down in " + plan.hub_netns + ": " + join(plan.hub_links) + " (" +
                     join(plan.nodes) + ")";
      break;
    case FaultAction::KillEtcd:
      plan.summary = "SIGKILL the etcd member of " + plan.nodes.front() + " (pid " +
                     std::to_string(plan.etcd_pid) + ")";
      break;
  }
  return plan;
}

std::optional<std::pair<Duration, std::string>> handoverTime(const ClusterObservations& obs) {
  for (const auto& h : obs.holders) {
    if (h.at >= obs.fault_at && !h.holder.empty() && h.holder != obs.holder_before) {
      return std::make_pair(h.at - obs.fault_at, h.holder);
    }
  }
  return std::nullopt;
}

std::vector<PodView> lostPods(const std::vector<PodView>& before,
                              const std::vector<std::string>& faulted) {
  std::vector<PodView> lost;
  for (const auto& p : before) {
    if (p.ready && p.owner.starts_with("ReplicaSet/") && contains(faulted, p.node)) {
      lost.push_back(p);
    }
  }
  return lost;
}

bool replaced(const std::vector<PodView>& before, const std::vector<PodView>& now,
              const std::vector<std::string>& faulted) {
  std::map<std::string, int> needed;  // owner -> copies lost
  for (const auto& p : lostPods(before, faulted)) {
    ++needed[p.ns + "/" + p.owner];
  }
  std::set<std::string> old_names;
  for (const auto& p : before) {
    old_names.insert(p.ns + "/" + p.name);
  }
  for (const auto& p : now) {
    auto it = needed.find(p.ns + "/" + p.owner);
    if (it != needed.end() && p.ready && !p.node.empty() && !contains(faulted, p.node) &&
        !old_names.count(p.ns + "/" + p.name)) {
      --it->second;
    }
  }
  return std::all_of(needed.begin(), needed.end(), [](const auto& n) { return n.second <= 0; });
}

std::vector<std::string> disturbedSurvivors(const ClusterObservations& obs) {
  std::set<std::string> disturbed;
  for (const auto& p : obs.pods_before) {
    if (!p.ready || !p.owner.starts_with("ReplicaSet/") || contains(obs.plan.nodes, p.node)) {
      continue;
    }
    for (const auto& s : obs.pod_samples) {
      if (s.at < obs.fault_at) {
        continue;
      }
      auto it = std::find_if(s.pods.begin(), s.pods.end(),
                             [&](const PodView& q) { return q.ns == p.ns && q.name == p.name; });
      if (it == s.pods.end() || !it->ready) {
        disturbed.insert(p.ns + "/" + p.name);
        break;
      }
    }
  }
  return {disturbed.begin(), disturbed.end()};
}

std::optional<Duration> replacementTime(const ClusterObservations& obs) {
  if (lostPods(obs.pods_before, obs.plan.nodes).empty()) {
    return std::nullopt;
  }
  for (const auto& s : obs.pod_samples) {
    if (s.at >= obs.fault_at && replaced(obs.pods_before, s.pods, obs.plan.nodes)) {
      return s.at - obs.fault_at;
    }
  }
  return std::nullopt;
}

Result<NeverTwice> checkNeverTwice(const std::string& history) {
  std::map<std::string, std::pair<int64_t, int64_t>> spans;  // uid -> [first, last] wall ns
  std::vector<std::string> lines;
  std::istringstream in(history);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    std::istringstream fields(lines[i]);
    std::string uid;
    std::string rest;
    int64_t at = 0;
    if (!(fields >> uid >> at) || (fields >> rest)) {
      // A copy killed mid-write may tear the last line; anything else is corruption.
      if (i + 1 == lines.size()) {
        continue;
      }
      return fail(ErrorCode::InvalidArgument, "history line ", std::to_string(i + 1),
                  " is not \"<uid> <ns>\": ", lines[i]);
    }
    auto [it, inserted] = spans.try_emplace(uid, at, at);
    it->second.first = std::min(it->second.first, at);
    it->second.second = std::max(it->second.second, at);
  }
  NeverTwice r;
  r.copies = spans.size();
  std::vector<std::pair<std::pair<int64_t, int64_t>, std::string>> ordered;
  for (const auto& [uid, span] : spans) {
    ordered.push_back({span, uid});
  }
  std::sort(ordered.begin(), ordered.end());
  // Sorted by first write: copy i overlaps a later one iff its last write is not before the next
  // copy's first (any later copy starts no earlier than the next one).
  int64_t latest_end = std::numeric_limits<int64_t>::min();
  std::string latest_uid;
  for (size_t i = 0; i < ordered.size(); ++i) {
    const auto& [span, uid] = ordered[i];
    if (i > 0) {
      if (span.first <= latest_end) {
        r.overlap = true;
        r.detail = "copies " + latest_uid + " and " + uid + " ran at once";
      } else {
        Duration gap = std::chrono::nanoseconds(span.first - latest_end);
        if (!r.gap || gap < *r.gap) {
          r.gap = gap;
        }
      }
    }
    if (span.second > latest_end) {
      latest_end = span.second;
      latest_uid = uid;
    }
  }
  return r;
}

bool ClusterVerdict::passed() const {
  return std::all_of(checks.begin(), checks.end(),
                     [](const Check& c) { return !c.applicable || c.passed; });
}

ClusterVerdict judge(const ClusterObservations& obs, const ClusterLimits& limits) {
  ClusterVerdict v;
  auto& f = v.figures;
  const auto& plan = obs.plan;

  // The client's window: from the last second before the fault, so a gap that spans the fault
  // counts, to the end.
  std::vector<cluster::ProbeSample> window;
  std::vector<cluster::ProbeSample> during;  // [fault, heal)
  // After the heal: from the heal itself when the API was meant to stay up (healing must not
  // break it), from the moment the cluster is healthy again when it was meant to go down.
  std::optional<TimePoint> after_from =
      plan.api_stays_available ? std::optional<TimePoint>(obs.heal_at) : obs.healthy_at;
  for (const auto& s : obs.probe) {
    if (s.start >= obs.fault_at - std::chrono::seconds(1)) {
      window.push_back(s);
    }
    if (s.start >= obs.fault_at && s.start < obs.heal_at) {
      during.push_back(s);
    }
    if (after_from && s.start >= *after_from && !s.ok) {
      ++f.failed_after_heal;
    }
  }
  auto summary = cluster::summarize(window);
  f.requests = summary.requests;
  f.failed = summary.failed;
  f.in_flight = summary.in_flight;
  f.longest_gap = summary.longest_gap;
  f.first_error = summary.first_error;

  if (plan.api_stays_available) {
    Check c{"api"};
    if (plan.kind.action == FaultAction::Kill) {
      // A request the dying server already held is lost with it whatever the balancer does;
      // every other one must have gone to a live server.
      c.passed = f.failed == f.in_flight && f.longest_gap <= limits.kill_gap && f.requests > 0;
      c.limit = "0 failed except in flight on the killed server, longest gap <= " +
                msText(limits.kill_gap);
    } else {
      c.passed = f.longest_gap <= limits.stall_gap && f.requests > 0;
      c.limit = "longest gap <= " + msText(limits.stall_gap);
    }
    c.measured = std::to_string(f.requests) + " requests, " + std::to_string(f.failed) +
                 " failed (" + std::to_string(f.in_flight) + " in flight), longest gap " +
                 msText(f.longest_gap);
    v.checks.push_back(c);
  } else {
    auto d = cluster::summarize(during);
    Check c{"api-unavailable"};
    c.passed = d.failed > 0;
    c.measured = std::to_string(d.failed) + " of " + std::to_string(d.requests) +
                 " requests failed during the fault";
    c.limit = "> 0 failed (quorum lost)";
    v.checks.push_back(c);
  }
  {
    Check c{"api-after-heal"};
    c.applicable = after_from.has_value();
    c.passed = c.applicable && f.failed_after_heal == 0;
    c.measured = c.applicable ? std::to_string(f.failed_after_heal) + " failed"
                              : "never healthy: not measured";
    c.limit = "0 failed";
    v.checks.push_back(c);
  }
  {
    Check c{"controller-handover"};
    c.applicable = plan.hits_controller && plan.api_stays_available && !obs.holder_before.empty();
    c.limit = "<= " + msText(limits.handover);
    if (auto h = handoverTime(obs)) {
      f.handover = h->first;
      f.new_holder = h->second;
      c.measured = obs.holder_before + " -> " + h->second + " after " + msText(h->first);
      c.passed = h->first <= limits.handover;
    } else {
      c.measured = c.applicable ? "the Lease stayed with " + obs.holder_before
                                : "the fault does not hit the acting controller";
      c.passed = false;
    }
    v.checks.push_back(c);
  }
  {
    Check c{"pod-replacement"};
    auto lost = lostPods(obs.pods_before, plan.nodes);
    f.pods_lost = lost.size();
    c.applicable =
        !lost.empty() && plan.api_stays_available && plan.kind.action != FaultAction::KillEtcd;
    c.limit = "<= " + msText(limits.replacement);
    f.replacement = replacementTime(obs);
    if (f.replacement) {
      c.measured =
          std::to_string(lost.size()) + " pods Ready elsewhere after " + msText(*f.replacement);
      c.passed = *f.replacement <= limits.replacement;
    } else {
      c.measured = lost.empty() ? "no ReplicaSet pod on the faulted nodes"
                                : std::to_string(lost.size()) + " pods not replaced";
      c.passed = false;
    }
    v.checks.push_back(c);
  }
  {
    Check c{"survivor-pods"};
    for (const auto& p : obs.pods_before) {
      f.survivor_pods +=
          p.ready && p.owner.starts_with("ReplicaSet/") && !contains(plan.nodes, p.node);
    }
    f.survivor_pods_disturbed = disturbedSurvivors(obs);
    c.applicable = plan.api_stays_available && f.survivor_pods > 0;
    c.passed = f.survivor_pods_disturbed.empty();
    c.measured = !plan.api_stays_available ? "the API is down: not observed"
                 : f.survivor_pods == 0    ? "no ReplicaSet pod on the survivors"
                 : f.survivor_pods_disturbed.empty()
                     ? std::to_string(f.survivor_pods) + " pods on the survivors stayed Ready"
                     : std::to_string(f.survivor_pods_disturbed.size()) + " of " +
                           std::to_string(f.survivor_pods) +
                           " went away or not Ready: " + join(f.survivor_pods_disturbed);
    c.limit = "all stay Ready";
    v.checks.push_back(c);
  }
  {
    Check c{"static-stability"};
    c.applicable = !plan.api_stays_available && !obs.pod_pids_before.empty();
    for (pid_t p : obs.pod_pids_before) {
      if (std::find(obs.pod_pids_during.begin(), obs.pod_pids_during.end(), p) ==
          obs.pod_pids_during.end()) {
        ++f.pod_processes_lost;
      }
    }
    c.passed = f.pod_processes_lost == 0;
    c.measured = c.applicable ? std::to_string(obs.pod_pids_before.size() - f.pod_processes_lost) +
                                    " of " + std::to_string(obs.pod_pids_before.size()) +
                                    " pod processes on the survivors still run"
                              : "no pod process on the survivors";
    c.limit = "all still run";
    v.checks.push_back(c);
  }
  {
    Check c{"healthy-after"};
    c.limit = "rampart status: healthy";
    if (obs.healthy_at) {
      f.healthy_after = *obs.healthy_at - obs.heal_at;
      c.measured = "healthy " + msText(*f.healthy_after) + " after the heal";
    } else {
      c.measured = "not healthy";
      c.passed = false;
    }
    v.checks.push_back(c);
  }
  if (obs.statefulset_history) {
    Check c{"never-twice"};
    c.limit = "no two copies at once";
    auto n = checkNeverTwice(*obs.statefulset_history);
    if (!n) {
      c.passed = false;
      c.measured = n.error().message;
    } else {
      c.passed = !n->overlap;
      f.statefulset_gap = n->gap;
      c.measured = n->overlap ? n->detail
                              : std::to_string(n->copies) + " copies" +
                                    (n->gap ? ", " + msText(*n->gap) + " apart" : "");
    }
    v.checks.push_back(c);
  }
  return v;
}

std::string verdictTable(const ClusterObservations& obs, const ClusterVerdict& verdict) {
  std::string out = "fault " + faultName(obs.plan.kind) + ": " + obs.plan.summary + "\nclient in " +
                    obs.plan.probe_node + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-5s %-60s %s\n", "CHECK", "", "MEASURED", "LIMIT");
  out += line;
  for (const auto& c : verdict.checks) {
    std::snprintf(line, sizeof line, "%-20s %-5s %-60s %s\n", c.name.c_str(),
                  !c.applicable ? "n/a"
                  : c.passed    ? "PASS"
                                : "FAIL",
                  c.measured.c_str(), c.applicable ? c.limit.c_str() : "");
    out += line;
  }
  out += verdict.passed() ? "PASS\n" : "FAIL\n";
  return out;
}

std::string verdictJson(const ClusterObservations& obs, const ClusterVerdict& verdict) {
  using nlohmann::json;
  const auto& f = verdict.figures;
  auto optMs = [](const std::optional<Duration>& d) { return d ? json(ms(*d)) : json(); };
  json j;
  j["fault"] = faultName(obs.plan.kind);
  j["target"] = obs.plan.target;
  j["nodes"] = obs.plan.nodes;
  j["summary"] = obs.plan.summary;
  j["probe_node"] = obs.plan.probe_node;
  j["api_expected_available"] = obs.plan.api_stays_available;
  j["figures"] = {{"requests", f.requests},
                  {"failed", f.failed},
                  {"in_flight", f.in_flight},
                  {"longest_gap_ms", ms(f.longest_gap)},
                  {"failed_after_heal", f.failed_after_heal},
                  {"first_error", f.first_error},
                  {"controller_before", obs.holder_before},
                  {"controller_after", f.new_holder},
                  {"handover_ms", optMs(f.handover)},
                  {"pods_lost", f.pods_lost},
                  {"replacement_ms", optMs(f.replacement)},
                  {"survivor_pods", f.survivor_pods},
                  {"survivor_pods_disturbed", f.survivor_pods_disturbed},
                  {"pod_processes_before", obs.pod_pids_before.size()},
                  {"pod_processes_lost", f.pod_processes_lost},
                  {"healthy_after_ms", optMs(f.healthy_after)},
                  {"statefulset_gap_ms", optMs(f.statefulset_gap)},
                  {"fault_ms", ms(obs.heal_at - obs.fault_at)}};
  j["checks"] = json::array();
  for (const auto& c : verdict.checks) {
    j["checks"].push_back({{"name", c.name},
                           {"applicable", c.applicable},
                           {"passed", c.passed},
                           {"measured", c.measured},
                           {"limit", c.limit}});
  }
  j["passed"] = verdict.passed();
  return j.dump(2);
}

}  // namespace rampart::chaos
