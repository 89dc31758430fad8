#include "elect/campaigner.h"

#include <gtest/gtest.h>

namespace rampart::elect {
namespace {

Result<CampaignerConfig> parse(const std::string& yaml) {
  auto root = config::loadString(yaml, "elect.yaml");
  if (!root) {
    return fail(root.error());
  }
  return parseCampaignerConfig(*root);
}

TEST(CampaignerConfig, ReadsEveryField) {
  auto c = parse(
      "etcd:\n  endpoints: [http://127.0.0.1:2379, 127.0.0.1:22379]\n  request_timeout: 500ms\n"
      "election:\n  key: /x/leader\n  name: a\n  ttl: 2s\nadmin:\n  listen: 127.0.0.1:9000\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->endpoints.size(), 2u);
  EXPECT_EQ(c->request_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c->key, "/x/leader");
  EXPECT_EQ(c->ttl, std::chrono::seconds(2));
  EXPECT_EQ(c->admin.port, 9000);
  EXPECT_TRUE(validate(*c));
}

TEST(CampaignerConfig, SubSecondTtlIsRejectedWithFileLineAndField) {
  auto c = parse("election:\n  name: a\n  ttl: 500ms\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("elect.yaml:3:8:"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("election.ttl"), std::string::npos);
  EXPECT_NE(c.error().message.find("whole seconds"), std::string::npos);
}

TEST(CampaignerConfig, BadEndpointNamesTheField) {
  auto c = parse("etcd:\n  endpoints: [nope]\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("etcd.endpoints"), std::string::npos) << c.error().message;
}

TEST(CampaignerConfig, TypoInASectionIsAnError) {
  auto c = parse("election:\n  nmae: a\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("election.nmae: unknown field"), std::string::npos)
      << c.error().message;
}

TEST(CampaignerConfig, ValidateRequiresEndpointsAndName) {
  CampaignerConfig c;
  auto no_endpoints = validate(c);
  ASSERT_FALSE(no_endpoints);
  EXPECT_NE(no_endpoints.error().message.find("--endpoints"), std::string::npos);
  c.endpoints.push_back({"127.0.0.1", 2379});
  auto no_name = validate(c);
  ASSERT_FALSE(no_name);
  EXPECT_NE(no_name.error().message.find("--name"), std::string::npos);
}

}  // namespace
}  // namespace rampart::elect
