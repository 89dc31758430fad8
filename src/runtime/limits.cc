#include "runtime/limits.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace rampart::runtime {

Result<uint64_t> raiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return fail(ErrorCode::Internal, "getrlimit(RLIMIT_NOFILE): ", std::strerror(errno));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return fail(ErrorCode::Internal, "setrlimit(RLIMIT_NOFILE, ", std::to_string(limit.rlim_max),
                  "): ", std::strerror(errno));
    }
    limit = raised;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace rampart::runtime
