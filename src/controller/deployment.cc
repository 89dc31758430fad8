#include "controller/deployment.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "controller/disruption.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

// Annotations of the Deployment that are not copied onto its ReplicaSets (and that kubectl's
// undo does not copy back).
bool skippedAnnotation(const std::string& key) {
  return key == "kubectl.kubernetes.io/last-applied-configuration" || key == kRevisionAnnotation ||
         key == kRevisionHistoryAnnotation || key == kDesiredReplicasAnnotation ||
         key == kMaxReplicasAnnotation || key == "deprecated.deployment.rollback.to";
}

int64_t intAt(const json& object, const json::json_pointer& at, int64_t fallback) {
  if (!object.contains(at) || !object[at].is_number_integer()) {
    return fallback;
  }
  return object[at].get<int64_t>();
}

int64_t specReplicas(const json& rs) { return intAt(rs, "/spec/replicas"_json_pointer, 1); }
int64_t statusReplicas(const json& rs) { return intAt(rs, "/status/replicas"_json_pointer, 0); }
int64_t availableReplicas(const json& rs) {
  return intAt(rs, "/status/availableReplicas"_json_pointer, 0);
}
int64_t readyReplicas(const json& rs) { return intAt(rs, "/status/readyReplicas"_json_pointer, 0); }

std::optional<int64_t> annotationInt(const json& object, const char* key) {
  json::json_pointer at("/metadata/annotations");
  if (!object.contains(at) || !object[at].is_object()) {
    return std::nullopt;
  }
  auto it = object[at].find(key);
  if (it == object[at].end() || !it->is_string()) {
    return std::nullopt;
  }
  const std::string& text = it->get_ref<const std::string&>();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

int64_t revisionOf(const json& rs) { return annotationInt(rs, kRevisionAnnotation).value_or(0); }

std::string nameOf(const json& object) {
  return object.value("/metadata/name"_json_pointer, std::string());
}

// Drops nulls and empty objects, recursively: Kubernetes compares templates as typed structs,
// where `creationTimestamp: null` and `resources: {}` (which kubectl's `rollout undo` sends back
// from Go's zero values) equal an absent field. Without this, an undo would make a new
// ReplicaSet instead of scaling the old one back up.
void dropEmpty(json& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end();) {
      dropEmpty(*it);
      if (it->is_null() || (it->is_object() && it->empty())) {
        it = value.erase(it);
      } else {
        ++it;
      }
    }
  } else if (value.is_array()) {
    for (auto& item : value) {
      dropEmpty(item);
    }
  }
}

json withoutHash(json tmpl) {
  dropEmpty(tmpl);
  json::json_pointer labels("/metadata/labels");
  if (tmpl.contains(labels) && tmpl[labels].is_object()) {
    tmpl[labels].erase(kPodTemplateHashLabel);
    if (tmpl[labels].empty()) {
      tmpl["metadata"].erase("labels");
    }
  }
  if (tmpl.contains("metadata") && tmpl["metadata"].is_object() && tmpl["metadata"].empty()) {
    tmpl.erase("metadata");
  }
  return tmpl;
}

bool equalIgnoreHash(const json& a, const json& b) { return withoutHash(a) == withoutHash(b); }

// Oldest first; ties by name, so the order is total.
bool olderFirst(const json* a, const json* b) {
  std::string ca = a->value("/metadata/creationTimestamp"_json_pointer, std::string());
  std::string cb = b->value("/metadata/creationTimestamp"_json_pointer, std::string());
  if (ca != cb) {
    return ca < cb;  // RFC 3339 UTC sorts as text
  }
  return nameOf(*a) < nameOf(*b);
}

json condition(const std::string& type, const std::string& status, const std::string& reason,
               const std::string& message, api::WallTime now) {
  std::string t = api::formatRfc3339(now);
  return {{"type", type},     {"status", status},  {"lastUpdateTime", t}, {"lastTransitionTime", t},
          {"reason", reason}, {"message", message}};
}

json* findCondition(json& status, const std::string& type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) {
    return nullptr;
  }
  for (auto& c : status["conditions"]) {
    if (c.is_object() && c.value("type", "") == type) {
      return &c;
    }
  }
  return nullptr;
}

