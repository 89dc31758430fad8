#include "agent/probe/spec.h"

#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>

namespace rampart::agent::probe {

using nlohmann::json;

std::string_view kindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::Liveness:
      return "liveness";
    case ProbeKind::Readiness:
      return "readiness";
    case ProbeKind::Startup:
      return "startup";
  }
  return "unknown";
}

std::string_view kindTitle(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::Liveness:
      return "Liveness";
    case ProbeKind::Readiness:
      return "Readiness";
    case ProbeKind::Startup:
      return "Startup";
  }
  return "Unknown";
}

namespace {

std::string join(std::string_view path, std::string_view field) {
  std::string out(path);
  if (!out.empty()) {
    out += '.';
  }
  out += field;
  return out;
}

// A millisecond annotation: digits only (no sign, no fraction, no unit), within int64 ms.
Result<std::optional<Duration>> annotationMillis(const json& annotations, std::string_view name,
                                                 bool zero_allowed) {
  auto it = annotations.find(std::string(name));
  if (it == annotations.end()) {
    return std::optional<Duration>();
  }
  std::string_view want = zero_allowed ? "a non-negative integer of milliseconds"
                                       : "a positive integer of milliseconds";
  if (!it->is_string()) {
    return fail(ErrorCode::InvalidArgument, "annotation ", name, " must be a string holding ",
                want);
  }
  const auto& text = it->get_ref<const std::string&>();
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() ||
      end != text.data() + text.size() || (ms == 0 && !zero_allowed) ||
      ms > std::numeric_limits<int64_t>::max() / 1'000'000) {
    return fail(ErrorCode::InvalidArgument, "annotation ", name, "=\"", text, "\" must be ", want);
  }
  return std::optional<Duration>(std::chrono::milliseconds(ms));
}

// A non-negative integer field; absent or 0 gives `fallback` (the API server's defaulting).
Result<int> intField(const json& probe, std::string_view name, int fallback, std::string_view path,
                     int minimum) {
  auto it = probe.find(std::string(name));
  if (it == probe.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_number_integer()) {
    return fail(ErrorCode::InvalidArgument, join(path, name), ": must be an integer");
  }
  auto value = it->get<int64_t>();
  if (value < minimum || value > std::numeric_limits<int32_t>::max()) {
    return fail(ErrorCode::InvalidArgument, join(path, name), ": must be at least ",
                std::to_string(minimum), " (got ", std::to_string(value), ")");
  }
  return value == 0 ? fallback : static_cast<int>(value);
}

// A port: a number 1-65535 or the name of one of the container's ports.
Result<uint16_t> portField(const json& action, std::string_view path, const json& container_ports) {
  auto field = join(path, "port");
  auto it = action.find("port");
  if (it == action.end() || it->is_null()) {
    return fail(ErrorCode::InvalidArgument, field, ": required");
  }
  if (it->is_number_integer()) {
    auto port = it->get<int64_t>();
    if (port < 1 || port > 65535) {
      return fail(ErrorCode::InvalidArgument, field, ": must be between 1 and 65535 (got ",
                  std::to_string(port), ")");
    }
    return static_cast<uint16_t>(port);
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return fail(ErrorCode::InvalidArgument, field, ": must be a port number or a port name");
  }
  const auto& name = it->get_ref<const std::string&>();
  // An IntOrString that holds digits is a number to the kubelet too.
  if (name.find_first_not_of("0123456789") == std::string::npos) {
    return portField(json{{"port", std::stoll(name.substr(0, 6))}}, path, container_ports);
  }
  if (container_ports.is_array()) {
    for (const auto& port : container_ports) {
      if (port.is_object() && port.value("name", "") == name) {
        auto number = port.value("containerPort", int64_t{0});
        if (number < 1 || number > 65535) {
          break;
        }
        return static_cast<uint16_t>(number);
      }
    }
  }
  return fail(ErrorCode::InvalidArgument, field, ": no container port named \"", name, "\"");
}

Result<std::string> stringField(const json& object, std::string_view name, std::string_view path,
                                std::string fallback) {
  auto it = object.find(std::string(name));
  if (it == object.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_string()) {
    return fail(ErrorCode::InvalidArgument, join(path, name), ": must be a string");
  }
  return it->get<std::string>();
}

