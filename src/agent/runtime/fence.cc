#include "agent/runtime/fence.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace rampart::agent::runtime {

std::optional<int64_t> readFenceDeadline(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::string text;
  std::getline(in, text);
  int64_t ns = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return ns;
}

// Renamed into place, never fsynced: the file is rewritten several times a second, and one lost
// in a crash reads as a deadline in the past, which is the safe side.
Result<void> writeFenceDeadline(const std::string& path, int64_t steady_ns) {
  std::string tmp = path + ".tmp";
  std::string text = std::to_string(steady_ns);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return fail(ErrorCode::Internal, "cannot write ", tmp, ": ", std::strerror(errno));
  }
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::Internal, "cannot write ", path, ": ", std::strerror(errno));
  }
  return {};
}

bool fenceHolds(const std::string& path, int64_t now_ns) {
  auto deadline = readFenceDeadline(path);
  return deadline && now_ns < *deadline;
}

}  // namespace rampart::agent::runtime