void removeCondition(json& status, const std::string& type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) {
    return;
  }
  json kept = json::array();
  for (auto& c : status["conditions"]) {
    if (!(c.is_object() && c.value("type", "") == type)) {
      kept.push_back(c);
    }
  }
  status["conditions"] = kept;
}

// Kubernetes' SetDeploymentCondition: the same status and reason changes nothing; the same
// status keeps the original transition time.
void setCondition(json& status, json cond) {
  if (json* current = findCondition(status, cond["type"])) {
    if ((*current)["status"] == cond["status"] && (*current)["reason"] == cond["reason"]) {
      return;
    }
    if ((*current)["status"] == cond["status"]) {
      cond["lastTransitionTime"] = (*current)["lastTransitionTime"];
    }
  }
  removeCondition(status, cond["type"]);
  if (!status.contains("conditions") || !status["conditions"].is_array()) {
    status["conditions"] = json::array();
  }
  status["conditions"].push_back(std::move(cond));
}

struct Params {
  std::string name;
  int64_t replicas = 1;
  bool rolling = true;
  int64_t max_surge = 0;
  int64_t max_unavailable = 0;
  int64_t history_limit = 10;
  std::optional<int64_t> progress_deadline;  // nullopt: none (never times out)
  int64_t min_ready = 0;
  int64_t generation = 0;
  bool paused = false;
};

// One ReplicaSet being reasoned about: the observed object, edited in place when written.
struct Rs {
  json object;
  bool created = false;
  bool updated = false;
};

class Sync {
 public:
  Sync(const json& d, Params p, std::vector<Rs> rss, api::WallTime now)
      : d_(d), p_(std::move(p)), rss_(std::move(rss)), now_(now) {
    status_ = d.value("status", json::object());
  }

  DeploymentDecision run(const std::vector<json>& pods);

 private:
  std::vector<Rs*> olds() {
    std::vector<Rs*> out;
    for (auto& rs : rss_) {
      if (&rs != new_rs_) {
        out.push_back(&rs);
      }
    }
    std::sort(out.begin(), out.end(),
              [](Rs* a, Rs* b) { return olderFirst(&a->object, &b->object); });
    return out;
  }
  std::vector<Rs*> all() {
    std::vector<Rs*> out = olds();
    if (new_rs_) {
      out.push_back(new_rs_);
    }
    return out;
  }
  static int64_t specSum(const std::vector<Rs*>& rss) {
    int64_t sum = 0;
    for (Rs* rs : rss) {
      sum += specReplicas(rs->object);
    }
    return sum;
  }

  // Writes `to` replicas and the replicas annotations; true when the size changed.
  bool scale(Rs& rs, int64_t to) {
    int64_t from = specReplicas(rs.object);
    json& annotations = rs.object["metadata"]["annotations"];
    if (!annotations.is_object()) {
      annotations = json::object();
    }
    std::string desired = std::to_string(p_.replicas);
    std::string max = std::to_string(p_.replicas + p_.max_surge);
    bool annotations_change = annotations.value(kDesiredReplicasAnnotation, "") != desired ||
                              annotations.value(kMaxReplicasAnnotation, "") != max;
    if (from == to && !annotations_change) {
      return false;
    }
    rs.object["spec"]["replicas"] = to;
    annotations[kDesiredReplicasAnnotation] = desired;
    annotations[kMaxReplicasAnnotation] = max;
    rs.updated = true;
    if (from != to) {
      events_.push_back({"Normal", "ScalingReplicaSet",
                         std::string("Scaled ") + (to > from ? "up" : "down") + " replica set " +
                             nameOf(rs.object) + " from " + std::to_string(from) + " to " +
                             std::to_string(to),
                         p_.name});
      return true;
    }
    return false;
  }

  int64_t maxOldRevision() {
    int64_t max = 0;
    for (Rs* rs : olds()) {
      max = std::max(max, revisionOf(rs->object));
    }
    return max;
  }

