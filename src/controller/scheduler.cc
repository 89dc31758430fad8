#include "controller/scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "api/selector.h"
#include "controller/pod_util.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

constexpr const char* kHostnameKey = "kubernetes.io/hostname";
constexpr const char* kZoneKey = "topology.kubernetes.io/zone";
// kube-scheduler's score for a pod that requests nothing (so empty pods still spread).
constexpr int64_t kDefaultMilliCpu = 100;
constexpr int64_t kDefaultMemoryMilli = int64_t{200} * 1024 * 1024 * 1000;
constexpr int64_t kMaxScore = 100;
// The default profile's plugin weights.
constexpr int64_t kWeightTaint = 3;
constexpr int64_t kWeightNodeAffinity = 2;
constexpr int64_t kWeightSpread = 2;
constexpr int64_t kWeightPodAffinity = 2;
constexpr int64_t kWeightResources = 1;

// kube-scheduler's reasons (the FailedScheduling histogram keys).
constexpr const char* kReasonUnschedulable = "node(s) were unschedulable";
constexpr const char* kReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
constexpr const char* kReasonTooManyPods = "Too many pods";
constexpr const char* kReasonCpu = "Insufficient cpu";
constexpr const char* kReasonMemory = "Insufficient memory";
constexpr const char* kReasonSpread = "node(s) didn't match pod topology spread constraints";
constexpr const char* kReasonSpreadLabel =
    "node(s) didn't match pod topology spread constraints (missing required label)";
constexpr const char* kReasonAffinity = "node(s) didn't match pod affinity rules";
constexpr const char* kReasonAntiAffinity = "node(s) didn't match pod anti-affinity rules";
constexpr const char* kReasonExistingAnti =
    "node(s) didn't satisfy existing pods anti-affinity rules";

// kube-scheduler's FitError text: "0/6 nodes are available: 3 Insufficient memory, 3 node(s)
// didn't match pod anti-affinity rules." — the count-prefixed reasons sorted as text.
std::string nodesAvailable(size_t nodes, const std::map<std::string, int>& reasons) {
  std::vector<std::string> parts;
  for (const auto& [reason, count] : reasons) {
    parts.push_back(std::to_string(count) + " " + reason);
  }
  std::sort(parts.begin(), parts.end());
  std::string message = "0/" + std::to_string(nodes) + " nodes are available:";
  for (size_t k = 0; k < parts.size(); ++k) {
    message += (k ? ", " : " ") + parts[k];
  }
  return message + ".";
}

struct NodeInfo {
  std::string name;
  api::Labels labels;
  // With the NoSchedule taints node lifecycle writes from the node's state (not-ready/unreachable
  // from the Ready condition, unschedulable from spec.unschedulable), implied before it does.
  std::vector<Taint> taints;
  bool unschedulable = false;
  int64_t alloc_cpu = 0;  // millicores
  int64_t alloc_mem = 0;  // millibytes
  int64_t alloc_pods = 0;
  int64_t used_cpu = 0;
  int64_t used_mem = 0;
  int64_t pods = 0;
  int64_t nonzero_cpu = 0;  // requests with the scoring defaults applied
  int64_t nonzero_mem = 0;
};

// Which namespaces a term or constraint counts pods in.
struct NamespaceSet {
  bool all = false;
  std::vector<std::string> names;  // sorted
  bool contains(const std::string& ns) const {
    return all || std::binary_search(names.begin(), names.end(), ns);
  }
  std::string key() const {
    if (all) {
      return "*";
    }
    std::string out;
    for (const auto& n : names) {
      out += n + ",";
    }
    return out;
  }
};

// Per node, how many accounted pods match a (namespaces, selector). Kept up to date by addPod.
// Spread's counters skip terminating pods (deletionTimestamp set), as kube-scheduler's
// PodTopologySpread does (kubernetes#87621: a rolling update's old pods would otherwise skew
// the new ones); inter-pod affinity counts them, as kube-scheduler's InterPodAffinity does.
// A zone whose only node died then counts 0 for spread; a constraint with nodeTaintsPolicy
// Honor leaves that node (tainted unreachable) out of the domains, so its replacements schedule.
struct MatchCounter {
  NamespaceSet namespaces;
  api::LabelSelector selector;
  std::vector<int> per_node;
  bool skip_terminating = false;
};

// Per node, how many accounted pods carry one required anti-affinity term (for symmetry).
struct AntiGroup {
  NamespaceSet namespaces;
  api::LabelSelector selector;
  std::string topology_key;
  std::vector<int> per_node;
};

struct Topology {
  std::vector<int> domain;  // per node; -1 when the node lacks the label
  int domains = 0;
};

struct PlacedPod {
  std::string key;  // namespace/name
  std::string ns;
  api::Labels labels;
  int node = 0;
  int64_t cpu = 0;
  int64_t mem = 0;
  std::vector<int> anti_groups;  // the groups its required anti-affinity terms joined
  bool terminating = false;      // deletionTimestamp set: still holds resources, spreads nothing
};

struct AffinityTerm {
  int counter = -1;  // -1: a selector that matches nothing
  std::string topology_key;
  int64_t weight = 0;
  bool self_match = false;  // the incoming pod matches its own term
  NamespaceSet namespaces;
  api::LabelSelector selector;
};

struct SpreadConstraint {
  int counter = -1;
  std::string topology_key;
  int64_t max_skew = 1;
  int64_t min_domains = 1;
  bool hard = true;
  bool self_match = false;
  // nodeAffinityPolicy Honor (the default): only nodes matching the pod's nodeSelector and
  // required node affinity are domains and have their pods counted.
  bool honor_node_affinity = true;
  // nodeTaintsPolicy Honor (default Ignore): nodes with a NoSchedule/NoExecute taint the pod
  // does not tolerate are neither domains nor counted.
  bool honor_node_taints = false;
};

