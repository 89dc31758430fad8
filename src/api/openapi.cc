#include "api/openapi.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "api/registry.h"
#include "api/schema.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

constexpr std::string_view kStatus = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
constexpr std::string_view kDeleteOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
constexpr std::string_view kPatch = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
constexpr std::string_view kWatchEvent = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";

json schemaRef(std::string_view name) {
  return {{"$ref", std::string(kSchemaRefPrefix) + std::string(name)}};
}

json param(const char* name, const char* in, const char* type, const char* description) {
  json p = {{"name", name},
            {"in", in},
            {"description", description},
            {"schema", {{"type", type}, {"uniqueItems", true}}}};
  if (std::string_view(in) == "path") {
    p["required"] = true;
  }
  return p;
}

json queryParams(std::initializer_list<const char*> names) {
  static const std::map<std::string, json> all = [] {
    std::map<std::string, json> m;
    auto add = [&](const char* name, const char* type, const char* description) {
      m[name] = param(name, "query", type, description);
    };
    add("allowWatchBookmarks", "boolean", "Ask a watch for BOOKMARK events.");
    add("continue", "string", "Token of the next page, from the previous page's metadata.");
    add("dryRun", "string", "All: run every stage of the request but the write.");
    add("fieldManager", "string", "Name of the actor making the change.");
    add("fieldSelector", "string", "Restrict the list by fields, e.g. spec.nodeName=n1.");
    add("fieldValidation", "string",
        "What to do with unknown or duplicate fields in the body: Ignore (drop them), Warn "
        "(drop them and answer with a warning for each; the default) or Strict (fail the "
        "request).");
    add("force", "boolean", "Force an apply patch; not used by other patch types.");
    add("gracePeriodSeconds", "integer", "Seconds before the object is deleted; 0 is at once.");
    add("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean",
        "Delete an object that cannot be read from storage.");
    add("labelSelector", "string", "Restrict the list by labels, e.g. app=web.");
    add("limit", "integer", "Most items in one page.");
    add("orphanDependents", "boolean", "Deprecated: use propagationPolicy.");
    add("pretty", "string", "Indent the output.");
    add("propagationPolicy", "string", "Orphan, Background or Foreground.");
    add("resourceVersion", "string", "Storage revision to read at or watch from.");
    add("resourceVersionMatch", "string", "How resourceVersion applies to a list.");
    add("sendInitialEvents", "boolean", "Start a watch with the current objects.");
    add("timeoutSeconds", "integer", "Seconds after which a list or watch ends.");
    add("watch", "boolean", "Stream changes instead of returning a list.");
    add("container", "string", "Container whose log is read.");
    add("follow", "boolean", "Stream the log.");
    add("insecureSkipTLSVerifyBackend", "boolean", "Skip verifying the node's certificate.");
    add("limitBytes", "integer", "Most bytes of log returned.");
    add("previous", "boolean", "Log of the previous instance of the container.");
    add("sinceSeconds", "integer", "Log lines newer than this many seconds.");
    add("tailLines", "integer", "Last lines of the log only.");
    add("timestamps", "boolean", "Prefix each log line with its time.");
    return m;
  }();
  json out = json::array();
  for (const char* n : names) {
    out.push_back(all.at(n));
  }
  return out;
}

const std::initializer_list<const char*> kListParams = {"allowWatchBookmarks",
                                                        "continue",
                                                        "fieldSelector",
                                                        "labelSelector",
                                                        "limit",
                                                        "resourceVersion",
                                                        "resourceVersionMatch",
                                                        "sendInitialEvents",
                                                        "timeoutSeconds",
                                                        "watch"};

json jsonContent(const json& schema) {
  return {{"application/json", {{"schema", schema}}}, {"application/yaml", {{"schema", schema}}}};
}

json responses(std::initializer_list<int> codes, const json& schema) {
  json out = {{"401", {{"description", "Unauthorized"}}}};
  for (int code : codes) {
    const char* text = code == 200 ? "OK" : code == 201 ? "Created" : "Accepted";
    out[std::to_string(code)] = {{"description", text}, {"content", jsonContent(schema)}};
  }
  return out;
}

std::string camel(const std::string& group) {
  if (group.empty()) {
    return "Core";
  }
  std::string first = group.substr(0, group.find('.'));
  first[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(first[0])));
  return first;
}