  void setDeploymentRevision(int64_t revision) {
    json annotations = d_.value("/metadata/annotations"_json_pointer, json::object());
    if (!annotations.is_object()) {
      annotations = json::object();
    }
    if (annotations.value(kRevisionAnnotation, "") != std::to_string(revision)) {
      annotations[kRevisionAnnotation] = std::to_string(revision);
      annotations_ = annotations;
    }
  }

  // Kubernetes' getAllReplicaSetsAndSyncRevision.
  void syncRevision(bool create) {
    int64_t next = maxOldRevision() + 1;
    if (new_rs_) {
      json& annotations = new_rs_->object["metadata"]["annotations"];
      if (!annotations.is_object()) {
        annotations = json::object();
      }
      int64_t have = revisionOf(new_rs_->object);
      if (have < next) {
        // Reused after an undo: its old revision moves into the history.
        if (have > 0) {
          std::string history = annotations.value(kRevisionHistoryAnnotation, "");
          annotations[kRevisionHistoryAnnotation] =
              history.empty() ? std::to_string(have) : history + "," + std::to_string(have);
        }
        annotations[kRevisionAnnotation] = std::to_string(next);
        new_rs_->updated = true;
      }
      const json own = d_.value("/metadata/annotations"_json_pointer, json::object());
      for (const auto& [k, v] : own.items()) {
        if (!skippedAnnotation(k) && annotations.value(k, json()) != v) {
          annotations[k] = v;
          new_rs_->updated = true;
        }
      }
      if (intAt(new_rs_->object, "/spec/minReadySeconds"_json_pointer, 0) != p_.min_ready) {
        new_rs_->object["spec"]["minReadySeconds"] = p_.min_ready;
        new_rs_->updated = true;
      }
      setDeploymentRevision(std::max(have, next));
      if (p_.progress_deadline && !findCondition(status_, "Progressing")) {
        setCondition(status_,
                     condition("Progressing", "True", "FoundNewReplicaSet",
                               "Found new replica set \"" + nameOf(new_rs_->object) + "\"", now_));
      }
      return;
    }
    if (!create) {
      return;
    }
    createNew(next);
  }

  void createNew(int64_t revision) {
    const json& tmpl = d_["spec"]["template"];
    int64_t collisions = status_.value("collisionCount", int64_t{0});
    std::string hash = podTemplateHash(tmpl, collisions);
    // A ReplicaSet of ours already holds the name with another template: count a collision
    // and hash again (Kubernetes' status.collisionCount).
    auto taken = [&](const std::string& name) {
      return std::any_of(rss_.begin(), rss_.end(),
                         [&](const Rs& rs) { return nameOf(rs.object) == name; });
    };
    while (taken(p_.name + "-" + hash)) {
      ++collisions;
      hash = podTemplateHash(tmpl, collisions);
    }
    if (collisions > 0) {
      status_["collisionCount"] = collisions;
    }
    json labels = tmpl.value("/metadata/labels"_json_pointer, json::object());
    labels[kPodTemplateHashLabel] = hash;
    json rs_template = tmpl;
    rs_template["metadata"]["labels"] = labels;
    json selector = d_.value("/spec/selector"_json_pointer, json::object());
    selector["matchLabels"][kPodTemplateHashLabel] = hash;
    json annotations = json::object();
    const json own = d_.value("/metadata/annotations"_json_pointer, json::object());
    for (const auto& [k, v] : own.items()) {
      if (!skippedAnnotation(k)) {
        annotations[k] = v;
      }
    }
    annotations[kRevisionAnnotation] = std::to_string(revision);
    annotations[kDesiredReplicasAnnotation] = std::to_string(p_.replicas);
    annotations[kMaxReplicasAnnotation] = std::to_string(p_.replicas + p_.max_surge);
    json rs = {
        {"apiVersion", "apps/v1"},
        {"kind", "ReplicaSet"},
        {"metadata",
         {{"name", p_.name + "-" + hash},
          {"namespace", d_.value("/metadata/namespace"_json_pointer, std::string("default"))},
          {"labels", labels},
          {"annotations", annotations},
          {"ownerReferences",
           {{{"apiVersion", "apps/v1"},
             {"kind", "Deployment"},
             {"name", p_.name},
             {"uid", d_.value("/metadata/uid"_json_pointer, std::string())},
             {"controller", true},
             {"blockOwnerDeletion", true}}}}}},
        {"spec",
         {{"replicas", 0},
          {"minReadySeconds", p_.min_ready},
          {"selector", selector},
          {"template", rs_template}}}};
    rss_.push_back(Rs{rs, true, false});
    new_rs_ = &rss_.back();
    // The initial size: the whole count for Recreate, what the surge allows for RollingUpdate.
    int64_t initial = p_.replicas;
    if (p_.rolling) {
      int64_t current = specSum(olds());
      int64_t max_total = p_.replicas + p_.max_surge;
      initial = current >= max_total ? 0 : std::min(max_total - current, p_.replicas);
    }
    new_rs_->object["spec"]["replicas"] = initial;
    if (initial > 0) {
      events_.push_back(
          {"Normal", "ScalingReplicaSet",
           "Scaled up replica set " + nameOf(rs) + " from 0 to " + std::to_string(initial),
           p_.name});
    }
    setDeploymentRevision(revision);
    if (p_.progress_deadline) {
      setCondition(status_, condition("Progressing", "True", "NewReplicaSetCreated",
                                      "Created new replica set \"" + nameOf(rs) + "\"", now_));
    }
  }