// A NodeInclusionPolicy field ("Honor" | "Ignore"), absent or null meaning `fallback`.
Result<bool> honorPolicy(const json& constraint, const char* field, bool fallback,
                         const std::string& path) {
  auto it = constraint.find(field);
  if (it == constraint.end() || it->is_null()) {
    return fallback;
  }
  if (*it == "Honor") {
    return true;
  }
  if (*it == "Ignore") {
    return false;
  }
  return fail(ErrorCode::InvalidArgument, path, ".", field, ": Unsupported value: ", it->dump(),
              ": supported values: \"Honor\", \"Ignore\"");
}

struct NodeTerm {
  std::vector<api::LabelRequirement> labels;
  std::vector<api::LabelRequirement> fields;  // metadata.name only
  bool matches(const NodeInfo& node) const {
    if (labels.empty() && fields.empty()) {
      return false;  // an empty term matches no node
    }
    for (const auto& r : labels) {
      if (!r.matches(node.labels)) {
        return false;
      }
    }
    api::Labels name = {{"metadata.name", node.name}};
    for (const auto& r : fields) {
      if (!r.matches(name)) {
        return false;
      }
    }
    return true;
  }
};

Result<api::LabelRequirement> nodeRequirement(const json& e, const std::string& path) {
  using Op = api::LabelRequirement::Op;
  api::LabelRequirement r;
  r.key = e.value("key", "");
  std::string op = e.value("operator", "");
  if (auto it = e.find("values"); it != e.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) {
        r.values.push_back(v.get<std::string>());
      }
    }
  }
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  if (op == "In") {
    r.op = Op::In;
  } else if (op == "NotIn") {
    r.op = Op::NotIn;
  } else if (op == "Exists") {
    r.op = Op::Exists;
  } else if (op == "DoesNotExist") {
    r.op = Op::DoesNotExist;
  } else if (op == "Gt" || op == "Lt") {
    r.op = op == "Gt" ? Op::GreaterThan : Op::LessThan;
    if (r.values.size() != 1 || r.values[0].empty() ||
        r.values[0].find_first_not_of("-0123456789") != std::string::npos) {
      return fail(ErrorCode::InvalidArgument, path,
                  ".values: Required value: must be specified single value when `operator` is "
                  "'Lt' or 'Gt'");
    }
  } else {
    return fail(ErrorCode::InvalidArgument, path, ".operator: Unsupported value: \"", op, "\"");
  }
  return r;
}

Result<std::vector<NodeTerm>> nodeTerms(const json& terms, const std::string& path) {
  std::vector<NodeTerm> out;
  if (!terms.is_array()) {
    return out;
  }
  for (size_t i = 0; i < terms.size(); ++i) {
    NodeTerm term;
    std::string at = path + "[" + std::to_string(i) + "]";
    for (const char* kind : {"matchExpressions", "matchFields"}) {
      auto it = terms[i].find(kind);
      if (it == terms[i].end() || !it->is_array()) {
        continue;
      }
      for (size_t j = 0; j < it->size(); ++j) {
        auto r = nodeRequirement((*it)[j], at + "." + kind + "[" + std::to_string(j) + "]");
        if (!r) {
          return fail(r.error());
        }
        (std::string_view(kind) == "matchFields" ? term.fields : term.labels)
            .push_back(std::move(*r));
      }
    }
    out.push_back(std::move(term));
  }
  return out;
}

// The pod as the filters and scores read it, parsed once per decision.
struct PodInfo {
  std::string key;
  std::string ns;
  api::Labels labels;
  int64_t cpu = 0;
  int64_t mem = 0;
  std::vector<Toleration> tolerations;
  api::Labels node_selector;
  std::optional<std::vector<NodeTerm>> required_terms;  // nullopt: no required node affinity
  std::vector<std::pair<int64_t, NodeTerm>> preferred_terms;
  std::vector<AffinityTerm> affinity;       // required pod affinity
  std::vector<AffinityTerm> anti;           // required anti-affinity
  std::vector<AffinityTerm> pref_affinity;  // weighted
  std::vector<AffinityTerm> pref_anti;
  std::vector<SpreadConstraint> spread;
  bool system_default_spread = false;
  bool preempt_never = false;  // spec.preemptionPolicy Never
};

bool isTerminating(const json& pod) {
  const auto at = "/metadata/deletionTimestamp"_json_pointer;
  return pod.contains(at) && !pod[at].is_null();
}

bool hasControllerOwner(const json& pod) {
  if (!pod.contains("/metadata/ownerReferences"_json_pointer)) {
    return false;
  }
  const json& refs = pod["/metadata/ownerReferences"_json_pointer];
  if (!refs.is_array()) {
    return false;
  }
  return std::any_of(refs.begin(), refs.end(),
                     [](const json& r) { return r.is_object() && r.value("controller", false); });
}

}  // namespace

struct ClusterState::Impl {
  std::vector<NodeInfo> nodes;
  std::unordered_map<std::string, int> node_index;
  std::vector<PlacedPod> placed;
  std::unordered_map<std::string, size_t> placed_index;  // key → index in `placed`
  std::vector<MatchCounter> counters;
  std::unordered_map<std::string, int> counter_index;
  std::vector<AntiGroup> anti_groups;
  std::unordered_map<std::string, int> anti_index;
  std::unordered_map<std::string, Topology> topologies;

