// ReplyReader and encodeCommand: replies split anywhere across reads, several in one read, and a
// stream that is not RESP.
#include "redis/reply_reader.h"

#include <gtest/gtest.h>

namespace rampart::redis {
namespace {

TEST(ReplyReaderTest, AReplySplitAcrossReadsIsReturnedOnceComplete) {
  const std::string role =
      "*3\r\n$6\r\nmaster\r\n:42\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6380"
      "\r\n$2\r\n40\r\n";
  for (size_t cut = 1; cut < role.size(); ++cut) {
    ReplyReader reader;
    reader.feed(role.substr(0, cut));
    auto partial = reader.next();
    ASSERT_TRUE(partial) << partial.error().message;
    ASSERT_FALSE(partial->has_value()) << "complete after " << cut << " bytes";
    reader.feed(role.substr(cut));
    auto whole = reader.next();
    ASSERT_TRUE(whole && whole->has_value());
    ASSERT_EQ((*whole)->type, Reply::Type::Array);
    EXPECT_EQ((*whole)->elements[0], Reply::string("master"));
    EXPECT_EQ((*whole)->elements[1], Reply::integerValue(42));
  }
}

TEST(ReplyReaderTest, RepliesInOneReadComeOutInOrder) {
  ReplyReader reader;
  reader.feed("+OK\r\n-ERR no\r\n$-1\r\n");
  auto one = reader.next();
  auto two = reader.next();
  auto three = reader.next();
  auto none = reader.next();
  ASSERT_TRUE(one && two && three && none);
  EXPECT_EQ(**one, Reply::status("OK"));
  EXPECT_EQ(**two, Reply::error("ERR no"));
  EXPECT_EQ((*three)->type, Reply::Type::Nil);
  EXPECT_FALSE(none->has_value());
}

TEST(ReplyReaderTest, BytesThatAreNotRespAreAnError) {
  ReplyReader reader;
  reader.feed("HTTP/1.1 400 Bad Request\r\n");
  auto reply = reader.next();
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::Internal);
}

TEST(ReplyReaderTest, ACommandIsAnArrayOfBulkStrings) {
  EXPECT_EQ(encodeCommand({"ROLE"}), "*1\r\n$4\r\nROLE\r\n");
  EXPECT_EQ(encodeCommand({"SET", "k", std::string("a\r\n", 3)}),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\r\n\r\n");
}

}  // namespace
}  // namespace rampart::redis