std::string upperFirst(std::string s) {
  s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

struct OperationFacts {
  std::string action;  // x-kubernetes-action
  std::string verb;    // operationId prefix: list, create, read, replace, patch, delete
  json gvk;
  std::string tag;
  std::string id_suffix;  // NamespacedPodStatus, PodForAllNamespaces, ...
};

json operation(const OperationFacts& f, const std::string& description, json params) {
  return {{"tags", json::array({f.tag})},        {"description", description},
          {"operationId", f.verb + f.id_suffix}, {"parameters", std::move(params)},
          {"x-kubernetes-action", f.action},     {"x-kubernetes-group-version-kind", f.gvk}};
}

json bodyOf(const json& schema) {
  return {{"content", {{"*/*", {{"schema", schema}}}}}, {"required", true}};
}

json patchBody() {
  json content = json::object();
  for (const char* type : {"application/json-patch+json", "application/merge-patch+json",
                           "application/strategic-merge-patch+json"}) {
    content[type] = {{"schema", schemaRef(kPatch)}};
  }
  return {{"content", content}, {"required", true}};
}

json gvkOf(const std::string& group, const std::string& version, const std::string& kind) {
  return {{"group", group}, {"kind", kind}, {"version", version}};
}

// The paths of one resource (collection, item, all-namespaces list, subresources).
void addResourcePaths(const ResourceInfo& r, json& paths) {
  std::string prefix = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  std::string scope = r.namespaced ? "Namespaced" : "";
  std::string base = prefix + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.plural;
  std::string gv_camel = camel(r.group) + upperFirst(r.version);
  std::string tag =
      (r.group.empty() ? "core" : r.group.substr(0, r.group.find('.'))) + "_" + r.version;
  std::string schema_name = schemaNameOf(r.group, r.version, r.kind);
  std::string list_name = schema_name + "List";
  json kind_gvk = gvkOf(r.group, r.version, r.kind);
  auto has = [&](const char* verb) {
    return std::find(r.verbs.begin(), r.verbs.end(), verb) != r.verbs.end();
  };
  auto facts = [&](const char* action, const char* verb, const std::string& suffix) {
    return OperationFacts{action, std::string(verb) + gv_camel, kind_gvk, tag, suffix};
  };
  json path_params = json::array();
  if (r.namespaced) {
    path_params.push_back(param("namespace", "path", "string", "Namespace of the objects."));
  }
  path_params.push_back(queryParams({"pretty"})[0]);

  json collection = {{"parameters", path_params}};
  collection["get"] = operation(facts("list", "list", scope + r.kind),
                                "List or watch " + r.kind + " objects.", queryParams(kListParams));
  collection["get"]["responses"] = responses({200}, schemaRef(list_name));
  collection["post"] =
      operation(facts("post", "create", scope + r.kind), "Create a " + r.kind + ".",
                queryParams({"dryRun", "fieldManager", "fieldValidation"}));
  collection["post"]["requestBody"] = bodyOf(schemaRef(schema_name));
  collection["post"]["responses"] = responses({200, 201, 202}, schemaRef(schema_name));
  if (has("deletecollection")) {
    json params = queryParams(kListParams);
    for (const auto& p : queryParams({"dryRun", "gracePeriodSeconds",
                                      "ignoreStoreReadErrorWithClusterBreakingPotential",
                                      "orphanDependents", "propagationPolicy"})) {
      params.push_back(p);
    }
    collection["delete"] =
        operation(facts("deletecollection", "delete", "Collection" + scope + r.kind),
                  "Delete a collection of " + r.kind + " objects.", params);
    collection["delete"]["requestBody"] = bodyOf(schemaRef(kDeleteOptions));
    collection["delete"]["responses"] = responses({200}, schemaRef(kStatus));
  }
  paths[base] = collection;

  json item_params = path_params;
  item_params.insert(item_params.begin(),
                     param("name", "path", "string", ("Name of the " + r.kind + ".").c_str()));
  json item = {{"parameters", item_params}};
  item["get"] =
      operation(facts("get", "read", scope + r.kind), "Read a " + r.kind + ".", json::array());
  item["get"]["responses"] = responses({200}, schemaRef(schema_name));
  item["put"] = operation(facts("put", "replace", scope + r.kind), "Replace a " + r.kind + ".",
                          queryParams({"dryRun", "fieldManager", "fieldValidation"}));
  item["put"]["requestBody"] = bodyOf(schemaRef(schema_name));
  item["put"]["responses"] = responses({200, 201}, schemaRef(schema_name));
  item["patch"] =
      operation(facts("patch", "patch", scope + r.kind), "Partially update a " + r.kind + ".",
                queryParams({"dryRun", "fieldManager", "fieldValidation", "force"}));
  item["patch"]["requestBody"] = patchBody();
  item["patch"]["responses"] = responses({200, 201}, schemaRef(schema_name));
  item["delete"] = operation(facts("delete", "delete", scope + r.kind), "Delete a " + r.kind + ".",
                             queryParams({"dryRun", "gracePeriodSeconds",
                                          "ignoreStoreReadErrorWithClusterBreakingPotential",
                                          "orphanDependents", "propagationPolicy"}));
  item["delete"]["requestBody"] = bodyOf(schemaRef(kDeleteOptions));
  item["delete"]["responses"] = responses({200, 202}, schemaRef(schema_name));
  paths[base + "/{name}"] = item;

  if (r.namespaced) {
    json all = {{"parameters", json::array({queryParams({"pretty"})[0]})}};
    all["get"] = operation(facts("list", "list", r.kind + "ForAllNamespaces"),
                           "List or watch " + r.kind + " objects of every namespace.",
                           queryParams(kListParams));
    all["get"]["responses"] = responses({200}, schemaRef(list_name));
    paths[prefix + "/" + r.plural] = all;
  }

  for (const auto& sub : r.subresources) {
    std::string group = sub.group.empty() && sub.version.empty() ? r.group : sub.group;
    std::string version = sub.version.empty() ? r.version : sub.version;
    std::string sub_schema =
        sub.kind == r.kind ? schema_name : schemaNameOf(group, version, sub.kind);
    std::string suffix = scope + r.kind + upperFirst(sub.name);
    OperationFacts base_facts{"", "", gvkOf(group, version, sub.kind), tag, suffix};
    auto sub_facts = [&](const char* action, const char* verb) {
      OperationFacts f = base_facts;
      f.action = action;
      f.verb = std::string(verb) + gv_camel;
      return f;
    };
    json entry = {{"parameters", item_params}};
    for (const auto& verb : sub.verbs) {
      if (sub.name == "log") {
        entry["get"] = operation(
            sub_facts("get", "read"), "Read the log of a pod's container.",
            queryParams({"container", "follow", "insecureSkipTLSVerifyBackend", "limitBytes",
                         "previous", "sinceSeconds", "tailLines", "timestamps"}));
        entry["get"]["responses"] = {
            {"200",
             {{"description", "OK"},
              {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}},
            {"401", {{"description", "Unauthorized"}}}};
      } else if (verb == "get") {
        entry["get"] = operation(sub_facts("get", "read"),
                                 "Read the " + sub.name + " of a " + r.kind + ".", json::array());
        entry["get"]["responses"] = responses({200}, schemaRef(sub_schema));
      } else if (verb == "update") {
        entry["put"] = operation(sub_facts("put", "replace"),
                                 "Replace the " + sub.name + " of a " + r.kind + ".",
                                 queryParams({"dryRun", "fieldManager", "fieldValidation"}));
        entry["put"]["requestBody"] = bodyOf(schemaRef(sub_schema));
        entry["put"]["responses"] = responses({200, 201}, schemaRef(sub_schema));
      } else if (verb == "patch") {
        entry["patch"] =
            operation(sub_facts("patch", "patch"),
                      "Partially update the " + sub.name + " of a " + r.kind + ".",
                      queryParams({"dryRun", "fieldManager", "fieldValidation", "force"}));
        entry["patch"]["requestBody"] = patchBody();
        entry["patch"]["responses"] = responses({200, 201}, schemaRef(sub_schema));
      } else if (verb == "create") {
        entry["post"] = operation(sub_facts("post", "create"),
                                  "Create the " + sub.name + " of a " + r.kind + ".",
                                  queryParams({"dryRun", "fieldManager", "fieldValidation"}));
        entry["post"]["requestBody"] = bodyOf(schemaRef(sub_schema));
        entry["post"]["responses"] = responses({200, 201, 202}, schemaRef(sub_schema));
      }
    }
    paths[base + "/{name}/" + sub.name] = entry;
  }
}

// A review (SelfSubjectReview): only created, never stored, so only its collection's POST.
void addReviewPaths(const ResourceInfo& r, json& paths) {
  std::string prefix = "/apis/" + r.group + "/" + r.version;
  std::string tag = r.group.substr(0, r.group.find('.')) + "_" + r.version;
  std::string schema_name = schemaNameOf(r.group, r.version, r.kind);
  OperationFacts facts{"post", "create" + camel(r.group) + upperFirst(r.version),
                       gvkOf(r.group, r.version, r.kind), tag, r.kind};
  json collection = {{"parameters", json::array({queryParams({"pretty"})[0]})}};
  collection["post"] = operation(facts, "Create a " + r.kind + ".",
                                 queryParams({"dryRun", "fieldManager", "fieldValidation"}));
  collection["post"]["requestBody"] = bodyOf(schemaRef(schema_name));
  collection["post"]["responses"] = responses({200, 201, 202}, schemaRef(schema_name));
  paths[prefix + "/" + r.plural] = collection;
}

// Every definition `schema` reaches through $refs, added to `names`.
void collectRefs(const json& schema, std::set<std::string>& names) {
  if (schema.is_object()) {
    if (auto it = schema.find("$ref"); it != schema.end() && it->is_string()) {
      std::string name = it->get<std::string>().substr(kSchemaRefPrefix.size());
      if (names.insert(name).second) {
        collectRefs(schemaDefinitions().at(name), names);
      }
    }
  }
  if (schema.is_structured()) {
    for (const auto& child : schema) {
      collectRefs(child, names);
    }
  }
}

json buildDocument(const ServedGroupVersion& gv) {
  json paths = json::object();
  for (const auto& r : builtinResources()) {
    if (r.group == gv.group && r.version == gv.version) {
      addResourcePaths(r, paths);
    }
  }
  for (const auto& r : reviewResources()) {
    if (r.group == gv.group && r.version == gv.version) {
      addReviewPaths(r, paths);
    }
  }
  std::set<std::string> names = {std::string(kWatchEvent)};
  collectRefs(paths, names);
  collectRefs(schemaDefinitions().at(std::string(kWatchEvent)), names);
  json schemas = json::object();
  for (const auto& name : names) {
    schemas[name] = schemaDefinitions().at(name);
  }
  std::string title = gv.group.empty() ? "Kubernetes" : "Kubernetes";
  return {{"openapi", "3.0.0"},
          {"info", {{"title", title}, {"version", "v1.32.0"}}},
          {"paths", std::move(paths)},
          {"components",
           {{"schemas", std::move(schemas)},
            {"securitySchemes",
             {{"BearerToken",
               {{"type", "apiKey"},
                {"description", "Bearer token authentication"},
                {"name", "authorization"},
                {"in", "header"}}}}}}},
          {"security", json::array({{{"BearerToken", json::array()}}})}};
}

// FNV-1a over the serialized document: the index's hash changes whenever the document does, so
// a client's cache keyed by the URL never serves a stale schema.
std::string hashOf(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(h));
  return buf;
}

struct Documents {
  json index;
  std::map<std::string, json, std::less<>> by_path;
};

const Documents& documents() {
  static const Documents docs = [] {
    Documents d;
    d.index = {{"paths", json::object()}};
    std::vector<ServedGroupVersion> versions = servedGroupVersions();
    for (const auto& r : reviewResources()) {  // e.g. authentication.k8s.io/v1
      bool seen = false;
      for (const auto& gv : versions) {
        seen = seen || (gv.group == r.group && gv.version == r.version);
      }
      if (!seen) {
        versions.push_back({r.group, r.version, "apis/" + r.group + "/" + r.version});
      }
    }
    for (const auto& gv : versions) {
      json doc = buildDocument(gv);
      d.index["paths"][gv.path] = {
          {"serverRelativeURL", "/openapi/v3/" + gv.path + "?hash=" + hashOf(doc.dump())}};
      d.by_path.emplace(gv.path, std::move(doc));
    }
    return d;
  }();
  return docs;
}

}  // namespace

