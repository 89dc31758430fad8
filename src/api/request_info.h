#pragma once
// What an API request asks for, read from its method, path and query as kube-apiserver's
// RequestInfoFactory reads them:
//   /api/v1/namespaces/default/pods/web/status   → group "", v1, ns default, pods, web, status
//   /apis/apps/v1/deployments?watch=1            → list+watch of every namespace
//   /api/v1/namespaces/default                   → the Namespace "default"
// and the verb (get, list, watch, create, update, patch, delete, deletecollection). Pure.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::api {

struct RequestInfo {
  bool resource_request = false;  // false: discovery, /healthz, /version, /openapi ...
  std::string path;               // without the query
  std::string verb;
  std::string group;
  std::string version;
  std::string ns;  // the namespace in the path ("" when none)
  std::string resource;
  std::string name;
  std::string subresource;
  std::map<std::string, std::string> query;  // decoded; the last value of a repeated key wins
};

// Percent-decoding for query values ('+' is a space, as in forms).
Result<std::string> urlDecode(std::string_view text);
Result<std::map<std::string, std::string>> parseQuery(std::string_view query);

// InvalidArgument for a malformed path or query (a bad escape, a namespace without resource...).
Result<RequestInfo> parseRequestInfo(std::string_view method, std::string_view target);

}  // namespace rampart::api
