#include "controller/garbage.h"

#include <algorithm>
#include <unordered_map>

namespace rampart::controller {
using json = nlohmann::json;

namespace {

bool hasFinalizer(const json& object, const char* finalizer) {
  json::json_pointer at("/metadata/finalizers");
  if (!object.contains(at) || !object[at].is_array()) {
    return false;
  }
  const json& list = object[at];
  return std::find(list.begin(), list.end(), json(finalizer)) != list.end();
}

bool deleting(const json& object) {
  return object.contains("/metadata/deletionTimestamp"_json_pointer);
}

const json& ownerRefs(const json& object) {
  static const json kEmpty = json::array();
  json::json_pointer at("/metadata/ownerReferences");
  if (!object.contains(at) || !object[at].is_array()) {
    return kEmpty;
  }
  return object[at];
}

}  // namespace

ObjectId objectIdOf(const json& object) {
  return ObjectId{object.value("apiVersion", ""), object.value("kind", ""),
                  object.value("/metadata/namespace"_json_pointer, std::string()),
                  object.value("/metadata/name"_json_pointer, std::string()),
                  object.value("/metadata/uid"_json_pointer, std::string())};
}

GarbageDecision decideGarbage(const std::vector<json>& objects) {
  GarbageDecision d;
  std::unordered_map<std::string, const json*> by_uid;
  // owner uid → (dependent, its reference to that owner)
  std::unordered_map<std::string, std::vector<std::pair<const json*, const json*>>> dependents;
  for (const auto& o : objects) {
    std::string uid = o.value("/metadata/uid"_json_pointer, std::string());
    if (!uid.empty()) {
      by_uid.emplace(uid, &o);
    }
    for (const auto& ref : ownerRefs(o)) {
      if (ref.is_object() && ref.contains("uid")) {
        dependents[ref.value("uid", "")].emplace_back(&o, &ref);
      }
    }
  }
  // The owner a reference names, if it exists where the dependent can see it.
  auto ownerOf = [&](const json& dependent, const json& ref) -> const json* {
    auto it = by_uid.find(ref.value("uid", ""));
    if (it == by_uid.end()) {
      return nullptr;
    }
    std::string owner_ns = it->second->value("/metadata/namespace"_json_pointer, std::string());
    std::string dep_ns = dependent.value("/metadata/namespace"_json_pointer, std::string());
    return owner_ns.empty() || owner_ns == dep_ns ? it->second : nullptr;
  };
  auto hasDependents = [&](const json& o) {
    auto it = dependents.find(o.value("/metadata/uid"_json_pointer, std::string()));
    return it != dependents.end() && !it->second.empty();
  };

  // Owners being deleted that hold their deletion for their dependents.
  for (const auto& owner : objects) {
    if (!deleting(owner)) {
      continue;
    }
    std::string uid = owner.value("/metadata/uid"_json_pointer, std::string());
    auto deps = dependents.find(uid);
    bool any = deps != dependents.end() && !deps->second.empty();
    if (hasFinalizer(owner, kFinalizerOrphan)) {
      if (any) {
        for (const auto& [dep, ref] : deps->second) {
          d.strips.push_back(
              {objectIdOf(*dep), {uid}, "owner " + objectIdOf(owner).name + " orphans it"});
        }
      }
      d.finalize.push_back({objectIdOf(owner), kFinalizerOrphan, "dependents orphaned"});
      continue;
    }
    if (hasFinalizer(owner, kFinalizerForeground)) {
      bool blocked = any && std::any_of(deps->second.begin(), deps->second.end(), [](auto& p) {
                       return p.second->value("blockOwnerDeletion", false);
                     });
      if (!blocked) {
        d.finalize.push_back(
            {objectIdOf(owner), kFinalizerForeground, "no dependent blocks its deletion"});
      }
    }
  }

  // Dependents whose owners are gone or going in the foreground.
  for (const auto& dep : objects) {
    const json& refs = ownerRefs(dep);
    if (refs.empty()) {
      continue;
    }
    if (deleting(dep)) {
      continue;  // already on its way; as an owner it was handled above
    }
    std::vector<const json*> dangling;
    std::vector<std::string> waiting;  // uids of owners deleting in the foreground
    size_t solid = 0;
    for (const auto& ref : refs) {
      if (!ref.is_object()) {
        continue;
      }
      const json* owner = ownerOf(dep, ref);
      if (!owner) {
        dangling.push_back(&ref);
      } else if (deleting(*owner) && hasFinalizer(*owner, kFinalizerForeground)) {
        waiting.push_back(ref.value("uid", ""));
      } else {
        ++solid;
      }
    }
    if (dangling.empty() && waiting.empty()) {
      continue;
    }
    if (solid > 0) {
      GcStrip strip{objectIdOf(dep), {}, "other owners remain"};
      for (const json* ref : dangling) {
        strip.owner_uids.push_back(ref->value("uid", ""));
      }
      strip.owner_uids.insert(strip.owner_uids.end(), waiting.begin(), waiting.end());
      d.strips.push_back(std::move(strip));
      continue;
    }
    GcDelete del;
    del.object = objectIdOf(dep);
    for (const json* ref : dangling) {
      del.missing_owners.push_back(*ref);
    }
    if (!waiting.empty() && hasDependents(dep)) {
      del.propagation = "Foreground";
      del.reason = "its owner is deleted in the foreground and it has dependents";
    } else {
      del.propagation = hasFinalizer(dep, kFinalizerOrphan)       ? "Orphan"
                        : hasFinalizer(dep, kFinalizerForeground) ? "Foreground"
                                                                  : "Background";
      del.reason =
          waiting.empty() ? "all owners are gone" : "its owner is deleted in the foreground";
    }
    d.deletes.push_back(std::move(del));
  }
  return d;
}

}  // namespace rampart::controller
