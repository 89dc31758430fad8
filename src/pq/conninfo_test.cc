#include "pq/conninfo.h"

#include <libpq-fe.h>

#include <map>
#include <memory>

#include <gtest/gtest.h>

namespace rampart::pq {
namespace {

// What libpq itself reads from a connection string: keyword -> value (only those set).
std::map<std::string, std::string> parsedByLibpq(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  std::map<std::string, std::string> out;
  if (!options) {
    ADD_FAILURE() << "libpq refused '" << conninfo << "': " << (err ? err : "out of memory");
    PQfreemem(err);
    return out;
  }
  for (auto* o = options; o->keyword; ++o) {
    if (o->val) {
      out[o->keyword] = o->val;
    }
  }
  PQconninfoFree(options);
  return out;
}

TEST(QuoteValue, EscapesQuoteAndBackslashWithABackslash) {
  EXPECT_EQ(*quoteValue("a'b\\c"), "'a\\'b\\\\c'");
  EXPECT_EQ(*quoteValue("plain"), "'plain'");
}

TEST(QuoteValue, EmptyValueIsTwoQuotes) { EXPECT_EQ(*quoteValue(""), "''"); }

TEST(QuoteValue, RefusesANulByteThatWouldCutTheString) {
  auto q = quoteValue(std::string("user\0host=evil", 14));
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, ErrorCode::InvalidArgument);
}

// Every value below comes back from libpq's own parser as exactly itself, and adds no keyword.
TEST(Conninfo, LibpqReadsEveryHostileValueBackAsItself) {
  const std::vector<std::string> values = {
      "",                          // empty
      "x' host='evil",             // closing quote and a new keyword
      "x\\' host=\\'evil",         // backslash before the quote
      "trailing\\",                // a backslash that would escape the closing quote
      "two words  and\ttab",       // spaces
      "line\nbreak\r\nhost=evil",  // newline
      "'",
      "\\\\",
      "=",
      "ünïcödé",
  };
  for (const auto& v : values) {
    auto s = Conninfo().set("user", v).set("port", 5432).raw("sslmode=disable").str();
    ASSERT_TRUE(s) << v;
    auto parsed = parsedByLibpq(*s);
    EXPECT_EQ(parsed["user"], v) << *s;
    EXPECT_EQ(parsed.count("host"), 0u) << *s;
    EXPECT_EQ(parsed["port"], "5432") << *s;
    EXPECT_EQ(parsed["sslmode"], "disable") << *s;
    EXPECT_EQ(parsed.size(), 3u) << *s;
  }
}

TEST(Conninfo, WritesKeywordsInOrderSeparatedBySpaces) {
  auto s = Conninfo()
               .set("host", "127.0.0.1")
               .set("port", 5432)
               .raw("connect_timeout=2")
               .set("application_name", "rampart-check")
               .str();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "host='127.0.0.1' port=5432 connect_timeout=2 application_name='rampart-check'");
}

TEST(Conninfo, RefusesAKeyThatIsNotAKeyword) {
  for (std::string key : {"", "host=x", "Host", "user name", "dbname'"}) {
    auto s = Conninfo().set(key, "v").str();
    ASSERT_FALSE(s) << key;
    EXPECT_EQ(s.error().code, ErrorCode::InvalidArgument);
  }
  EXPECT_FALSE(Conninfo().set("port x", 1).str());
}

TEST(Conninfo, ReportsTheFirstBadValueByItsKey) {
  auto s = Conninfo()
               .set("host", "h")
               .set("password", std::string("a\0b", 3))
               .set("user", std::string("c\0d", 3))
               .str();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.rfind("password:", 0), 0u) << s.error().message;
}

TEST(Conninfo, EmptyBuilderIsEmptyString) { EXPECT_EQ(*Conninfo().str(), ""); }

}  // namespace
}  // namespace rampart::pq
