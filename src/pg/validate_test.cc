#include "pg/validate.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "pg/config.h"

namespace rampart::pg {
namespace {

// The host from issue #17: ends primary_conninfo's value and adds two settings of its own.
const std::string kInjectedHost = "10.0.0.12' \nlog_statement = all\nfsync = off #";

MemberStatus member(const std::string& name, const std::string& host) {
  MemberStatus s;
  s.name = name;
  s.host = host;
  s.port = 5432;
  s.rest = "127.0.0.1:8008";
  s.role = "replica";
  s.state = "streaming";
  return s;
}

TEST(Validate, MemberNamesAreSlotNames) {
  for (const char* good : {"m1", "a", "node_2", "0"}) {
    EXPECT_TRUE(checkMemberName(good)) << good;
  }
  for (const char* bad : {"", "M1", "m-1", "m.1", "m 1", "m1\n", "m1'", "m\"1", "a/b"}) {
    EXPECT_FALSE(checkMemberName(bad)) << bad;
  }
  EXPECT_TRUE(checkMemberName(std::string(63, 'a')));
  EXPECT_FALSE(checkMemberName(std::string(64, 'a')));
}

TEST(Validate, ClusterNamesAreKeySegments) {
  for (const char* good : {"demo", "orders-eu.1", "c", "a_b"}) {
    EXPECT_TRUE(checkClusterName(good)) << good;
  }
  for (const char* bad : {"", "-a", "a-", "a/b", "..", "A", "a\n"}) {
    EXPECT_FALSE(checkClusterName(bad)) << bad;
  }
}

TEST(Validate, HostsAreAddressesOrHostNames) {
  for (const char* good :
       {"10.0.0.12", "127.0.0.1", "::1", "fe80::1", "localhost", "db-1.example.com", "a"}) {
    EXPECT_TRUE(checkHost(good)) << good;
  }
  for (const std::string& bad :
       {std::string(""), kInjectedHost, std::string("10.0.0.12'"), std::string("-a.example"),
        std::string("a..b"), std::string("a b"), std::string("a.example."),
        std::string("host=evil"), std::string(64, 'a'), std::string("/tmp"), std::string("a\\b")}) {
    EXPECT_FALSE(checkHost(bad)) << bad;
  }
  EXPECT_TRUE(checkHostPort("127.0.0.1:8008"));
  EXPECT_TRUE(checkHostPort("[::1]:8008"));
  EXPECT_TRUE(checkHostPort("db-1:8008"));
  EXPECT_TRUE(checkHostPort("::1:8008"));
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "[::1]x:80", "a b:1", "h:80x", ":80"}) {
    EXPECT_FALSE(checkHostPort(bad)) << bad;
  }
  EXPECT_TRUE(checkCidr("0.0.0.0/0"));
  EXPECT_TRUE(checkCidr("::1/128"));
  for (const char* bad : {"10.0.0.1", "10.0.0.0/33", "x/8", "10.0.0.0/", "10.0.0.0/8 trust"}) {
    EXPECT_FALSE(checkCidr(bad)) << bad;
  }
}

TEST(Validate, MemberEntryIsTrustedByItsKeyNotTheNameInside) {
  auto valid = decodeMemberEntry("m2", encode(member("m2", "10.0.0.12")));
  ASSERT_TRUE(valid) << valid.error().message;
  EXPECT_EQ(valid->host, "10.0.0.12");
  // m3 writes a value under its own key that claims to be m2.
  auto forged = decodeMemberEntry("m3", encode(member("m2", "10.0.0.66")));
  ASSERT_FALSE(forged);
  EXPECT_NE(forged.error().message.find("names member 'm2'"), std::string::npos)
      << forged.error().message;
  EXPECT_FALSE(decodeMemberEntry("M3", encode(member("M3", "10.0.0.66"))));
}

