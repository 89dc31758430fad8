#include "failover/requests.h"

#include <gtest/gtest.h>

namespace rampart::failover {
namespace {

TEST(SwitchoverRecord, RoundTripsEveryField) {
  SwitchoverRecord s{"m1", "m2", false, true, 12345};
  auto back = decodeSwitchover(encodeSwitchover(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->facts().to, "m2");
  EXPECT_TRUE(back->facts().handed_over);
}

TEST(SwitchoverRecord, MissingFieldsTakeTheirDefaults) {
  auto s = decodeSwitchover(R"({"to": "m2"})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->from, "");
  EXPECT_FALSE(s->force);
  EXPECT_EQ(s->position, 0u);
}

TEST(SwitchoverRecord, RejectsWhatAnOperatorCallNeverWrites) {
  for (const char* bad : {
           "not json",
           "[]",
           R"({"to": 7})",
           R"({"to": "m2", "extra": 1})",
           R"({"to": "M2"})",
           R"({"to": "m2\ninjected"})",
           R"({"to": "a234567890123456789012345678901234567890123456789012345678901234"})",
           R"({"force": true})",
           R"({"handed_over": true, "to": ""})",
           R"({"to": "m2", "position": -1})",
           R"({"to": "m2", "position": 1.5})",
           R"({"to": "m2", "force": "yes"})",
       }) {
    auto s = decodeSwitchover(bad);
    EXPECT_FALSE(s) << bad;
    if (!s) {
      EXPECT_EQ(s.error().code, ErrorCode::InvalidArgument) << bad;
    }
  }
}

TEST(OperatorRequest, ASwitchoverNeedsALiveLeaderAndNamesIt) {
  std::vector<std::string> live{"m2", "m3"};
  auto s = operatorRequest(false, "", "m1", true, live);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s, (SwitchoverRecord{"m1", ""}));
  EXPECT_EQ(*operatorRequest(false, "m3", "m1", true, live), (SwitchoverRecord{"m1", "m3"}));
  auto leaderless = operatorRequest(false, "m3", "m1", false, live);
  ASSERT_FALSE(leaderless);
  EXPECT_EQ(leaderless.error().code, ErrorCode::FailedPrecondition);
  EXPECT_NE(leaderless.error().message.find("failover"), std::string::npos);
}

TEST(OperatorRequest, AFailoverIsAHandoverWithALiveLeaderAndForcedWithoutOne) {
  std::vector<std::string> live{"m2", "m3"};
  EXPECT_EQ(*operatorRequest(true, "m2", "m1", true, live), (SwitchoverRecord{"m1", "m2"}));
  EXPECT_EQ(*operatorRequest(true, "m2", "m1", false, live), (SwitchoverRecord{"", "m2", true}));
  EXPECT_EQ(operatorRequest(true, "", "m1", false, live).error().code,
            ErrorCode::InvalidArgument);
}

TEST(OperatorRequest, RefusesATargetThatIsTheLeaderNoRunningReplicaOrMalformed) {
  std::vector<std::string> live{"m2"};
  EXPECT_EQ(operatorRequest(false, "m1", "m1", true, live).error().code,
            ErrorCode::FailedPrecondition);
  EXPECT_EQ(operatorRequest(false, "m9", "m1", true, live).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(operatorRequest(true, "m2\n", "m1", true, live).error().code,
            ErrorCode::InvalidArgument);
}

TEST(GroupSettings, RoundTripsAndRejectsMistypedOrUnknownFields) {
  auto back = decodeSettings(encodeSettings(GroupSettings{true}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->paused);
  EXPECT_FALSE(decodeSettings(R"({})")->paused);
  EXPECT_FALSE(decodeSettings(R"({"paused": 1})"));
  EXPECT_FALSE(decodeSettings(R"({"paused": true, "other": 1})"));
  EXPECT_FALSE(decodeSettings("garbage"));
}

}  // namespace
}  // namespace rampart::failover