const json& openApiIndex() { return documents().index; }

const json* openApiDocument(std::string_view group_version_path) {
  const auto& by_path = documents().by_path;
  auto it = by_path.find(group_version_path);
  return it == by_path.end() ? nullptr : &it->second;
}

namespace {

constexpr const char* kV2Title = "Kubernetes";
constexpr const char* kV2Version = "v1.32.0";

// A length-delimited protobuf field (wire type 2).
void appendField(std::string& out, int field, const std::string& bytes) {
  auto varint = [&out](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(field) << 3) | 2);
  varint(bytes.size());
  out += bytes;
}

}  // namespace

const json& openApiV2Json() {
  static const json doc = {{"swagger", "2.0"},
                           {"info", {{"title", kV2Title}, {"version", kV2Version}}},
                           {"paths", json::object()},
                           {"definitions", json::object()}};
  return doc;
}

const std::string& openApiV2Protobuf() {
  // openapi_v2.Document: swagger = 1, info = 2 (Info: title = 1, version = 2), paths = 8,
  // definitions = 9 (gnostic's OpenAPIv2.proto).
  static const std::string bytes = [] {
    std::string info;
    appendField(info, 1, kV2Title);
    appendField(info, 2, kV2Version);
    std::string doc;
    appendField(doc, 1, "2.0");
    appendField(doc, 2, info);
    appendField(doc, 8, "");
    appendField(doc, 9, "");
    return doc;
  }();
  return bytes;
}

}  // namespace rampart::api
