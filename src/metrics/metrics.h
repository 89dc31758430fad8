#pragma once
// Prometheus metrics: one registry per process (prometheus-cpp core, no embedded web server);
// the runtime's admin HTTP server serves it at /metrics in the text format 0.0.4.
// prometheus-cpp metric objects are thread-safe.

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace rampart::metrics {

using Registry = prometheus::Registry;
std::shared_ptr<Registry> makeRegistry();
// The registry's current state in Prometheus text format.
std::string render(Registry& registry);
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace rampart::metrics
