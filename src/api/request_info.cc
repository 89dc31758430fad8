#include "api/request_info.h"

#include <vector>

#include "base/hex.h"

namespace rampart::api {
namespace {

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      slash = path.size();
    }
    if (slash > start) {
      parts.emplace_back(path.substr(start, slash - start));
    }
    start = slash + 1;
  }
  return parts;
}

bool truthy(const std::map<std::string, std::string>& query, const char* key) {
  auto it = query.find(key);
  return it != query.end() && (it->second == "1" || it->second == "true");
}

}  // namespace

Result<std::string> urlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return fail(ErrorCode::InvalidArgument, "invalid URL escape in '", text, "'");
      }
      int hi = hexValue(text[i + 1]);
      int lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return fail(ErrorCode::InvalidArgument, "invalid URL escape in '", text, "'");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string_view part =
        query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      auto key = urlDecode(part.substr(0, eq));
      auto value = urlDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
      if (!key || !value) {
        return fail(ErrorCode::InvalidArgument,
                    "invalid query: ", !key ? key.error().message : value.error().message);
      }
      out[*key] = *value;
    }
    if (amp == std::string_view::npos) {
      break;
    }
    start = amp + 1;
  }
  return out;
}

Result<RequestInfo> parseRequestInfo(std::string_view method, std::string_view target) {
  RequestInfo info;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  auto query = parseQuery(q == std::string_view::npos ? "" : target.substr(q + 1));
  if (!query) {
    return fail(query.error());
  }
  info.query = std::move(*query);
  auto raw_path = urlDecode(path);
  if (!raw_path) {
    return fail(raw_path.error());
  }
  info.path = *raw_path;
  std::vector<std::string> parts = splitPath(info.path);
  std::string http_verb(method);
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    info.version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    info.group = parts[1];
    info.version = parts[2];
    i = 3;
  } else {
    info.verb = http_verb == "GET" || http_verb == "HEAD" ? "get" : "post";
    return info;  // /api, /apis, /apis/<group>, /version, /healthz, /openapi/v3 ...
  }
  if (i >= parts.size()) {
    info.verb = "get";
    return info;  // group-version discovery
  }
  for (const auto& part : parts) {
    if (part == "." || part == "..") {
      return fail(ErrorCode::InvalidArgument, "invalid path segment in '", info.path, "'");
    }
  }
  info.resource_request = true;
  // /namespaces/<ns>/<resource>/... ; but /namespaces and /namespaces/<name>[/status|finalize]
  // address Namespace objects themselves.
  if (parts[i] == "namespaces" && i + 2 < parts.size()) {
    info.ns = parts[i + 1];
    i += 2;
  }
  info.resource = parts[i++];
  if (i < parts.size()) {
    info.name = parts[i++];
  }
  if (i < parts.size()) {
    info.subresource = parts[i++];
  }
  if (i < parts.size()) {
    return fail(ErrorCode::InvalidArgument, "unexpected path '", info.path, "': too many segments");
  }
  if (info.resource == "namespaces" && !info.name.empty() && info.ns.empty()) {
    info.ns = info.name;  // a Namespace is its own namespace, as RequestInfo reports it
  }
  if (http_verb == "GET" || http_verb == "HEAD") {
    if (truthy(info.query, "watch")) {
      info.verb = "watch";
    } else {
      info.verb = info.name.empty() ? "list" : "get";
    }
  } else if (http_verb == "POST") {
    info.verb = "create";
  } else if (http_verb == "PUT") {
    info.verb = "update";
  } else if (http_verb == "PATCH") {
    info.verb = "patch";
  } else if (http_verb == "DELETE") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  } else {
    return fail(ErrorCode::InvalidArgument, "method ", method, " is not supported");
  }
  return info;
}

}  // namespace rampart::api
