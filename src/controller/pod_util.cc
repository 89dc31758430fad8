#include "controller/pod_util.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rampart::controller {
using json = nlohmann::json;

namespace {

std::string str(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json* arrayAt(const json& object, const json::json_pointer& at) {
  if (!object.contains(at)) {
    return nullptr;
  }
  const json& v = object[at];
  return v.is_array() ? &v : nullptr;
}

}  // namespace

bool Toleration::tolerates(const Taint& taint) const {
  if (!effect.empty() && effect != taint.effect) {
    return false;
  }
  if (!key.empty() && key != taint.key) {
    return false;
  }
  if (op == "Exists") {
    return true;
  }
  // Equal (or unset): an empty key only makes sense with Exists, so it tolerates nothing here.
  return !key.empty() && value == taint.value;
}

std::vector<Taint> taintsOf(const json& node) {
  std::vector<Taint> out;
  const json* taints = arrayAt(node, "/spec/taints"_json_pointer);
  if (!taints) {
    return out;
  }
  for (const auto& t : *taints) {
    if (!t.is_object()) {
      continue;
    }
    Taint taint{str(t, "key"), str(t, "value"), str(t, "effect"), std::nullopt};
    if (auto added = str(t, "timeAdded"); !added.empty()) {
      taint.added = api::parseRfc3339(added);
    }
    out.push_back(std::move(taint));
  }
  return out;
}

std::vector<Toleration> tolerationsOf(const json& pod) {
  std::vector<Toleration> out;
  const json* tolerations = arrayAt(pod, "/spec/tolerations"_json_pointer);
  if (!tolerations) {
    return out;
  }
  for (const auto& t : *tolerations) {
    if (!t.is_object()) {
      continue;
    }
    Toleration tol{str(t, "key"), str(t, "operator"), str(t, "value"), str(t, "effect"),
                   std::nullopt};
    if (auto it = t.find("tolerationSeconds"); it != t.end() && it->is_number_integer()) {
      tol.seconds = it->get<int64_t>();
    }
    out.push_back(std::move(tol));
  }
  return out;
}

const Taint* firstUntolerated(const std::vector<Taint>& taints,
                              const std::vector<Toleration>& tolerations,
                              std::initializer_list<std::string_view> effects) {
  for (const auto& taint : taints) {
    if (std::find(effects.begin(), effects.end(), taint.effect) == effects.end()) {
      continue;
    }
    bool covered = std::any_of(tolerations.begin(), tolerations.end(),
                               [&](const Toleration& t) { return t.tolerates(taint); });
    if (!covered) {
      return &taint;
    }
  }
  return nullptr;
}

json taintToJson(const Taint& taint) {
  json t = {{"key", taint.key}, {"effect", taint.effect}};
  if (!taint.value.empty()) {
    t["value"] = taint.value;
  }
  if (taint.added) {
    t["timeAdded"] = api::formatRfc3339(*taint.added);
  }
  return t;
}

api::Labels stringMap(const json& object, const char* pointer) {
  api::Labels out;
  json::json_pointer at(pointer);
  if (object.contains(at) && object[at].is_object()) {
    for (const auto& [k, v] : object[at].items()) {
      if (v.is_string()) {
        out[k] = v.get<std::string>();
      }
    }
  }
  return out;
}

std::string objectKey(const json& object) {
  std::string ns = object.value("/metadata/namespace"_json_pointer, std::string());
  std::string name = object.value("/metadata/name"_json_pointer, std::string());
  return ns.empty() ? name : ns + "/" + name;
}

std::string readyStatus(const json& object) {
  const json* conditions = arrayAt(object, "/status/conditions"_json_pointer);
  if (!conditions) {
    return "";
  }
  for (const auto& c : *conditions) {
    if (c.is_object() && str(c, "type") == "Ready") {
      return str(c, "status");
    }
  }
  return "";
}

namespace {

// `requests`: a resource list (cpu, memory, ...) found at `path`.
Result<void> addRequests(const json* requests, const std::string& path, PodRequests& into) {
  if (!requests || !requests->is_object()) {
    return ok();
  }
  for (const char* name : {"cpu", "memory"}) {
    auto it = requests->find(name);
    if (it == requests->end()) {
      continue;
    }
    std::string text = it->is_string()   ? it->get<std::string>()
                       : it->is_number() ? it->dump()
                                         : std::string();
    auto q = api::parseQuantity(text);
    if (!q) {
      return fail(ErrorCode::InvalidArgument, path, ".", name, ": ", q.error().message);
    }
    (std::string_view(name) == "cpu" ? into.cpu : into.memory) += *q;
  }
  return ok();
}

const json* containerRequests(const json& container) {
  return container.contains("/resources/requests"_json_pointer)
             ? &container["/resources/requests"_json_pointer]
             : nullptr;
}

}  // namespace

Result<PodRequests> podRequests(const json& pod) {
  PodRequests sum;
  if (const json* containers = arrayAt(pod, "/spec/containers"_json_pointer)) {
    for (size_t i = 0; i < containers->size(); ++i) {
      auto r = addRequests(containerRequests((*containers)[i]),
                           "spec.containers[" + std::to_string(i) + "].resources.requests", sum);
      if (!r) {
        return fail(r.error());
      }
    }
  }
  // Init containers run one at a time before the others: the pod needs the largest of them.
  if (const json* inits = arrayAt(pod, "/spec/initContainers"_json_pointer)) {
    for (size_t i = 0; i < inits->size(); ++i) {
      PodRequests one;
      auto r =
          addRequests(containerRequests((*inits)[i]),
                      "spec.initContainers[" + std::to_string(i) + "].resources.requests", one);
      if (!r) {
        return fail(r.error());
      }
      sum.cpu = std::max(sum.cpu, one.cpu);
      sum.memory = std::max(sum.memory, one.memory);
    }
  }
  if (pod.contains("/spec/overhead"_json_pointer)) {
    auto r = addRequests(&pod["/spec/overhead"_json_pointer], "spec.overhead", sum);
    if (!r) {
      return fail(r.error());
    }
  }
  return sum;
}

}  // namespace rampart::controller
