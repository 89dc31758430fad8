// Fuzzes the decoder of Kubernetes' protobuf request bodies (api/protobuf.h), which reads
// whatever an authenticated client posts. Any bytes must give an object or an error, never a
// crash, an exception, unbounded recursion or undefined behaviour; a decoded object is a JSON
// object with apiVersion and kind, and dumps.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/protobuf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto decoded = rampart::api::protobufToJson(body);
  if (!decoded) {
    if (decoded.error().code != rampart::ErrorCode::InvalidArgument) {
      std::abort();
    }
    return 0;
  }
  if (!decoded->is_object() || !(*decoded)["apiVersion"].is_string() ||
      !(*decoded)["kind"].is_string()) {
    std::abort();
  }
  // As the server sends it on (invalid UTF-8 replaced, as Go's JSON does).
  (void)decoded->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