  bool scaleForScalingEvent();
  bool reconcileNew();
  bool reconcileOld();
  void cleanup();
  json calculateStatus();
  void syncRolloutStatus();
  bool complete(const json& status) const {
    return status.value("updatedReplicas", int64_t{0}) == p_.replicas &&
           status.value("replicas", int64_t{0}) == p_.replicas &&
           status.value("availableReplicas", int64_t{0}) == p_.replicas &&
           status.value("observedGeneration", int64_t{0}) >= p_.generation;
  }

  const json& d_;
  Params p_;
  std::vector<Rs> rss_;  // reserved: pointers into it stay valid (see decideDeployment)
  api::WallTime now_;
  Rs* new_rs_ = nullptr;
  json status_;
  json annotations_;  // null unless the Deployment's annotations change
  std::vector<ControllerEvent> events_;
  std::vector<std::string> delete_names_;
  std::string reason_;
};

bool Sync::scaleForScalingEvent() {
  std::vector<Rs*> active;
  for (Rs* rs : all()) {
    if (specReplicas(rs->object) > 0) {
      active.push_back(rs);
    }
  }
  // One active ReplicaSet (or none: the newest) takes the whole count.
  Rs* only = nullptr;
  if (active.size() == 1) {
    only = active[0];
  } else if (active.empty()) {
    only = new_rs_ ? new_rs_ : (rss_.empty() ? nullptr : olds().back());
  }
  if (only) {
    return specReplicas(only->object) != p_.replicas && scale(*only, p_.replicas);
  }
  // A saturated new ReplicaSet: the old ones go to zero.
  if (new_rs_ && specReplicas(new_rs_->object) == p_.replicas &&
      annotationInt(new_rs_->object, kDesiredReplicasAnnotation) == p_.replicas &&
      availableReplicas(new_rs_->object) == p_.replicas) {
    bool scaled = false;
    for (Rs* rs : olds()) {
      if (specReplicas(rs->object) > 0) {
        scaled |= scale(*rs, 0);
      }
    }
    return scaled;
  }
  if (!p_.rolling) {
    return false;
  }
  // Proportional scaling: each active ReplicaSet gets its share of the new total
  // (replicas + maxSurge), measured against the max-replicas it was last sized for; the
  // rounding leftover goes to the largest (newest first when growing, oldest when shrinking).
  int64_t allowed = p_.replicas > 0 ? p_.replicas + p_.max_surge : 0;
  int64_t to_add = allowed - specSum(active);
  std::stable_sort(active.begin(), active.end(), [&](Rs* a, Rs* b) {
    int64_t sa = specReplicas(a->object);
    int64_t sb = specReplicas(b->object);
    if (sa != sb) {
      return sa > sb;
    }
    return to_add > 0 ? olderFirst(&b->object, &a->object) : olderFirst(&a->object, &b->object);
  });
  std::vector<int64_t> sizes;
  int64_t added = 0;
  for (Rs* rs : active) {
    int64_t size = specReplicas(rs->object);
    int64_t proportion = 0;
    if (to_add != 0 && size != 0 && to_add != added) {
      int64_t fraction = 0;
      if (p_.replicas == 0) {
        fraction = -size;
      } else {
        int64_t annotated = annotationInt(rs->object, kMaxReplicasAnnotation)
                                .value_or(status_.value("replicas", int64_t{0}));
        double share = annotated > 0
                           ? static_cast<double>(size * allowed) / static_cast<double>(annotated)
                           : static_cast<double>(size);
        fraction = std::llround(share) - size;
      }
      int64_t remaining = to_add - added;
      proportion = to_add > 0 ? std::min(fraction, remaining) : std::max(fraction, remaining);
    }
    sizes.push_back(size + proportion);
    added += proportion;
  }
  bool scaled = false;
  for (size_t i = 0; i < active.size(); ++i) {
    if (i == 0 && to_add != 0) {
      sizes[0] = std::max<int64_t>(0, sizes[0] + to_add - added);
    }
    scaled |= scale(*active[i], sizes[i]);
  }
  return scaled;
}

