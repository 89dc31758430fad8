#include "lb/pg_startup_gate.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace rampart::lb {
namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string untyped(uint32_t code, const std::string& body = "") {
  return be32(static_cast<uint32_t>(8 + body.size())) + be32(code) + body;
}

std::string typed(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(4 + body.size())) + body;
}

const std::string kStartup = untyped(3u << 16, std::string("user\0app\0database\0app\0\0", 23));
const std::string kSslRequest = untyped((1234u << 16) | 5679u);
const std::string kPassword = typed('p', std::string("secret\0", 7));
const std::string kQuery = typed('Q', std::string("INSERT INTO t VALUES (1)\0", 25));

TEST(PgStartupGate, StartupAndAuthenticationPassAndTheFirstStatementWaits) {
  PgStartupGate gate;
  std::string stream = kStartup + kPassword + kQuery;
  EXPECT_EQ(gate.admit(stream), kStartup.size() + kPassword.size());
  EXPECT_TRUE(gate.closed());
  EXPECT_EQ(gate.admit(kQuery), 0u) << "a closed gate passes nothing";
}

TEST(PgStartupGate, ADeclinedSslRequestIsFollowedByTheStartupMessage) {
  PgStartupGate gate;
  EXPECT_EQ(gate.admit(kSslRequest), kSslRequest.size());
  EXPECT_FALSE(gate.closed());
  EXPECT_EQ(gate.admit(kStartup), kStartup.size());
  EXPECT_EQ(gate.admit(kPassword), kPassword.size());
  EXPECT_FALSE(gate.closed());
}

TEST(PgStartupGate, TlsAfterAnSslRequestClosesTheGate) {
  PgStartupGate gate;
  EXPECT_EQ(gate.admit(kSslRequest), kSslRequest.size());
  std::string client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  EXPECT_EQ(gate.admit(client_hello), 0u);
  EXPECT_TRUE(gate.closed()) << "encrypted bytes cannot be told apart: they wait";
}

TEST(PgStartupGate, PartialMessagesWaitForTheirRest) {
  PgStartupGate gate;
  std::string stream = kStartup + kPassword;
  // Fed a byte at a time, with the unpassed bytes given again each time (as a caller does).
  std::string unread;
  size_t passed = 0;
  for (char c : stream) {
    unread.push_back(c);
    size_t n = gate.admit(unread);
    unread.erase(0, n);
    passed += n;
    EXPECT_TRUE(n == 0 || passed == kStartup.size() || passed == stream.size()) << passed;
  }
  EXPECT_EQ(passed, stream.size());
  EXPECT_TRUE(unread.empty());
}

TEST(PgStartupGate, AStatementPipelinedWithTheStartupNeverPasses) {
  PgStartupGate gate;
  std::string stream = kStartup + kQuery + kPassword;
  EXPECT_EQ(gate.admit(stream), kStartup.size());
  EXPECT_TRUE(gate.closed()) << "nothing after the statement passes either, not even a 'p'";
}

TEST(PgStartupGate, UnknownOrOversizedStartupPacketsCloseTheGate) {
  PgStartupGate protocol2;
  EXPECT_EQ(protocol2.admit(untyped(2u << 16, std::string(8, 'x'))), 0u);
  EXPECT_TRUE(protocol2.closed());
  PgStartupGate huge;
  EXPECT_EQ(huge.admit(be32(PgStartupGate::kMaxMessage + 1) + be32(3u << 16)), 0u);
  EXPECT_TRUE(huge.closed());
  PgStartupGate huge_password;
  EXPECT_EQ(huge_password.admit(kStartup + "p" + be32(PgStartupGate::kMaxMessage + 1)),
            kStartup.size());
  EXPECT_TRUE(huge_password.closed());
}

TEST(PgStartupGate, ACancelRequestPassesAndNothingAfterIt) {
  PgStartupGate gate;
  std::string cancel = untyped((1234u << 16) | 5678u, be32(42) + be32(7));
  EXPECT_EQ(gate.admit(cancel + kQuery), cancel.size());
  EXPECT_TRUE(gate.closed());
}

}  // namespace
}  // namespace rampart::lb
