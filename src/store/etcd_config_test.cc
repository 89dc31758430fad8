#include "store/etcd_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace rampart::store {
namespace {

using namespace std::chrono_literals;

struct Dir {
  Dir() {
    char tmpl[] = "/tmp/rampart-etcdcfg-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, mode_t mode) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << "secret\n";
    ::chmod(p.c_str(), mode);
    return p;
  }
  std::string path;
};

Result<EtcdSection> parse(const std::string& yaml, bool with_prefix = true) {
  auto root = config::loadString(yaml, "m.yaml");
  EXPECT_TRUE(root) << root.error().message;
  auto etcd = root->section("etcd");
  EtcdSection defaults;
  defaults.prefix = "/rampart/pg";
  return parseEtcdSection(*etcd, defaults, with_prefix);
}

TEST(EtcdConfig, ReadsEndpointsTlsUserAndPasswordFile) {
  Dir dir;
  auto ca = dir.file("ca.pem", 0644);
  auto password = dir.file("password", 0600);
  auto parsed = parse(
      "etcd:\n  endpoints: [https://127.0.0.1:2379, 127.0.0.1:2380]\n"
      "  request_timeout: 700ms\n  tls: {ca: " +
      ca +
      "}\n  user: pg-a\n"
      "  password_file: " +
      password + "\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->options.endpoints.size(), 2u);
  EXPECT_TRUE(parsed->options.endpoints[0].tls);
  EXPECT_FALSE(parsed->options.endpoints[1].tls);
  EXPECT_EQ(parsed->options.request_timeout, 700ms);
  EXPECT_EQ(parsed->options.tls.ca, ca);
  EXPECT_EQ(parsed->options.user, "pg-a");
  EXPECT_EQ(parsed->options.password_file, password);
  EXPECT_EQ(parsed->prefix, "/rampart/pg");
}

TEST(EtcdConfig, PasswordFileReadableByOthersIsRefusedWithItsLine) {
  Dir dir;
  auto password = dir.file("password", 0644);
  auto parsed = parse("etcd:\n  user: pg-a\n  password_file: " + password + "\n");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("m.yaml:3:18: etcd.password_file:"), std::string::npos)
      << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("0644"), std::string::npos);
}

TEST(EtcdConfig, PasswordFileNeedsAUserAndUnknownKeysAreRefused) {
  Dir dir;
  auto password = dir.file("password", 0600);
  EXPECT_FALSE(parse("etcd:\n  password_file: " + password + "\n"));
  auto unknown = parse("etcd:\n  password: hunter2\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("etcd.password: unknown field"), std::string::npos);
  EXPECT_FALSE(parse("etcd:\n  prefix: /x\n", false));
  EXPECT_FALSE(parse("etcd:\n  prefix: relative\n"));
}

TEST(EtcdConfig, BadTlsBlockNamesTheField) {
  auto parsed = parse("etcd:\n  tls: {ca: /nonexistent/ca.pem}\n");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("etcd.tls.ca"), std::string::npos)
      << parsed.error().message;
}

}  // namespace
}  // namespace rampart::store