bool Sync::reconcileNew() {
  int64_t have = specReplicas(new_rs_->object);
  if (have == p_.replicas) {
    return false;
  }
  if (have > p_.replicas) {
    return scale(*new_rs_, p_.replicas);
  }
  int64_t want = p_.replicas;
  if (p_.rolling) {
    // Invariant: Σ spec.replicas ≤ replicas + maxSurge.
    int64_t current = specSum(all());
    int64_t max_total = p_.replicas + p_.max_surge;
    if (current >= max_total) {
      return false;
    }
    want = have + std::min(max_total - current, p_.replicas - have);
  }
  return scale(*new_rs_, want);
}

bool Sync::reconcileOld() {
  std::vector<Rs*> old_active;
  for (Rs* rs : olds()) {
    if (specReplicas(rs->object) > 0) {
      old_active.push_back(rs);
    }
  }
  if (old_active.empty()) {
    return false;
  }
  // Invariant: available pods ≥ replicas − maxUnavailable after the scale-down. Pods of the
  // new ReplicaSet that are not yet available cannot be counted on.
  int64_t min_available = p_.replicas - p_.max_unavailable;
  int64_t new_unavailable = specReplicas(new_rs_->object) - availableReplicas(new_rs_->object);
  int64_t max_scaled_down = specSum(all()) - min_available - new_unavailable;
  if (max_scaled_down <= 0) {
    return false;
  }
  // First the replicas that are not available anyway, oldest ReplicaSet first.
  int64_t cleaned = 0;
  for (Rs* rs : old_active) {
    if (cleaned >= max_scaled_down) {
      break;
    }
    int64_t spec = specReplicas(rs->object);
    int64_t unhealthy = spec - availableReplicas(rs->object);
    if (spec == 0 || unhealthy <= 0) {
      continue;
    }
    int64_t down = std::min(max_scaled_down - cleaned, unhealthy);
    scale(*rs, spec - down);
    cleaned += down;
  }
  // Then available replicas, as far as the availability floor allows.
  int64_t available = 0;
  for (Rs* rs : all()) {
    available += availableReplicas(rs->object);
  }
  int64_t scaled_down = 0;
  if (available > min_available) {
    int64_t total = available - min_available;
    for (Rs* rs : old_active) {
      if (scaled_down >= total) {
        break;
      }
      int64_t spec = specReplicas(rs->object);
      if (spec == 0) {
        continue;
      }
      int64_t down = std::min(spec, total - scaled_down);
      scale(*rs, spec - down);
      scaled_down += down;
    }
  }
  return cleaned + scaled_down > 0;
}

