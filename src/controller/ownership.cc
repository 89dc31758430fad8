#include "controller/ownership.h"

#include "api/selector.h"
#include "controller/pod_util.h"

namespace rampart::controller {
using json = nlohmann::json;

json controllerRef(const json& controller) {
  return {{"apiVersion", controller.value("apiVersion", "")},
          {"kind", controller.value("kind", "")},
          {"name", controller.value("/metadata/name"_json_pointer, std::string())},
          {"uid", controller.value("/metadata/uid"_json_pointer, std::string())},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

Result<OwnershipDecision> decideOwnership(const json& controller,
                                          const std::vector<json>& candidates) {
  auto selector = api::labelSelectorFromJson(
      controller.value("/spec/selector"_json_pointer, json::object()), "spec.selector");
  if (!selector) {
    return fail(selector.error());
  }
  std::string uid = controller.value("/metadata/uid"_json_pointer, std::string());
  std::string ns = controller.value("/metadata/namespace"_json_pointer, std::string("default"));
  bool controller_deleting = controller.contains("/metadata/deletionTimestamp"_json_pointer);
  OwnershipDecision d;
  for (const auto& o : candidates) {
    if (o.value("/metadata/namespace"_json_pointer, std::string("default")) != ns) {
      continue;
    }
    std::string name = o.value("/metadata/name"_json_pointer, std::string());
    bool matches = selector->matches(stringMap(o, "/metadata/labels"));
    std::string ref_uid;  // the controller reference's uid, if any
    if (o.contains("/metadata/ownerReferences"_json_pointer)) {
      for (const auto& r : o["/metadata/ownerReferences"_json_pointer]) {
        if (r.is_object() && r.value("controller", false)) {
          ref_uid = r.value("uid", "");
          break;
        }
      }
    }
    if (!ref_uid.empty()) {
      if (ref_uid != uid) {
        continue;  // another controller's
      }
      if (matches || controller_deleting) {
        d.owned.push_back(name);
      } else {
        d.release.push_back(name);
      }
      continue;
    }
    if (controller_deleting || !matches || o.contains("/metadata/deletionTimestamp"_json_pointer)) {
      continue;
    }
    d.adopt.push_back(name);
    d.owned.push_back(name);
  }
  return d;
}

}  // namespace rampart::controller