  const Topology& topology(const std::string& key) {
    auto it = topologies.find(key);
    if (it != topologies.end()) {
      return it->second;
    }
    Topology t;
    std::unordered_map<std::string, int> ids;
    t.domain.resize(nodes.size(), -1);
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto l = nodes[i].labels.find(key);
      if (l == nodes[i].labels.end()) {
        continue;
      }
      auto [id, added] = ids.emplace(l->second, static_cast<int>(ids.size()));
      t.domain[i] = id->second;
    }
    t.domains = static_cast<int>(ids.size());
    return topologies.emplace(key, std::move(t)).first->second;
  }

  int counter(const NamespaceSet& namespaces, const api::LabelSelector& selector,
              bool skip_terminating = false) {
    std::string key =
        namespaces.key() + "|" + selector.toString() + (skip_terminating ? "|live" : "");
    auto it = counter_index.find(key);
    if (it != counter_index.end()) {
      return it->second;
    }
    MatchCounter c{namespaces, selector, std::vector<int>(nodes.size(), 0), skip_terminating};
    for (const auto& p : placed) {
      if (counts(c, p)) {
        ++c.per_node[static_cast<size_t>(p.node)];
      }
    }
    counters.push_back(std::move(c));
    int index = static_cast<int>(counters.size() - 1);
    counter_index.emplace(std::move(key), index);
    return index;
  }

  static bool counts(const MatchCounter& c, const PlacedPod& p) {
    return !(c.skip_terminating && p.terminating) && c.namespaces.contains(p.ns) &&
           c.selector.matches(p.labels);
  }

  void account(const json& pod, int node_index_value) {
    PlacedPod placed_pod{objectKey(pod),
                         pod.value("/metadata/namespace"_json_pointer, std::string("default")),
                         stringMap(pod, "/metadata/labels"),
                         node_index_value,
                         0,
                         0,
                         {},
                         isTerminating(pod)};
    if (auto it = placed_index.find(placed_pod.key); it != placed_index.end()) {
      if (placed[it->second].node == node_index_value &&
          placed[it->second].terminating == placed_pod.terminating) {
        return;  // already accounted there (assumed by schedule(), then seen bound)
      }
      unaccount(placed_pod.key);
    }
    auto requests = podRequests(pod);
    placed_pod.cpu = requests ? requests->cpu.milli() : 0;
    placed_pod.mem = requests ? requests->memory.milli() : 0;
    // Its required anti-affinity terms now bind every later pod they select (symmetry).
    const auto anti_at =
        "/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution"_json_pointer;
    if (pod.contains(anti_at) && pod[anti_at].is_array()) {
      for (const auto& term : pod[anti_at]) {
        auto parsed = parseTerm(term, placed_pod.ns, placed_pod.labels, 0, "", false);
        if (!parsed || parsed->counter == -2) {
          continue;
        }
        std::string key = parsed->namespaces.key() + "|" + parsed->selector.toString() + "|" +
                          parsed->topology_key;
        auto it = anti_index.find(key);
        if (it == anti_index.end()) {
          anti_groups.push_back(AntiGroup{parsed->namespaces, parsed->selector,
                                          parsed->topology_key, std::vector<int>(nodes.size(), 0)});
          it = anti_index.emplace(key, static_cast<int>(anti_groups.size() - 1)).first;
        }
        placed_pod.anti_groups.push_back(it->second);
      }
    }
    apply(placed_pod, +1);
    placed_index[placed_pod.key] = placed.size();
    placed.push_back(std::move(placed_pod));
  }

  void unaccount(const std::string& key) {
    auto it = placed_index.find(key);
    if (it == placed_index.end()) {
      return;
    }
    size_t index = it->second;
    apply(placed[index], -1);
    placed_index.erase(it);
    if (index + 1 != placed.size()) {
      placed[index] = std::move(placed.back());
      placed_index[placed[index].key] = index;
    }
    placed.pop_back();
  }

  // Adds (sign +1) or removes (−1) a pod's share of its node's accounting.
  void apply(const PlacedPod& p, int sign) {
    NodeInfo& node = nodes[static_cast<size_t>(p.node)];
    node.used_cpu += sign * p.cpu;
    node.used_mem += sign * p.mem;
    node.nonzero_cpu += sign * (p.cpu > 0 ? p.cpu : kDefaultMilliCpu);
    node.nonzero_mem += sign * (p.mem > 0 ? p.mem : kDefaultMemoryMilli);
    node.pods += sign;
    for (auto& c : counters) {
      if (counts(c, p)) {
        c.per_node[static_cast<size_t>(p.node)] += sign;
      }
    }
    for (int g : p.anti_groups) {
      anti_groups[static_cast<size_t>(g)].per_node[static_cast<size_t>(p.node)] += sign;
    }
  }

  // A pod (anti-)affinity term. counter == -2 marks a selector that matches nothing (absent).
  // `make_counter` false: parse only (for the anti-affinity of pods being accounted).
  Result<AffinityTerm> parseTerm(const json& term, const std::string& ns, const api::Labels& labels,
                                 int64_t weight, const std::string& path, bool make_counter) {
    AffinityTerm t;
    t.weight = weight;
    t.topology_key = term.value("topologyKey", "");
    if (t.topology_key.empty()) {
      return fail(ErrorCode::InvalidArgument, path,
                  ".topologyKey: Required value: can not be empty");
    }
    if (auto it = term.find("namespaces"); it != term.end() && it->is_array()) {
      for (const auto& n : *it) {
        if (n.is_string()) {
          t.namespaces.names.push_back(n.get<std::string>());
        }
      }
    }
    if (auto it = term.find("namespaceSelector");
        it != term.end() && it->is_object() && it->empty()) {
      t.namespaces.all = true;  // {} selects every namespace
    }
    if (t.namespaces.names.empty() && !t.namespaces.all) {
      t.namespaces.names.push_back(ns);
    }
    std::sort(t.namespaces.names.begin(), t.namespaces.names.end());
    auto sel = term.find("labelSelector");
    if (sel == term.end() || sel->is_null()) {
      t.counter = -2;
      return t;
    }
    auto selector = api::labelSelectorFromJson(*sel, path + ".labelSelector");
    if (!selector) {
      return fail(selector.error());
    }
    t.selector = std::move(*selector);
    t.self_match = t.namespaces.contains(ns) && t.selector.matches(labels);
    if (make_counter) {
      t.counter = counter(t.namespaces, t.selector);
    }
    return t;
  }

  Result<void> parseTerms(const json& pod, const char* pointer, bool weighted, PodInfo& info,
                          std::vector<AffinityTerm>& into, const std::string& path) {
    json::json_pointer at(pointer);
    if (!pod.contains(at) || !pod[at].is_array()) {
      return ok();
    }
    const json& terms = pod[at];
    for (size_t i = 0; i < terms.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      const json& term = weighted ? terms[i].value("podAffinityTerm", json::object()) : terms[i];
      int64_t weight = weighted ? terms[i].value("weight", int64_t{1}) : 0;
      auto t = parseTerm(term, info.ns, info.labels, weight, weighted ? p + ".podAffinityTerm" : p,
                         true);
      if (!t) {
        return fail(t.error());
      }
      into.push_back(std::move(*t));
    }
    return ok();
  }

  Result<PodInfo> parsePod(const json& pod) {
    PodInfo info;
    info.key = objectKey(pod);
    info.ns = pod.value("/metadata/namespace"_json_pointer, std::string("default"));
    info.preempt_never = pod.value("/spec/preemptionPolicy"_json_pointer, std::string()) == "Never";
    info.labels = stringMap(pod, "/metadata/labels");
    auto requests = podRequests(pod);
    if (!requests) {
      return fail(requests.error());
    }
    info.cpu = requests->cpu.milli();
    info.mem = requests->memory.milli();
    info.tolerations = tolerationsOf(pod);
    info.node_selector = stringMap(pod, "/spec/nodeSelector");
    const auto na = "/spec/affinity/nodeAffinity"_json_pointer;
    if (pod.contains(na) && pod[na].is_object()) {
      const json& node_affinity = pod[na];
      if (node_affinity.contains("/requiredDuringSchedulingIgnoredDuringExecution"_json_pointer)) {
        auto terms = nodeTerms(
            node_affinity.value(
                "/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"_json_pointer,
                json::array()),
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
            "nodeSelectorTerms");
        if (!terms) {
          return fail(terms.error());
        }
        info.required_terms = std::move(*terms);
      }
      json preferred =
          node_affinity.value("preferredDuringSchedulingIgnoredDuringExecution", json::array());
      for (size_t i = 0; i < preferred.size() && preferred.is_array(); ++i) {
        std::string p =
            "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[" +
            std::to_string(i) + "].preference";
        auto terms = nodeTerms(json::array({preferred[i].value("preference", json::object())}), p);
        if (!terms) {
          return fail(terms.error());
        }
        info.preferred_terms.emplace_back(preferred[i].value("weight", int64_t{1}),
                                          std::move(terms->front()));
      }
    }
    const std::string pa = "spec.affinity.podAffinity.";
    const std::string paa = "spec.affinity.podAntiAffinity.";
    for (auto r :
         {parseTerms(
              pod, "/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution",
              false, info, info.affinity, pa + "requiredDuringSchedulingIgnoredDuringExecution"),
          parseTerms(
              pod, "/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution",
              false, info, info.anti, paa + "requiredDuringSchedulingIgnoredDuringExecution"),
          parseTerms(pod,
                     "/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution",
                     true, info, info.pref_affinity,
                     pa + "preferredDuringSchedulingIgnoredDuringExecution"),
          parseTerms(
              pod, "/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution",
              true, info, info.pref_anti,
              paa + "preferredDuringSchedulingIgnoredDuringExecution")}) {
      if (!r) {
        return fail(r.error());
      }
    }
    json constraints = pod.value("/spec/topologySpreadConstraints"_json_pointer, json::array());
    for (size_t i = 0; constraints.is_array() && i < constraints.size(); ++i) {
      const json& c = constraints[i];
      std::string p = "spec.topologySpreadConstraints[" + std::to_string(i) + "]";
      SpreadConstraint s;
      s.topology_key = c.value("topologyKey", "");
      s.max_skew = c.value("maxSkew", int64_t{1});
      s.min_domains = c.value("minDomains", int64_t{1});
      s.hard = c.value("whenUnsatisfiable", "DoNotSchedule") != "ScheduleAnyway";
      if (s.topology_key.empty()) {
        return fail(ErrorCode::InvalidArgument, p,
                    ".topologyKey: Required value: can not be empty");
      }
      if (s.max_skew < 1) {
        return fail(ErrorCode::InvalidArgument, p,
                    ".maxSkew: Invalid value: ", std::to_string(s.max_skew),
                    ": must be greater than zero");
      }
      auto affinity_policy = honorPolicy(c, "nodeAffinityPolicy", true, p);
      if (!affinity_policy) {
        return fail(affinity_policy.error());
      }
      auto taints_policy = honorPolicy(c, "nodeTaintsPolicy", false, p);
      if (!taints_policy) {
        return fail(taints_policy.error());
      }
      s.honor_node_affinity = *affinity_policy;
      s.honor_node_taints = *taints_policy;
      auto sel = c.find("labelSelector");
      if (sel != c.end() && !sel->is_null()) {
        auto selector = api::labelSelectorFromJson(*sel, p + ".labelSelector");
        if (!selector) {
          return fail(selector.error());
        }
        // matchLabelKeys: the pod's own values for those keys narrow the selector.
        std::vector<api::LabelRequirement> reqs = selector->requirements();
        if (auto keys = c.find("matchLabelKeys"); keys != c.end() && keys->is_array()) {
          for (const auto& k : *keys) {
            auto v = k.is_string() ? info.labels.find(k.get<std::string>()) : info.labels.end();
            if (v != info.labels.end()) {
              reqs.push_back({v->first, api::LabelRequirement::Op::In, {v->second}});
            }
          }
        }
        api::LabelSelector narrowed(std::move(reqs));
        NamespaceSet ns{false, {info.ns}};
        s.self_match = narrowed.matches(info.labels);
        s.counter = counter(ns, narrowed, /*skip_terminating=*/true);
      }
      info.spread.push_back(std::move(s));
    }
    if (info.spread.empty() && hasControllerOwner(pod) && !info.labels.empty()) {
      // Kubernetes' system default spreading (ScheduleAnyway), selecting the pod's siblings.
      api::LabelSelector siblings = api::labelSelectorFromMap(info.labels);
      int c = counter(NamespaceSet{false, {info.ns}}, siblings, /*skip_terminating=*/true);
      info.spread.push_back({c, kHostnameKey, 3, 1, false, true});
      info.spread.push_back({c, kZoneKey, 5, 1, false, true});
      info.system_default_spread = true;
    }
    return info;
  }

  ScheduleDecision schedule(const json& pod);

  void addPodTo(const json& pod, const std::string& node) {
    auto it = node_index.find(node);
    if (it != node_index.end()) {
      account(pod, it->second);
    }
  }
};