TEST(Validate, AnHttpsRestAddressIsAcceptedButNoOtherScheme) {
  auto https = member("m2", "10.0.0.12");
  https.rest = "https://10.0.0.12:8008";
  EXPECT_TRUE(decodeMemberEntry("m2", encode(https)));
  auto other = member("m2", "10.0.0.12");
  other.rest = "ftp://10.0.0.12:8008";
  EXPECT_FALSE(decodeMemberEntry("m2", encode(other)));
  auto injected = member("m2", "10.0.0.12");
  injected.rest = "https://10.0.0.12:80\nx";
  EXPECT_FALSE(decodeMemberEntry("m2", encode(injected)));
}

TEST(Validate, MemberEntryWithInjectedHostIsRefused) {
  auto injected = decodeMemberEntry("m2", encode(member("m2", kInjectedHost)));
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error().message.find('\n'), std::string::npos)
      << "the refusal itself must not carry the newline into a log line";
  auto bad_rest = member("m2", "10.0.0.12");
  bad_rest.rest = "10.0.0.12:80\nx";
  EXPECT_FALSE(decodeMemberEntry("m2", encode(bad_rest)));
  auto bad_upstream = member("m2", "10.0.0.12");
  bad_upstream.upstream = "m1'";
  EXPECT_FALSE(decodeMemberEntry("m2", encode(bad_upstream)));
  auto no_port = member("m2", "10.0.0.12");
  no_port.port = 0;
  EXPECT_FALSE(decodeMemberEntry("m2", encode(no_port)));
}

TEST(Validate, SyncStateAndSwitchoverNamesAreMemberNames) {
  EXPECT_TRUE(checkSyncState(SyncState{"m1", {"m2", "m3"}, 1}));
  EXPECT_TRUE(checkSyncState(SyncState{"", {}, 0}));
  EXPECT_FALSE(checkSyncState(SyncState{"m1", {"m2\", \"x"}, 1}));
  EXPECT_FALSE(checkSyncState(SyncState{"m1'", {"m2"}, 1}));
  EXPECT_FALSE(checkSyncState(SyncState{"m1", {"m2"}, 2}));
  EXPECT_FALSE(checkSyncState(SyncState{"m1", {"m2"}, -1}));
  EXPECT_TRUE(checkSwitchoverRequest(SwitchoverRequest{"m1", "", false, 0, 0}));
  EXPECT_FALSE(checkSwitchoverRequest(SwitchoverRequest{"m1", "m2\n", false, 0, 0}));
}

// What PostgreSQL's configuration lexer reads back from a quoted value: '' is ', \x is x (the
// escapes \n \t \b \f \r and octal aside, which confValue never leaves unescaped), and the
// value ends at the first lone '. Returns the value and what follows it on the line.
std::pair<std::string, std::string> readConfValue(const std::string& text) {
  std::string value;
  size_t i = 1;  // after the opening quote
  for (; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      value += text[++i];
    } else if (text[i] == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
      value += '\'';
      ++i;
    } else if (text[i] == '\'') {
      break;
    } else {
      value += text[i];
    }
  }
  return {value, text.substr(std::min(i + 1, text.size()))};
}

TEST(Validate, ConfValueKeepsEveryCharacterInsideTheValue) {
  for (const std::string& v :
       {std::string("plain"), std::string("it's"), std::string("a\\'b"), std::string("\\"),
        std::string("x' fsync = off #"), std::string("host='10.0.0.12\\' fsync=off #'"),
        std::string("ünïcode")}) {
    auto quoted = confValue(v);
    ASSERT_TRUE(quoted) << v;
    auto [value, rest] = readConfValue(*quoted);
    EXPECT_EQ(value, v);
    EXPECT_EQ(rest, "") << "the value ended early: " << *quoted;
  }
}

