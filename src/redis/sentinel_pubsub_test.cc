// Pub/sub on the Sentinel port: the confirmations, subscribed mode, message delivery by channel
// and pattern, and when a snapshot change is a +switch-master.
#include "redis/sentinel_pubsub.h"

#include <gtest/gtest.h>

namespace rampart::redis {
namespace {

TEST(SentinelPubSubTest, SubscribeConfirmsEachChannelWithTheCountAfterIt) {
  Subscriptions s;
  auto reply = answerPubSub({"SUBSCRIBE", "+switch-master", "+sdown"}, s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply,
            "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n"
            "*3\r\n$9\r\nsubscribe\r\n$6\r\n+sdown\r\n:2\r\n");
  auto pattern = answerPubSub({"psubscribe", "*"}, s);
  ASSERT_TRUE(pattern);
  EXPECT_EQ(*pattern, "*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:3\r\n");
  EXPECT_TRUE(s.subscribed());
}

TEST(SentinelPubSubTest, UnsubscribeWithoutNamesDropsAllAndWithNothingRepliesNil) {
  Subscriptions s;
  ASSERT_TRUE(answerPubSub({"SUBSCRIBE", "a", "b"}, s));
  auto all = answerPubSub({"UNSUBSCRIBE"}, s);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all,
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n");
  EXPECT_FALSE(s.subscribed());
  auto none = answerPubSub({"UNSUBSCRIBE"}, s);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  auto pnone = answerPubSub({"PUNSUBSCRIBE"}, s);
  ASSERT_TRUE(pnone);
  EXPECT_EQ(*pnone, "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
}

TEST(SentinelPubSubTest, SubscribedModeAllowsOnlyPubSubPingAndQuit) {
  Subscriptions s;
  // Not subscribed: PING and SENTINEL are for answerSentinel.
  EXPECT_FALSE(answerPubSub({"PING"}, s));
  EXPECT_FALSE(answerPubSub({"SENTINEL", "masters"}, s));
  ASSERT_TRUE(answerPubSub({"SUBSCRIBE", "x"}, s));
  EXPECT_EQ(answerPubSub({"PING"}, s), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(answerPubSub({"ping", "hi"}, s), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
  EXPECT_EQ(answerPubSub({"SENTINEL", "masters"}, s),
            "-ERR Can't execute 'sentinel': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_FALSE(answerPubSub({"QUIT"}, s));
  EXPECT_EQ(answerPubSub({"SUBSCRIBE"}, s),
            "-ERR wrong number of arguments for 'subscribe' command\r\n");
}

TEST(SentinelPubSubTest, AMessageReachesTheChannelAndEveryMatchingPattern) {
  Subscriptions s;
  ASSERT_TRUE(answerPubSub({"SUBSCRIBE", "+switch-master"}, s));
  ASSERT_TRUE(answerPubSub({"PSUBSCRIBE", "*", "+switch-*", "+sdown"}, s));
  EXPECT_EQ(deliver(s, "+switch-master", "m 1.1.1.1 1 2.2.2.2 2"),
            "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$21\r\nm 1.1.1.1 1 2.2.2.2 2\r\n"
            "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$14\r\n+switch-master\r\n$21\r\nm 1.1.1.1 1 "
            "2.2.2.2 2\r\n"
            "*4\r\n$8\r\npmessage\r\n$9\r\n+switch-*\r\n$14\r\n+switch-master\r\n$21\r\nm "
            "1.1.1.1 1 2.2.2.2 2\r\n");
  Subscriptions other;
  ASSERT_TRUE(answerPubSub({"SUBSCRIBE", "+sdown"}, other));
  EXPECT_EQ(deliver(other, "+switch-master", "m"), "");
}

TEST(SentinelPubSubTest, GlobsMatchAsRedisDoes) {
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("+switch-*", "+switch-master"));
  EXPECT_FALSE(globMatch("+switch-*", "+sdown"));
  EXPECT_TRUE(globMatch("h?llo", "hello"));
  EXPECT_FALSE(globMatch("h?llo", "hllo"));
  EXPECT_TRUE(globMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(globMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(globMatch("h[a-f]llo", "hcllo"));
  EXPECT_TRUE(globMatch("a\\*b", "a*b"));
  EXPECT_FALSE(globMatch("a\\*b", "axb"));
  EXPECT_TRUE(globMatch("**x", "abcx"));
  EXPECT_FALSE(globMatch("abc", "ABC"));
}

SentinelSnapshot at(const std::string& ip, uint16_t port) {
  SentinelSnapshot s;
  s.master_name = "mymaster";
  s.master = SentinelAddress{ip, port};
  return s;
}

TEST(SentinelPubSubTest, ANewMasterAddressIsASwitchAndTheSameOneIsNot) {
  EXPECT_EQ(switchMasterEvent(at("10.0.0.1", 6379), at("10.0.0.2", 6379)),
            "mymaster 10.0.0.1 6379 10.0.0.2 6379");
  EXPECT_EQ(switchMasterEvent(at("10.0.0.1", 6379), at("10.0.0.1", 6380)),
            "mymaster 10.0.0.1 6379 10.0.0.1 6380");
  auto same = at("10.0.0.1", 6379);
  same.replicas.push_back({});  // other fields change: no switch
  EXPECT_FALSE(switchMasterEvent(at("10.0.0.1", 6379), same));
  EXPECT_FALSE(switchMasterEvent(at("", 0), at("10.0.0.1", 6379)));
  EXPECT_FALSE(switchMasterEvent(at("10.0.0.1", 6379), at("", 0)));
  auto renamed = at("10.0.0.2", 6379);
  renamed.master_name = "other";
  EXPECT_FALSE(switchMasterEvent(at("10.0.0.1", 6379), renamed));
}

}  // namespace
}  // namespace rampart::redis
