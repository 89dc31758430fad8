#pragma once
// A member's PostgreSQL 15 server run by pg::Postgres itself (initdb, start, stop), on a free
// loopback port in a fresh directory, for tests of what Postgres does to a real server.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>

#include "net/endpoint.h"
#include "pg/postgres.h"
#include "testing/test_files.h"

namespace rampart::pg {

class PostgresTest : public ::testing::Test {
 protected:
  static constexpr const char* kPassword = "postgres-test-superuser";

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ::chmod(dir_.path().c_str(), 0755);  // the postgres user walks through it
    auto port = net::pickFreePort("127.0.0.1");
    ASSERT_TRUE(port) << port.error().message;
    config_.cluster = "test";
    config_.name = "m1";
    config_.listen = net::Endpoint{"127.0.0.1", *port};
    config_.data_dir = dir_.path() + "/data";
    config_.superuser = {"postgres", kPassword};
    config_.replication = {"replicator", "postgres-test-replication"};
  }

  // initdb and a start as a primary.
  void startServer() {
    pg_ = std::make_unique<Postgres>(config_);
    auto prepared = pg_->prepare();
    ASSERT_TRUE(prepared) << prepared.error().message;
    auto made = pg_->initdb();
    ASSERT_TRUE(made) << made.error().message;
    auto started = pg_->start(false, std::nullopt, "", std::chrono::seconds(60));
    ASSERT_TRUE(started) << started.error().message;
  }

  void TearDown() override {
    if (pg_) {
      (void)pg_->stop(std::chrono::seconds(30));
    }
  }

  std::string conninfo(uint16_t port) const {
    return "host=127.0.0.1 port=" + std::to_string(port) +
           " user=postgres dbname=postgres connect_timeout=5 password=" + kPassword;
  }

  rampart::testing::TempDir dir_;  // removed after the server stopped (TearDown)
  MemberConfig config_;
  std::unique_ptr<Postgres> pg_;
};

}  // namespace rampart::pg