TEST(Validate, QuotingRefusesControlCharacters) {
  for (const std::string& v : {kInjectedHost, std::string("a\rb"), std::string("a\tb"),
                               std::string("a\0b", 3), std::string("a\x7f")}) {
    EXPECT_FALSE(confValue(v)) << v;
    EXPECT_FALSE(conninfoValue(v)) << v;
    EXPECT_FALSE(pgpassField(v)) << v;
    EXPECT_FALSE(hbaToken(v)) << v;
  }
  EXPECT_EQ(*conninfoValue("a'b\\c"), "'a\\'b\\\\c'");
  EXPECT_EQ(*pgpassField("p:w\\d"), "p\\:w\\\\d");
  EXPECT_EQ(*hbaToken("all"), "\"all\"");
  EXPECT_FALSE(hbaToken("a\"b"));
  EXPECT_TRUE(checkHbaLine("hostssl\tall all 10.0.0.0/8 scram-sha-256"));
  EXPECT_FALSE(checkHbaLine("host all all 0.0.0.0/0 trust\nhost all all ::/0 trust"));
  EXPECT_FALSE(checkHbaLine("host all all 0.0.0.0/0 trust \\"));
  EXPECT_FALSE(checkHbaLine("  "));
}

TEST(Validate, RoleAndParameterNames) {
  EXPECT_TRUE(checkRoleName("postgres"));
  EXPECT_TRUE(checkRoleName("app.user-1"));
  EXPECT_FALSE(checkRoleName("a\"b"));
  EXPECT_FALSE(checkRoleName("a b"));
  EXPECT_FALSE(checkRoleName("+group"));
  EXPECT_FALSE(checkRoleName("@file"));
  EXPECT_TRUE(checkParameterName("shared_buffers"));
  EXPECT_TRUE(checkParameterName("auto_explain.log_min_duration"));
  EXPECT_FALSE(checkParameterName("fsync = off\nx"));
  EXPECT_FALSE(checkParameterName("a=b"));
  EXPECT_FALSE(checkParameterName("1a"));
}

const char* kMember = R"(cluster: demo
name: m1
etcd: { endpoints: [127.0.0.1:2379] }
postgres: { listen: 127.0.0.1:5433, data_dir: /tmp/m1 }
credentials:
  superuser: { password: a }
  replication: { password: b }
)";

Result<MemberConfig> parseWith(const std::string& from, const std::string& to) {
  std::string text = kMember;
  text.replace(text.find(from), from.size(), to);
  auto root = config::loadString(text, "member.yaml");
  if (!root) {
    return fail(root.error());
  }
  return parseMemberConfig(*root);
}