void Sync::cleanup() {
  std::vector<Rs*> cleanable;
  for (Rs* rs : olds()) {
    if (!rs->object.contains("/metadata/deletionTimestamp"_json_pointer)) {
      cleanable.push_back(rs);
    }
  }
  int64_t excess = static_cast<int64_t>(cleanable.size()) - p_.history_limit;
  if (excess <= 0) {
    return;
  }
  std::stable_sort(cleanable.begin(), cleanable.end(), [](Rs* a, Rs* b) {
    int64_t ra = revisionOf(a->object);
    int64_t rb = revisionOf(b->object);
    return ra != rb ? ra < rb : olderFirst(&a->object, &b->object);
  });
  for (int64_t i = 0; i < excess; ++i) {
    const json& rs = cleanable[static_cast<size_t>(i)]->object;
    // Only a ReplicaSet with no pods, whose status has caught up with its spec.
    if (statusReplicas(rs) != 0 || specReplicas(rs) != 0 ||
        intAt(rs, "/metadata/generation"_json_pointer, 0) >
            intAt(rs, "/status/observedGeneration"_json_pointer, 0)) {
      continue;
    }
    delete_names_.push_back(nameOf(rs));
  }
}

json Sync::calculateStatus() {
  int64_t replicas = 0;
  int64_t ready = 0;
  int64_t available = 0;
  int64_t total = 0;
  for (Rs* rs : all()) {
    replicas += statusReplicas(rs->object);
    ready += readyReplicas(rs->object);
    available += availableReplicas(rs->object);
    total += specReplicas(rs->object);
  }
  json s = status_;
  s["observedGeneration"] = p_.generation;
  s["replicas"] = replicas;
  s["updatedReplicas"] = new_rs_ ? statusReplicas(new_rs_->object) : 0;
  s["readyReplicas"] = ready;
  s["availableReplicas"] = available;
  s["unavailableReplicas"] = std::max<int64_t>(0, total - available);
  int64_t max_unavailable =
      p_.rolling && p_.replicas > 0 ? std::min(p_.max_unavailable, p_.replicas) : 0;
  if (available >= p_.replicas - max_unavailable) {
    setCondition(s, condition("Available", "True", "MinimumReplicasAvailable",
                              "Deployment has minimum availability.", now_));
  } else {
    setCondition(s, condition("Available", "False", "MinimumReplicasUnavailable",
                              "Deployment does not have minimum availability.", now_));
  }
  return s;
}

void Sync::syncRolloutStatus() {
  json next = calculateStatus();
  if (!p_.progress_deadline) {
    removeCondition(next, "Progressing");
    status_ = next;
    return;
  }
  json* current = findCondition(status_, "Progressing");
  bool already_complete = next["replicas"] == next["updatedReplicas"] && current &&
                          current->value("reason", "") == "NewReplicaSetAvailable";
  if (already_complete) {
    status_ = next;
    return;
  }
  std::string rs_name = new_rs_ ? nameOf(new_rs_->object) : "";
  auto progressed = [&] {
    auto v = [](const json& s, const char* k) { return s.value(k, int64_t{0}); };
    int64_t old_old = v(status_, "replicas") - v(status_, "updatedReplicas");
    int64_t new_old = v(next, "replicas") - v(next, "updatedReplicas");
    return v(next, "updatedReplicas") > v(status_, "updatedReplicas") ||
           v(next, "readyReplicas") > v(status_, "readyReplicas") || new_old < old_old ||
           v(next, "availableReplicas") > v(status_, "availableReplicas");
  };
  if (complete(next)) {
    setCondition(next,
                 condition("Progressing", "True", "NewReplicaSetAvailable",
                           "ReplicaSet \"" + rs_name + "\" has successfully progressed.", now_));
  } else if (progressed()) {
    std::string msg = new_rs_ ? "ReplicaSet \"" + rs_name + "\" is progressing."
                              : "Deployment \"" + p_.name + "\" is progressing.";
    json cond = condition("Progressing", "True", "ReplicaSetUpdated", msg, now_);
    // Progress refreshes lastUpdateTime even with the same reason: the deadline counts from it.
    if (json* c = findCondition(next, "Progressing")) {
      if (c->value("status", "") == "True") {
        cond["lastTransitionTime"] = (*c)["lastTransitionTime"];
      }
      removeCondition(next, "Progressing");
    }
    next["conditions"].push_back(cond);
  } else if (current) {
    std::string reason = current->value("reason", "");
    bool timed_out = reason == "ProgressDeadlineExceeded";
    if (!timed_out && reason != "NewReplicaSetAvailable") {
      auto from = api::parseRfc3339(current->value("lastUpdateTime", ""));
      timed_out = from && *from + std::chrono::seconds(*p_.progress_deadline) < now_;
    }
    if (timed_out) {
      setCondition(next,
                   condition("Progressing", "False", "ProgressDeadlineExceeded",
                             "ReplicaSet \"" + rs_name + "\" has timed out progressing.", now_));
    }
  }
  status_ = next;
}