Result<Handler> parseExec(const json& exec, std::string_view path) {
  if (!exec.is_object()) {
    return fail(ErrorCode::InvalidArgument, path, ": must be an object");
  }
  ExecAction action;
  auto it = exec.find("command");
  if (it == exec.end() || !it->is_array() || it->empty()) {
    return fail(ErrorCode::InvalidArgument, join(path, "command"), ": required (a non-empty list)");
  }
  for (const auto& arg : *it) {
    if (!arg.is_string()) {
      return fail(ErrorCode::InvalidArgument, join(path, "command"), ": must hold strings only");
    }
    action.command.push_back(arg.get<std::string>());
  }
  return Handler(std::move(action));
}

Result<Handler> parseHttpGet(const json& get, std::string_view path, const json& ports) {
  if (!get.is_object()) {
    return fail(ErrorCode::InvalidArgument, path, ": must be an object");
  }
  HttpGetAction action;
  auto port = portField(get, path, ports);
  if (!port) {
    return fail(port.error());
  }
  action.port = *port;
  auto host = stringField(get, "host", path, "");
  auto target = stringField(get, "path", path, "/");
  auto scheme = stringField(get, "scheme", path, "HTTP");
  for (auto* r : {&host, &target, &scheme}) {
    if (!*r) {
      return fail(r->error());
    }
  }
  action.host = *host;
  action.path = target->empty() ? "/" : *target;
  if (action.path[0] != '/') {
    action.path.insert(action.path.begin(), '/');
  }
  if (*scheme == "HTTPS") {
    action.https = true;
  } else if (*scheme != "HTTP") {
    return fail(ErrorCode::InvalidArgument, join(path, "scheme"), ": must be HTTP or HTTPS (got \"",
                *scheme, "\")");
  }
  if (auto it = get.find("httpHeaders"); it != get.end() && !it->is_null()) {
    auto field = join(path, "httpHeaders");
    if (!it->is_array()) {
      return fail(ErrorCode::InvalidArgument, field, ": must be a list");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& header = (*it)[i];
      auto at = field + "[" + std::to_string(i) + "]";
      if (!header.is_object() || !header.contains("name") || !header["name"].is_string() ||
          header["name"].get_ref<const std::string&>().empty()) {
        return fail(ErrorCode::InvalidArgument, at, ".name: required");
      }
      auto value = stringField(header, "value", at, "");
      if (!value) {
        return fail(value.error());
      }
      action.headers.emplace_back(header["name"].get<std::string>(), *value);
    }
  }
  return Handler(std::move(action));
}

Result<Handler> parseTcpSocket(const json& tcp, std::string_view path, const json& ports) {
  if (!tcp.is_object()) {
    return fail(ErrorCode::InvalidArgument, path, ": must be an object");
  }
  TcpSocketAction action;
  auto port = portField(tcp, path, ports);
  if (!port) {
    return fail(port.error());
  }
  action.port = *port;
  auto host = stringField(tcp, "host", path, "");
  if (!host) {
    return fail(host.error());
  }
  action.host = *host;
  return Handler(std::move(action));
}

}  // namespace

Result<PodTiming> timingFromAnnotations(const json& metadata) {
  PodTiming timing;
  if (!metadata.is_object()) {
    return timing;
  }
  auto it = metadata.find("annotations");
  if (it == metadata.end() || !it->is_object()) {
    return timing;
  }
  auto period = annotationMillis(*it, kPeriodAnnotation, false);
  if (!period) {
    return fail(period.error());
  }
  auto timeout = annotationMillis(*it, kTimeoutAnnotation, false);
  if (!timeout) {
    return fail(timeout.error());
  }
  auto delay = annotationMillis(*it, kInitialDelayAnnotation, true);
  if (!delay) {
    return fail(delay.error());
  }
  timing.period = *period;
  timing.timeout = *timeout;
  timing.initial_delay = *delay;
  return timing;
}

