#include "metrics/metrics.h"

#include <prometheus/text_serializer.h>

namespace rampart::metrics {

std::shared_ptr<Registry> makeRegistry() { return std::make_shared<Registry>(); }

std::string render(Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace rampart::metrics
