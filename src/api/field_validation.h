#pragma once
// Server-side field validation, as kube-apiserver's decoder does it for the `fieldValidation`
// query parameter of create, update and patch:
//   - a field the schema does not know is dropped from what is stored, and reported;
//   - a key given twice in one JSON object is reported (the last value wins, as in Go);
//   - a value of the wrong JSON type (a string for spec.replicas) fails the request whatever the
//     directive, with Go's decoding message.
// Strict turns the reports into a failure (`strict decoding error: unknown field "spec.foo"`: a
// 400 for create and update, a 422 on the field `patch` for a patch), Warn into warnings
// (`unknown field "spec.foo"`), Ignore into nothing. kube-apiserver (1.23 and
// later) uses Warn when the parameter is absent. Pure functions over the schema of
// api/schema.h.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::api {

enum class FieldValidation { Ignore, Warn, Strict };

// The query parameter's value; "" is Warn. InvalidArgument for anything else than the three.
Result<FieldValidation> parseFieldValidation(std::string_view value);

// Parses a JSON document, appending `duplicate field "<path>"` to `problems` for every key that
// occurs twice in one object (paths as in `spec.template.spec.containers[0].name`).
// InvalidArgument when the text is not JSON.
Result<nlohmann::json> parseJsonCheckingDuplicates(std::string_view text,
                                                   std::vector<std::string>& problems);

// Walks `object` along the schema definition `schema_name`: removes every unknown field,
// appending `unknown field "<path>"` to `problems`, and fails with InvalidArgument carrying Go's
// message (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of
// type int32`) at the first value of the wrong type. Free-form values (RawExtension) are not
// entered.
Result<void> pruneUnknownFields(nlohmann::json& object, const std::string& schema_name,
                                std::vector<std::string>& problems);

// `strict decoding error: a, b` for the reported problems.
std::string strictDecodingError(const std::vector<std::string>& problems);

// The message of a Strict failure of a create or update:
// `<Kind> in version "<version>" cannot be handled as a <Kind>: strict decoding error: a, b`.
std::string strictDecodingMessage(const std::string& kind, const std::string& version,
                                  const std::vector<std::string>& problems);

}  // namespace rampart::api
