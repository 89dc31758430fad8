#include "api/pod_exec.h"

#include <nlohmann/json.hpp>

#include "api/pod_log.h"
#include "api/request_info.h"

namespace rampart::api {
using json = nlohmann::json;

Result<ExecTarget> execTargetOf(const json& pod, const json& node, std::string_view raw_query) {
  LogRequest choice;  // the container is chosen as for pods/log
  size_t commands = 0;
  std::string_view rest = raw_query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    auto key = urlDecode(pair.substr(0, eq));
    auto value = urlDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) {
      return fail(ErrorCode::InvalidArgument,
                  "invalid query: ", (!key ? key.error() : value.error()).message);
    }
    if (*key == "command") {
      ++commands;
    } else if (*key == "container") {
      choice.container = *value;
    }
  }
  if (commands == 0) {
    return fail(ErrorCode::InvalidArgument,
                "you must specify at least one command for the container");
  }
  auto container = logContainerOf(pod, choice);
  if (!container) {
    return fail(container.error());
  }
  std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  if (phase == "Succeeded" || phase == "Failed") {
    return fail(ErrorCode::InvalidArgument,
                "cannot exec into a container in a completed pod; current phase is ", phase);
  }
  // The node agent's address: the same rules as pods/log (InternalIP, kubeletEndpoint port).
  auto log_target = logTargetOf(pod, node, choice);
  if (!log_target) {
    return fail(log_target.error());
  }
  ExecTarget target;
  target.host = log_target->host;
  target.port = log_target->port;
  // Names and namespaces are DNS labels/subdomains: nothing to escape in the path.
  target.path = "/exec/" + pod.value("/metadata/namespace"_json_pointer, std::string()) + "/" +
                pod.value("/metadata/name"_json_pointer, std::string()) + "/" + *container;
  if (!raw_query.empty()) {
    target.path += "?";
    target.path += raw_query;
  }
  return target;
}

}  // namespace rampart::api
