#pragma once
// Files that hold secrets (passwords, tokens, private keys): written so that no other user can
// read them at any moment, and checked before they are read. Blocking file I/O; thread-safe.
// (Built as its own small library, rampart_secret_file, so that net/pki can use it too; it is
// part of rampart_runtime's interface.)

#include <sys/types.h>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::runtime {

// Writes a file that holds a secret: created 0600 under the temporary name `<path>.tmp` with
// O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC (never readable by others, not even for a moment; a symlink
// planted at the temporary name is refused), fsync'ed, then renamed over `path`.
Result<void> writeSecretFile(const std::string& path, std::string_view content);
// The same, chown'ed to uid/gid before the rename (when running as root, e.g. for a service
// user); `mode` widens nothing beyond what is asked (e.g. 0640 for a group-readable key).
Result<void> writeSecretFile(const std::string& path, std::string_view content, uid_t uid,
                             gid_t gid, mode_t mode = 0600);

// Fails (naming the file and its mode) when a credential file is readable or writable by group or
// others, or is not owned by the current user (root may read any owner's file).
Result<void> checkSecretFilePermissions(const std::string& path);

// Reads a credential file after checkSecretFilePermissions; one trailing newline is dropped.
Result<std::string> readSecretFile(const std::string& path);

}  // namespace rampart::runtime
