#include "chaos/cluster.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::chaos {
namespace {

using ::testing::HasSubstr;

const char* kValid = R"({
  "kind": "rampart",
  "dir": "/tmp/lab",
  "members": [
    {"name": "m1", "host": "127.0.0.1", "port": 5433, "data_dir": "/tmp/lab/m1/data",
     "manager_pid": 1234, "rest": "127.0.0.1:8008",
     "start_command": ["/abs/rampart", "pg", "--config", "/tmp/lab/m1/member.yaml"],
     "log_file": "/tmp/lab/m1/manager.log"},
    {"name": "m2", "host": "127.0.0.1", "port": 5434, "data_dir": "/tmp/lab/m2/data",
     "rest": "http://127.0.0.1:8009", "extra": "ignored"}
  ],
  "etcd": [{"name": "e1", "pid": 111, "client": "127.0.0.1:2379"}],
  "write_vip": "127.0.0.1:6000", "read_vip": "127.0.0.1:6001",
  "user": "postgres", "password": "secret", "database": "postgres",
  "switchover_command": ["/abs/rampart", "pg", "switchover", "--to", "{candidate}"]
})";

// kValid with one change applied to its JSON.
std::string modified(const std::function<void(nlohmann::json&)>& change) {
  auto j = nlohmann::json::parse(kValid);
  change(j);
  return j.dump();
}

std::string errorOf(const std::string& text) {
  auto c = parseCluster(text, "lab.json");
  EXPECT_FALSE(c);
  return c ? "" : c.error().message;
}

TEST(ParseCluster, ReadsEveryFieldOfTheLabFormat) {
  auto c = parseCluster(kValid, "lab.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind, "rampart");
  ASSERT_EQ(c->members.size(), 2u);
  EXPECT_EQ(c->members[0].name, "m1");
  EXPECT_EQ(c->members[0].port, 5433);
  EXPECT_EQ(c->members[0].manager_pid, 1234);
  EXPECT_EQ(c->members[0].rest.toString(), "127.0.0.1:8008");
  EXPECT_EQ(c->members[0].start_command.size(), 4u);
  EXPECT_EQ(c->members[0].log_file, "/tmp/lab/m1/manager.log");
  EXPECT_EQ(c->members[1].manager_pid, 0);  // optional
  EXPECT_EQ(c->members[1].rest.port, 8009);
  ASSERT_EQ(c->etcd.size(), 1u);
  EXPECT_EQ(c->etcd[0].pid, 111);
  EXPECT_EQ(c->write_vip.port, 6000);
  ASSERT_TRUE(c->read_vip);
  EXPECT_EQ(c->password, "secret");
  EXPECT_EQ(c->memberByPort(5434)->name, "m2");
  EXPECT_EQ(c->memberByPort(1), nullptr);
  EXPECT_EQ(c->member("m1")->port, 5433);
}

TEST(ParseCluster, CredentialsDefaultToPostgres) {
  auto c = parseCluster(modified([](auto& j) {
                          j.erase("user");
                          j.erase("database");
                          j.erase("password");
                        }),
                        "lab.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->user, "postgres");
  EXPECT_EQ(c->database, "postgres");
  EXPECT_EQ(c->password, "");
}

TEST(ParseCluster, InvalidJsonNamesTheFile) {
  EXPECT_THAT(errorOf("{not json"), HasSubstr("lab.json: not valid JSON"));
  EXPECT_THAT(errorOf("[1]"), HasSubstr("lab.json: expected a JSON object"));
}

TEST(ParseCluster, ErrorsNameTheFileAndTheField) {
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][1]["port"] = 70000; })),
            "lab.json: members[1].port: expected an integer 1-65535");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][0].erase("rest"); })),
            "lab.json: members[0].rest: missing");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][0]["name"] = ""; })),
            "lab.json: members[0].name: must not be empty");
  EXPECT_EQ(
      errorOf(modified([](auto& j) { j["kind"] = "stolon"; })),
      "lab.json: kind: expected \"rampart\", \"patroni\" or \"rampart-redis\", got \"stolon\"");
  EXPECT_EQ(errorOf(modified([](auto& j) { j.erase("write_vip"); })),
            "lab.json: write_vip: missing");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"] = nlohmann::json::array(); })),
            "lab.json: members: must list at least one member");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"] = "m1"; })),
            "lab.json: members: expected an array");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["etcd"][0]["pid"] = "111"; })),
            "lab.json: etcd[0].pid: expected an integer 2-1073741824");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][0]["start_command"] = "rampart pg"; })),
            "lab.json: members[0].start_command: expected an array of strings");
  EXPECT_THAT(errorOf(modified([](auto& j) { j["members"][0]["rest"] = "nohost"; })),
              HasSubstr("lab.json: members[0].rest: "));
}

