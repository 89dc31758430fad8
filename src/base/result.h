#pragma once
// Result<T>: the return type of everything the environment can break (network, etcd, files,
// config). Errors carry a gRPC-style code, so callers branch on the kind of failure, and a
// message that names what failed and where. No exceptions cross module boundaries.

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace rampart {

enum class ErrorCode {
  Ok = 0,
  Cancelled,
  Unknown,
  InvalidArgument,
  DeadlineExceeded,
  NotFound,
  AlreadyExists,
  FailedPrecondition,  // e.g. a compare-and-swap lost
  OutOfRange,          // e.g. a revision that etcd has compacted
  Unavailable,         // nothing reachable; retrying elsewhere or later may help
  PermissionDenied,    // authenticated, but not allowed (e.g. an etcd role without that prefix)
  Unauthenticated,     // no valid credentials (e.g. an etcd token that expired)
  Internal,
};

std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Unknown;
  std::string message;

  // "Unavailable: etcd unreachable at 127.0.0.1:2379 (connection refused)"
  std::string toString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Builds the error side of a Result: `return fail(ErrorCode::NotFound, "no key ", key);`
template <typename... Parts>
tl::unexpected<Error> fail(ErrorCode code, Parts&&... parts) {
  std::string message;
  (message.append(std::string_view(parts)), ...);
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

// Result<void> success value.
inline Result<void> ok() { return {}; }

}  // namespace rampart
