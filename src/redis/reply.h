#pragma once
// Reply: one RESP2 reply as a plain value (status, error, integer, bulk string, array, nil),
// so the parsers and callers above the client never see hiredis types. Copyable; no I/O.
// An error reply ("-ERR ...") is a Reply, not a failed Result: the server answered.

#include <cstdint>
#include <string>
#include <vector>

namespace rampart::redis {

struct Reply {
  enum class Type { Status, Error, Integer, String, Array, Nil };

  Type type = Type::Nil;
  std::string str;              // Status, Error and String
  int64_t integer = 0;          // Integer
  std::vector<Reply> elements;  // Array

  static Reply status(std::string text) { return Reply{Type::Status, std::move(text), 0, {}}; }
  static Reply error(std::string text) { return Reply{Type::Error, std::move(text), 0, {}}; }
  static Reply integerValue(int64_t value) { return Reply{Type::Integer, {}, value, {}}; }
  static Reply string(std::string text) { return Reply{Type::String, std::move(text), 0, {}}; }
  static Reply array(std::vector<Reply> items) {
    return Reply{Type::Array, {}, 0, std::move(items)};
  }
  static Reply nil() { return Reply{}; }

  bool isError() const { return type == Type::Error; }
  friend bool operator==(const Reply&, const Reply&) = default;
};

// "status", "error", "integer", "string", "array", "nil": for error messages.
const char* replyTypeName(Reply::Type type);

}  // namespace rampart::redis
