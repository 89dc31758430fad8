#include "api/schema.h"

#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/registry.h"
#include "base/check.h"

namespace rampart::api {
// Defined in the source generated from src/api/schema/*.json (cmake/EmbedText.cmake).
extern const std::string_view kSchemaSources[];
extern const std::size_t kSchemaSourceCount;

using json = nlohmann::json;

namespace {

constexpr std::string_view kObjectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
constexpr std::string_view kListMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(' ');
  size_t end = text.find_last_not_of(' ');
  return begin == std::string_view::npos ? "" : std::string(text.substr(begin, end - begin + 1));
}

json gvkJson(const std::string& group, const std::string& version, const std::string& kind) {
  return {{"group", group}, {"kind", kind}, {"version", version}};
}

// "apps/v1/Deployment" or "v1/Pod" → {group, version, kind}.
Result<json> parseKind(const std::string& text) {
  auto parts = split(text, '/');
  if (parts.size() == 2) {
    return gvkJson("", parts[0], parts[1]);
  }
  if (parts.size() == 3) {
    return gvkJson(parts[0], parts[1], parts[2]);
  }
  return fail(ErrorCode::InvalidArgument, "bad @kind \"", text, "\"");
}

json refTo(const std::string& name) { return {{"$ref", std::string(kSchemaRefPrefix) + name}}; }

class Expander {
 public:
  explicit Expander(const json& compact) : compact_(compact) {
    for (const auto& [name, def] : compact.items()) {
      std::string short_name = name.substr(name.rfind('.') + 1);
      auto [it, inserted] = short_names_.emplace(short_name, name);
      if (!inserted) {
        ambiguous_.insert(short_name);
      }
    }
  }

  Result<json> run() {
    json out = json::object();
    for (const auto& [name, def] : compact_.items()) {
      auto expanded = expand(name, def);
      if (!expanded) {
        return expanded;
      }
      out[name] = std::move(*expanded);
      if (def.contains("@kind")) {
        json gvk = out[name]["x-kubernetes-group-version-kind"][0];
        std::string api_version =
            gvk["group"].get<std::string>().empty()
                ? gvk["version"].get<std::string>()
                : gvk["group"].get<std::string>() + "/" + gvk["version"].get<std::string>();
        if (findKind(api_version, gvk["kind"])) {
          out[name + "List"] = listOf(name, gvk);
        }
      }
    }
    return out;
  }

 private:
  // A reference to a definition by full or last-segment name.
  Result<std::string> resolveName(const std::string& type) const {
    if (compact_.contains(type)) {
      return type;
    }
    if (ambiguous_.count(type)) {
      return fail(ErrorCode::InvalidArgument, "type ", type, " is ambiguous; use its full name");
    }
    auto it = short_names_.find(type);
    if (it == short_names_.end()) {
      return fail(ErrorCode::InvalidArgument, "unknown type ", type);
    }
    return it->second;
  }

  // The schema of TYPE; `item` says whether it is an array item or map value (kube-apiserver
  // gives those a default, and a bare $ref wrapped in allOf).
  Result<json> typeSchema(const std::string& type) const {
    if (type.starts_with("[]")) {
      auto items = typeSchema(type.substr(2));
      if (!items) {
        return items;
      }
      return json{{"type", "array"}, {"items", std::move(*items)}};
    }
    if (type.starts_with("{}")) {
      auto values = typeSchema(type.substr(2));
      if (!values) {
        return values;
      }
      return json{{"type", "object"}, {"additionalProperties", std::move(*values)}};
    }
    if (type == "string") {
      return json{{"type", "string"}};
    }
    if (type == "int32" || type == "int64") {
      return json{{"type", "integer"}, {"format", type}};
    }
    if (type == "bool") {
      return json{{"type", "boolean"}};
    }
    if (type == "double") {
      return json{{"type", "number"}, {"format", "double"}};
    }
    if (type == "byte") {
      return json{{"type", "string"}, {"format", "byte"}};
    }
    auto name = resolveName(type);
    if (!name) {
      return fail(name.error().code, name.error().message);
    }
    return json{{"allOf", json::array({refTo(*name)})}};
  }

  Result<json> fieldSchema(const std::string& spec, bool& required) const {
    size_t bar = spec.find('|');
    if (bar == std::string::npos) {
      return fail(ErrorCode::InvalidArgument, "no '|' before the description");
    }
    std::string description = trim(std::string_view(spec).substr(bar + 1));
    auto words = split(trim(std::string_view(spec).substr(0, bar)), ' ');
    if (words.empty() || words[0].empty() || description.empty()) {
      return fail(ErrorCode::InvalidArgument, "a type and a description are needed");
    }
    auto schema = typeSchema(words[0]);
    if (!schema) {
      return schema;
    }
    json& s = *schema;
    s["description"] = description;
    required = false;
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& w = words[i];
      size_t eq = w.find('=');
      std::string flag = w.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : w.substr(eq + 1);
      if (w == "!") {
        required = true;
      } else if (w == "atomic" || w == "set") {
        s["x-kubernetes-list-type"] = w;
      } else if (flag == "map" && !value.empty()) {
        s["x-kubernetes-list-type"] = "map";
        s["x-kubernetes-list-map-keys"] = split(value, ',');
      } else if (flag == "patch" && !value.empty()) {
        s["x-kubernetes-patch-strategy"] = value;
      } else if (flag == "key" && !value.empty()) {
        s["x-kubernetes-patch-merge-key"] = value;
      } else if (flag == "enum" && eq != std::string::npos) {
        s["enum"] = split(value, ',');
      } else {
        return fail(ErrorCode::InvalidArgument, "unknown flag ", w);
      }
    }
    bool is_list = s.value("type", "") == "array";
    if (s.contains("x-kubernetes-list-type") && !is_list) {
      return fail(ErrorCode::InvalidArgument, "a list type on a field that is not a list");
    }
    return schema;
  }

