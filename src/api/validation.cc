#include "api/validation.h"

#include <set>

#include <nlohmann/json.hpp>

#include "api/database_validation.h"
#include "api/meta.h"
#include "api/quantity.h"
#include "api/selector.h"
#include "api/service_node_port.h"
#include "api/storage_validation.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

void setDefault(json& object, const char* key, json value) {
  if (!object.contains(key) || object[key].is_null()) {
    object[key] = std::move(value);
  }
}

void defaultContainer(json& c) {
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  setDefault(c, "imagePullPolicy",
             c.value("image", "").ends_with(":latest") ||
                     c.value("image", "").find(':') == std::string::npos
                 ? "Always"
                 : "IfNotPresent");
  if (c.contains("ports") && c["ports"].is_array()) {
    for (auto& p : c["ports"]) {
      if (p.is_object()) {
        setDefault(p, "protocol", "TCP");
      }
    }
  }
}

void defaultPodSpec(json& spec) {
  if (!spec.is_object()) {
    return;
  }
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "securityContext", json::object());
  for (const char* list : {"containers", "initContainers"}) {
    if (spec.contains(list) && spec[list].is_array()) {
      for (auto& c : spec[list]) {
        if (c.is_object()) {
          defaultContainer(c);
        }
      }
    }
  }
}

// A non-negative integer field, when present.
void nonNegative(const json& object, const json::json_pointer& at, const std::string& field,
                 FieldErrors& errors) {
  if (!object.contains(at)) {
    return;
  }
  const json& v = object[at];
  if (!v.is_number_integer()) {
    errors.push_back(invalidField(field, v, "must be an integer"));
  } else if (v.get<int64_t>() < 0) {
    errors.push_back(invalidField(field, v, "must be greater than or equal to 0"));
  }
}

void validateResources(const json& c, const std::string& at, FieldErrors& errors) {
  if (!c.contains("resources") || !c["resources"].is_object()) {
    return;
  }
  for (const char* kind : {"requests", "limits"}) {
    if (!c["resources"].contains(kind) || !c["resources"][kind].is_object()) {
      continue;
    }
    for (const auto& [name, value] : c["resources"][kind].items()) {
      std::string field = at + ".resources." + kind + "[" + name + "]";
      std::string text = value.is_string()   ? value.get<std::string>()
                         : value.is_number() ? value.dump()
                                             : "";
      auto q = parseQuantity(text);
      if (!q) {
        errors.push_back(invalidField(field, value, q.error().message));
      } else if (q->milli() < 0) {
        errors.push_back(invalidField(field, value, "must be greater than or equal to 0"));
      }
    }
  }
}

