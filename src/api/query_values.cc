#include "api/query_values.h"

#include <charconv>

namespace rampart::api {

Result<bool> parseQueryBool(const std::string& key, const std::string& text) {
  for (const char* yes : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (text == yes) {
      return true;
    }
  }
  for (const char* no : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (text == no) {
      return false;
    }
  }
  return fail(ErrorCode::InvalidArgument, key, ": invalid value \"", text,
              "\": must be true or false");
}

Result<int64_t> parseQueryInt(const std::string& key, const std::string& text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(ErrorCode::InvalidArgument, key, ": invalid value \"", text,
                "\": must be an integer");
  }
  return n;
}

}  // namespace rampart::api