  Result<json> scalar(const std::string& type, const std::string& description) const {
    if (type == "time") {
      return json{{"type", "string"}, {"format", "date-time"}, {"description", description}};
    }
    if (type == "quantity") {
      // No "type": kubectl explain then names it by its definition (<Quantity>).
      return json{{"oneOf", json::array({{{"type", "string"}}, {{"type", "number"}}})},
                  {"description", description}};
    }
    if (type == "int-or-string") {
      return json{{"oneOf", json::array({{{"type", "integer"}}, {{"type", "string"}}})},
                  {"format", "int-or-string"},
                  {"x-kubernetes-int-or-string", true},
                  {"description", description}};
    }
    if (type == "object") {
      return json{{"type", "object"}, {"description", description}};
    }
    return fail(ErrorCode::InvalidArgument, "unknown @type ", type);
  }

  Result<json> expand(const std::string& name, const json& def) const {
    auto problem = [&](const std::string& field, const Error& e) {
      return fail(ErrorCode::InvalidArgument, name, field.empty() ? "" : "." + field, ": ",
                  e.message);
    };
    if (!def.is_object() || !def.contains("@") || !def["@"].is_string()) {
      return problem("", Error{ErrorCode::InvalidArgument, "a description (\"@\") is needed"});
    }
    std::string description = def["@"];
    if (def.contains("@type")) {
      auto s = scalar(def["@type"].get<std::string>(), description);
      return s ? s : problem("", s.error());
    }
    json properties = json::object();
    json required = json::array();
    json out = {{"type", "object"}, {"description", description}};
    if (def.contains("@extends")) {
      std::string base = def["@extends"];
      if (!compact_.contains(base) || compact_[base].contains("@extends")) {
        return problem("", Error{ErrorCode::InvalidArgument, "cannot extend " + base});
      }
      auto expanded = expand(base, compact_[base]);
      if (!expanded) {
        return expanded;
      }
      properties = (*expanded)["properties"];
      required = expanded->value("required", json::array());
    }
    if (def.contains("@kind")) {
      auto gvk = parseKind(def["@kind"]);
      if (!gvk) {
        return problem("", gvk.error());
      }
      properties["apiVersion"] = {
          {"type", "string"},
          {"description",
           "The versioned schema of this object, group/version (\"v1\" for the core group)."}};
      properties["kind"] = {{"type", "string"},
                            {"description", "The type of this object, in CamelCase."}};
      properties["metadata"] = {
          {"allOf", json::array({refTo(std::string(kObjectMeta))})},
          {"default", json::object()},
          {"description", "Standard object metadata: name, namespace, labels, annotations."}};
      out["x-kubernetes-group-version-kind"] = json::array({*gvk});
    }
    if (def.value("@gvk", "") == "all") {
      json all = json::array();
      for (const auto& gv : servedGroupVersions()) {
        all.push_back(gvkJson(gv.group, gv.version, name.substr(name.rfind('.') + 1)));
      }
      out["x-kubernetes-group-version-kind"] = all;
    }
    for (const auto& [field, spec] : def.items()) {
      if (field.starts_with("@")) {
        if (field != "@" && field != "@kind" && field != "@gvk" && field != "@type" &&
            field != "@extends") {
          return problem(field, Error{ErrorCode::InvalidArgument, "unknown directive"});
        }
        continue;
      }
      if (!spec.is_string()) {
        return problem(field, Error{ErrorCode::InvalidArgument, "a string spec is expected"});
      }
      bool is_required = false;
      auto s = fieldSchema(spec.get<std::string>(), is_required);
      if (!s) {
        return problem(field, s.error());
      }
      // A struct held by value gets the empty default kube-apiserver gives it.
      if (s->contains("allOf") && is_required) {
        (*s)["default"] = json::object();
      }
      properties[field] = std::move(*s);
      if (is_required) {
        required.push_back(field);
      }
    }
    out["properties"] = std::move(properties);
    if (!required.empty()) {
      std::sort(required.begin(), required.end());
      out["required"] = std::move(required);
    }
    return out;
  }