DeploymentDecision Sync::run(const std::vector<json>& pods) {
  for (auto& rs : rss_) {
    if (!new_rs_ && equalIgnoreHash(rs.object.value("/spec/template"_json_pointer, json()),
                                    d_["spec"]["template"])) {
      new_rs_ = &rs;
    }
  }
  // Scaling event: an active ReplicaSet was sized for another spec.replicas.
  bool scaling_event = false;
  for (auto& rs : rss_) {
    auto desired = annotationInt(rs.object, kDesiredReplicasAnnotation);
    if (specReplicas(rs.object) > 0 && desired && *desired != p_.replicas) {
      scaling_event = true;
    }
  }
  if (p_.paused) {
    if (json* c = findCondition(status_, "Progressing");
        p_.progress_deadline && (!c || c->value("reason", "") != "DeploymentPaused")) {
      setCondition(status_, condition("Progressing", "Unknown", "DeploymentPaused",
                                      "Deployment is paused", now_));
    }
  } else if (json* c = findCondition(status_, "Progressing");
             c && c->value("reason", "") == "DeploymentPaused") {
    setCondition(status_, condition("Progressing", "Unknown", "DeploymentResumed",
                                    "Deployment is resumed", now_));
  }
  if (p_.paused || scaling_event) {
    syncRevision(false);
    bool scaled = scaleForScalingEvent();
    reason_ = p_.paused ? "paused: scaling only" : "scaling event";
    reason_ += scaled ? ", replica sets resized" : ", nothing to resize";
    if (p_.paused && complete(status_)) {
      cleanup();
    }
    status_ = calculateStatus();
  } else if (p_.rolling) {
    syncRevision(true);
    if (reconcileNew()) {
      reason_ = "rolling update: scaled up the new replica set";
    } else if (reconcileOld()) {
      reason_ = "rolling update: scaled down old replica sets";
    } else {
      reason_ = "rolling update: nothing to scale";
      if (complete(d_.value("status", json::object()))) {
        cleanup();
      }
    }
    syncRolloutStatus();
  } else {
    syncRevision(false);
    bool scaled_down = false;
    for (Rs* rs : olds()) {
      if (specReplicas(rs->object) > 0) {
        scaled_down |= scale(*rs, 0);
      }
    }
    // Recreate: no new pod until every old one is gone (pods when given, else RS status).
    bool old_running = false;
    for (Rs* rs : olds()) {
      old_running |= statusReplicas(rs->object) > 0;
      std::string uid = rs->object.value("/metadata/uid"_json_pointer, std::string());
      for (const auto& pod : pods) {
        std::string phase = pod.value("/status/phase"_json_pointer, std::string());
        if (phase == "Succeeded" || phase == "Failed" || uid.empty()) {
          continue;
        }
        for (const auto& ref : pod.value("/metadata/ownerReferences"_json_pointer, json::array())) {
          old_running |= ref.value("uid", "") == uid;
        }
      }
    }
    if (scaled_down) {
      reason_ = "recreate: scaled down old replica sets";
    } else if (old_running) {
      reason_ = "recreate: waiting for old pods to terminate";
    } else {
      syncRevision(true);
      reason_ = scale(*new_rs_, p_.replicas) || new_rs_->created
                    ? "recreate: scaled up the new replica set"
                    : "recreate: nothing to scale";
      if (complete(d_.value("status", json::object()))) {
        cleanup();
      }
    }
    syncRolloutStatus();
  }

  DeploymentDecision out;
  for (auto& rs : rss_) {
    if (rs.created) {
      out.create.push_back(rs.object);
    } else if (rs.updated) {
      out.update.push_back(rs.object);
    }
  }
  out.delete_names = delete_names_;
  out.annotations = annotations_;
  out.status = status_;
  out.events = events_;
  out.reason = reason_;
  return out;
}

}  // namespace

