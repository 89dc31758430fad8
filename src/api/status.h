#pragma once
// Kubernetes' error vocabulary: field errors as validation reports them
// (`spec.replicas: Invalid value: -1: must be greater than or equal to 0`) and the `Status`
// object every failed request answers with, whose `reason`, `code` and message kubectl prints
// (`Error from server (NotFound): pods "web" not found`). Pure values.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::api {

struct FieldError {
  enum class Type { Invalid, Required, Unsupported, Duplicate, Forbidden, TooLong, NotFound };
  Type type = Type::Invalid;
  std::string field;     // "spec.replicas", "spec.template.spec.containers[0].name"
  nlohmann::json value;  // the bad value (null for Required/Forbidden)
  std::string detail;    // "must be greater than or equal to 0"

  // "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
  std::string toString() const;
};

using FieldErrors = std::vector<FieldError>;

FieldError invalidField(std::string field, nlohmann::json value, std::string detail);
FieldError requiredField(std::string field, std::string detail = "");
FieldError forbiddenField(std::string field, std::string detail);
FieldError unsupportedField(std::string field, nlohmann::json value,
                            const std::vector<std::string>& supported);

// Which object a Status speaks of: "pods" / "deployments.apps" and a name.
struct StatusSubject {
  std::string group;     // "" for core
  std::string resource;  // plural: "pods"
  std::string kind;      // "Pod" (for Invalid)
  std::string name;
};

// A Status with an explicit reason and code.
nlohmann::json statusFailure(int code, const std::string& reason, const std::string& message);
// Kubernetes' StatusReason for an HTTP code ("NotFound" for 404 …; "InternalError" otherwise),
// and a Status with it: what proxied requests answer when the node agent's answer is an error.
std::string reasonForCode(int code);
nlohmann::json statusForCode(int code, const std::string& message);

nlohmann::json statusNotFound(const StatusSubject& subject);
nlohmann::json statusAlreadyExists(const StatusSubject& subject);
// A stale resourceVersion on update.
nlohmann::json statusConflict(const StatusSubject& subject, const std::string& why);
// 422: `Deployment.apps "web" is invalid: [a: ..., b: ...]` with one cause per field error.
nlohmann::json statusInvalid(const StatusSubject& subject, const FieldErrors& errors);
nlohmann::json statusBadRequest(const std::string& message);
// 410 below etcd's compaction: "too old resource version: 5 (10)".
nlohmann::json statusGone(const std::string& message);
// A Status for a successful delete (`kubectl delete` prints "deleted" from the caller side).
nlohmann::json statusSuccess(const StatusSubject& subject);

}  // namespace rampart::api
