#include "lb/etcd_source.h"

#include <gtest/gtest.h>

namespace rampart::lb {
namespace {

TEST(EtcdBackendValue, AcceptsAPlainAddressOrJson) {
  auto plain = parseBackendValue("/k", "127.0.0.1:5432");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->address.port, 5432);
  EXPECT_EQ(plain->weight, 1u);
  auto json = parseBackendValue("/k", R"({"address":"127.0.0.2:6432","weight":3})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->address.host, "127.0.0.2");
  EXPECT_EQ(json->weight, 3u);
}

TEST(EtcdBackendValue, ErrorsNameTheKey) {
  auto bad = parseBackendValue("/rampart/lb/pg/m1", "not an address");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("/rampart/lb/pg/m1"), std::string::npos);
  EXPECT_FALSE(parseBackendValue("/k", R"({"weight":3})"));
}

// A string made json::value() throw out of the etcd follower, a float too large for an int was
// converted with undefined behaviour, and a large integer was silently cut to an int.
TEST(EtcdBackendValue, NumbersThatAreNotWholeNumbersInRangeAreErrors) {
  EXPECT_FALSE(parseBackendValue("/k", R"({"address":"127.0.0.1:1","weight":"x"})"));
  EXPECT_FALSE(parseBackendValue("/k", R"({"address":"127.0.0.1:1","weight":1e30})"));
  EXPECT_FALSE(parseBackendValue("/k", R"({"address":"127.0.0.1:1","weight":1.5})"));
  EXPECT_FALSE(parseBackendValue("/k", R"({"address":"127.0.0.1:1","check_port":null})"));
  EXPECT_FALSE(parseBackendValue(
      "/k", R"({"address":"127.0.0.1:1","max_connections":18446744073709551615})"));
  auto large = parseBackendValue("/k", R"({"address":"127.0.0.1:1","max_connections":4294967296})");
  ASSERT_TRUE(large) << large.error().message;
  EXPECT_EQ(large->max_connections, int64_t{1} << 32);
}

}  // namespace
}  // namespace rampart::lb