  json listOf(const std::string& item, const json& gvk) const {
    std::string kind = gvk["kind"].get<std::string>() + "List";
    return {{"type", "object"},
            {"description", "A list of " + gvk["kind"].get<std::string>() + " objects."},
            {"properties",
             {{"apiVersion",
               {{"type", "string"}, {"description", "The versioned schema of this list."}}},
              {"items",
               {{"type", "array"},
                {"items", {{"allOf", json::array({refTo(item)})}, {"default", json::object()}}},
                {"description", "The objects."}}},
              {"kind", {{"type", "string"}, {"description", "The type of this list."}}},
              {"metadata",
               {{"allOf", json::array({refTo(std::string(kListMeta))})},
                {"default", json::object()},
                {"description", "Standard list metadata: resourceVersion and continue."}}}}},
            {"required", json::array({"items"})},
            {"x-kubernetes-group-version-kind",
             json::array({gvkJson(gvk["group"], gvk["version"], kind)})}};
  }

  const json& compact_;
  std::map<std::string, std::string> short_names_;
  std::set<std::string> ambiguous_;
};

// Every $ref anywhere in `schema` names a definition.
Result<void> checkRefs(const json& schema, const json& definitions, const std::string& where) {
  if (schema.is_object()) {
    if (auto it = schema.find("$ref"); it != schema.end()) {
      std::string ref = *it;
      if (!ref.starts_with(kSchemaRefPrefix) ||
          !definitions.contains(ref.substr(kSchemaRefPrefix.size()))) {
        return fail(ErrorCode::InvalidArgument, where, ": unresolved $ref ", ref);
      }
    }
  }
  if (schema.is_structured()) {
    for (const auto& child : schema) {
      auto checked = checkRefs(child, definitions, where);
      if (!checked) {
        return checked;
      }
    }
  }
  return ok();
}

}  // namespace

std::vector<ServedGroupVersion> servedGroupVersions() {
  std::vector<ServedGroupVersion> out;
  for (const auto& r : builtinResources()) {
    bool seen = false;
    for (const auto& gv : out) {
      seen = seen || (gv.group == r.group && gv.version == r.version);
    }
    if (!seen) {
      out.push_back({r.group, r.version,
                     r.group.empty() ? "api/" + r.version : "apis/" + r.group + "/" + r.version});
    }
  }
  return out;
}

Result<json> buildSchemaDefinitions(const std::vector<std::string_view>& sources) {
  json compact = json::object();
  for (size_t i = 0; i < sources.size(); ++i) {
    json part = json::parse(sources[i], nullptr, false);
    if (part.is_discarded() || !part.is_object()) {
      return fail(ErrorCode::InvalidArgument, "schema source ", std::to_string(i),
                  " is not a JSON object");
    }
    for (auto& [name, def] : part.items()) {
      if (compact.contains(name)) {
        return fail(ErrorCode::InvalidArgument, name, " is defined twice");
      }
      compact[name] = std::move(def);
    }
  }
  auto definitions = Expander(compact).run();
  if (!definitions) {
    return definitions;
  }
  for (const auto& [name, schema] : definitions->items()) {
    auto checked = checkRefs(schema, *definitions, name);
    if (!checked) {
      return fail(checked.error().code, checked.error().message);
    }
  }
  return definitions;
}

const json& schemaDefinitions() {
  static const json definitions = [] {
    std::vector<std::string_view> sources(kSchemaSources, kSchemaSources + kSchemaSourceCount);
    auto built = buildSchemaDefinitions(sources);
    RAMPART_CHECK(built.has_value(), built ? "" : built.error().message.c_str());
    return std::move(*built);
  }();
  return definitions;
}

std::string schemaNameOf(std::string_view group, std::string_view version, std::string_view kind) {
  // By GVK, so that a kind served in several places resolves to the definition that claims it.
  static const std::map<std::string, std::string> by_gvk = [] {
    std::map<std::string, std::string> index;
    for (const auto& [name, schema] : schemaDefinitions().items()) {
      if (!schema.contains("x-kubernetes-group-version-kind")) {
        continue;
      }
      for (const auto& gvk : schema["x-kubernetes-group-version-kind"]) {
        index.emplace(gvk["group"].get<std::string>() + "/" + gvk["version"].get<std::string>() +
                          "/" + gvk["kind"].get<std::string>(),
                      name);
      }
    }
    return index;
  }();
  auto it = by_gvk.find(std::string(group) + "/" + std::string(version) + "/" + std::string(kind));
  return it == by_gvk.end() ? std::string() : it->second;
}

const json& resolveSchema(const json& schema) {
  const json* s = &schema;
  // allOf with one element wraps a $ref next to a description; follow it, then the $ref.
  for (int depth = 0; depth < 4; ++depth) {
    if (auto all = s->find("allOf"); all != s->end() && all->is_array() && all->size() == 1) {
      s = &(*all)[0];
      continue;
    }
    if (auto ref = s->find("$ref"); ref != s->end() && ref->is_string()) {
      const std::string& r = ref->get_ref<const std::string&>();
      const json& definitions = schemaDefinitions();
      auto it = definitions.find(r.substr(kSchemaRefPrefix.size()));
      RAMPART_CHECK(it != definitions.end(), "unresolved $ref");
      s = &*it;
      continue;
    }
    break;
  }
  return *s;
}

}  // namespace rampart::api
