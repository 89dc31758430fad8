// Fuzzes what the API server does with a request body before anything else: parsing it as JSON
// while noting duplicate keys, then walking it along a served kind's schema (unknown fields
// dropped, wrong JSON types refused). The first byte picks the kind, the rest is the body. Any
// bytes must give an object or an error, never a crash, an exception or undefined behaviour; a
// pruned object must prune again to itself with nothing more to report.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/field_validation.h"
#include "api/registry.h"
#include "api/schema.h"

using namespace rampart;
using namespace rampart::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const auto& kinds = builtinResources();
  const ResourceInfo& r = kinds[data[0] % kinds.size()];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> problems;
  auto parsed = parseJsonCheckingDuplicates(body, problems);
  if (!parsed || !parsed->is_object()) {
    return 0;
  }
  std::string schema = schemaNameOf(r.group, r.version, r.kind);
  auto pruned = pruneUnknownFields(*parsed, schema, problems);
  if (!pruned) {
    return 0;
  }
  nlohmann::json again = *parsed;
  std::vector<std::string> more;
  if (!pruneUnknownFields(again, schema, more) || !more.empty() || again != *parsed) {
    std::abort();
  }
  return 0;
}