namespace {

void addImpliedTaint(NodeInfo& node, const char* key) {
  bool present = std::any_of(node.taints.begin(), node.taints.end(), [&](const Taint& t) {
    return t.key == key && t.effect == "NoSchedule";
  });
  if (!present) {
    node.taints.push_back(Taint{key, "", "NoSchedule", std::nullopt});
  }
}

int64_t quantityMilli(const json& node, const char* name) {
  json::json_pointer at(std::string("/status/allocatable/") + name);
  if (!node.contains(at)) {
    return 0;
  }
  const json& v = node[at];
  auto q = api::parseQuantity(v.is_string() ? v.get<std::string>() : v.dump());
  return q ? q->milli() : 0;  // an unparsable allocatable offers nothing, as if absent
}

}  // namespace

ClusterState::ClusterState(const std::vector<json>& nodes, const std::vector<json>& pods)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  for (const auto& n : nodes) {
    NodeInfo node;
    node.name = n.value("/metadata/name"_json_pointer, std::string());
    node.labels = stringMap(n, "/metadata/labels");
    // Every kubelet sets the hostname label; hollow nodes may not, and the node is its own host.
    node.labels.emplace(kHostnameKey, node.name);
    node.taints = taintsOf(n);
    node.unschedulable = n.value("/spec/unschedulable"_json_pointer, false);
    if (node.unschedulable) {
      // Kubernetes' node lifecycle controller taints a cordoned node so (TaintNodesByCondition);
      // only spread's nodeTaintsPolicy Honor sees the difference, the NodeUnschedulable filter
      // having judged the node first.
      addImpliedTaint(node, kTaintUnschedulable);
    }
    std::string ready = readyStatus(n);
    if (ready == "False") {
      addImpliedTaint(node, kTaintNotReady);
    } else if (ready == "Unknown") {
      addImpliedTaint(node, kTaintUnreachable);
    }
    node.alloc_cpu = quantityMilli(n, "cpu");
    node.alloc_mem = quantityMilli(n, "memory");
    node.alloc_pods = quantityMilli(n, "pods") / 1000;
    s.nodes.push_back(std::move(node));
  }
  std::sort(s.nodes.begin(), s.nodes.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    s.node_index.emplace(s.nodes[i].name, static_cast<int>(i));
  }
  for (const auto& p : pods) {
    std::string phase = p.value("/status/phase"_json_pointer, std::string());
    if (phase == "Succeeded" || phase == "Failed") {
      continue;
    }
    addPod(p, p.value("/spec/nodeName"_json_pointer, std::string()));
  }
}