Result<ProbeSpec> parseProbe(const json& probe, ProbeKind kind, const PodTiming& overrides,
                             std::string_view field_path, const json& container_ports) {
  if (!probe.is_object()) {
    return fail(ErrorCode::InvalidArgument, field_path, ": must be an object");
  }
  ProbeSpec spec;
  spec.kind = kind;

  int handlers = 0;
  for (const char* name : {"exec", "httpGet", "tcpSocket", "grpc"}) {
    if (auto it = probe.find(name); it != probe.end() && !it->is_null()) {
      ++handlers;
    }
  }
  if (handlers == 0) {
    return fail(ErrorCode::InvalidArgument, field_path,
                ": must specify a handler (exec, httpGet or tcpSocket)");
  }
  if (handlers > 1) {
    return fail(ErrorCode::InvalidArgument, field_path, ": may not specify more than 1 handler");
  }
  if (probe.contains("grpc") && !probe["grpc"].is_null()) {
    return fail(ErrorCode::InvalidArgument, join(field_path, "grpc"),
                ": grpc probes are not supported by rampart agent; use exec, httpGet or tcpSocket");
  }
  Result<Handler> handler = fail(ErrorCode::Internal, "no handler");
  if (probe.contains("exec") && !probe["exec"].is_null()) {
    handler = parseExec(probe["exec"], join(field_path, "exec"));
  } else if (probe.contains("httpGet") && !probe["httpGet"].is_null()) {
    handler = parseHttpGet(probe["httpGet"], join(field_path, "httpGet"), container_ports);
  } else {
    handler = parseTcpSocket(probe["tcpSocket"], join(field_path, "tcpSocket"), container_ports);
  }
  if (!handler) {
    return fail(handler.error());
  }
  spec.handler = std::move(*handler);

  auto delay = intField(probe, "initialDelaySeconds", 0, field_path, 0);
  auto period = intField(probe, "periodSeconds", 10, field_path, 0);
  auto timeout = intField(probe, "timeoutSeconds", 1, field_path, 0);
  auto successes = intField(probe, "successThreshold", 1, field_path, 0);
  auto failures = intField(probe, "failureThreshold", 3, field_path, 0);
  for (auto* r : {&delay, &period, &timeout, &successes, &failures}) {
    if (!*r) {
      return fail(r->error());
    }
  }
  if (kind != ProbeKind::Readiness && *successes != 1) {
    return fail(ErrorCode::InvalidArgument, join(field_path, "successThreshold"),
                ": must be 1 for ", kindName(kind), " probes (got ", std::to_string(*successes),
                ")");
  }
  spec.initial_delay = overrides.initial_delay.value_or(std::chrono::seconds(*delay));
  spec.period = overrides.period.value_or(std::chrono::seconds(*period));
  spec.timeout = overrides.timeout.value_or(std::chrono::seconds(*timeout));
  spec.success_threshold = *successes;
  spec.failure_threshold = *failures;

  if (auto it = probe.find("terminationGracePeriodSeconds"); it != probe.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1) {
      return fail(ErrorCode::InvalidArgument, join(field_path, "terminationGracePeriodSeconds"),
                  ": must be a positive integer");
    }
    spec.termination_grace = std::chrono::seconds(it->get<int64_t>());
  }
  return spec;
}

const std::optional<ProbeSpec>& ContainerProbeSpecs::get(ProbeKind kind) const {
  switch (kind) {
    case ProbeKind::Liveness:
      return liveness;
    case ProbeKind::Readiness:
      return readiness;
    case ProbeKind::Startup:
      return startup;
  }
  return liveness;
}

Result<ContainerProbeSpecs> parseContainerProbes(const json& container, const PodTiming& overrides,
                                                 std::string_view field_path) {
  ContainerProbeSpecs specs;
  if (!container.is_object()) {
    return specs;
  }
  static const json kNoPorts;
  auto ports_it = container.find("ports");
  const json& ports = ports_it == container.end() ? kNoPorts : *ports_it;
  struct Field {
    const char* name;
    ProbeKind kind;
    std::optional<ProbeSpec>* out;
  };
  for (const Field& f : {Field{"livenessProbe", ProbeKind::Liveness, &specs.liveness},
                         Field{"readinessProbe", ProbeKind::Readiness, &specs.readiness},
                         Field{"startupProbe", ProbeKind::Startup, &specs.startup}}) {
    auto it = container.find(f.name);
    if (it == container.end() || it->is_null()) {
      continue;
    }
    auto spec = parseProbe(*it, f.kind, overrides, join(field_path, f.name), ports);
    if (!spec) {
      return fail(spec.error());
    }
    *f.out = std::move(*spec);
  }
  return specs;
}

std::string describeTarget(const HttpGetAction& action, std::string_view pod_ip) {
  std::string host = action.host.empty() ? std::string(pod_ip) : action.host;
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return std::string(action.https ? "https://" : "http://") + host + ":" +
         std::to_string(action.port) + action.path;
}

}  // namespace rampart::agent::probe
