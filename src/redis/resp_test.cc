#include "redis/resp.h"

#include <gtest/gtest.h>

namespace rampart::redis {
namespace {

using Argv = std::vector<std::string>;

Request parsed(std::string_view input, const RequestLimits& limits = {}) {
  auto r = parseRequest(input, limits);
  EXPECT_TRUE(r) << r.error().message;
  if (!r || !*r) {
    ADD_FAILURE() << "incomplete: " << input;
    return {};
  }
  return **r;
}

std::string errorOf(std::string_view input, const RequestLimits& limits = {}) {
  auto r = parseRequest(input, limits);
  if (r) {
    ADD_FAILURE() << "parsed: " << input;
    return "";
  }
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  return r.error().message;
}

bool incomplete(std::string_view input) {
  auto r = parseRequest(input);
  return r && !*r;
}

TEST(RespRequestTest, ArrayOfBulkStringsIsOneCommand) {
  std::string input =
      "*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$8\r\nmymaster\r\n";
  auto req = parsed(input + "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(req.argv, (Argv{"SENTINEL", "get-master-addr-by-name", "mymaster"}));
  EXPECT_EQ(req.consumed, input.size());
}

TEST(RespRequestTest, BulkStringsAreBinarySafe) {
  std::string input("*2\r\n$4\r\nPING\r\n$5\r\na\r\n\0b\r\n", 25);
  auto req = parsed(input);
  EXPECT_EQ(req.argv[1], std::string("a\r\n\0b", 5));
  EXPECT_EQ(req.consumed, input.size());
}

TEST(RespRequestTest, EveryPrefixOfARequestAsksForMoreBytes) {
  std::string input = "*2\r\n$4\r\nPING\r\n$5\r\nhello\r\n";
  for (size_t n = 0; n < input.size(); ++n) {
    EXPECT_TRUE(incomplete(input.substr(0, n))) << n;
  }
  EXPECT_EQ(parsed(input).argv, (Argv{"PING", "hello"}));
}

TEST(RespRequestTest, EmptyArraysAreSkippedWithoutArguments) {
  EXPECT_EQ(parsed("*0\r\n").consumed, 4u);
  EXPECT_TRUE(parsed("*0\r\n").argv.empty());
  EXPECT_EQ(parsed("*-1\r\n").consumed, 5u);
}

TEST(RespRequestTest, InlineCommandsSplitOnSpacesAndQuotes) {
  EXPECT_EQ(parsed("PING\r\n").argv, (Argv{"PING"}));
  EXPECT_EQ(parsed("sentinel  masters\n").argv, (Argv{"sentinel", "masters"}));
  EXPECT_EQ(parsed("set \"a b\" 'c d'\r\n").argv, (Argv{"set", "a b", "c d"}));
  EXPECT_EQ(parsed("x \"\\x41\\n\\\"\" 'it\\'s'\r\n").argv, (Argv{"x", "A\n\"", "it's"}));
  EXPECT_EQ(parsed("x \"\"\r\n").argv, (Argv{"x", ""}));
  auto empty = parsed("\r\nPING\r\n");
  EXPECT_TRUE(empty.argv.empty());
  EXPECT_EQ(empty.consumed, 2u);
  EXPECT_TRUE(incomplete("PING"));
}

TEST(RespRequestTest, UnbalancedQuotesAreAProtocolError) {
  EXPECT_EQ(errorOf("set \"a b\r\n"), "Protocol error: unbalanced quotes in request");
  EXPECT_EQ(errorOf("set 'a\r\n"), "Protocol error: unbalanced quotes in request");
  EXPECT_EQ(errorOf("set \"a\"b\r\n"), "Protocol error: unbalanced quotes in request");
}

TEST(RespRequestTest, MalformedHeadersAreProtocolErrorsInRedisWords) {
  EXPECT_EQ(errorOf("*x\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(errorOf("*1\r\n+PING\r\n"), "Protocol error: expected '$', got '+'");
  EXPECT_EQ(errorOf("*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(errorOf("*1\r\n$4x\r\nPING\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(errorOf("*1\r\n$4\r\nPINGxx"), "Protocol error: expected CRLF");
  EXPECT_EQ(errorOf("*1\rx"), "Protocol error: expected CRLF");
}

TEST(RespRequestTest, LimitsBoundArgumentsBulkLengthAndHeaders) {
  RequestLimits limits;
  limits.max_args = 2;
  limits.max_bulk_bytes = 4;
  limits.max_inline_bytes = 16;
  EXPECT_EQ(errorOf("*3\r\n", limits), "Protocol error: invalid multibulk length");
  EXPECT_EQ(errorOf("a b c\r\n", limits), "Protocol error: invalid multibulk length");
  EXPECT_EQ(errorOf("*1\r\n$5\r\n", limits), "Protocol error: invalid bulk length");
  EXPECT_EQ(parsed("*1\r\n$4\r\nPING\r\n", limits).argv, (Argv{"PING"}));
  EXPECT_EQ(errorOf(std::string(17, 'a'), limits), "Protocol error: too big inline request");
  EXPECT_EQ(errorOf("*" + std::string(17, '1'), limits),
            "Protocol error: too big mbulk count string");
  EXPECT_EQ(errorOf("*1\r\n$" + std::string(17, '1'), limits),
            "Protocol error: too big bulk count string");
  // Huge counts are refused from the header, before any memory is reserved for them.
  EXPECT_EQ(errorOf("*99999999999999999999\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(errorOf("*1\r\n$9223372036854775807\r\n"), "Protocol error: invalid bulk length");
}

TEST(RespRequestTest, ProtocolErrorReplyIsAnErrLine) {
  auto r = parseRequest("*x\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(protocolErrorReply(r.error()), "-ERR Protocol error: invalid multibulk length\r\n");
}

TEST(RespWriterTest, WritesEveryReplyKind) {
  RespWriter w;
  w.array(6).status("OK").error("ERR no").integer(-42).bulk("a\r\nb").nil().nullArray();
  EXPECT_EQ(w.bytes(), "*6\r\n+OK\r\n-ERR no\r\n:-42\r\n$4\r\na\r\nb\r\n$-1\r\n*-1\r\n");
}

TEST(RespWriterTest, LineBreaksInStatusAndErrorTextBecomeSpaces) {
  RespWriter w;
  w.error("ERR a\r\nb").status("x\ny");
  EXPECT_EQ(w.bytes(), "-ERR a  b\r\n+x y\r\n");
}

}  // namespace
}  // namespace rampart::redis