ClusterState::~ClusterState() = default;
ClusterState::ClusterState(ClusterState&&) noexcept = default;
ClusterState& ClusterState::operator=(ClusterState&&) noexcept = default;

size_t ClusterState::nodeCount() const { return impl_->nodes.size(); }

void ClusterState::addPod(const json& pod, const std::string& node) { impl_->addPodTo(pod, node); }

void ClusterState::removePod(const json& pod) { impl_->unaccount(objectKey(pod)); }

ScheduleDecision ClusterState::schedule(const json& pod) { return impl_->schedule(pod); }

ScheduleDecision ClusterState::Impl::schedule(const json& pod) {
  ScheduleDecision d;
  d.pod = objectKey(pod);
  if (std::string bound = pod.value("/spec/nodeName"_json_pointer, std::string()); !bound.empty()) {
    // Not ours to move: a bound pod stays where it is (and is accounted there).
    d.node = bound;
    d.reason = "already bound";
    addPodTo(pod, bound);
    return d;
  }
  auto parsed = parsePod(pod);
  if (!parsed) {
    d.message = "invalid pod: " + parsed.error().message;
    d.reason = d.message;
    d.event = {"Warning", "FailedScheduling", d.message, d.pod};
    return d;
  }
  const PodInfo& p = *parsed;
  const size_t n = nodes.size();

  // NodeAffinity per node, needed by the filter and by spread's node inclusion (policy Honor).
  std::vector<char> affinity_ok(n, 1);
  for (size_t i = 0; i < n; ++i) {
    const NodeInfo& node = nodes[i];
    for (const auto& [k, v] : p.node_selector) {
      auto l = node.labels.find(k);
      if (l == node.labels.end() || l->second != v) {
        affinity_ok[i] = 0;
        break;
      }
    }
    if (affinity_ok[i] && p.required_terms) {
      affinity_ok[i] = std::any_of(p.required_terms->begin(), p.required_terms->end(),
                                   [&](const NodeTerm& t) { return t.matches(node); });
    }
  }

  // Spread's nodeTaintsPolicy Honor: which nodes carry no untolerated NoSchedule/NoExecute taint
  // (those the TaintToleration filter would let through).
  std::vector<char> taints_ok;
  if (std::any_of(p.spread.begin(), p.spread.end(),
                  [](const SpreadConstraint& c) { return c.honor_node_taints; })) {
    taints_ok.resize(n);
    for (size_t i = 0; i < n; ++i) {
      taints_ok[i] =
          firstUntolerated(nodes[i].taints, p.tolerations, {"NoSchedule", "NoExecute"}) == nullptr;
    }
  }

  // Spread: per constraint, the matching pods per domain over the nodes it counts, and the
  // minimum over those domains (0 while fewer than minDomains domains exist). A node counts
  // (is a domain, and its pods are counted) when it has every topology key of the pod's
  // constraints of that kind and passes the constraint's node inclusion policies, as
  // kube-scheduler's matchNodeInclusionPolicies decides: nodeAffinityPolicy Honor (default)
  // requires the pod's nodeSelector and required node affinity to match; nodeTaintsPolicy Honor
  // (default Ignore) requires every NoSchedule/NoExecute taint to be tolerated. kube-scheduler
  // reads spec.taints; here the taints include those node lifecycle writes on Kubernetes
  // (not-ready/unreachable, unschedulable) from the moment the node's state implies them.
  struct SpreadState {
    const Topology* topo = nullptr;
    std::vector<int64_t> per_domain;
    std::vector<char> domain_seen;
    int64_t min = 0;
    int64_t eligible_domains = 0;
  };
  std::vector<SpreadState> spread(p.spread.size());
  for (size_t c = 0; c < p.spread.size(); ++c) {
    const SpreadConstraint& sc = p.spread[c];
    SpreadState& st = spread[c];
    st.topo = &topology(sc.topology_key);
    st.per_domain.assign(static_cast<size_t>(st.topo->domains), 0);
    st.domain_seen.assign(static_cast<size_t>(st.topo->domains), 0);
    for (size_t i = 0; i < n; ++i) {
      if ((sc.honor_node_affinity && !affinity_ok[i]) || (sc.honor_node_taints && !taints_ok[i])) {
        continue;
      }
      // A node counts only if it has every key the pod's constraints of this kind name.
      bool all_keys = !p.system_default_spread;
      if (all_keys) {
        for (const auto& other : p.spread) {
          if (other.hard == sc.hard && !nodes[i].labels.count(other.topology_key)) {
            all_keys = false;
            break;
          }
        }
        if (!all_keys) {
          continue;
        }
      }
      int dom = st.topo->domain[i];
      if (dom < 0) {
        continue;
      }
      st.domain_seen[static_cast<size_t>(dom)] = 1;
      if (sc.counter >= 0) {
        st.per_domain[static_cast<size_t>(dom)] +=
            counters[static_cast<size_t>(sc.counter)].per_node[i];
      }
    }
    st.min = INT64_MAX;
    for (size_t dom = 0; dom < st.per_domain.size(); ++dom) {
      if (st.domain_seen[dom]) {
        st.eligible_domains += 1;
        st.min = std::min(st.min, st.per_domain[dom]);
      }
    }
    if (st.min == INT64_MAX || st.eligible_domains < sc.min_domains) {
      st.min = 0;
    }
  }

  // Pod (anti-)affinity: per term, which domains hold a matching pod (all nodes count).
  auto domainsWithMatches = [&](const AffinityTerm& t, const Topology& topo) {
    std::vector<int64_t> per_domain(static_cast<size_t>(topo.domains), 0);
    if (t.counter < 0) {
      return per_domain;
    }
    const auto& per_node = counters[static_cast<size_t>(t.counter)].per_node;
    for (size_t i = 0; i < n; ++i) {
      if (per_node[i] > 0 && topo.domain[i] >= 0) {
        per_domain[static_cast<size_t>(topo.domain[i])] += per_node[i];
      }
    }
    return per_domain;
  };
  struct TermState {
    const Topology* topo;
    std::vector<int64_t> per_domain;
  };
  auto termStates = [&](const std::vector<AffinityTerm>& terms) {
    std::vector<TermState> out;
    for (const auto& t : terms) {
      const Topology* topo = &topology(t.topology_key);
      out.push_back({topo, domainsWithMatches(t, *topo)});
    }
    return out;
  };
  std::vector<TermState> anti = termStates(p.anti);
  std::vector<TermState> affinity = termStates(p.affinity);
  std::vector<TermState> pref_affinity = termStates(p.pref_affinity);
  std::vector<TermState> pref_anti = termStates(p.pref_anti);
  // Kubernetes lets the first pod of a group that requires affinity to itself go anywhere.
  bool affinity_bootstrap = !p.affinity.empty();
  for (size_t t = 0; t < p.affinity.size(); ++t) {
    bool any = std::any_of(affinity[t].per_domain.begin(), affinity[t].per_domain.end(),
                           [](int64_t v) { return v > 0; });
    affinity_bootstrap = affinity_bootstrap && !any && p.affinity[t].self_match;
  }
  // Placed pods' required anti-affinity that selects this pod: domains it may not enter.
  std::vector<std::pair<const Topology*, std::vector<char>>> existing_anti;
  for (const auto& g : anti_groups) {
    if (!g.namespaces.contains(p.ns) || !g.selector.matches(p.labels)) {
      continue;
    }
    const Topology* topo = &topology(g.topology_key);
    std::vector<char> banned(static_cast<size_t>(topo->domains), 0);
    for (size_t i = 0; i < n; ++i) {
      if (g.per_node[i] > 0 && topo->domain[i] >= 0) {
        banned[static_cast<size_t>(topo->domain[i])] = 1;
      }
    }
    existing_anti.emplace_back(topo, std::move(banned));
  }
  bool tolerates_unschedulable =
      std::any_of(p.tolerations.begin(), p.tolerations.end(), [](const Toleration& t) {
        return t.tolerates(Taint{kTaintUnschedulable, "", "NoSchedule", std::nullopt});
      });

  std::map<std::string, int> reasons;
  // Nodes failing a filter kube-scheduler marks UnschedulableAndUnresolvable (removing pods
  // cannot help: unschedulable, taints, node affinity, a missing spread label, pod affinity);
  // the rest failed Unschedulable filters (resources, skew, anti-affinity), where preemption
  // would look for victims.
  int unresolvable = 0;
  std::vector<size_t> feasible;
  feasible.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const NodeInfo& node = nodes[i];
    if (node.unschedulable && !tolerates_unschedulable) {
      ++reasons[kReasonUnschedulable];
      ++unresolvable;
      continue;
    }
    if (const Taint* t =
            firstUntolerated(node.taints, p.tolerations, {"NoSchedule", "NoExecute"})) {
      ++reasons["node(s) had untolerated taint {" + t->key + ": " + t->value + "}"];
      ++unresolvable;
      continue;
    }
    if (!affinity_ok[i]) {
      ++reasons[kReasonNodeAffinity];
      ++unresolvable;
      continue;
    }
    bool fits = true;
    if (node.pods + 1 > node.alloc_pods) {
      ++reasons[kReasonTooManyPods];
      fits = false;
    }
    if (p.cpu > 0 && p.cpu > node.alloc_cpu - node.used_cpu) {
      ++reasons[kReasonCpu];
      fits = false;
    }
    if (p.mem > 0 && p.mem > node.alloc_mem - node.used_mem) {
      ++reasons[kReasonMemory];
      fits = false;
    }
    if (!fits) {
      continue;
    }
    const char* spread_failure = nullptr;
    for (size_t c = 0; c < p.spread.size() && !spread_failure; ++c) {
      const SpreadConstraint& sc = p.spread[c];
      if (!sc.hard) {
        continue;
      }
      int dom = spread[c].topo->domain[i];
      if (dom < 0) {
        spread_failure = kReasonSpreadLabel;
        break;
      }
      // skew = matching pods in this domain + the pod itself − the least-loaded domain.
      int64_t skew =
          spread[c].per_domain[static_cast<size_t>(dom)] + (sc.self_match ? 1 : 0) - spread[c].min;
      if (skew > sc.max_skew) {
        spread_failure = kReasonSpread;
      }
    }
    if (spread_failure) {
      ++reasons[spread_failure];
      unresolvable += spread_failure == kReasonSpreadLabel;
      continue;
    }
    bool affinity_fits = true;
    for (size_t t = 0; t < p.affinity.size() && affinity_fits; ++t) {
      int dom = affinity[t].topo->domain[i];
      affinity_fits =
          dom >= 0 && (affinity_bootstrap || affinity[t].per_domain[static_cast<size_t>(dom)] > 0);
    }
    if (!affinity_fits) {
      ++reasons[kReasonAffinity];
      ++unresolvable;
      continue;
    }
    bool anti_fits = true;
    for (const auto& st : anti) {
      int dom = st.topo->domain[i];
      if (dom >= 0 && st.per_domain[static_cast<size_t>(dom)] > 0) {
        anti_fits = false;
        break;
      }
    }
    if (!anti_fits) {
      ++reasons[kReasonAntiAffinity];
      continue;
    }
    bool existing_fits = true;
    for (const auto& [topo, banned] : existing_anti) {
      int dom = topo->domain[i];
      if (dom >= 0 && banned[static_cast<size_t>(dom)]) {
        existing_fits = false;
        break;
      }
    }
    if (!existing_fits) {
      ++reasons[kReasonExistingAnti];
      continue;
    }
    feasible.push_back(i);
  }

  if (feasible.empty()) {
    if (n == 0) {
      d.message = "no nodes available to schedule pods";
    } else {
      d.message = nodesAvailable(n, reasons);
      // DefaultPreemption's PostFilter status, appended as kube-scheduler's FitError does
      // (" %v.", hence the double period). Rampart never preempts: it reports what kube-scheduler
      // reports when no node has lower-priority victims.
      std::string preemption;
      if (p.preempt_never) {
        preemption = "not eligible due to preemptionPolicy=Never.";
      } else {
        std::map<std::string, int> outcome;
        if (unresolvable > 0) {
          outcome["Preemption is not helpful for scheduling"] = unresolvable;
        }
        if (static_cast<int>(n) - unresolvable > 0) {
          outcome["No preemption victims found for incoming pod"] =
              static_cast<int>(n) - unresolvable;
        }
        preemption = nodesAvailable(n, outcome);
      }
      d.message += " preemption: " + preemption + ".";
    }
    d.reason = d.message;
    d.event = {"Warning", "FailedScheduling", d.message, d.pod};
    return d;
  }

  // Scores, each normalized to 0..100 over the feasible nodes, then weighted.
  const size_t f = feasible.size();
  std::vector<int64_t> total(f, 0);
  auto normalize = [&](std::vector<int64_t>& raw, bool reverse, int64_t weight) {
    int64_t max = *std::max_element(raw.begin(), raw.end());
    for (size_t k = 0; k < f; ++k) {
      int64_t s = max > 0 ? raw[k] * kMaxScore / max : 0;
      total[k] += weight * (reverse ? kMaxScore - s : s);
    }
  };
  std::vector<int64_t> raw(f, 0);
  // TaintToleration: fewer untolerated PreferNoSchedule taints is better.
  for (size_t k = 0; k < f; ++k) {
    raw[k] = 0;
    for (const auto& taint : nodes[feasible[k]].taints) {
      if (taint.effect == "PreferNoSchedule" &&
          !std::any_of(p.tolerations.begin(), p.tolerations.end(),
                       [&](const Toleration& t) { return t.tolerates(taint); })) {
        ++raw[k];
      }
    }
  }
  normalize(raw, true, kWeightTaint);
  // NodeAffinity: the weights of the preferred terms a node matches.
  if (!p.preferred_terms.empty()) {
    for (size_t k = 0; k < f; ++k) {
      raw[k] = 0;
      for (const auto& [weight, term] : p.preferred_terms) {
        raw[k] += term.matches(nodes[feasible[k]]) ? weight : 0;
      }
    }
    normalize(raw, false, kWeightNodeAffinity);
  }
  // PodTopologySpread (ScheduleAnyway): fewer matching pods in the node's domains is better;
  // each constraint weighted by log(domains + 2) as kube-scheduler does, the domains being those
  // of the feasible nodes it scores (for hostname, their number).
  bool any_soft = std::any_of(p.spread.begin(), p.spread.end(),
                              [](const SpreadConstraint& c) { return !c.hard; });
  if (any_soft) {
    std::vector<double> score(f, 0);
    // A node lacking a key the pod spreads on scores 0; not so with the system defaults, which
    // let a node without a zone label still spread by hostname.
    std::vector<char> ignored(f, 0);
    for (size_t k = 0; k < f && !p.system_default_spread; ++k) {
      for (const auto& sc : p.spread) {
        if (!sc.hard && !nodes[feasible[k]].labels.count(sc.topology_key)) {
          ignored[k] = 1;
          break;
        }
      }
    }
    const int64_t scored = std::count(ignored.begin(), ignored.end(), 0);
    for (size_t c = 0; c < p.spread.size(); ++c) {
      const SpreadConstraint& sc = p.spread[c];
      if (sc.hard) {
        continue;
      }
      int64_t domains = 0;
      if (sc.topology_key == kHostnameKey) {
        domains = scored;
      } else {
        // kube-scheduler counts the value "" of a system-default node lacking the key as one.
        std::vector<char> seen(static_cast<size_t>(spread[c].topo->domains) + 1, 0);
        for (size_t k = 0; k < f; ++k) {
          int dom = spread[c].topo->domain[feasible[k]];
          size_t slot = dom < 0 ? seen.size() - 1 : static_cast<size_t>(dom);
          if (!ignored[k] && !seen[slot]) {
            seen[slot] = 1;
            ++domains;
          }
        }
      }
      double weight = std::log(static_cast<double>(domains + 2));
      for (size_t k = 0; k < f; ++k) {
        int dom = spread[c].topo->domain[feasible[k]];
        if (dom < 0 || ignored[k]) {
          continue;
        }
        // kube-scheduler's scoreForCount: count × weight + (maxSkew − 1).
        score[k] += static_cast<double>(spread[c].per_domain[static_cast<size_t>(dom)]) * weight +
                    static_cast<double>(sc.max_skew - 1);
      }
    }
    int64_t max = 0;
    int64_t min = INT64_MAX;
    for (size_t k = 0; k < f; ++k) {
      raw[k] = std::llround(score[k]);
      if (!ignored[k]) {
        max = std::max(max, raw[k]);
        min = std::min(min, raw[k]);
      }
    }
    for (size_t k = 0; k < f; ++k) {
      int64_t s = ignored[k] ? 0 : max == 0 ? kMaxScore : kMaxScore * (max + min - raw[k]) / max;
      total[k] += kWeightSpread * s;
    }
  }
  // InterPodAffinity (preferred): + weight per matching pod in the domain for affinity, − for
  // anti-affinity; normalized between the lowest and highest.
  if (!p.pref_affinity.empty() || !p.pref_anti.empty()) {
    for (size_t k = 0; k < f; ++k) {
      raw[k] = 0;
      auto add = [&](const std::vector<AffinityTerm>& terms, const std::vector<TermState>& st,
                     int64_t sign) {
        for (size_t t = 0; t < terms.size(); ++t) {
          int dom = st[t].topo->domain[feasible[k]];
          if (dom >= 0) {
            raw[k] += sign * terms[t].weight * st[t].per_domain[static_cast<size_t>(dom)];
          }
        }
      };
      add(p.pref_affinity, pref_affinity, 1);
      add(p.pref_anti, pref_anti, -1);
    }
    int64_t max = *std::max_element(raw.begin(), raw.end());
    int64_t min = *std::min_element(raw.begin(), raw.end());
    for (size_t k = 0; k < f; ++k) {
      total[k] += kWeightPodAffinity * (max > min ? kMaxScore * (raw[k] - min) / (max - min) : 0);
    }
  }
  // NodeResourcesFit, LeastAllocated over cpu and memory (equal weights).
  int64_t pod_cpu = p.cpu > 0 ? p.cpu : kDefaultMilliCpu;
  int64_t pod_mem = p.mem > 0 ? p.mem : kDefaultMemoryMilli;
  auto least = [](int64_t requested, int64_t capacity) -> int64_t {
    if (capacity <= 0 || requested > capacity) {
      return 0;
    }
    // (capacity − requested) / capacity in 0..100; 128-bit: millibytes × 100 overflows int64.
    __extension__ using Wide = __int128;
    return static_cast<int64_t>(static_cast<Wide>(capacity - requested) * kMaxScore / capacity);
  };
  for (size_t k = 0; k < f; ++k) {
    const NodeInfo& node = nodes[feasible[k]];
    int64_t s = (least(node.nonzero_cpu + pod_cpu, node.alloc_cpu) +
                 least(node.nonzero_mem + pod_mem, node.alloc_mem)) /
                2;
    total[k] += kWeightResources * s;
  }

  size_t best = 0;
  for (size_t k = 1; k < f; ++k) {
    if (total[k] > total[best]) {
      best = k;
    }
  }
  size_t chosen = feasible[best];
  d.node = nodes[chosen].name;
  d.event = {"Normal", "Scheduled", "Successfully assigned " + d.pod + " to " + d.node, d.pod};
  d.reason = "score " + std::to_string(total[best]) + ", best of " + std::to_string(f) +
             " feasible of " + std::to_string(n) + " nodes";
  account(pod, static_cast<int>(chosen));
  return d;
}

ScheduleDecision decideSchedule(const json& pod, const std::vector<json>& nodes,
                                const std::vector<json>& pods) {
  ClusterState state(nodes, pods);
  return state.schedule(pod);
}

std::vector<ScheduleDecision> scheduleBatch(const std::vector<json>& pending,
                                            const std::vector<json>& nodes,
                                            const std::vector<json>& pods) {
  ClusterState state(nodes, pods);
  std::vector<ScheduleDecision> out;
  out.reserve(pending.size());
  for (const auto& pod : pending) {
    out.push_back(state.schedule(pod));
  }
  return out;
}

}  // namespace rampart::controller
