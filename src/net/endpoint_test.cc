#include "net/endpoint.h"

#include <gtest/gtest.h>

namespace rampart::net {
namespace {

TEST(Endpoint, ParsesHostPortWithOrWithoutScheme) {
  EXPECT_EQ(*parseEndpoint("127.0.0.1:2379"), (Endpoint{"127.0.0.1", 2379}));
  EXPECT_EQ(*parseEndpoint("http://127.0.0.1:2379/"), (Endpoint{"127.0.0.1", 2379}));
  EXPECT_EQ(*parseEndpoint("[::1]:80"), (Endpoint{"::1", 80}));
  EXPECT_EQ(parseEndpoint("[::1]:80")->toString(), "[::1]:80");
}

TEST(Endpoint, RejectsMissingOrInvalidPortsAndOtherSchemes) {
  EXPECT_FALSE(parseEndpoint("127.0.0.1"));
  EXPECT_FALSE(parseEndpoint("127.0.0.1:99999"));
  EXPECT_FALSE(parseEndpoint(":80"));
  auto https = parseEndpoint("https://x:1");
  ASSERT_FALSE(https);
  EXPECT_NE(https.error().message.find("only http://"), std::string::npos);
}

}  // namespace
}  // namespace rampart::net
