#include "api/database_validation.h"

#include <charconv>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/quantity.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

void setDefault(json& object, const char* key, json value) {
  if (!object.contains(key) || object[key].is_null()) {
    object[key] = std::move(value);
  }
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

bool number(std::string_view text, int& out) {
  if (text.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// An integer field within [low, high], when present.
void intBetween(const json& spec, const char* key, const std::string& field, int64_t low,
                int64_t high, FieldErrors& errors) {
  if (!spec.contains(key) || spec[key].is_null()) {
    return;
  }
  const json& v = spec[key];
  if (!v.is_number_integer()) {
    errors.push_back(invalidField(field, v, "must be an integer"));
  } else if (v.get<int64_t>() < low || v.get<int64_t>() > high) {
    errors.push_back(invalidField(field, v,
                                  "must be between " + std::to_string(low) + " and " +
                                      std::to_string(high) + ", inclusive"));
  }
}

void oneOf(const json& spec, const char* key, const std::string& field,
           const std::vector<std::string>& supported, FieldErrors& errors) {
  if (!spec.contains(key) || spec[key].is_null()) {
    return;
  }
  const json& v = spec[key];
  if (!v.is_string() ||
      std::find(supported.begin(), supported.end(), v.get<std::string>()) == supported.end()) {
    errors.push_back(unsupportedField(field, v, supported));
  }
}

// A quantity: `positive` also refuses zero.
void quantityField(const json& value, const std::string& field, bool positive,
                   FieldErrors& errors) {
  std::string text = value.is_string()   ? value.get<std::string>()
                     : value.is_number() ? value.dump()
                                         : "";
  auto q = parseQuantity(text);
  if (!q) {
    errors.push_back(invalidField(field, value, q.error().message));
  } else if (q->milli() < 0 || (positive && q->milli() == 0)) {
    errors.push_back(invalidField(
        field, value, positive ? "must be greater than 0" : "must be greater than or equal to 0"));
  }
}

void validateResources(const json& spec, FieldErrors& errors) {
  if (!spec.contains("resources") || spec["resources"].is_null()) {
    return;
  }
  if (!spec["resources"].is_object()) {
    errors.push_back(invalidField("spec.resources", spec["resources"], "must be an object"));
    return;
  }
  for (const char* part : {"requests", "limits"}) {
    const json& r = spec["resources"];
    if (!r.contains(part) || r[part].is_null()) {
      continue;
    }
    std::string at = std::string("spec.resources.") + part;
    if (!r[part].is_object()) {
      errors.push_back(invalidField(at, r[part], "must be a map of quantities"));
      continue;
    }
    for (const auto& [name, value] : r[part].items()) {
      if (name != "cpu" && name != "memory") {
        errors.push_back(unsupportedField(at + "[" + name + "]", name, {"cpu", "memory"}));
        continue;
      }
      quantityField(value, at + "[" + name + "]", false, errors);
    }
  }
}

void validateParameters(const json& spec, FieldErrors& errors) {
  if (!spec.contains("parameters") || spec["parameters"].is_null()) {
    return;
  }
  if (!spec["parameters"].is_object()) {
    errors.push_back(invalidField("spec.parameters", spec["parameters"], "must be a map of strings"));
    return;
  }
  for (const auto& [name, value] : spec["parameters"].items()) {
    std::string at = "spec.parameters[" + name + "]";
    // postgresql.conf and redis.conf names: letters, digits, '_', '.', '-'.
    bool name_ok = !name.empty() && name.size() <= 128 &&
                   name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_.-") == std::string::npos;
    if (!name_ok) {
      errors.push_back(invalidField(at, name,
                                    "a parameter name must consist of letters, digits, '_', '.' "
                                    "or '-'"));
    }
    if (!value.is_string()) {
      errors.push_back(invalidField(at, value, "must be a string"));
    } else if (value.get<std::string>().find_first_of("\n\r") != std::string::npos) {
      errors.push_back(invalidField(at, value, "must be a single line"));
    }
  }
}

void validateBackup(const json& spec, FieldErrors& errors) {
  if (!spec.contains("backup") || spec["backup"].is_null()) {
    return;
  }
  const json& backup = spec["backup"];
  if (!backup.is_object()) {
    errors.push_back(invalidField("spec.backup", backup, "must be an object"));
    return;
  }
  if (!backup.contains("schedule") || !backup["schedule"].is_string() ||
      backup["schedule"].get<std::string>().empty()) {
    if (backup.contains("schedule") && !backup["schedule"].is_string()) {
      errors.push_back(invalidField("spec.backup.schedule", backup["schedule"], "must be a string"));
    } else {
      errors.push_back(requiredField("spec.backup.schedule"));
    }
  } else if (auto problem = cronProblem(backup["schedule"].get<std::string>());
             !problem.empty()) {
    errors.push_back(invalidField("spec.backup.schedule", backup["schedule"], problem));
  }
  intBetween(backup, "retentionDays", "spec.backup.retentionDays", 1, 3650, errors);
}

}  // namespace

bool isDatabaseKind(const ResourceInfo& resource) { return resource.group == kDatabaseGroup; }

std::string_view databaseVersionOf(std::string_view kind) {
  return kind == "RedisCluster" ? "7" : "15";
}

void applyDatabaseDefaults(const ResourceInfo& resource, json& object) {
  if (!object.is_object()) {
    return;
  }
  if (!object.contains("spec") || object["spec"].is_null()) {
    object["spec"] = json::object();
  }
  json& spec = object["spec"];
  if (!spec.is_object()) {
    return;  // validation names it
  }
  setDefault(spec, "members", 3);
  setDefault(spec, "version", std::string(databaseVersionOf(resource.kind)));
  setDefault(spec, "synchronousMode", "On");
  setDefault(spec, "terminationPolicy", "Delete");
  setDefault(spec, "zoneSpreading", "Preferred");
  setDefault(spec, "storage", json::object());
  if (spec["storage"].is_object()) {
    setDefault(spec["storage"], "size", "1Gi");
  }
  if (spec.contains("backup") && spec["backup"].is_object()) {
    setDefault(spec["backup"], "retentionDays", 14);
  }
}

void validateDatabase(const ResourceInfo& resource, const json& object, const json& old,
                      FieldErrors& errors) {
  if (!object.contains("spec") || !object["spec"].is_object()) {
    errors.push_back(object.contains("spec")
                         ? invalidField("spec", object["spec"], "must be an object")
                         : requiredField("spec"));
    return;
  }
  const json& spec = object["spec"];
  if (!spec.contains("members")) {
    errors.push_back(requiredField("spec.members"));
  }
  intBetween(spec, "members", "spec.members", 1, kMaxDatabaseMembers, errors);
  oneOf(spec, "version", "spec.version", {std::string(databaseVersionOf(resource.kind))}, errors);
  oneOf(spec, "synchronousMode", "spec.synchronousMode", {"Off", "On", "Strict"}, errors);
  oneOf(spec, "terminationPolicy", "spec.terminationPolicy", {"Delete", "WipeOut", "DoNotTerminate"},
        errors);
  oneOf(spec, "zoneSpreading", "spec.zoneSpreading", {"Required", "Preferred", "None"}, errors);
  if (spec.contains("paused") && !spec["paused"].is_null() && !spec["paused"].is_boolean()) {
    errors.push_back(invalidField("spec.paused", spec["paused"], "must be a boolean"));
  }
  validateResources(spec, errors);
  if (spec.contains("storage") && !spec["storage"].is_null()) {
    if (!spec["storage"].is_object()) {
      errors.push_back(invalidField("spec.storage", spec["storage"], "must be an object"));
    } else if (spec["storage"].contains("size")) {
      quantityField(spec["storage"]["size"], "spec.storage.size", true, errors);
    }
  }
  validateParameters(spec, errors);
  if (resource.kind == "RedisCluster" && spec.contains("parameters") &&
      spec["parameters"].is_object() && !spec["parameters"].empty() &&
      (!old.is_object() ||
       old.value("/spec/parameters"_json_pointer, json()) != spec["parameters"])) {
    // `rampart redis` writes redis.conf itself (replication, fencing, persistence); which of
    // the rest a user may set is not decided yet, so none is taken rather than some ignored.
    // Only new or changed parameters are refused: a cluster stored with some before keeps
    // taking its status writes.
    errors.push_back(invalidField("spec.parameters", spec["parameters"],
                                  "RedisCluster members take no server parameters yet"));
  }
  validateBackup(spec, errors);
  if (old.is_object() && old.contains("/spec/version"_json_pointer) &&
      spec.value("version", json()) != old["/spec/version"_json_pointer]) {
    errors.push_back(invalidField("spec.version", spec.value("version", json()),
                                  "field is immutable"));
  }
}

std::string cronProblem(std::string_view expression) {
  std::vector<std::string_view> fields;
  for (auto part : split(expression, ' ')) {
    if (!part.empty()) {
      fields.push_back(part);
    }
  }
  if (fields.size() != 5) {
    return "must have five fields (minute hour day-of-month month day-of-week), found " +
           std::to_string(fields.size());
  }
  struct Range {
    const char* name;
    int low;
    int high;
  };
  // day-of-week 7 is Sunday as well as 0, as cron accepts.
  static const Range kRanges[] = {
      {"minute", 0, 59}, {"hour", 0, 23}, {"day-of-month", 1, 31}, {"month", 1, 12},
      {"day-of-week", 0, 7}};
  for (size_t i = 0; i < 5; ++i) {
    const Range& range = kRanges[i];
    auto bad = [&](std::string_view item) {
      return std::string(range.name) + " \"" + std::string(item) + "\" is not *, N, N-M, */S " +
             "or N-M/S with N and M in " + std::to_string(range.low) + ".." +
             std::to_string(range.high);
    };
    for (auto item : split(fields[i], ',')) {
      std::string_view body = item;
      if (size_t slash = item.find('/'); slash != std::string_view::npos) {
        int step = 0;
        if (!number(item.substr(slash + 1), step) || step < 1) {
          return bad(item);
        }
        body = item.substr(0, slash);
      }
      if (body == "*") {
        continue;
      }
      auto bounds = split(body, '-');
      if (bounds.size() > 2) {
        return bad(item);
      }
      int low = 0;
      int high = 0;
      if (!number(bounds[0], low) || (bounds.size() == 2 && !number(bounds[1], high))) {
        return bad(item);
      }
      if (bounds.size() == 1) {
        high = low;
      }
      if (low < range.low || high > range.high || low > high) {
        return bad(item);
      }
    }
  }
  return "";
}

}  // namespace rampart::api
