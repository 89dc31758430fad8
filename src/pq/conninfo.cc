#include "pq/conninfo.h"

namespace rampart::pq {

Result<std::string> quoteValue(std::string_view value) {
  std::string out = "'";
  out.reserve(value.size() + 2);
  for (char c : value) {
    if (c == '\0') {
      return fail(ErrorCode::InvalidArgument, "a connection value with a NUL byte");
    }
    // Inside quotes libpq reads \x as x, so these two are the only characters to escape.
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

namespace {

bool isKeyword(std::string_view key) {
  if (key.empty()) {
    return false;
  }
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Conninfo& Conninfo::set(std::string_view key, std::string_view value) {
  if (!error_.empty()) {
    return *this;
  }
  if (!isKeyword(key)) {
    error_ = "not a connection keyword: '" + std::string(key) + "'";
    return *this;
  }
  auto quoted = quoteValue(value);
  if (!quoted) {
    error_ = std::string(key) + ": " + quoted.error().message;
    return *this;
  }
  return raw(std::string(key) + "=" + *quoted);
}

Conninfo& Conninfo::set(std::string_view key, int value) {
  if (error_.empty() && !isKeyword(key)) {
    error_ = "not a connection keyword: '" + std::string(key) + "'";
  }
  if (!error_.empty()) {
    return *this;
  }
  // Digits and a sign need no quotes.
  return raw(std::string(key) + "=" + std::to_string(value));
}

Conninfo& Conninfo::raw(std::string_view fragment) {
  if (!fragment.empty()) {
    if (!text_.empty()) {
      text_ += ' ';
    }
    text_ += fragment;
  }
  return *this;
}

Result<std::string> Conninfo::str() const {
  if (!error_.empty()) {
    return fail(ErrorCode::InvalidArgument, error_);
  }
  return text_;
}

}  // namespace rampart::pq
