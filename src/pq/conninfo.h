#pragma once
// Conninfo: the one place a libpq connection string ("host='h' port=5432 ...") is written. Every
// value is quoted by libpq's rules (single quotes; ' and \ escaped by a backslash), so a value
// read from a config file, etcd or a lab's JSON can never add a keyword of its own
// ("x' host='elsewhere"): libpq reads the whole quoted text back as that one value.
//
// Pure (no libpq call, no I/O); thread-compatible. A NUL byte cannot be written (libpq takes a C
// string: it would cut the string there), so str() refuses it. Callers that write the string into
// a file as well (primary_conninfo in postgresql.auto.conf) refuse control characters themselves
// (pg::conninfoValue), as a line break would end that file's line.

#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::pq {

// 'value' with ' and \ escaped by \; InvalidArgument for a NUL byte.
Result<std::string> quoteValue(std::string_view value);

class Conninfo {
 public:
  // Adds `key=value`; the key must be a libpq keyword ([a-z_]+), the value is quoted.
  Conninfo& set(std::string_view key, std::string_view value);
  Conninfo& set(std::string_view key, int value);
  // Adds an already-written fragment ("sslmode=disable connect_timeout=2") from the caller's own
  // text, never from a value read from outside.
  Conninfo& raw(std::string_view fragment);

  // The connection string, or the first bad key or value (InvalidArgument naming the key).
  Result<std::string> str() const;

 private:
  std::string text_;
  std::string error_;  // the first refusal; str() reports it
};

}  // namespace rampart::pq
