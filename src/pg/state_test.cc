#include "pg/state.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "pg/config.h"
#include "testing/test_files.h"

namespace rampart::pg {
namespace {
using ::testing::HasSubstr;

TEST(Lsn, ParsesAndFormatsPostgresNotation) {
  auto lsn = parseLsn("16/B374D848");
  ASSERT_TRUE(lsn);
  EXPECT_EQ(*lsn, (Lsn{0x16} << 32) | 0xB374D848);
  EXPECT_EQ(formatLsn(*lsn), "16/B374D848");
  EXPECT_EQ(formatLsn(0), "0/0");
  EXPECT_FALSE(parseLsn("16B374D848"));
  EXPECT_FALSE(parseLsn("/1"));
  EXPECT_FALSE(parseLsn("1/zz"));
}

TEST(MemberStatus, RoundTripsThroughJson) {
  MemberStatus s;
  s.name = "m2";
  s.host = "127.0.0.1";
  s.port = 5433;
  s.role = "replica";
  s.state = "streaming";
  s.receive_lsn = 0x3000060;
  s.race_rev = 12;
  s.race_lsn = 0x3000060;
  auto back = decodeMemberStatus(encode(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(decodeMemberStatus("[]"));
  EXPECT_FALSE(decodeMemberStatus(R"({"name": "x", "port": "five"})"));
}

TEST(MemberStatus, NumbersMustBeWholeAndInRange) {
  // A float converted to an integer is undefined behaviour (found by fuzz/values_fuzz.cc).
  EXPECT_FALSE(decodeMemberStatus(R"({"name": "m1", "port": 1.7e24})"));
  EXPECT_FALSE(decodeMemberStatus(R"({"name": "m1", "port": 70000})"));
  EXPECT_FALSE(decodeMemberStatus(R"({"name": "m1", "port": -1})"));
  EXPECT_FALSE(decodeMemberStatus(R"({"name": "m1", "port": 5432.5})"));
  EXPECT_FALSE(decodeFailoverEvent(R"({"kind": "failover", "detected_at_ms": 1.7e24})"));
  auto ok = decodeMemberStatus(R"({"name": "m1", "port": 5432})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->port, 5432);
}

TEST(SyncState, RoundTripsAndSorts) {
  auto s = decodeSyncState(R"({"leader":"m1","members":["m3","m2"],"quorum":1})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->members, (std::vector<std::string>{"m2", "m3"}));
  EXPECT_EQ(*decodeSyncState(encode(*s)), *s);
}

TEST(SwitchoverRequest, CarriesTheHandoverPositionAndTheReadyRevision) {
  SwitchoverRequest r{"m1", "m2", false, 0x5000028, 4711};
  auto back = decodeSwitchoverRequest(encode(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, "m2");
  EXPECT_EQ(back->handover_lsn, 0x5000028u);
  EXPECT_EQ(back->ready_revision, 4711);
  auto older = decodeSwitchoverRequest(R"({"from":"m1","to":"m2","handover_lsn":"0/5000028"})");
  ASSERT_TRUE(older);
  EXPECT_EQ(older->ready_revision, 0) << "a request without the field: no ready write seen";
}

const char* kMember = R"(cluster: demo
name: m1
etcd: { endpoints: [127.0.0.1:2379] }
postgres: { listen: 127.0.0.1:5433, data_dir: /tmp/m1 }
credentials:
  superuser: { password: a }
  replication: { password: b }
)";

TEST(MemberConfig, ReadsDefaults) {
  auto root = config::loadString(kMember, "member.yaml");
  ASSERT_TRUE(root);
  auto c = parseMemberConfig(*root);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->name, "m1");
  EXPECT_EQ(c->keyPrefix(), "/rampart/pg/demo/");
  EXPECT_EQ(c->superuser.user, "postgres");
  EXPECT_EQ(c->replication.user, "replicator");
  EXPECT_TRUE(c->ha.synchronous_mode);
}

TEST(MemberConfig, ErrorsNameTheLineAndField) {
  std::string text = std::string(kMember) + "ha: { leader_timeout: soon }\n";
  auto root = config::loadString(text, "member.yaml");
  ASSERT_TRUE(root);
  auto c = parseMemberConfig(*root);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("member.yaml:8"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("ha.leader_timeout"), std::string::npos) << c.error().message;
}

TEST(MemberConfig, RejectsUnsafeTimings) {
  std::string text = std::string(kMember) + "ha: { leader_timeout: 1s, fence_margin: 1s }\n";
  auto c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("fence_margin"), std::string::npos) << c.error().message;
}

TEST(MemberConfig, RejectsNamesThatCannotBeSlots) {
  std::string text = kMember;
  text.replace(text.find("name: m1"), 8, "name: M-1");
  auto c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("member.yaml:2"), std::string::npos) << c.error().message;
}

TEST(MemberConfig, RequiresPasswords) {
  std::string text = kMember;
  text.replace(text.find("password: b"), 11, "user: r");
  auto c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("passwords are required"), std::string::npos);
}

TEST(MemberConfig, KeepsTheOperatorAndTheMemberCredentialApart) {
  std::string text = std::string(kMember) + "rest: { token: op, member_token: mem }\n";
  auto c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->token, "op");
  EXPECT_EQ(c->member_token, "mem");
  text = std::string(kMember) + "rest: { token: same, member_token: same }\n";
  c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("member.yaml:8"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("rest.member_token"), std::string::npos) << c.error().message;
}

TEST(MemberConfig, RestTlsServesHttpsAndVerifiesClientsOnlyWithClientAuth) {
  testing::TempDir dir;
  for (const char* f : {"/rest.pem", "/rest-key.pem", "/ca.pem"}) {
    std::ofstream(dir.path() + f) << "x";
  }
  std::string tls = "{ cert: " + dir.path() + "/rest.pem, key: " + dir.path() +
                    "/rest-key.pem, ca: " + dir.path() + "/ca.pem";
  std::string text =
      std::string(kMember) + "rest: { listen: 127.0.0.1:8443, tls: " + tls + " } }\n";
  auto c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->restTls());
  EXPECT_EQ(c->restAddress(), "https://127.0.0.1:8443");
  EXPECT_EQ(c->restServerTls().ca, "") << "no client_auth: clients are not asked for certificates";
  EXPECT_EQ(c->restClientTls().ca, dir.path() + "/ca.pem") << "peers are verified against ca";
  EXPECT_EQ(c->restClientTls().cert, dir.path() + "/rest.pem");

