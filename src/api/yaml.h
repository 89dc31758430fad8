#pragma once
// YAML request bodies (`Content-Type: application/yaml`) as the JSON the API works on, with
// YAML 1.2's core schema for plain scalars (null, booleans, integers, floats; everything else,
// and every quoted scalar, is a string), as Kubernetes' sigs.k8s.io/yaml converts them. Pure.

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace rampart::api {

// The single document of `text`; InvalidArgument naming line:column for a syntax error, or when
// there are several documents.
Result<nlohmann::json> yamlToJson(std::string_view text);

}  // namespace rampart::api
