#include "config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/test_files.h"

namespace rampart::config {
namespace {

using namespace std::chrono_literals;

TEST(Config, ReadsTypedFieldsWithDefaults) {
  auto root = loadString("a:\n  d: 250ms\n  n: 7\n  s: hello\n  l: [x, y]\n", "t.yaml");
  ASSERT_TRUE(root) << root.error().message;
  auto a = root->section("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a->duration("d", 1s), 250ms);
  EXPECT_EQ(*a->duration("missing", 1s), 1s);
  EXPECT_EQ(*a->integer("n", 0, 0, 10), 7);
  EXPECT_EQ(*a->string("s", ""), "hello");
  EXPECT_EQ(*a->stringList("l"), (std::vector<std::string>{"x", "y"}));
}

TEST(Config, ErrorsNameFileLineAndFieldPath) {
  auto root = loadString("etcd:\n  request_timeout: soon\n", "member.yaml");
  ASSERT_TRUE(root);
  auto etcd = root->section("etcd");
  auto bad = etcd->duration("request_timeout", 1s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("member.yaml:2:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("etcd.request_timeout"), std::string::npos);
  EXPECT_NE(bad.error().message.find("'soon'"), std::string::npos);
}

TEST(Config, UnknownKeysAreRejectedWithTheirLine) {
  auto root = loadString("etcd: {}\nelection: {}\ntypo_field: 1\n", "c.yaml");
  ASSERT_TRUE(root);
  auto r = root->allowOnly({"etcd", "election"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("c.yaml:3:1: typo_field: unknown field"), std::string::npos)
      << r.error().message;
}

TEST(Config, OutOfRangeIntegersNameTheBounds) {
  auto root = loadString("n: 42\n", "c.yaml");
  auto r = root->integer("n", 0, 1, 9);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("between 1 and 9"), std::string::npos);
}

TEST(Config, InvalidYamlReportsThePosition) {
  auto root = loadString("a: [1, 2\nb: 3\n", "broken.yaml");
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("broken.yaml:"), std::string::npos);
  EXPECT_NE(root.error().message.find("invalid YAML"), std::string::npos);
}

TEST(Config, MissingFileIsNotFound) {
  auto root = loadFile("/nonexistent/rampart.yaml");
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code, ErrorCode::NotFound);
}

TEST(Config, TlsBlockReadsFilesAndAbsentGivesNothing) {
  rampart::testing::TempDir tmp;  // removed with its files however the test ends
  const std::string& dir = tmp.path();
  for (const char* name : {"/ca.pem", "/c.pem", "/k.pem"}) {
    std::ofstream(dir + name) << "x";
  }
  auto root = loadString("etcd:\n  tls:\n    ca: " + dir + "/ca.pem\n    cert: " + dir +
                             "/c.pem\n    key: " + dir + "/k.pem\n    server_name: etcd-1\n",
                         "m.yaml");
  ASSERT_TRUE(root);
  auto files = root->section("etcd")->tls("tls");
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(files->ca, dir + "/ca.pem");
  EXPECT_EQ(files->key, dir + "/k.pem");
  EXPECT_EQ(files->server_name, "etcd-1");
  EXPECT_TRUE(root->tls("absent")->empty());
}

TEST(Config, CredentialIsInlineOrTheFirstLineOfAPrivateFileNeverBoth) {
  rampart::testing::TempDir tmp;  // removed with its files however the test ends
  const std::string& dir = tmp.path();
  std::string file = dir + "/token";
  std::ofstream(file) << "from-file\n";
  ::chmod(file.c_str(), 0600);
  auto inline_token = loadString("rest:\n  token: abc\n", "m.yaml");
  EXPECT_EQ(*inline_token->section("rest")->credential("token"), "abc");
  EXPECT_EQ(*inline_token->section("rest")->credential("member_token"), "");
  auto from_file = loadString("rest:\n  token_file: " + file + "\n", "m.yaml");
  EXPECT_EQ(*from_file->section("rest")->credential("token"), "from-file");

  auto both = loadString("rest:\n  token: abc\n  token_file: " + file + "\n", "m.yaml");
  auto refused = both->section("rest")->credential("token");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "m.yaml:3:15: rest.token_file: give either token or token_file, not both");

  ::chmod(file.c_str(), 0644);  // others may read it: refused
  auto open_file = from_file->section("rest")->credential("token");
  ASSERT_FALSE(open_file);
  EXPECT_EQ(open_file.error().message.rfind("m.yaml:2:15: rest.token_file: ", 0), 0u)
      << open_file.error().message;

  auto newline = loadString("rest:\n  token: \"a\\nb\"\n", "m.yaml");
  auto control = newline->section("rest")->credential("token");
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().message,
            "m.yaml:2:10: rest.token: the token holds a control character (a newline or the like)");
}

TEST(Config, TlsBlockErrorsNameFileLineAndField) {
  auto root = loadString("etcd:\n  tls:\n    ca: /nonexistent/ca.pem\n", "m.yaml");
  auto missing = root->section("etcd")->tls("tls");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("m.yaml:3:9: etcd.tls.ca: /nonexistent/ca.pem"),
            std::string::npos)
      << missing.error().message;

  auto unknown = loadString("tls:\n  cafile: x\n", "m.yaml")->tls("tls");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("m.yaml:2:3: tls.cafile: unknown field"),
            std::string::npos)
      << unknown.error().message;

  auto half = loadString("tls:\n  cert: /etc/hostname\n", "m.yaml")->tls("tls");
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("m.yaml:2:3: tls: cert and key must be given together"),
            std::string::npos)
      << half.error().message;
}

TEST(Config, AdminTakesAnOptionalServerTlsBlock) {
  rampart::testing::TempDir tmp;  // removed with its files however the test ends
  const std::string& dir = tmp.path();
  for (const char* name : {"/ca.pem", "/c.pem", "/k.pem"}) {
    std::ofstream(dir + name) << "x";
  }
  auto root = loadString("admin:\n  listen: 127.0.0.1:9100\n  tls:\n    ca: " + dir +
                             "/ca.pem\n    cert: " + dir + "/c.pem\n    key: " + dir + "/k.pem\n",
                         "a.yaml");
  ASSERT_TRUE(root);
  EXPECT_EQ(adminListen(*root, {})->port, 9100);
  auto tls = adminTls(*root);
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_EQ(tls->cert, dir + "/c.pem");
  EXPECT_EQ(tls->ca, dir + "/ca.pem");
  EXPECT_TRUE(adminTls(*loadString("admin:\n  listen: 127.0.0.1:1\n", "a.yaml"))->empty());

  auto ca_only = adminTls(*loadString("admin:\n  tls:\n    ca: " + dir + "/ca.pem\n", "a.yaml"));
  ASSERT_FALSE(ca_only);
  EXPECT_NE(ca_only.error().message.find("a.yaml:3:5: admin.tls: a server needs cert and key"),
            std::string::npos)
      << ca_only.error().message;
}

}  // namespace
}  // namespace rampart::config
