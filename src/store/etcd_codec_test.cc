#include "store/etcd_codec.h"

#include <gtest/gtest.h>

namespace rampart::store::etcd {
namespace {

TEST(EtcdCodec, Base64RoundTripsEveryLength) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                      std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(*base64Decode(base64Encode(s)), s);
  }
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
}

TEST(EtcdCodec, Int64FieldsAreStringsAndKeysBase64) {
  auto body = encodePut(PutRequest{.key = "foo", .value = "bar", .lease = 42});
  EXPECT_EQ(body, R"({"key":"Zm9v","lease":"42","value":"YmFy"})");
}

TEST(EtcdCodec, TxnEncodesCompareTargetsAndOps) {
  TxnRequest txn;
  txn.compare.push_back(Compare::createRevision("k", Compare::Op::Equal, 0));
  txn.success.push_back(PutRequest{.key = "k", .value = "v"});
  txn.failure.push_back(RangeRequest::single("k"));
  auto body = encodeTxn(txn);
  EXPECT_NE(body.find(R"("target":"CREATE")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("create_revision":"0")"), std::string::npos);
  EXPECT_NE(body.find(R"("request_put")"), std::string::npos);
  EXPECT_NE(body.find(R"("request_range")"), std::string::npos);
}

TEST(EtcdCodec, AbsentFieldsDecodeToProto3Defaults) {
  // A failed txn has no "succeeded"; a PUT event has no "type".
  auto txn = decodeTxn(R"({"header":{"revision":"9"},"responses":[{"response_range":{"header":{}}}]})");
  ASSERT_TRUE(txn);
  EXPECT_FALSE(txn->succeeded);
  EXPECT_EQ(txn->revision, 9);
  ASSERT_EQ(txn->responses.size(), 1u);
  EXPECT_TRUE(std::get<RangeResponse>(txn->responses[0]).kvs.empty());

  auto msg = decodeWatchMessage(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"Zm9v","create_revision":"5","mod_revision":"5","version":"1","value":"YmFy"}},{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"6"}}]}})");
  ASSERT_TRUE(msg);
  ASSERT_EQ(msg->events.size(), 2u);
  EXPECT_EQ(msg->events[0].type, WatchEvent::Type::Put);
  EXPECT_EQ(msg->events[0].kv.value, "bar");
  EXPECT_EQ(msg->events[1].type, WatchEvent::Type::Delete);
  EXPECT_EQ(msg->events[1].kv.mod_revision, 6);
}

TEST(EtcdCodec, CompactedWatchIsRecognised) {
  auto msg = decodeWatchMessage(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"3"}})");
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->canceled);
  EXPECT_EQ(msg->compact_revision, 3);
}

TEST(EtcdCodec, KeepAliveWithoutTtlMeansTheLeaseIsGone) {
  auto gone = decodeLeaseKeepAlive(R"({"result":{"header":{},"ID":"1234"}})");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
  auto alive = decodeLeaseKeepAlive(R"({"result":{"header":{},"ID":"1234","TTL":"3"}})");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->ttl, std::chrono::seconds(3));
}

TEST(EtcdCodec, GrpcErrorCodesMapToRampartCodes) {
  auto e = decodeError(400, R"({"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11})");
  EXPECT_EQ(e.code, ErrorCode::OutOfRange);
  EXPECT_NE(e.message.find("compacted"), std::string::npos);
  EXPECT_EQ(decodeError(503, "not json").code, ErrorCode::Unavailable);
}

TEST(EtcdCodec, InvalidBase64IsAnErrorNotAnEmptyString) {
  for (const char* bad : {"Zm9", "Zm9v!", "Zm=v", "Z===", "Zm==Zm==", "Zh=="}) {
    EXPECT_FALSE(base64Decode(bad)) << bad;
  }
  // A value etcd sends that is not base64 fails the whole answer instead of reading as "".
  auto range = decodeRange(R"({"header":{"revision":"3"},"kvs":[{"key":"Zm9v","value":"!!"}]})");
  ASSERT_FALSE(range);
  EXPECT_NE(range.error().message.find("value"), std::string::npos) << range.error().message;
  EXPECT_FALSE(decodeWatchMessage(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"Zm9","mod_revision":"5"}}]}})"));
  EXPECT_FALSE(decodeRange(R"({"kvs":[{"key":5}]})"));
}

TEST(EtcdCodec, InvalidNumberIsAnErrorNotZero) {
  // A revision that does not parse would read as 0 ("no revision"): refused.
  auto range = decodeRange(R"({"header":{"revision":"12x"},"kvs":[]})");
  ASSERT_FALSE(range);
  EXPECT_NE(range.error().message.find("revision"), std::string::npos) << range.error().message;
  EXPECT_FALSE(decodeRange(R"({"header":{"revision":""}})"));
  EXPECT_FALSE(decodeRange(R"({"header":{"revision":1.5}})"));
  EXPECT_FALSE(decodeRange(R"({"header":{"revision":"99999999999999999999"}})"));
  EXPECT_FALSE(decodeRange(R"({"header":{"revision":18446744073709551615}})"));
  EXPECT_FALSE(decodeRange(R"({"kvs":[{"key":"Zm9v","mod_revision":"abc"}]})"));
  EXPECT_FALSE(decodeTxn(R"({"header":{"revision":"9"},"responses":[{"response_put":{"header":{"revision":"x"}}}]})"));
  EXPECT_FALSE(decodeLeaseGrant(R"({"ID":"7a","TTL":"5"})"));
  EXPECT_FALSE(decodeLeaseKeepAlive(R"({"result":{"ID":"1","TTL":"3s"}})"));
  EXPECT_FALSE(decodeLeaseTimeToLive(R"({"ID":"1","TTL":"3","keys":["!"]})"));
  EXPECT_FALSE(decodeWatchMessage(R"({"result":{"header":{"revision":"5"},"compact_revision":"-"}})"));
  // Numbers as JSON numbers and absent fields stay valid.
  auto ok = decodeRange(R"({"header":{"revision":7},"kvs":[{"key":"Zm9v"}],"count":"1"})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->revision, 7);
  EXPECT_EQ(ok->count, 1);
  EXPECT_EQ(ok->kvs.at(0).key, "foo");
  EXPECT_EQ(ok->kvs.at(0).mod_revision, 0);
}

TEST(EtcdCodec, PrefixEndIncrementsTheLastByteBelow0xff) {
  EXPECT_EQ(prefixEnd("/a/"), "/a0");
  EXPECT_EQ(prefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefixEnd(""), std::string(1, '\0'));
}

}  // namespace
}  // namespace rampart::store::etcd