// Kubernetes' validateTopologySpreadConstraints (pkg/apis/core/validation), field by field and
// with its messages: maxSkew > 0; topologyKey present; whenUnsatisfiable DoNotSchedule or
// ScheduleAnyway; no two constraints with the same {topologyKey, whenUnsatisfiable}; minDomains
// > 0 and only with DoNotSchedule; nodeAffinityPolicy and nodeTaintsPolicy Honor or Ignore;
// matchLabelKeys valid label keys, only beside a labelSelector and none of its keys; the
// labelSelector itself well formed. The scheduler relies on all of it. An update that leaves
// the constraints as they were is not held to rules added after they were stored (Kubernetes
// ratchets the same way), so an older object still takes status and metadata updates.
void validateTopologySpreadConstraints(const json& spec, const std::string& at,
                                       FieldErrors& errors, const json* old_spec) {
  auto constraints = spec.find("topologySpreadConstraints");
  if (constraints == spec.end() || !constraints->is_array()) {
    return;
  }
  if (old_spec != nullptr && old_spec->is_object()) {
    auto before = old_spec->find("topologySpreadConstraints");
    if (before != old_spec->end() && *before == *constraints) {
      return;
    }
  }
  auto text = [](const json& c, const char* key) {
    auto v = c.find(key);
    return v != c.end() && v->is_string() ? v->get<std::string>() : std::string();
  };
  for (size_t i = 0; i < constraints->size(); ++i) {
    const json& c = (*constraints)[i];
    if (!c.is_object()) {
      continue;
    }
    std::string field = at + ".topologySpreadConstraints[" + std::to_string(i) + "]";
    auto skew = c.find("maxSkew");
    if (skew == c.end() || !skew->is_number_integer() || skew->get<int64_t>() <= 0) {
      errors.push_back(invalidField(field + ".maxSkew", skew == c.end() ? json(0) : *skew,
                                    "must be greater than zero"));
    }
    std::string key = text(c, "topologyKey");
    if (key.empty()) {
      errors.push_back(requiredField(field + ".topologyKey", "can not be empty"));
    }
    std::string action = text(c, "whenUnsatisfiable");
    if (action != "DoNotSchedule" && action != "ScheduleAnyway") {
      errors.push_back(unsupportedField(field + ".whenUnsatisfiable", action,
                                        {"DoNotSchedule", "ScheduleAnyway"}));
    }
    for (size_t j = i + 1; j < constraints->size(); ++j) {
      const json& other = (*constraints)[j];
      if (other.is_object() && text(other, "topologyKey") == key &&
          text(other, "whenUnsatisfiable") == action) {
        errors.push_back({FieldError::Type::Duplicate,
                          field + ".{topologyKey, whenUnsatisfiable}",
                          "{" + key + ", " + action + "}", ""});
        break;
      }
    }
    if (auto min = c.find("minDomains"); min != c.end() && !min->is_null()) {
      if (!min->is_number_integer() || min->get<int64_t>() <= 0) {
        errors.push_back(invalidField(field + ".minDomains", *min, "must be greater than zero"));
      }
      if (action != "DoNotSchedule") {
        errors.push_back(invalidField(
            field + ".minDomains", *min,
            "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not " + action));
      }
    }
    for (const char* policy : {"nodeAffinityPolicy", "nodeTaintsPolicy"}) {
      auto v = c.find(policy);
      if (v != c.end() && !v->is_null() && *v != "Honor" && *v != "Ignore") {
        errors.push_back(unsupportedField(field + "." + policy, *v, {"Honor", "Ignore"}));
      }
    }
    std::set<std::string> selector_keys;
    auto selector = c.find("labelSelector");
    bool has_selector = selector != c.end() && !selector->is_null();
    if (has_selector) {
      if (auto parsed = labelSelectorFromJson(*selector, field + ".labelSelector"); !parsed) {
        errors.push_back(invalidField(field + ".labelSelector", *selector,
                                      parsed.error().message));
      }
      if (auto labels = selector->find("matchLabels");
          labels != selector->end() && labels->is_object()) {
        for (const auto& [k, v] : labels->items()) {
          selector_keys.insert(k);
        }
      }
      if (auto exprs = selector->find("matchExpressions");
          exprs != selector->end() && exprs->is_array()) {
        for (const auto& e : *exprs) {
          if (e.is_object() && e.contains("key") && e["key"].is_string()) {
            selector_keys.insert(e["key"].get<std::string>());
          }
        }
      }
    }
    auto keys = c.find("matchLabelKeys");
    if (keys != c.end() && keys->is_array() && !keys->empty()) {
      if (!has_selector) {
        errors.push_back(forbiddenField(field + ".matchLabelKeys",
                                        "must not be specified when labelSelector is not set"));
      }
      for (size_t k = 0; k < keys->size(); ++k) {
        std::string item = field + ".matchLabelKeys[" + std::to_string(k) + "]";
        const json& name = (*keys)[k];
        if (!name.is_string()) {
          errors.push_back(invalidField(item, name, "must be a string"));
          continue;
        }
        if (auto e = validateLabelKey(name.get<std::string>()); !e) {
          errors.push_back(invalidField(item, name, e.error().message));
        }
        if (selector_keys.count(name.get<std::string>()) != 0) {
          errors.push_back(
              invalidField(item, name, "exists in both matchLabelKeys and labelSelector"));
        }
      }
    }
  }
}

