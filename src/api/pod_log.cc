#include "api/pod_log.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "api/query_values.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

std::vector<std::string> namesOf(const json& pod, const char* field) {
  std::vector<std::string> names;
  json::json_pointer at(std::string("/spec/") + field);
  if (pod.contains(at) && pod[at].is_array()) {
    for (const auto& c : pod[at]) {
      if (c.is_object()) {
        names.push_back(c.value("name", ""));
      }
    }
  }
  return names;
}

// Go's fmt of a []string: "[a b]".
std::string goList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i ? " " : "") + names[i];
  }
  return out + "]";
}

}  // namespace

Result<ParsedLogRequest> parseLogRequest(const std::map<std::string, std::string>& query) {
  ParsedLogRequest parsed;
  LogRequest& r = parsed.request;
  for (const auto& [key, value] : query) {
    if (key == "container") {
      r.container = value;
    } else if (key == "follow" || key == "previous" || key == "timestamps") {
      auto b = parseQueryBool(key, value);
      if (!b) {
        return fail(b.error());
      }
      (key == "follow" ? r.follow : key == "previous" ? r.previous : r.timestamps) = *b;
    } else if (key == "tailLines" || key == "sinceSeconds" || key == "limitBytes") {
      auto n = parseQueryInt(key, value);
      if (!n) {
        return fail(n.error());
      }
      (key == "tailLines" ? r.tail_lines : key == "sinceSeconds" ? r.since_seconds
                                                                   : r.limit_bytes) = *n;
    } else if (key == "sinceTime") {
      r.since_time = value;
    }
  }
  if (r.tail_lines && *r.tail_lines < 0) {
    parsed.invalid.push_back(
        invalidField("tailLines", *r.tail_lines, "must be greater than or equal to 0"));
  }
  if (r.since_seconds && *r.since_seconds < 1) {
    parsed.invalid.push_back(
        invalidField("sinceSeconds", *r.since_seconds, "must be greater than 0"));
  }
  if (r.limit_bytes && *r.limit_bytes < 1) {
    parsed.invalid.push_back(invalidField("limitBytes", *r.limit_bytes, "must be greater than 0"));
  }
  if (r.since_seconds && !r.since_time.empty()) {
    parsed.invalid.push_back(
        forbiddenField("", "at most one of `sinceTime` or `sinceSeconds` may be specified"));
  }
  return parsed;
}

Result<std::string> logContainerOf(const json& pod, const LogRequest& request) {
  std::string name = pod.value("/metadata/name"_json_pointer, std::string());
  std::vector<std::string> containers = namesOf(pod, "containers");
  std::vector<std::string> init = namesOf(pod, "initContainers");
  std::string container = request.container;
  if (container.empty()) {
    if (containers.size() != 1) {
      std::string message = "a container name must be specified for pod " + name +
                            ", choose one of: " + goList(containers);
      if (!init.empty()) {
        message += " or one of the init containers: " + goList(init);
      }
      return fail(ErrorCode::InvalidArgument, message);
    }
    container = containers.front();
  }
  bool known = std::find(containers.begin(), containers.end(), container) != containers.end() ||
               std::find(init.begin(), init.end(), container) != init.end();
  if (!known) {
    return fail(ErrorCode::InvalidArgument, "container ", container, " is not valid for pod ",
                name);
  }
  if (pod.value("/spec/nodeName"_json_pointer, std::string()).empty()) {
    return fail(ErrorCode::InvalidArgument, "pod ", name, " does not have a host assigned");
  }
  return container;
}

Result<LogTarget> logTargetOf(const json& pod, const json& node, const LogRequest& request) {
  auto container = logContainerOf(pod, request);
  if (!container) {
    return fail(container.error());
  }
  LogTarget target;
  if (node.contains("/status/addresses"_json_pointer) &&
      node["/status/addresses"_json_pointer].is_array()) {
    for (const auto& a : node["/status/addresses"_json_pointer]) {
      if (a.is_object() && a.value("type", "") == "InternalIP" && target.host.empty()) {
        target.host = a.value("address", "");
      }
    }
  }
  std::string node_name = node.value("/metadata/name"_json_pointer, std::string());
  if (target.host.empty()) {
    return fail(ErrorCode::FailedPrecondition, "node ", node_name,
                " has no InternalIP address in its status: its agent cannot be reached");
  }
  json::json_pointer port_at("/status/daemonEndpoints/kubeletEndpoint/Port");
  if (node.contains(port_at) && node[port_at].is_number_integer()) {
    int64_t port = node[port_at].get<int64_t>();
    if (port < 0 || port > 65535) {
      return fail(ErrorCode::FailedPrecondition, "node ", node_name, " reports agent port ",
                  std::to_string(port));
    }
    if (port > 0) {
      target.port = static_cast<uint16_t>(port);
    }
  }
  // The query in sorted key order (Go's url.Values.Encode), only what was asked.
  std::map<std::string, std::string> params;
  if (request.follow) {
    params["follow"] = "true";
  }
  if (request.previous) {
    params["previous"] = "true";
  }
  if (request.timestamps) {
    params["timestamps"] = "true";
  }
  if (request.tail_lines) {
    params["tailLines"] = std::to_string(*request.tail_lines);
  }
  if (request.since_seconds) {
    params["sinceSeconds"] = std::to_string(*request.since_seconds);
  }
  if (request.limit_bytes) {
    params["limitBytes"] = std::to_string(*request.limit_bytes);
  }
  if (!request.since_time.empty()) {
    std::string escaped;
    for (char c : request.since_time) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
        escaped += c;
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
        escaped += hex;
      }
    }
    params["sinceTime"] = escaped;
  }
  // Names and namespaces are DNS labels/subdomains: nothing to escape in the path.
  target.path = "/containerLogs/" + pod.value("/metadata/namespace"_json_pointer, std::string()) +
                "/" + pod.value("/metadata/name"_json_pointer, std::string()) + "/" + *container;
  char sep = '?';
  for (const auto& [k, v] : params) {
    target.path += sep + k + "=" + v;
    sep = '&';
  }
  target.follow = request.follow;
  return target;
}

}  // namespace rampart::api
