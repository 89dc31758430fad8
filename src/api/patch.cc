#include "api/patch.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rampart::api {
using json = nlohmann::json;

namespace {

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

bool endsWith(const std::vector<std::string>& path, std::initializer_list<const char*> suffix) {
  if (path.size() < suffix.size()) {
    return false;
  }
  return std::equal(suffix.begin(), suffix.end(), path.end() - static_cast<long>(suffix.size()));
}

std::string pathText(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) {
    out += (out.empty() ? "" : ".") + p;
  }
  return out.empty() ? "<root>" : out;
}

// Result of merging a map: the merged value, or "delete me" ({"$patch": "delete"}).
struct Merged {
  json value;
  bool deleted = false;
};

Result<Merged> mergeMap(json original, const json& patch, std::vector<std::string>& path);

// A patch value for a key the original lacks: its directives still apply (to nothing).
Result<json> fresh(const json& patch_value, std::vector<std::string>& path);

Result<json> mergeList(const json& original, const json& patch, const ListStrategy& strategy,
                       std::vector<std::string>& path) {
  // {"$patch": "replace"} anywhere in a list of maps replaces the whole list.
  bool replace = std::any_of(patch.begin(), patch.end(), [](const json& e) {
    return e.is_object() && e.value(std::string(kPatchDirective), json()) == "replace";
  });
  if (replace) {
    json out = json::array();
    for (const auto& e : patch) {
      if (!(e.is_object() && e.contains(kPatchDirective))) {
        out.push_back(e);
      }
    }
    return out;
  }
  json out = original;
  if (strategy.merge_key.empty()) {
    // A set of primitives: the union, in the original order, then new values.
    for (const auto& e : patch) {
      if (e.is_object() || e.is_array()) {
        return fail(ErrorCode::InvalidArgument, pathText(path),
                    ": a list of primitives cannot take an element of kind ", e.type_name());
      }
      if (std::find(out.begin(), out.end(), e) == out.end()) {
        out.push_back(e);
      }
    }
    return out;
  }
  const std::string& key = strategy.merge_key;
  for (const auto& e : patch) {
    if (!e.is_object()) {
      return fail(ErrorCode::InvalidArgument, pathText(path),
                  ": expected a list of maps merged by '", key, "', found a ", e.type_name());
    }
    auto k = e.find(key);
    if (k == e.end()) {
      return fail(ErrorCode::InvalidArgument, "map: ", e.dump(),
                  " does not contain declared merge key: ", key);
    }
    auto same = [&](const json& o) { return o.is_object() && o.contains(key) && o[key] == *k; };
    auto directive = e.value(std::string(kPatchDirective), json());
    if (directive == "delete") {
      out.erase(std::remove_if(out.begin(), out.end(), same), out.end());
      continue;
    }
    auto it = std::find_if(out.begin(), out.end(), same);
    if (it == out.end()) {
      auto added = fresh(e, path);
      if (!added) {
        return fail(added.error());
      }
      out.push_back(std::move(*added));
      continue;
    }
    auto merged = mergeMap(*it, e, path);
    if (!merged) {
      return fail(merged.error());
    }
    if (merged->deleted) {
      out.erase(it);
    } else {
      *it = std::move(merged->value);
    }
  }
  return out;
}

Result<json> fresh(const json& patch_value, std::vector<std::string>& path) {
  if (patch_value.is_object()) {
    auto merged = mergeMap(json::object(), patch_value, path);
    if (!merged) {
      return fail(merged.error());
    }
    return merged->deleted ? json::object() : merged->value;
  }
  if (patch_value.is_array()) {
    ListStrategy strategy = listStrategy(path);
    if (strategy.merge) {
      return mergeList(json::array(), patch_value, strategy, path);
    }
  }
  return patch_value;
}