// `old_spec`: the stored object's, on an update (nullptr on create).
void validatePodSpec(const json& spec, const std::string& at, FieldErrors& errors,
                     const json* old_spec = nullptr) {
  if (!spec.is_object()) {
    errors.push_back(requiredField(at));
    return;
  }
  if (!spec.contains("containers") || !spec["containers"].is_array() ||
      spec["containers"].empty()) {
    errors.push_back(requiredField(at + ".containers"));
  }
  std::set<std::string> names;
  for (const char* list : {"initContainers", "containers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) {
      continue;
    }
    for (size_t i = 0; i < spec[list].size(); ++i) {
      const json& c = spec[list][i];
      std::string field = at + "." + list + "[" + std::to_string(i) + "]";
      std::string name = c.is_object() ? c.value("name", "") : "";
      if (name.empty()) {
        errors.push_back(requiredField(field + ".name"));
      } else if (auto e = dns1123LabelError(name); !e.empty()) {
        errors.push_back(invalidField(field + ".name", name, e));
      } else if (!names.insert(name).second) {
        errors.push_back({FieldError::Type::Duplicate, field + ".name", name, ""});
      }
      if (!c.is_object() || c.value("image", "").empty()) {
        errors.push_back(requiredField(field + ".image"));
      }
      if (c.is_object()) {
        validateResources(c, field, errors);
      }
    }
  }
  std::string policy = spec.value("restartPolicy", "Always");
  if (policy != "Always" && policy != "OnFailure" && policy != "Never") {
    errors.push_back(
        unsupportedField(at + ".restartPolicy", policy, {"Always", "OnFailure", "Never"}));
  }
  nonNegative(spec, "/terminationGracePeriodSeconds"_json_pointer,
              at + ".terminationGracePeriodSeconds", errors);
  validateTopologySpreadConstraints(spec, at, errors, old_spec);
}

