// `rampart redis lab up --members 3 --dir D --json` / `lab down` against the real thing (etcd x3,
// three `rampart redis` members with their redis-servers, `rampart lb`): the description has the
// PostgreSQL lab's shape plus the Sentinel addresses, a write through the write VIP is
// acknowledged by both replicas, every Sentinel port names the master and lists its two peers,
// `rampart redis list` shows the group, the write VIP reaches the new master after the old one's
// redis-server is killed, and `lab down` stops every process it started. Skipped without
// redis-server.

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/endpoint.h"
#include "redis/client.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class RedisLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (runtime::runCommand({"redis-server", "--version"}, 20s).exit_code != 0) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
    ::chmod(dir_.path().c_str(), 0755);
    lab_dir_ = dir_.path() + "/lab";
  }
  void TearDown() override {
    if (!lab_dir_.empty()) {
      runtime::runCommand({RAMPART_BINARY, "redis", "lab", "down", "--dir", lab_dir_}, 120s);
    }
  }
  rampart::testing::TempDir dir_;
  std::string lab_dir_;
};

net::Endpoint endpointOf(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  return net::Endpoint{host_port.substr(0, colon),
                       static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1)))};
}

TEST_F(RedisLabTest, UpDescribesTheLabAndItsVipFollowsAFailoverAndDownStopsEverything) {
  auto up = runtime::runCommand(
      {RAMPART_BINARY, "redis", "lab", "up", "--members", "3", "--dir", lab_dir_, "--json"}, 180s);
  ASSERT_EQ(up.exit_code, 0) << up.output;
  auto lab = json::parse(up.output.substr(up.output.find('{')), nullptr, false);
  ASSERT_TRUE(lab.is_object()) << up.output;
  ASSERT_EQ(lab["members"].size(), 3u);
  ASSERT_EQ(lab["sentinels"].size(), 3u);
  ASSERT_EQ(lab["etcd"].size(), 3u);
  for (const char* key : {"dir", "write_vip", "read_vip", "lb_pid", "master_name"}) {
    EXPECT_TRUE(lab.contains(key)) << key;
  }
  for (const auto& m : lab["members"]) {
    for (const char* key : {"name", "host", "port", "data_dir", "manager_pid", "rest", "sentinel",
                            "start_command", "log_file", "config"}) {
      EXPECT_TRUE(m.contains(key)) << key;
    }
  }

  auto vip = redis::Client::connect(endpointOf(lab["write_vip"]), 2s);
  ASSERT_TRUE(vip) << vip.error().message;
  auto set = vip->command({"SET", "through", "vip"}, 2s);
  ASSERT_TRUE(set && !set->isError());
  auto wait = vip->command({"WAIT", "2", "2000"}, 3s);
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->integer, 2);

  // Every member's Sentinel port names the same master: the one the write VIP reached.
  auto role = vip->command({"INFO", "server"}, 2s);
  ASSERT_TRUE(role);
  std::string master_port;
  for (const auto& m : lab["members"]) {
    if (role->str.find("tcp_port:" + std::to_string(m["port"].get<int>())) != std::string::npos) {
      master_port = std::to_string(m["port"].get<int>());
    }
  }
  ASSERT_FALSE(master_port.empty());
  for (const auto& s : lab["sentinels"]) {
    auto sentinel = redis::Client::connect(endpointOf(s), 2s);
    ASSERT_TRUE(sentinel) << sentinel.error().message;
    EXPECT_TRUE(rampart::testing::eventually(
        [&] {
          auto addr = sentinel->command({"SENTINEL", "get-master-addr-by-name", "lab"}, 2s);
          return addr && addr->type == redis::Reply::Type::Array && addr->elements.size() == 2 &&
                 addr->elements[1].str == master_port;
        },
        10s, 50ms))
        << s;
  }

  // Each Sentinel port lists the other two (SENTINEL sentinels), as a Sentinel lists its peers.
  auto peers = redis::Client::connect(endpointOf(lab["sentinels"][0]), 2s);
  ASSERT_TRUE(peers);
  EXPECT_TRUE(rampart::testing::eventually(
      [&] {
        auto r = peers->command({"SENTINEL", "sentinels", "lab"}, 2s);
        return r && r->type == redis::Reply::Type::Array && r->elements.size() == 2;
      },
      10s, 100ms));

  // `rampart redis list` reads the same group from etcd.
  auto list = runtime::runCommand({RAMPART_BINARY, "redis", "list", "--config",
                                   lab["members"][0]["config"].get<std::string>(), "--json"},
                                  30s);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto group = json::parse(list.output.substr(list.output.find('{')), nullptr, false);
  ASSERT_TRUE(group.is_object()) << list.output;
  EXPECT_FALSE(group["leader"].get<std::string>().empty());
  EXPECT_EQ(group["members"].size(), 3u);
  int primaries = 0;
  for (const auto& m : group["members"]) {
    if (m["role"] == "primary") {
      ++primaries;
      EXPECT_EQ(std::to_string(m["port"].get<int>()), master_port);
    }
  }
  EXPECT_EQ(primaries, 1) << list.output;

  // The write VIP follows a failover: with the master's redis-server killed, writes through it
  // are confirmed by a replica again, on another member.
  auto pid = vip->command({"INFO", "server"}, 2s);
  ASSERT_TRUE(pid);
  auto at = pid->str.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(::kill(std::atoi(pid->str.c_str() + at + 11), SIGKILL), 0);
  std::string now_port;
  EXPECT_TRUE(rampart::testing::eventually(
      [&] {
        auto c = redis::Client::connect(endpointOf(lab["write_vip"]), 1s);
        if (!c) {
          return false;
        }
        auto set = c->command({"SET", "after", "failover"}, 1s);
        auto wait = c->command({"WAIT", "1", "500"}, 1s);
        auto info = c->command({"INFO", "server"}, 1s);
        if (!set || set->isError() || !wait || wait->integer < 1 || !info) {
          return false;
        }
        auto p = info->str.find("tcp_port:");
        now_port = info->str.substr(p + 9, info->str.find_first_of("\r\n", p) - p - 9);
        return true;
      },
      20s, 50ms));
  EXPECT_NE(now_port, master_port);

  auto down =
      runtime::runCommand({RAMPART_BINARY, "redis", "lab", "down", "--dir", lab_dir_}, 120s);
  ASSERT_EQ(down.exit_code, 0) << down.output;
  EXPECT_FALSE(runtime::isAlive(lab["lb_pid"].get<pid_t>()));
  for (const auto& m : lab["members"]) {
    EXPECT_FALSE(runtime::isAlive(m["manager_pid"].get<pid_t>())) << m["name"];
    // Its redis-server stopped with it: the port is free again.
    EXPECT_FALSE(redis::Client::connect(
        net::Endpoint{"127.0.0.1", static_cast<uint16_t>(m["port"].get<int>())}, 500ms));
  }
  lab_dir_.clear();
}

}  // namespace
}  // namespace rampart