// Orders `list` by `order` (the list's elements, or for maps their merge keys, in the order the
// patch's author had them); elements `order` does not name keep their relative order after them.
json applyOrder(const json& list, const json& order, const ListStrategy& strategy) {
  if (!list.is_array() || !order.is_array()) {
    return list;
  }
  auto identity = [&](const json& e) -> json {
    if (!strategy.merge_key.empty() && e.is_object()) {
      return e.value(strategy.merge_key, json());
    }
    return e;
  };
  json out = json::array();
  std::vector<bool> taken(list.size(), false);
  for (const auto& o : order) {
    json want = identity(o);
    for (size_t i = 0; i < list.size(); ++i) {
      if (!taken[i] && identity(list[i]) == want) {
        out.push_back(list[i]);
        taken[i] = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!taken[i]) {
      out.push_back(list[i]);
    }
  }
  return out;
}

Result<Merged> mergeMap(json original, const json& patch, std::vector<std::string>& path) {
  if (!original.is_object()) {
    original = json::object();
  }
  if (auto d = patch.find(kPatchDirective); d != patch.end()) {
    if (*d == "replace") {
      json out = patch;
      out.erase(std::string(kPatchDirective));
      return Merged{std::move(out), false};
    }
    if (*d == "delete") {
      return Merged{json(), true};
    }
    if (*d != "merge") {
      return fail(ErrorCode::InvalidArgument, pathText(path), ": unknown patch type: ", d->dump());
    }
  }
  if (auto r = patch.find(kRetainKeys); r != patch.end()) {
    if (!r->is_array() ||
        !std::all_of(r->begin(), r->end(), [](const json& k) { return k.is_string(); })) {
      return fail(ErrorCode::InvalidArgument, pathText(path),
                  ": $retainKeys must be a list of strings");
    }
    for (auto it = original.begin(); it != original.end();) {
      if (std::find(r->begin(), r->end(), it.key()) == r->end()) {
        it = original.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::vector<std::pair<std::string, const json*>> orders;
  for (const auto& [key, value] : patch.items()) {
    if (key == kPatchDirective || key == kRetainKeys) {
      continue;
    }
    if (key.starts_with(kSetElementOrder)) {
      orders.emplace_back(key.substr(kSetElementOrder.size()), &value);
      continue;
    }
    if (key.starts_with(kDeleteFromPrimitiveList)) {
      std::string field = key.substr(kDeleteFromPrimitiveList.size());
      if (!value.is_array()) {
        return fail(ErrorCode::InvalidArgument, pathText(path), ": ", key, " must be a list");
      }
      if (auto it = original.find(field); it != original.end() && it->is_array()) {
        json kept = json::array();
        for (const auto& e : *it) {
          if (std::find(value.begin(), value.end(), e) == value.end()) {
            kept.push_back(e);
          }
        }
        *it = std::move(kept);
      }
      continue;
    }
    path.push_back(key);
    auto it = original.find(key);
    if (value.is_null()) {
      original.erase(key);
    } else if (it == original.end() || it->type() != value.type()) {
      auto added = fresh(value, path);
      if (!added) {
        return fail(added.error());
      }
      original[key] = std::move(*added);
    } else if (value.is_object()) {
      auto merged = mergeMap(*it, value, path);
      if (!merged) {
        return fail(merged.error());
      }
      if (merged->deleted) {
        original.erase(key);
      } else {
        *it = std::move(merged->value);
      }
    } else if (value.is_array()) {
      ListStrategy strategy = listStrategy(path);
      if (strategy.merge) {
        auto merged = mergeList(*it, value, strategy, path);
        if (!merged) {
          return fail(merged.error());
        }
        *it = std::move(*merged);
      } else {
        *it = value;
      }
    } else {
      *it = value;
    }
    path.pop_back();
  }
  for (const auto& [field, order] : orders) {
    if (auto it = original.find(field); it != original.end()) {
      path.push_back(field);
      *it = applyOrder(*it, *order, listStrategy(path));
      path.pop_back();
    }
  }
  return Merged{std::move(original), false};
}

}  // namespace

std::optional<PatchType> patchTypeFromContentType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') {
    type.pop_back();
  }
  if (type == "application/merge-patch+json") {
    return PatchType::Merge;
  }
  if (type == "application/json-patch+json") {
    return PatchType::Json;
  }
  if (type == "application/strategic-merge-patch+json") {
    return PatchType::Strategic;
  }
  return std::nullopt;
}

ListStrategy listStrategy(const std::vector<std::string>& path) {
  auto by = [](const char* key) { return ListStrategy{true, key}; };
  for (const char* containers : {"containers", "initContainers", "ephemeralContainers"}) {
    if (endsWith(path, {containers})) {
      return by("name");
    }
    if (endsWith(path, {containers, "ports"})) {
      return by("containerPort");
    }
    if (endsWith(path, {containers, "env"})) {
      return by("name");
    }
    if (endsWith(path, {containers, "volumeMounts"})) {
      return by("mountPath");
    }
    if (endsWith(path, {containers, "volumeDevices"})) {
      return by("devicePath");
    }
  }
  if (path == std::vector<std::string>{"spec", "ports"}) {
    return by("port");  // a Service's ports
  }
  if (endsWith(path, {"spec", "volumes"})) {
    return by("name");
  }
  if (endsWith(path, {"imagePullSecrets"})) {
    return by("name");
  }
  if (endsWith(path, {"hostAliases"})) {
    return by("ip");
  }
  if (endsWith(path, {"topologySpreadConstraints"})) {
    return by("topologyKey");
  }
  if (endsWith(path, {"status", "conditions"}) || endsWith(path, {"status", "addresses"})) {
    return by("type");
  }
  if (endsWith(path, {"status", "podIPs"}) || endsWith(path, {"status", "hostIPs"})) {
    return by("ip");
  }
  if (endsWith(path, {"status", "volumesAttached"})) {
    return by("name");
  }
  if (endsWith(path, {"metadata", "ownerReferences"})) {
    return by("uid");
  }
  if (endsWith(path, {"metadata", "finalizers"}) || endsWith(path, {"spec", "podCIDRs"})) {
    return ListStrategy{true, ""};
  }
  return {};
}

Result<json> applyMergePatch(const json& object, const json& patch) {
  json out = object;
  out.merge_patch(patch);
  return out;
}

Result<json> applyJsonPatch(const json& object, const json& patch) {
  if (!patch.is_array()) {
    return fail(ErrorCode::InvalidArgument, "a JSON patch must be a list of operations");
  }
  try {
    return object.patch(patch);
  } catch (const json::exception& e) {
    return fail(ErrorCode::InvalidArgument, "the JSON patch cannot be applied: ", e.what());
  }
}

Result<json> applyStrategicMergePatch(const json& object, const json& patch) {
  if (!patch.is_object()) {
    return fail(ErrorCode::InvalidArgument, "a strategic merge patch must be a map");
  }
  std::vector<std::string> path;
  auto merged = mergeMap(object, patch, path);
  if (!merged) {
    return fail(merged.error());
  }
  return merged->deleted ? json::object() : merged->value;
}

Result<json> applyPatch(PatchType type, const json& object, const json& patch) {
  switch (type) {
    case PatchType::Merge:
      return applyMergePatch(object, patch);
    case PatchType::Json:
      return applyJsonPatch(object, patch);
    case PatchType::Strategic:
      return applyStrategicMergePatch(object, patch);
  }
  return fail(ErrorCode::InvalidArgument, "unknown patch type");
}

}  // namespace rampart::api
