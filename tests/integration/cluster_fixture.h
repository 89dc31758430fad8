#pragma once
// The fixture of the tests that drive a whole `rampart up` cluster through the real CLI and the
// real kubectl: a unique cluster name and directory per test (so tests run in parallel), the
// cluster removed with `rampart down --purge` afterwards, also when the test fails. Root only:
// without it the tests skip. Include from integration tests (RAMPART_BINARY is defined there).

#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/process.h"
#include "testing/test_files.h"

namespace rampart::testing {

inline runtime::CommandResult rampartCli(std::vector<std::string> args,
                                         Duration timeout = std::chrono::seconds(180)) {
  args.insert(args.begin(), RAMPART_BINARY);
  return runtime::runCommand(std::move(args), timeout);
}

class ClusterTest : public ::testing::Test {
 protected:
  // `prefix`: two letters naming the test file in cluster names ("ct", "cc", ...).
  explicit ClusterTest(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "rampart up needs root";
    }
    static int counter = 0;
    name_ = prefix_ + std::to_string(::getpid() % 100000) + "x" + std::to_string(counter++);
    dir_ = tmp_.path() + "/cluster";
  }

  void TearDown() override {
    if (made_) {
      auto r = rampartCli({"down", "--dir", dir_, "--purge"}, std::chrono::seconds(60));
      EXPECT_EQ(r.exit_code, 0) << r.output;
    }
  }

  // `rampart up` with `masters` and `workers` in zones a, b, c; its output in up_output_.
  void up(int masters, int workers) {
    made_ = true;
    auto r = rampartCli({"up", "--dir", dir_, "--name", name_, "--masters",
                         std::to_string(masters), "--workers", std::to_string(workers), "--zones",
                         "a,b,c"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    up_output_ = r.output;
  }

  runtime::CommandResult kubectl(std::vector<std::string> args,
                                 Duration timeout = std::chrono::seconds(30)) {
    args.insert(args.begin(), {"kubectl", "--kubeconfig", dir_ + "/kubeconfig"});
    return runtime::runCommand(std::move(args), timeout);
  }

  TempDir tmp_;
  std::string name_;
  std::string dir_;
  bool made_ = false;
  std::string up_output_;

 private:
  std::string prefix_;
};

}  // namespace rampart::testing
