#pragma once
// Process resource limits every role sets at start. A load balancer or REST server holds a
// descriptor per connection, and the usual soft RLIMIT_NOFILE (1024) is far below what the host
// allows (the hard limit): raising the soft limit to the hard one costs nothing and moves the
// point where accept() fails with EMFILE from a thousand connections to the operator's choice.
// Call from the main thread before any worker starts.

#include <cstdint>

#include "base/result.h"

namespace rampart::runtime {

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now in force.
Result<uint64_t> raiseFileLimit();

}  // namespace rampart::runtime
