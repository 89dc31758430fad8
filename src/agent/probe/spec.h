#pragma once
// Probe specifications: a container's livenessProbe / readinessProbe / startupProbe (Kubernetes
// core/v1 Probe) read from its JSON into plain values, with Kubernetes' defaults
// (initialDelaySeconds 0, periodSeconds 10, timeoutSeconds 1, successThreshold 1,
// failureThreshold 3; a 0 means "the default", as the API server's defaulting does) and its
// validation (exactly one handler; successThreshold 1 for liveness and startup; ports 1-65535 or
// a name of one of the container's ports). grpc probes are refused with a clear error: Rampart's
// agent does not speak gRPC.
//
// Kubernetes' timing fields are whole seconds; a pod may ask for sub-second probing with the
// annotations rampart.io/probe-period-ms, rampart.io/probe-timeout-ms and
// rampart.io/probe-initial-delay-ms, which override the seconds fields of every probe of the pod.
//
// Pure functions: no I/O, no clock; errors are InvalidArgument and name the field
// ("spec.containers[0].livenessProbe.httpGet.port") or the annotation. Thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::agent::probe {

enum class ProbeKind { Liveness, Readiness, Startup };
// "liveness", "readiness", "startup" (log lines); "Liveness", ... (kubelet's messages).
std::string_view kindName(ProbeKind kind);
std::string_view kindTitle(ProbeKind kind);

inline constexpr std::string_view kPeriodAnnotation = "rampart.io/probe-period-ms";
inline constexpr std::string_view kTimeoutAnnotation = "rampart.io/probe-timeout-ms";
inline constexpr std::string_view kInitialDelayAnnotation = "rampart.io/probe-initial-delay-ms";

// The pod's sub-second overrides; unset fields leave the probe's seconds fields in force.
struct PodTiming {
  std::optional<Duration> period;
  std::optional<Duration> timeout;
  std::optional<Duration> initial_delay;
  friend bool operator==(const PodTiming&, const PodTiming&) = default;
};

// From a pod's metadata (its "annotations" object; absent annotations are fine). Period and
// timeout must be positive integers of milliseconds, the initial delay a non-negative one (0 is
// Kubernetes' own default); anything else is an error naming the annotation.
Result<PodTiming> timingFromAnnotations(const nlohmann::json& metadata);

struct ExecAction {
  std::vector<std::string> command;  // not empty; run without a shell, like the kubelet
};

struct HttpGetAction {
  std::string host;   // empty: the pod's IP, given when the probe runs
  uint16_t port = 0;  // a named port is resolved against the container's ports when parsed
  std::string path = "/";
  bool https = false;  // scheme HTTPS: TLS without certificate verification, as the kubelet
  std::vector<std::pair<std::string, std::string>> headers;  // httpHeaders, in order
};

struct TcpSocketAction {
  std::string host;  // empty: the pod's IP
  uint16_t port = 0;
};

using Handler = std::variant<ExecAction, HttpGetAction, TcpSocketAction>;

struct ProbeSpec {
  ProbeKind kind = ProbeKind::Liveness;
  Handler handler;
  Duration initial_delay{0};
  Duration period = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(1);
  int success_threshold = 1;  // consecutive successes that make it pass (1 for liveness/startup)
  int failure_threshold = 3;  // consecutive failures that make it fail
  // The probe's own terminationGracePeriodSeconds (for the kill after a liveness or startup
  // failure), when set; the caller applies it.
  std::optional<Duration> termination_grace;
};

// One probe. `kind` decides the validation (successThreshold must be 1 for liveness and
// startup); `container_ports` is the container's "ports" array (or null) for named ports;
// `field_path` prefixes every error ("spec.containers[0].readinessProbe").
Result<ProbeSpec> parseProbe(const nlohmann::json& probe, ProbeKind kind,
                             const PodTiming& overrides, std::string_view field_path,
                             const nlohmann::json& container_ports);

// The probes of one container (each optional).
struct ContainerProbeSpecs {
  std::optional<ProbeSpec> liveness;
  std::optional<ProbeSpec> readiness;
  std::optional<ProbeSpec> startup;
  const std::optional<ProbeSpec>& get(ProbeKind kind) const;
  bool empty() const { return !liveness && !readiness && !startup; }
};

// The three probes of `container` (a core/v1 Container object); `field_path` names it
// ("spec.containers[1]").
Result<ContainerProbeSpecs> parseContainerProbes(const nlohmann::json& container,
                                                 const PodTiming& overrides,
                                                 std::string_view field_path);

// "http://10.0.0.5:8080/healthz" (host empty: `pod_ip`), for messages and logs.
std::string describeTarget(const HttpGetAction& action, std::string_view pod_ip);

}  // namespace rampart::agent::probe
