#pragma once
// Query parameter values as Kubernetes decodes them (Go's strconv): booleans are 1/t/T/true/
// TRUE/True and 0/f/F/false/FALSE/False, integers are base-10 int64. Errors name the key
// ("follow: invalid value \"maybe\": must be true or false"). Used by the API server's pods/log
// and the node agent's logs and exec endpoints. Pure.

#include <cstdint>
#include <string>

#include "base/result.h"

namespace rampart::api {

Result<bool> parseQueryBool(const std::string& key, const std::string& text);
Result<int64_t> parseQueryInt(const std::string& key, const std::string& text);

}  // namespace rampart::api
