#include "api/status.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

const char* typeText(FieldError::Type type) {
  switch (type) {
    case FieldError::Type::Invalid:
      return "Invalid value";
    case FieldError::Type::Required:
      return "Required value";
    case FieldError::Type::Unsupported:
      return "Unsupported value";
    case FieldError::Type::Duplicate:
      return "Duplicate value";
    case FieldError::Type::Forbidden:
      return "Forbidden";
    case FieldError::Type::TooLong:
      return "Too long";
    case FieldError::Type::NotFound:
      return "Not found";
  }
  return "Invalid value";
}

// The cause reasons of metav1.StatusCause.
const char* causeReason(FieldError::Type type) {
  switch (type) {
    case FieldError::Type::Invalid:
      return "FieldValueInvalid";
    case FieldError::Type::Required:
      return "FieldValueRequired";
    case FieldError::Type::Unsupported:
      return "FieldValueNotSupported";
    case FieldError::Type::Duplicate:
      return "FieldValueDuplicate";
    case FieldError::Type::Forbidden:
      return "FieldValueForbidden";
    case FieldError::Type::TooLong:
      return "FieldValueTooLong";
    case FieldError::Type::NotFound:
      return "FieldValueNotFound";
  }
  return "FieldValueInvalid";
}

// "pods" or "deployments.apps", as Kubernetes names a resource in messages.
std::string qualified(const StatusSubject& s) {
  return s.group.empty() ? s.resource : s.resource + "." + s.group;
}

json details(const StatusSubject& s) {
  json d = {{"name", s.name}, {"kind", s.resource}};
  if (!s.group.empty()) {
    d["group"] = s.group;
  }
  return d;
}

json status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

}  // namespace

std::string FieldError::toString() const {
  std::string out = field + ": " + typeText(type);
  bool shows_value = type != Type::Required && type != Type::Forbidden && type != Type::TooLong;
  if (shows_value) {
    out += ": " + (value.is_null() ? std::string("null") : value.dump());
  }
  if (!detail.empty()) {
    out += ": " + detail;
  }
  return out;
}

FieldError invalidField(std::string field, json value, std::string detail) {
  return {FieldError::Type::Invalid, std::move(field), std::move(value), std::move(detail)};
}

FieldError requiredField(std::string field, std::string detail) {
  return {FieldError::Type::Required, std::move(field), json(), std::move(detail)};
}

FieldError forbiddenField(std::string field, std::string detail) {
  return {FieldError::Type::Forbidden, std::move(field), json(), std::move(detail)};
}

FieldError unsupportedField(std::string field, json value,
                            const std::vector<std::string>& supported) {
  std::string detail = "supported values: ";
  for (size_t i = 0; i < supported.size(); ++i) {
    detail += (i ? ", " : "") + json(supported[i]).dump();
  }
  return {FieldError::Type::Unsupported, std::move(field), std::move(value), std::move(detail)};
}

json statusFailure(int code, const std::string& reason, const std::string& message) {
  return status(code, reason, message);
}

json statusNotFound(const StatusSubject& subject) {
  json s = status(404, "NotFound", qualified(subject) + " \"" + subject.name + "\" not found");
  s["details"] = details(subject);
  return s;
}

json statusAlreadyExists(const StatusSubject& subject) {
  json s =
      status(409, "AlreadyExists", qualified(subject) + " \"" + subject.name + "\" already exists");
  s["details"] = details(subject);
  return s;
}

json statusConflict(const StatusSubject& subject, const std::string& why) {
  json s = status(409, "Conflict",
                  "Operation cannot be fulfilled on " + qualified(subject) + " \"" + subject.name +
                      "\": " + why);
  s["details"] = details(subject);
  return s;
}

json statusInvalid(const StatusSubject& subject, const FieldErrors& errors) {
  std::string kind = subject.group.empty() ? subject.kind : subject.kind + "." + subject.group;
  std::string list;
  json causes = json::array();
  for (const auto& e : errors) {
    list += (list.empty() ? "" : ", ") + e.toString();
    std::string message = e.toString().substr(e.field.size() + 2);
    causes.push_back({{"reason", causeReason(e.type)}, {"message", message}, {"field", e.field}});
  }
  if (errors.size() > 1) {
    list = "[" + list + "]";
  }
  json s = status(422, "Invalid", kind + " \"" + subject.name + "\" is invalid: " + list);
  json d = {{"name", subject.name}, {"kind", subject.kind}, {"causes", causes}};
  if (!subject.group.empty()) {
    d["group"] = subject.group;
  }
  s["details"] = d;
  return s;
}

json statusBadRequest(const std::string& message) { return status(400, "BadRequest", message); }

json statusGone(const std::string& message) { return status(410, "Expired", message); }

json statusSuccess(const StatusSubject& subject) {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Success"},
          {"details", details(subject)}};
}

std::string reasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "InternalError";
  }
}

nlohmann::json statusForCode(int code, const std::string& message) {
  return statusFailure(code, reasonForCode(code), message);
}

}  // namespace rampart::api
