#include "api/storage_validation.h"

#include <algorithm>
#include <array>
#include <string>

#include <nlohmann/json.hpp>

namespace rampart::api {
using json = nlohmann::json;

void defaultPersistentVolumeClaim(json& claim) {
  if (!claim.contains("spec") || !claim["spec"].is_object()) {
    return;
  }
  json& spec = claim["spec"];
  if (!spec.contains("volumeMode") || spec["volumeMode"].is_null()) {
    spec["volumeMode"] = "Filesystem";
  }
  if (!claim.contains("/status/phase"_json_pointer)) {
    claim["status"]["phase"] = "Pending";
  }
}

void validatePersistentVolumeClaim(const json& claim, const json& old, FieldErrors& errors) {
  static const std::array<std::string, 4> kModes = {"ReadOnlyMany", "ReadWriteMany",
                                                    "ReadWriteOnce", "ReadWriteOncePod"};
  json spec = claim.value("spec", json::object());
  json modes = spec.value("accessModes", json::array());
  if (!modes.is_array() || modes.empty()) {
    errors.push_back(requiredField("spec.accessModes", "at least 1 access mode is required"));
  } else {
    for (const auto& mode : modes) {
      if (!mode.is_string() ||
          std::find(kModes.begin(), kModes.end(), mode.get<std::string>()) == kModes.end()) {
        errors.push_back(
            unsupportedField("spec.accessModes", mode, {kModes.begin(), kModes.end()}));
      }
    }
  }
  if (!spec.contains("/resources/requests/storage"_json_pointer)) {
    errors.push_back(requiredField("spec.resources[storage]"));
  }
  std::string mode = spec.value("volumeMode", std::string("Filesystem"));
  if (mode != "Filesystem" && mode != "Block") {
    errors.push_back(unsupportedField("spec.volumeMode", mode, {"Block", "Filesystem"}));
  }
  if (!old.is_object()) {
    return;
  }
  // Kubernetes: the spec is immutable except resources.requests (expansion); the binder sets
  // volumeName once.
  json now = spec;
  json before = old.value("spec", json::object());
  for (json* s : {&now, &before}) {
    if (s->contains("/resources/requests"_json_pointer)) {
      (*s)["resources"].erase("requests");
    }
    if (s->contains("resources") && (*s)["resources"].empty()) {
      s->erase("resources");
    }
  }
  if (before.value("volumeName", std::string()).empty()) {
    now.erase("volumeName");
    before.erase("volumeName");
  }
  if (now != before) {
    errors.push_back(
        forbiddenField("spec",
                       "spec is immutable after creation except resources.requests and "
                       "volumeAttributesClassName for bound claims"));
  }
}

void validateControllerRevision(const json& revision, const json& old, FieldErrors& errors) {
  if (!revision.contains("revision") || !revision["revision"].is_number_integer()) {
    errors.push_back(requiredField("revision"));
  } else if (revision["revision"].get<int64_t>() < 0) {
    errors.push_back(
        invalidField("revision", revision["revision"], "must be greater than or equal to 0"));
  }
  if (old.is_object() && revision.value("data", json()) != old.value("data", json())) {
    errors.push_back(invalidField("data", revision.value("data", json()), "field is immutable"));
  }
}

}  // namespace rampart::api
