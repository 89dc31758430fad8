#include "config/config.h"

#include <gtest/gtest.h>

namespace rampart::config {
namespace {

using namespace std::chrono_literals;

TEST(Config, ReadsTypedFieldsWithDefaults) {
  auto root = loadString("a:\n  d: 250ms\n  n: 7\n  s: hello\n  l: [x, y]\n", "t.yaml");
  ASSERT_TRUE(root) << root.error().message;
  auto a = root->section("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a->duration("d", 1s), 250ms);
  EXPECT_EQ(*a->duration("missing", 1s), 1s);
  EXPECT_EQ(*a->integer("n", 0, 0, 10), 7);
  EXPECT_EQ(*a->string("s", ""), "hello");
  EXPECT_EQ(*a->stringList("l"), (std::vector<std::string>{"x", "y"}));
}

TEST(Config, ErrorsNameFileLineAndFieldPath) {
  auto root = loadString("etcd:\n  request_timeout: soon\n", "member.yaml");
  ASSERT_TRUE(root);
  auto etcd = root->section("etcd");
  auto bad = etcd->duration("request_timeout", 1s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("member.yaml:2:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("etcd.request_timeout"), std::string::npos);
  EXPECT_NE(bad.error().message.find("'soon'"), std::string::npos);
}

TEST(Config, UnknownKeysAreRejectedWithTheirLine) {
  auto root = loadString("etcd: {}\nelection: {}\ntypo_field: 1\n", "c.yaml");
  ASSERT_TRUE(root);
  auto r = root->allowOnly({"etcd", "election"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("c.yaml:3:1: typo_field: unknown field"), std::string::npos)
      << r.error().message;
}

TEST(Config, OutOfRangeIntegersNameTheBounds) {
  auto root = loadString("n: 42\n", "c.yaml");
  auto r = root->integer("n", 0, 1, 9);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("between 1 and 9"), std::string::npos);
}

TEST(Config, InvalidYamlReportsThePosition) {
  auto root = loadString("a: [1, 2\nb: 3\n", "broken.yaml");
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("broken.yaml:"), std::string::npos);
  EXPECT_NE(root.error().message.find("invalid YAML"), std::string::npos);
}

TEST(Config, MissingFileIsNotFound) {
  auto root = loadFile("/nonexistent/rampart.yaml");
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code, ErrorCode::NotFound);
}

}  // namespace
}  // namespace rampart::config
