#include "runtime/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rampart::runtime {

namespace {

std::string errnoText() { return std::strerror(errno); }

// The temporary name beside `path` (same directory, so the rename is atomic). Fixed, so that
// anything found there (a crashed writer's leftover, a planted symlink) is refused, not guessed
// around.
std::string temporaryName(const std::string& path) { return path + ".tmp"; }

Result<void> writeAll(int fd, std::string_view content, const std::string& name) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(ErrorCode::Internal, name, ": write: ", errnoText());
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

}  // namespace

Result<void> writeSecretFile(const std::string& path, std::string_view content, uid_t uid,
                             gid_t gid, mode_t mode) {
  std::string temporary = temporaryName(path);
  // O_EXCL|O_NOFOLLOW: a file or symlink someone planted at the temporary name is refused, never
  // followed or truncated. The mode applies from creation on (umask can only narrow it).
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST || errno == ELOOP) {
      return fail(ErrorCode::FailedPrecondition, temporary, ": ", errnoText(),
                  " (refusing to write a secret through something already there; remove it)");
    }
    return fail(ErrorCode::Internal, temporary, ": create: ", errnoText());
  }
  auto cleanup = [&](Error e) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return fail(std::move(e));
  };
  if (auto r = writeAll(fd, content, temporary); !r) {
    return cleanup(r.error());
  }
  if (uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) {
    if (::fchown(fd, uid, gid) != 0) {
      return cleanup(Error{ErrorCode::Internal, temporary + ": chown: " + errnoText()});
    }
  }
  if (::fchmod(fd, mode & 0640) != 0) {
    return cleanup(Error{ErrorCode::Internal, temporary + ": chmod: " + errnoText()});
  }
  if (::fsync(fd) != 0) {
    return cleanup(Error{ErrorCode::Internal, temporary + ": fsync: " + errnoText()});
  }
  if (::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return fail(ErrorCode::Internal, temporary, ": close: ", errnoText());
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string why = errnoText();
    ::unlink(temporary.c_str());
    return fail(ErrorCode::Internal, path, ": rename: ", why);
  }
  return ok();
}

Result<void> writeSecretFile(const std::string& path, std::string_view content) {
  return writeSecretFile(path, content, static_cast<uid_t>(-1), static_cast<gid_t>(-1), 0600);
}

Result<void> checkSecretFilePermissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(ErrorCode::InvalidArgument, path, ": ", errnoText());
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::InvalidArgument, path, ": not a regular file");
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if ((st.st_mode & 077) != 0) {
    return fail(ErrorCode::PermissionDenied, path, ": mode ", mode,
                " lets group or others access a credential (chmod 600 it)");
  }
  uid_t me = ::geteuid();
  if (me != 0 && st.st_uid != me) {
    return fail(ErrorCode::PermissionDenied, path, ": owned by uid ", std::to_string(st.st_uid),
                ", not by the current user (uid ", std::to_string(me), ")");
  }
  return ok();
}

Result<std::string> readSecretFile(const std::string& path) {
  if (auto r = checkSecretFilePermissions(path); !r) {
    return fail(r.error());
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(ErrorCode::InvalidArgument, path, ": ", errnoText());
  }
  std::string out;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      std::string why = errnoText();
      ::close(fd);
      return fail(ErrorCode::Internal, path, ": read: ", why);
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > (1 << 20)) {
      ::close(fd);
      return fail(ErrorCode::InvalidArgument, path, ": larger than 1 MiB, not a credential");
    }
  }
  ::close(fd);
  if (out.ends_with('\n')) {
    out.pop_back();
  }
  return out;
}

}  // namespace rampart::runtime