TEST(ParseCluster, HttpsRestApisComeWithTheLabsClientCertificate) {
  auto c = parseCluster(modified([](auto& j) {
                          j["members"][0]["rest"] = "https://127.0.0.1:8008";
                          j["rest_tls"] = {{"ca", "/lab/pg-ca/ca.pem"},
                                           {"cert", "/lab/rest-client.pem"},
                                           {"key", "/lab/rest-client-key.pem"}};
                        }),
                        "lab.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->members[0].rest.tls);
  EXPECT_FALSE(c->members[1].rest.tls);
  EXPECT_EQ(c->rest_tls.ca, "/lab/pg-ca/ca.pem");
  EXPECT_EQ(c->rest_tls.cert, "/lab/rest-client.pem");
  EXPECT_EQ(c->rest_tls.key, "/lab/rest-client-key.pem");
}

TEST(ParseCluster, AnHttpsRestApiWithoutACaIsRejected) {
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][1]["rest"] = "https://127.0.0.1:8009"; })),
            "lab.json: members: m2: an https:// rest needs rest_tls.ca");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["rest_tls"] = "files"; })),
            "lab.json: rest_tls: expected an object");
}

TEST(ParseCluster, DuplicateNamesAndPortsAreRejected) {
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][1]["name"] = "m1"; })),
            "lab.json: members[1].name: duplicate member name \"m1\"");
  EXPECT_EQ(errorOf(modified([](auto& j) { j["members"][1]["port"] = 5433; })),
            "lab.json: members[1].port: duplicate port 5433");
}

TEST(LoadCluster, AMissingFileIsNamed) {
  auto c = loadCluster("/nonexistent/cluster.json");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::NotFound);
  EXPECT_THAT(c.error().message, HasSubstr("/nonexistent/cluster.json"));
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char path[] = "/tmp/chaos-cluster-test-XXXXXX";
    int fd = ::mkstemp(path);
    ::close(fd);
    path_ = path;
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(UpdateManagerPid, RewritesOnlyThatMembersPidAndKeepsTheRest) {
  TempFile file(kValid);
  ::chmod(file.path().c_str(), 0644);
  ASSERT_TRUE(updateManagerPid(file.path(), "m2", 4321));
  struct stat st {};
  ASSERT_EQ(::stat(file.path().c_str(), &st), 0);
  // It holds the password: rewritten private (0600), whatever its mode was.
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto c = loadCluster(file.path());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->path, file.path());
  EXPECT_EQ(c->members[0].manager_pid, 1234);
  EXPECT_EQ(c->members[1].manager_pid, 4321);
  EXPECT_EQ(c->switchover_command.back(), "{candidate}");
  // Key order is kept: "kind" still comes first.
  std::ifstream in(file.path());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("\"kind\""), text.str().find('"'));
  EXPECT_FALSE(updateManagerPid(file.path(), "m9", 1));
}

TEST(SubstituteCommand, ReplacesLeaderAndCandidatePlaceholders) {
  auto argv = substituteCommand({"sw", "--from={leader}", "--to", "{candidate}"}, "m1", "m2");
  EXPECT_EQ(argv, (std::vector<std::string>{"sw", "--from=m1", "--to", "m2"}));
}

}  // namespace
}  // namespace rampart::chaos
