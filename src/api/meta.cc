#include "api/meta.h"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "api/selector.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

constexpr size_t kMaxAnnotationBytes = 256 * 1024;

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isLabel(std::string_view s) {
  return !s.empty() && lowerAlnum(s.front()) && lowerAlnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [](char c) { return lowerAlnum(c) || c == '-'; });
}

// Server-owned metadata that create clears and update carries over from the stored object.
const char* const kServerOwned[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                    "deletionGracePeriodSeconds", "generation"};

std::random_device& entropy() {
  static thread_local std::random_device device;
  return device;
}

}  // namespace

std::string dns1123LabelError(std::string_view name) {
  if (name.size() > 63) {
    return "must be no more than 63 characters";
  }
  if (!isLabel(name)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
           "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
           "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return "";
}

std::string dns1123SubdomainError(std::string_view name) {
  if (name.size() > 253) {
    return "must be no more than 253 characters";
  }
  bool ok = !name.empty();
  size_t start = 0;
  while (ok) {
    size_t dot = name.find('.', start);
    std::string_view part =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    ok = isLabel(part);
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (!ok) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
           "'-' or '.', and must start and end with an alphanumeric character (e.g. "
           "'example.com', regex used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return "";
}

FieldErrors validateObjectMeta(const json& object, bool namespaced, NameRule rule) {
  FieldErrors errors;
  auto name_error = [&](std::string_view n) {
    return rule == NameRule::Label ? dns1123LabelError(n) : dns1123SubdomainError(n);
  };
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    errors.push_back(requiredField("metadata"));
    return errors;
  }
  const json& meta = object["metadata"];
  std::string name = meta.value("name", "");
  std::string generate = meta.value("generateName", "");
  if (name.empty() && generate.empty()) {
    errors.push_back(requiredField("metadata.name", "name or generateName is required"));
  } else if (!name.empty()) {
    if (auto e = name_error(name); !e.empty()) {
      errors.push_back(invalidField("metadata.name", name, e));
    }
  } else {
    // generateName is a prefix: it is checked as if the random suffix were already there.
    if (auto e = name_error(generate + "a"); !e.empty()) {
      errors.push_back(invalidField("metadata.generateName", generate, e));
    }
  }
  std::string ns = meta.value("namespace", "");
  if (namespaced && ns.empty()) {
    errors.push_back(requiredField("metadata.namespace"));
  } else if (namespaced) {
    if (auto e = dns1123LabelError(ns); !e.empty()) {
      errors.push_back(invalidField("metadata.namespace", ns, e));
    }
  } else if (!ns.empty()) {
    errors.push_back(forbiddenField("metadata.namespace", "not allowed on this type"));
  }
  if (auto labels = meta.find("labels"); labels != meta.end() && !labels->is_null()) {
    if (!labels->is_object()) {
      errors.push_back(invalidField("metadata.labels", *labels, "must be a map of strings"));
    } else {
      for (const auto& [k, v] : labels->items()) {
        if (auto e = validateLabelKey(k); !e) {
          errors.push_back(invalidField("metadata.labels", k, e.error().message));
        }
        if (!v.is_string()) {
          errors.push_back(invalidField("metadata.labels", v, "must be a string"));
        } else if (auto e = validateLabelValue(v.get<std::string>()); !e) {
          errors.push_back(invalidField("metadata.labels", v, e.error().message));
        }
      }
    }
  }
  if (auto annotations = meta.find("annotations");
      annotations != meta.end() && !annotations->is_null()) {
    if (!annotations->is_object()) {
      errors.push_back(
          invalidField("metadata.annotations", *annotations, "must be a map of strings"));
    } else {
      size_t total = 0;
      for (const auto& [k, v] : annotations->items()) {
        if (auto e = validateLabelKey(k); !e) {
          errors.push_back(invalidField("metadata.annotations", k, e.error().message));
        }
        if (!v.is_string()) {
          errors.push_back(invalidField("metadata.annotations", v, "must be a string"));
          continue;
        }
        total += k.size() + v.get_ref<const std::string&>().size();
      }
      if (total > kMaxAnnotationBytes) {
        errors.push_back({FieldError::Type::TooLong, "metadata.annotations", json(),
                          "may not be more than 262144 bytes"});
      }
    }
  }
  return errors;
}

void prepareForCreate(json& object, bool has_generation, const ServerFacts& facts) {
  json& meta = object["metadata"];
  if (!meta.is_object()) {
    meta = json::object();
  }
  if (meta.value("name", "").empty() && !meta.value("generateName", "").empty()) {
    meta["name"] = meta["generateName"].get<std::string>() + facts.random(5);
  }
  for (const char* field : kServerOwned) {
    meta.erase(field);
  }
  meta.erase("resourceVersion");
  meta["uid"] = facts.new_uid();
  meta["creationTimestamp"] = facts.now_rfc3339;
  if (has_generation) {
    meta["generation"] = 1;
  }
}

void prepareForUpdate(json& object, const json& old, bool has_generation, bool keep_status) {
  json& meta = object["metadata"];
  const json& old_meta = old["metadata"];
  for (const char* field : kServerOwned) {
    if (old_meta.contains(field)) {
      meta[field] = old_meta[field];
    } else {
      meta.erase(field);
    }
  }
  if (keep_status) {
    if (old.contains("status")) {
      object["status"] = old["status"];
    } else {
      object.erase("status");
    }
  }
  if (has_generation && object.value("spec", json()) != old.value("spec", json())) {
    meta["generation"] = old_meta.value("generation", int64_t{0}) + 1;
  }
}

void prepareForStatusUpdate(json& object, const json& old) {
  json status = object.value("status", json());
  json resource_version = object["metadata"].value("resourceVersion", json());
  object = old;
  if (status.is_null()) {
    object.erase("status");
  } else {
    object["status"] = std::move(status);
  }
  if (!resource_version.is_null()) {
    object["metadata"]["resourceVersion"] = std::move(resource_version);
  }
}

std::string randomUuid() {
  std::uniform_int_distribution<int> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) {
    x = static_cast<unsigned char>(byte(entropy()));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
  return out;
}

std::string randomNameSuffix(size_t n) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kAlphabet[pick(entropy())];
  }
  return out;
}

}  // namespace rampart::api
