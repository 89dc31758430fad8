#pragma once
// Integration-test fixture: a real etcd cluster (Debian's etcd-server) on loopback with free
// ports in a fresh temporary directory, an EtcdStore on a test-owned event loop, and cleanup of
// every process and file, also when the test fails.

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "lab/etcd_cluster.h"
#include "store/etcd_store.h"
#include "testing/test_files.h"
#include "testing/run_loop.h"

namespace rampart::testing {

class EtcdTest : public ::testing::Test {
 protected:
  explicit EtcdTest(int members = 1) : members_(members) {}

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    lab::EtcdClusterOptions options;
    options.members = members_;
    options.dir = dir_.path() + "/etcd";
    auto cluster = lab::EtcdCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = std::move(*cluster);
    store_ = makeStore(cluster_->clientEndpoints(), std::chrono::seconds(2));
  }

  void TearDown() override {
    store_.reset();
    cluster_.reset();
  }

  std::unique_ptr<store::EtcdStore> makeStore(std::vector<net::Endpoint> endpoints,
                                              Duration timeout) {
    return std::make_unique<store::EtcdStore>(io_.get_executor(),
                                              store::EtcdOptions{std::move(endpoints), timeout});
  }

  template <typename T>
  T run(boost::asio::awaitable<T> work) {
    return runLoop(io_, std::move(work));
  }

  // Drives the loop (watches, keep-alives) for `d` of real time.
  void pump(Duration d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
  }

  int members_;
  TempDir dir_;
  boost::asio::io_context io_;
  std::unique_ptr<lab::EtcdCluster> cluster_;
  std::unique_ptr<store::EtcdStore> store_;
};

class EtcdClusterTest : public EtcdTest {
 protected:
  EtcdClusterTest() : EtcdTest(3) {}
};

}  // namespace rampart::testing
