#pragma once
// Files for tests: a temporary directory that goes with everything in it, and
// reading a whole (log) file for failure messages.

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rampart::testing {

// A temporary directory removed with everything in it when the object goes. It is 0755, not
// mkdtemp's 0700: processes the tests start as other users (postgres, a pod's runAsUser) must
// reach the files under it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rampart-test-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
    if (!path_.empty()) {
      ::chmod(path_.c_str(), 0755);
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The file's contents; "" if it cannot be read.
inline std::string readWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rampart::testing