  text = std::string(kMember) + "rest: { tls: " + tls + ", client_auth: true } }\n";
  c = parseMemberConfig(*config::loadString(text, "member.yaml"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->restServerTls().ca, dir.path() + "/ca.pem");

  auto plain = parseMemberConfig(*config::loadString(kMember, "member.yaml"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->restTls());
  EXPECT_EQ(plain->restAddress(), "127.0.0.1:8008");
  EXPECT_TRUE(plain->restServerTls().empty());
}

TEST(MemberConfig, ARestApiOnEveryInterfaceIsPublishedWithThePostgresHost) {
  std::string text = std::string(kMember);
  text.replace(text.find("127.0.0.1:5433"), 14, "10.0.0.11:5433");
  auto c =
      parseMemberConfig(*config::loadString(text + "rest: { listen: 0.0.0.0:8008 }\n", "m.yaml"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->restAddress(), "10.0.0.11:8008");  // 0.0.0.0 is no address a peer could call
}

TEST(MemberConfig, RestTlsErrorsNameTheField) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/rest.pem") << "x";
  std::string cert = dir.path() + "/rest.pem";
  auto error = [](const std::string& rest) {
    auto c = parseMemberConfig(
        *config::loadString(std::string(kMember) + "rest: " + rest + "\n", "member.yaml"));
    return c ? std::string("accepted") : c.error().message;
  };
  EXPECT_THAT(error("{ tls: { cert: " + cert + " } }"), HasSubstr("cert and key are required"));
  EXPECT_THAT(error("{ tls: { cert: " + cert + ", key: " + cert + ", client_auth: true } }"),
              HasSubstr("client_auth needs rest.tls.ca"));
  EXPECT_THAT(error("{ tls: { cert: " + cert + ", key: /nonexistent/k.pem } }"),
              HasSubstr("rest.tls.key: cannot read /nonexistent/k.pem"));
  EXPECT_THAT(error("{ tls: { cert: " + cert + ", key: " + cert + ", verify: true } }"),
              HasSubstr("verify"));
}

}  // namespace
}  // namespace rampart::pg