TEST(MemberConfigValidation, RefusesUnsafeValuesNamingTheField) {
  struct Case {
    std::string from, to, field;
  };
  for (const auto& c : std::vector<Case>{
           {"cluster: demo", "cluster: a/b", "cluster"},
           {"listen: 127.0.0.1:5433", "listen: \"x'y:5433\"", "postgres.listen"},
           {"data_dir: /tmp/m1", "data_dir: /tmp/m1, parameters: { \"a=b\": 1 }",
            "postgres.parameters"},
           {"data_dir: /tmp/m1",
            "data_dir: /tmp/m1, parameters: { work_mem: \"1MB\\nfsync = off\" }",
            "postgres.parameters"},
           {"data_dir: /tmp/m1", "data_dir: /tmp/m1, pg_hba: [\"host all all 0/0 trust\\nx\"]",
            "postgres.pg_hba"},
           {"data_dir: /tmp/m1", "data_dir: /tmp/m1, hba_networks: [everywhere]",
            "postgres.hba_networks"},
           {"data_dir: /tmp/m1", "data_dir: /tmp/m1, sslmode: verify-full", "postgres.sslmode"},
           {"data_dir: /tmp/m1", "data_dir: /tmp/m1, sslmode: sometimes", "postgres.sslmode"},
           {"password: a", "password: \"a\\nb\"", "credentials.superuser.password"},
           {"password: b", "user: \"rep lic\", password: b", "credentials.replication.user"},
       }) {
    auto parsed = parseWith(c.from, c.to);
    ASSERT_FALSE(parsed) << c.to;
    EXPECT_NE(parsed.error().message.find("member.yaml:"), std::string::npos)
        << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.field + ":"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(MemberConfigValidation, TlsDefaultsReplicationToVerifyFull) {
  auto plain = parseWith("password: a", "password: a");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->sslmode, "prefer");
  EXPECT_EQ(plain->hba_networks, std::vector<std::string>{"0.0.0.0/0"});
  auto narrowed = parseWith("data_dir: /tmp/m1",
                            "data_dir: /tmp/m1, hba_networks: [], pg_hba: [\"hostssl all all "
                            "10.0.0.0/8 scram-sha-256\"]");
  ASSERT_TRUE(narrowed) << narrowed.error().message;
  EXPECT_TRUE(narrowed->hba_networks.empty());
  EXPECT_EQ(narrowed->pg_hba.size(), 1u);
  auto tls = parseWith("data_dir: /tmp/m1", "data_dir: /tmp/m1, tls: { ca: /etc/hostname }");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_EQ(tls->sslmode, "verify-full");
  EXPECT_FALSE(parseWith("data_dir: /tmp/m1", "data_dir: /tmp/m1, tls: { cert: /etc/hostname }"));
  EXPECT_FALSE(parseWith("data_dir: /tmp/m1", "data_dir: /tmp/m1, tls: { ca: /nonexistent }"));
}

// A file in /tmp with `text` and `mode`, removed at the end.
class TempFile {
 public:
  TempFile(const std::string& text, mode_t mode) {
    char path[] = "/tmp/pg-config-test-XXXXXX";
    int fd = ::mkstemp(path);
    ::close(fd);
    path_ = path;
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(MemberConfigValidation, CredentialFilesOthersCanReadAreRefused) {
  const std::string kCreds = "superuser: { password: a }\nreplication: { password: b }\n";
  std::string base = kMember;
  base.erase(base.find("credentials:"));
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    TempFile creds(kCreds, mode);
    auto root = config::loadString(base + "credentials_file: " + creds.path() + "\n", "m.yaml");
    ASSERT_TRUE(root);
    auto parsed = parseMemberConfig(*root);
    ASSERT_FALSE(parsed) << std::oct << mode;
    EXPECT_NE(parsed.error().message.find("m.yaml:"), std::string::npos);
    EXPECT_NE(parsed.error().message.find("credentials_file"), std::string::npos)
        << parsed.error().message;

    TempFile token("s3cret\n", mode);
    auto with_token = config::loadString(
        std::string(kMember) + "rest: { token_file: " + token.path() + " }\n", "m.yaml");
    ASSERT_TRUE(with_token);
    auto refused = parseMemberConfig(*with_token);
    ASSERT_FALSE(refused) << std::oct << mode;
    EXPECT_NE(refused.error().message.find("rest.token_file"), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(refused.error().message.find("s3cret"), std::string::npos);
  }
  TempFile creds(kCreds, 0600);
  auto root = config::loadString(base + "credentials_file: " + creds.path() + "\n", "m.yaml");
  auto parsed = parseMemberConfig(*root);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->replication.password, "b");
  TempFile token("s3cret\n", 0600);
  auto with_token = parseMemberConfig(*config::loadString(
      std::string(kMember) + "rest: { token_file: " + token.path() + " }\n", "m.yaml"));
  ASSERT_TRUE(with_token) << with_token.error().message;
  EXPECT_EQ(with_token->token, "s3cret");
  // Both forms at once is a mistake, not a precedence rule: refused, naming the file field.
  auto both = parseMemberConfig(*config::loadString(
      std::string(kMember) + "rest: { token: other, token_file: " + token.path() + " }\n",
      "m.yaml"));
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("rest.token_file: give either token or token_file, not both"),
            std::string::npos)
      << both.error().message;
}

}  // namespace
}  // namespace rampart::pg