// A workload's selector must be non-empty and select its own template's labels. `noun` names the
// kind in the empty-selector message as Kubernetes does (its ReplicaSet says "deployment" too).
void validateSelectorAndTemplate(const json& object, const std::string& noun, FieldErrors& errors,
                                 const json& old) {
  if (!object.contains("/spec/selector"_json_pointer)) {
    errors.push_back(requiredField("spec.selector"));
    return;
  }
  auto selector = labelSelectorFromJson(object["/spec/selector"_json_pointer], "spec.selector");
  if (!selector) {
    errors.push_back(invalidField("spec.selector", object["/spec/selector"_json_pointer],
                                  selector.error().message));
    return;
  }
  if (selector->empty()) {
    errors.push_back(invalidField("spec.selector", object["/spec/selector"_json_pointer],
                                  "empty selector is invalid for " + noun));
    return;
  }
  Labels labels;
  if (object.contains("/spec/template/metadata/labels"_json_pointer)) {
    for (const auto& [k, v] : object["/spec/template/metadata/labels"_json_pointer].items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  if (!selector->matches(labels)) {
    errors.push_back(invalidField("spec.template.metadata.labels", json(labels),
                                  "`selector` does not match template `labels`"));
  }
  if (!object.contains("/spec/template/spec"_json_pointer)) {
    errors.push_back(requiredField("spec.template.spec"));
  } else {
    const json* old_spec = old.is_object() && old.contains("/spec/template/spec"_json_pointer)
                               ? &old["/spec/template/spec"_json_pointer]
                               : nullptr;
    validatePodSpec(object["/spec/template/spec"_json_pointer], "spec.template.spec", errors,
                    old_spec);
  }
}

// A string field Go defaults when it is empty (its zero value), not only when it is absent.
void setDefaultString(json& object, const char* key, const char* value) {
  if (!object.contains(key) || object[key].is_null() ||
      (object[key].is_string() && object[key].get<std::string>().empty())) {
    object[key] = value;
  }
}

// apps/v1 SetDefaults_StatefulSet, plus the claim defaults Kubernetes applies to the nested
// volumeClaimTemplates (SetDefaults_PersistentVolumeClaim{,Spec}).
void defaultStatefulSet(json& spec) {
  setDefault(spec, "replicas", 1);
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefaultString(spec, "podManagementPolicy", "OrderedReady");
  if (!spec.contains("updateStrategy") || !spec["updateStrategy"].is_object()) {
    spec["updateStrategy"] = json::object();
  }
  json& strategy = spec["updateStrategy"];
  setDefaultString(strategy, "type", "RollingUpdate");
  if (strategy["type"] == "RollingUpdate") {
    if (!strategy.contains("rollingUpdate") || !strategy["rollingUpdate"].is_object()) {
      strategy["rollingUpdate"] = json::object();
    }
    setDefault(strategy["rollingUpdate"], "partition", 0);
  }
  // StatefulSetAutoDeletePVC is GA in 1.32: the policy is always stored.
  if (!spec.contains("persistentVolumeClaimRetentionPolicy") ||
      !spec["persistentVolumeClaimRetentionPolicy"].is_object()) {
    spec["persistentVolumeClaimRetentionPolicy"] = json::object();
  }
  json& retention = spec["persistentVolumeClaimRetentionPolicy"];
  setDefaultString(retention, "whenDeleted", "Retain");
  setDefaultString(retention, "whenScaled", "Retain");
  if (spec.contains("volumeClaimTemplates") && spec["volumeClaimTemplates"].is_array()) {
    for (json& claim : spec["volumeClaimTemplates"]) {
      if (!claim.is_object()) {
        continue;
      }
      if (claim.contains("spec") && claim["spec"].is_object()) {
        setDefaultString(claim["spec"], "volumeMode", "Filesystem");
      }
      setDefault(claim, "status", json{{"phase", "Pending"}});
    }
  }
  if (spec.contains("/template/spec"_json_pointer)) {
    defaultPodSpec(spec["template"]["spec"]);
  }
}

// A string field that must be one of two values: Kubernetes words these as "must be 'A' or
// 'B'" (Invalid), and an empty value as Required.
void eitherOf(const json& spec, const json::json_pointer& at, const std::string& field,
              const char* a, const char* b, FieldErrors& errors) {
  if (!spec.contains(at)) {
    return;
  }
  const json& v = spec[at];
  if (v.is_string() && v.get<std::string>().empty()) {
    errors.push_back(requiredField(field));
  } else if (v != a && v != b) {
    errors.push_back(invalidField(field, v, std::string("must be '") + a + "' or '" + b + "'"));
  }
}

// apps ValidateStatefulSetStatus: what a controller writes must add up
// (available <= ready <= replicas, current and updated <= replicas).
void validateStatefulSetStatus(const json& status, FieldErrors& errors) {
  for (const char* field : {"replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
                            "availableReplicas", "observedGeneration", "collisionCount"}) {
    nonNegative(status, json::json_pointer("/" + std::string(field)),
                "status." + std::string(field), errors);
  }
  auto count = [&](const char* field) -> int64_t {
    const json& v = status.value(field, json(0));
    return v.is_number_integer() ? v.get<int64_t>() : 0;
  };
  for (const char* field :
       {"readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"}) {
    if (count(field) > count("replicas")) {
      errors.push_back(invalidField("status." + std::string(field), count(field),
                                    "cannot be greater than status.replicas"));
    }
  }
  if (count("availableReplicas") > count("readyReplicas")) {
    errors.push_back(invalidField("status.availableReplicas", count("availableReplicas"),
                                  "cannot be greater than status.readyReplicas"));
  }
}

// apps ValidateStatefulSet{Spec,Update}: `old` is null on create.
void validateStatefulSet(const json& object, const json& old, FieldErrors& errors) {
  const json spec = object.value("spec", json::object());
  eitherOf(spec, "/podManagementPolicy"_json_pointer, "spec.podManagementPolicy", "OrderedReady",
           "Parallel", errors);
  eitherOf(spec, "/updateStrategy/type"_json_pointer, "spec.updateStrategy", "RollingUpdate",
           "OnDelete", errors);
  if (spec.value("/updateStrategy/type"_json_pointer, json()) == "OnDelete" &&
      spec.contains("/updateStrategy/rollingUpdate"_json_pointer) &&
      !spec["/updateStrategy/rollingUpdate"_json_pointer].is_null()) {
    errors.push_back(invalidField("spec.updateStrategy.rollingUpdate",
                                  spec["/updateStrategy/rollingUpdate"_json_pointer],
                                  "only allowed for updateStrategy 'RollingUpdate'"));
  }
  nonNegative(spec, "/updateStrategy/rollingUpdate/partition"_json_pointer,
              "spec.updateStrategy.rollingUpdate.partition", errors);
  for (const char* policy : {"whenDeleted", "whenScaled"}) {
    json::json_pointer at("/persistentVolumeClaimRetentionPolicy/" + std::string(policy));
    if (spec.contains(at) && spec[at] != "Retain" && spec[at] != "Delete") {
      errors.push_back(
          unsupportedField("spec.persistentVolumeClaimRetentionPolicy." + std::string(policy),
                           spec[at], {"Delete", "Retain"}));
    }
  }
  nonNegative(spec, "/replicas"_json_pointer, "spec.replicas", errors);
  nonNegative(spec, "/minReadySeconds"_json_pointer, "spec.minReadySeconds", errors);
  nonNegative(spec, "/revisionHistoryLimit"_json_pointer, "spec.revisionHistoryLimit", errors);
  nonNegative(spec, "/ordinals/start"_json_pointer, "spec.ordinals.start", errors);
  validateSelectorAndTemplate(object, "statefulset", errors, old);
  if (spec.contains("/template/spec"_json_pointer)) {
    json policy = spec.value("/template/spec/restartPolicy"_json_pointer, json("Always"));
    if (policy != "Always") {
      errors.push_back(unsupportedField("spec.template.spec.restartPolicy", policy, {"Always"}));
    }
  }
  validateStatefulSetStatus(object.value("status", json::object()), errors);
  if (!old.is_object()) {
    return;
  }
  // Only these may change after creation; the rest (selector, serviceName,
  // volumeClaimTemplates, podManagementPolicy) is fixed, compared as one.
  json fixed_now = spec;
  json fixed_before = old.value("spec", json::object());
  for (const char* mutable_field :
       {"replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
        "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}) {
    fixed_now.erase(mutable_field);
    fixed_before.erase(mutable_field);
  }
  if (fixed_now != fixed_before) {
    errors.push_back(forbiddenField(
        "spec",
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' are forbidden"));
  }
}

}  // namespace

void applyDefaults(const ResourceInfo& resource, json& object) {
  const std::string& kind = resource.kind;
  if (isDatabaseKind(resource)) {
    applyDatabaseDefaults(resource, object);
    return;
  }
  if (kind == "Pod") {
    defaultPodSpec(object["spec"]);
  } else if (kind == "Deployment" || kind == "ReplicaSet") {
    json& spec = object["spec"];
    if (!spec.is_object()) {
      return;
    }
    setDefault(spec, "replicas", 1);
    if (kind == "Deployment") {
      setDefault(spec, "revisionHistoryLimit", 10);
      setDefault(spec, "progressDeadlineSeconds", 600);
      setDefault(spec, "strategy", json{{"type", "RollingUpdate"}});
      if (spec["strategy"].value("type", "") == "RollingUpdate") {
        json& rolling = spec["strategy"]["rollingUpdate"];
        if (!rolling.is_object()) {
          rolling = json::object();
        }
        setDefault(rolling, "maxSurge", "25%");
        setDefault(rolling, "maxUnavailable", "25%");
      }
    }
    if (spec.contains("/template/spec"_json_pointer)) {
      defaultPodSpec(spec["template"]["spec"]);
    }
  } else if (kind == "PersistentVolumeClaim") {
    defaultPersistentVolumeClaim(object);
  } else if (kind == "StatefulSet") {
    json& spec = object["spec"];
    if (spec.is_object()) {
      defaultStatefulSet(spec);
    }
  } else if (kind == "Service") {
    json& spec = object["spec"];
    if (!spec.is_object()) {
      return;
    }
    setDefault(spec, "type", "ClusterIP");
    setDefault(spec, "sessionAffinity", "None");
    if (spec.contains("ports") && spec["ports"].is_array()) {
      for (auto& p : spec["ports"]) {
        if (p.is_object()) {
          setDefault(p, "protocol", "TCP");
          if (!p.contains("targetPort") && p.contains("port")) {
            p["targetPort"] = p["port"];
          }
        }
      }
    }
  } else if (kind == "Namespace") {
    setDefault(object, "spec", json{{"finalizers", json::array({"kubernetes"})}});
    setDefault(object, "status", json{{"phase", "Active"}});
  } else if (kind == "Secret") {
    setDefault(object, "type", "Opaque");
  }
}

FieldErrors validateObject(const ResourceInfo& resource, const json& object, const json& old) {
  NameRule rule = resource.kind == "Namespace" || resource.kind == "Service" ? NameRule::Label
                                                                             : NameRule::Subdomain;
  FieldErrors errors = validateObjectMeta(object, resource.namespaced, rule);
  const std::string& kind = resource.kind;
  if (isDatabaseKind(resource)) {
    validateDatabase(resource, object, old, errors);
  } else if (kind == "Pod") {
    const json* old_spec = old.is_object() && old.contains("spec") ? &old["spec"] : nullptr;
    validatePodSpec(object.value("spec", json()), "spec", errors, old_spec);
    if (old.is_object() && old.contains("/spec/nodeName"_json_pointer) &&
        object.value("/spec/nodeName"_json_pointer, json()) != old["/spec/nodeName"_json_pointer]) {
      errors.push_back(forbiddenField("spec.nodeName",
                                      "pod updates may not change fields other "
                                      "than `spec.containers[*].image`, ..."));
    }
  } else if (kind == "Deployment" || kind == "ReplicaSet") {
    nonNegative(object, "/spec/replicas"_json_pointer, "spec.replicas", errors);
    nonNegative(object, "/spec/minReadySeconds"_json_pointer, "spec.minReadySeconds", errors);
    validateSelectorAndTemplate(object, "deployment", errors, old);
    if (old.is_object() && old.contains("/spec/selector"_json_pointer) &&
        object.value("/spec/selector"_json_pointer, json()) != old["/spec/selector"_json_pointer]) {
      errors.push_back(invalidField("spec.selector",
                                    object.value("/spec/selector"_json_pointer, json()),
                                    "field is immutable"));
    }
    if (kind == "Deployment") {
      std::string type =
          object.value("/spec/strategy/type"_json_pointer, std::string("RollingUpdate"));
      if (type != "RollingUpdate" && type != "Recreate") {
        errors.push_back(
            unsupportedField("spec.strategy.type", type, {"Recreate", "RollingUpdate"}));
      }
    }
  } else if (kind == "StatefulSet") {
    validateStatefulSet(object, old, errors);
  } else if (kind == "PersistentVolumeClaim") {
    validatePersistentVolumeClaim(object, old, errors);
  } else if (kind == "ControllerRevision") {
    validateControllerRevision(object, old, errors);
  } else if (kind == "Service") {
    const json ports = object.value("/spec/ports"_json_pointer, json::array());
    for (size_t i = 0; i < ports.size(); ++i) {
      std::string at = "spec.ports[" + std::to_string(i) + "]";
      const json& p = ports[i];
      if (!p.is_object() || !p.contains("port")) {
        errors.push_back(requiredField(at + ".port"));
        continue;
      }
      if (!p["port"].is_number_integer() || p["port"].get<int64_t>() < 1 ||
          p["port"].get<int64_t>() > 65535) {
        errors.push_back(
            invalidField(at + ".port", p["port"], "must be between 1 and 65535, inclusive"));
      }
      if (ports.size() > 1 && p.value("name", "").empty()) {
        errors.push_back(requiredField(at + ".name"));
      }
    }
    std::string type = object.value("/spec/type"_json_pointer, std::string("ClusterIP"));
    if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" &&
        type != "ExternalName") {
      errors.push_back(unsupportedField("spec.type", type,
                                        {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}));
    }
    for (auto& e : validateNodePorts(object)) {
      errors.push_back(std::move(e));
    }
  } else if (kind == "PodDisruptionBudget") {
    bool min = object.contains("/spec/minAvailable"_json_pointer);
    bool max = object.contains("/spec/maxUnavailable"_json_pointer);
    if (min && max) {
      errors.push_back(invalidField("spec", object.value("spec", json()),
                                    "minAvailable and maxUnavailable cannot be both set"));
    }
  } else if (kind == "ConfigMap" || kind == "Secret") {
    for (const char* field : {"data", "stringData", "binaryData"}) {
      if (!object.contains(field) || object[field].is_null()) {
        continue;
      }
      if (!object[field].is_object()) {
        errors.push_back(invalidField(field, object[field], "must be a map of strings"));
        continue;
      }
      for (const auto& [k, v] : object[field].items()) {
        bool key_ok = !k.empty() && k.size() <= 253 &&
                      k.find_first_not_of(
                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-_.") == std::string::npos;
        if (!key_ok) {
          errors.push_back(invalidField(std::string(field) + "[" + k + "]", k,
                                        "a valid config key must consist of alphanumeric "
                                        "characters, '-', '_' or '.' (e.g. 'key.name',  or "
                                        "'KEY_NAME',  or 'key-name', regex used for validation "
                                        "is '[-._a-zA-Z0-9]+')"));
        }
        if (!v.is_string()) {
          errors.push_back(invalidField(std::string(field) + "[" + k + "]", v, "must be a string"));
        }
      }
    }
  }
  return errors;
}

}  // namespace rampart::api
