#include "pg/operator_call.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "testing/silent_listener.h"

namespace rampart::pg {
namespace {
using namespace std::chrono_literals;

MemberStatus member(const std::string& name, const std::string& rest) {
  MemberStatus m;
  m.name = name;
  m.rest = rest;
  return m;
}

std::vector<std::string> names(const std::vector<OperatorTarget>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) {
    out.push_back(t.member);
  }
  return out;
}

TEST(OperatorTargets, WithRestTlsTheLeaderComesFirstThenTheOthersByName) {
  OperatorIdentity me{"m1", net::Endpoint{"127.0.0.1", 8001, true}, true};
  std::map<std::string, MemberStatus> members = {{"m1", member("m1", "https://10.0.0.1:8001")},
                                                 {"m2", member("m2", "https://127.0.0.1:8002")},
                                                 {"m3", member("m3", "https://127.0.0.1:8003")}};
  auto targets = operatorTargets(me, "m3", members);
  EXPECT_EQ(names(targets), (std::vector<std::string>{"m3", "m1", "m2"}));
  // The own member at the address of its file, not the one etcd lists.
  EXPECT_EQ(targets[1].rest, me.rest);
  EXPECT_TRUE(targets[1].from_config_file);
  EXPECT_EQ(targets[0].rest, (net::Endpoint{"127.0.0.1", 8003, true}));
  EXPECT_FALSE(targets[0].from_config_file);
}

TEST(OperatorTargets, WithoutRestTlsNoAddressFromEtcdGetsTheToken) {
  OperatorIdentity me{"m2", net::Endpoint{"127.0.0.1", 8002, false}, false};
  std::map<std::string, MemberStatus> members = {{"m1", member("m1", "127.0.0.1:8001")},
                                                 {"m2", member("m2", "127.0.0.1:8002")}};
  auto targets = operatorTargets(me, "m1", members);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].member, "m2");
  EXPECT_TRUE(targets[0].from_config_file);
}

TEST(OperatorTargets, WithRestTlsAPlainHttpAddressFromEtcdIsSkipped) {
  // Whoever writes etcd could publish a plain address to catch the token unverified.
  OperatorIdentity me{"m1", net::Endpoint{"127.0.0.1", 8001, true}, true};
  std::map<std::string, MemberStatus> members = {{"m2", member("m2", "127.0.0.1:8002")},
                                                 {"m3", member("m3", "not an address")}};
  EXPECT_EQ(names(operatorTargets(me, "m2", members)), (std::vector<std::string>{"m1"}));
}

TEST(OperatorTargets, TheOwnMemberIsAskedEvenWhenEtcdDoesNotListIt) {
  OperatorIdentity me{"m1", net::Endpoint{"127.0.0.1", 8001, false}, false};
  EXPECT_EQ(names(operatorTargets(me, "", {})), (std::vector<std::string>{"m1"}));
}

const OperatorTarget kTarget{"m2", net::Endpoint{"127.0.0.1", 8002, true}, false};

TEST(JudgeAnswer, A200IsDone) {
  auto v = judgeAnswer(kTarget, net::http::Response::json(200, R"({"ok":true})"));
  EXPECT_TRUE(v.done);
}

TEST(JudgeAnswer, AWrongTokenStopsAndNamesTheMemberAndItsAddress) {
  for (int status : {401, 403}) {
    auto v = judgeAnswer(kTarget, net::http::Response::json(status, R"({"error":"x"})"));
    EXPECT_FALSE(v.done);
    EXPECT_FALSE(v.try_next) << "the same token would go to the next member";
    EXPECT_NE(v.message.find("m2 (https://127.0.0.1:8002)"), std::string::npos) << v.message;
    EXPECT_NE(v.message.find("token"), std::string::npos) << v.message;
  }
}

TEST(JudgeAnswer, ARefusedRequestStopsWithTheMembersReason) {
  auto v = judgeAnswer(kTarget,
                       net::http::Response::json(409, R"({"error":"m3 is not a sync standby"})"));
  EXPECT_FALSE(v.try_next);
  EXPECT_NE(v.message.find("m3 is not a sync standby"), std::string::npos) << v.message;
}

TEST(JudgeAnswer, AMemberThatCannotReachEtcdOrCannotBeReachedPassesToTheNext) {
  EXPECT_TRUE(judgeAnswer(kTarget, net::http::Response::json(503, "{}")).try_next);
  auto unknown = judgeAnswer(kTarget, net::http::Response::json(504, "{}"));
  EXPECT_TRUE(unknown.try_next);
  EXPECT_NE(unknown.message.find("outcome is unknown"), std::string::npos);
  Result<net::http::Response> refused =
      fail(ErrorCode::Unavailable, "connect 127.0.0.1:8002: Connection refused");
  auto v = judgeAnswer(kTarget, refused);
  EXPECT_TRUE(v.try_next);
  EXPECT_NE(v.message.find("connection refused"), std::string::npos) << v.message;
  Result<net::http::Response> late = fail(ErrorCode::DeadlineExceeded, "read from x: timeout");
  EXPECT_NE(judgeAnswer(kTarget, late).message.find("no answer in time"), std::string::npos);
  Result<net::http::Response> tls =
      fail(ErrorCode::Unavailable, "TLS handshake with https://127.0.0.1:8002: bad certificate");
  EXPECT_NE(judgeAnswer(kTarget, tls).message.find("TLS failure"), std::string::npos);
}

using testing::SilentListener;

TEST(CallMembers, WithEveryMemberUnreachableItFailsByItsDeadlineNamingEachMember) {
  SilentListener silent;
  ASSERT_NE(silent.port, 0);
  SilentListener closed;  // bound, then closed: nothing listens on its port any more
  uint16_t refused_port = closed.port;
  ::close(closed.fd);
  closed.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::vector<OperatorTarget> targets = {
      {"m1", net::Endpoint{"127.0.0.1", silent.port, false}, false},
      {"m2", net::Endpoint{"127.0.0.1", refused_port, false}, true}};
  OperatorRequest request{"/pause", "", "token", {}, 300ms};
  auto start = std::chrono::steady_clock::now();
  auto r = callMembers(targets, request, start + 2s);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_LT(took, 1s) << "each member's share bounds its attempt";
  EXPECT_EQ(r.error().code, ErrorCode::DeadlineExceeded);
  EXPECT_NE(r.error().message.find("m1 (http://127.0.0.1:" + std::to_string(silent.port) +
                                   "): no answer in time"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("m2 (http://127.0.0.1:" + std::to_string(refused_port) +
                                   "): connection refused"),
            std::string::npos)
      << r.error().message;
}

TEST(CallMembers, TheCommandsDeadlineBoundsTheWholeCall) {
  SilentListener a;
  SilentListener b;
  std::vector<OperatorTarget> targets = {{"m1", net::Endpoint{"127.0.0.1", a.port, false}, false},
                                         {"m2", net::Endpoint{"127.0.0.1", b.port, false}, false}};
  OperatorRequest request{"/pause", "", "token", {}, 10s};
  auto start = std::chrono::steady_clock::now();
  auto r = callMembers(targets, request, start + 400ms);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_LT(took, 1500ms);
  EXPECT_NE(r.error().message.find("m2"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace rampart::pg