std::string podTemplateHash(const json& template_spec, int64_t collision_count) {
  // FNV-1a, 32 bits, over the canonical JSON (object keys sorted, no spaces).
  uint32_t hash = 2166136261u;
  auto mix = [&](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 16777619u;
    }
  };
  mix(template_spec.dump());
  if (collision_count > 0) {
    mix(std::to_string(collision_count));
  }
  // Kubernetes' safe encoding: each decimal digit mapped onto consonants and digits that
  // cannot spell words.
  static constexpr std::string_view kAlphanums = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (char c : std::to_string(hash)) {
    out.push_back(kAlphanums[static_cast<unsigned char>(c) % kAlphanums.size()]);
  }
  return out;
}

Result<DeploymentDecision> decideDeployment(const json& deployment,
                                            const std::vector<json>& replica_sets,
                                            api::WallTime now) {
  return decideDeployment(deployment, replica_sets, now, {});
}

Result<DeploymentDecision> decideDeployment(const json& deployment,
                                            const std::vector<json>& replica_sets,
                                            api::WallTime now, const std::vector<json>& pods) {
  Params p;
  p.name = nameOf(deployment);
  p.replicas = intAt(deployment, "/spec/replicas"_json_pointer, 1);
  p.generation = intAt(deployment, "/metadata/generation"_json_pointer, 0);
  p.paused = deployment.value("/spec/paused"_json_pointer, false);
  p.min_ready = intAt(deployment, "/spec/minReadySeconds"_json_pointer, 0);
  p.history_limit = intAt(deployment, "/spec/revisionHistoryLimit"_json_pointer, 10);
  p.progress_deadline = intAt(deployment, "/spec/progressDeadlineSeconds"_json_pointer, 600);
  if (*p.progress_deadline >= INT32_MAX) {
    p.progress_deadline.reset();  // Kubernetes' "no deadline" value
  }
  if (!deployment.contains("/spec/template"_json_pointer)) {
    return fail(ErrorCode::InvalidArgument, "spec.template: Required value");
  }
  std::string type =
      deployment.value("/spec/strategy/type"_json_pointer, std::string("RollingUpdate"));
  p.rolling = type != "Recreate";
  if (p.rolling) {
    // maxSurge rounds up and maxUnavailable down, so both 0 cannot stall a rollout: then
    // maxUnavailable is 1.
    json surge =
        deployment.value("/spec/strategy/rollingUpdate/maxSurge"_json_pointer, json("25%"));
    json unavailable =
        deployment.value("/spec/strategy/rollingUpdate/maxUnavailable"_json_pointer, json("25%"));
    auto s = scaledValue(surge, p.replicas, true);
    if (!s) {
      return fail(ErrorCode::InvalidArgument,
                  "spec.strategy.rollingUpdate.maxSurge: " + s.error().message);
    }
    auto u = scaledValue(unavailable, p.replicas, false);
    if (!u) {
      return fail(ErrorCode::InvalidArgument,
                  "spec.strategy.rollingUpdate.maxUnavailable: " + u.error().message);
    }
    p.max_surge = *s;
    p.max_unavailable = *u;
    if (p.max_surge == 0 && p.max_unavailable == 0) {
      p.max_unavailable = 1;
    }
  }
  std::vector<Rs> rss;
  rss.reserve(replica_sets.size() + 1);  // room for the new one: Sync keeps pointers into it
  for (const auto& rs : replica_sets) {
    rss.push_back(Rs{rs, false, false});
  }
  std::sort(rss.begin(), rss.end(),
            [](const Rs& a, const Rs& b) { return olderFirst(&a.object, &b.object); });
  Sync sync(deployment, std::move(p), std::move(rss), now);
  return sync.run(pods);
}

}  // namespace rampart::controller
