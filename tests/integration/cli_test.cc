// The rampart binary as an operator meets it: errors in flags and config are one clear line with
// exit code 2; a running role serves /metrics, /healthz, /readyz and survives a bad reload.

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>

#include "etcd_fixture.h"
#include "net/http/client.h"
#include "runtime/process.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Outcome {
  int exit_code = -1;
  std::string output;
};

Outcome runRampart(const testing::TempDir& dir, std::vector<std::string> args) {
  static int counter = 0;
  std::string log = dir.path() + "/out-" + std::to_string(++counter) + ".log";
  args.insert(args.begin(), RAMPART_BINARY);
  auto pid = runtime::spawn(runtime::SpawnOptions{args, log});
  if (!pid) {
    return {};
  }
  auto status = runtime::waitExit(*pid, 10s);
  if (!status) {
    runtime::terminate(*pid, 1s);
    return {-1, readFile(log)};
  }
  return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, readFile(log)};
}

TEST(Cli, VersionAndHelpSucceed) {
  testing::TempDir dir;
  auto version = runRampart(dir, {"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("rampart "), std::string::npos);
  auto help = runRampart(dir, {"etcd", "up", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--members"), std::string::npos);
}

TEST(Cli, UnknownSubcommandAndBadFlagsExitWithUsageError) {
  testing::TempDir dir;
  EXPECT_EQ(runRampart(dir, {"no-such-role"}).exit_code, 2);
  auto members = runRampart(dir, {"etcd", "up", "--members", "0", "--dir", dir.path()});
  EXPECT_EQ(members.exit_code, 2);
  EXPECT_NE(members.output.find("--members"), std::string::npos) << members.output;
  auto ttl = runRampart(dir, {"elect", "--name", "a", "--endpoints", "127.0.0.1:1", "--ttl",
                              "500ms"});
  EXPECT_EQ(ttl.exit_code, 2);
  EXPECT_NE(ttl.output.find("--ttl '500ms'"), std::string::npos) << ttl.output;
  auto no_name = runRampart(dir, {"elect", "--endpoints", "127.0.0.1:1"});
  EXPECT_EQ(no_name.exit_code, 2);
  EXPECT_NE(no_name.output.find("--name"), std::string::npos) << no_name.output;
  auto endpoint = runRampart(dir, {"elect", "--name", "a", "--endpoints", "ftp://x:1"});
  EXPECT_EQ(endpoint.exit_code, 2);
  EXPECT_NE(endpoint.output.find("--endpoints"), std::string::npos) << endpoint.output;
}

TEST(Cli, ConfigErrorsNameFileLineAndField) {
  testing::TempDir dir;
  std::string file = dir.path() + "/elect.yaml";
  std::ofstream(file) << "etcd:\n  endpoints: [127.0.0.1:2379]\nelection:\n  name: a\n"
                         "  ttl: soon\n";
  auto out = runRampart(dir, {"elect", "-c", file});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.output.find(file + ":5:8: election.ttl"), std::string::npos) << out.output;
  EXPECT_EQ(std::count(out.output.begin(), out.output.end(), '\n'), 1) << "one line";
}

class RunningCampaigner : public testing::EtcdTest {};

TEST_F(RunningCampaigner, ServesAdminEndpointsAndKeepsRunningAfterABadReload) {
  auto port = net::pickFreePort("127.0.0.1");
  ASSERT_TRUE(port);
  std::string file = dir_.path() + "/elect.yaml";
  std::string valid = "etcd:\n  endpoints: [" + cluster_->endpointList() +
                      "]\nelection:\n  name: solo\n  key: /cli/leader\nadmin:\n  listen: "
                      "127.0.0.1:" + std::to_string(*port) + "\n";
  std::ofstream(file) << valid;
  std::string log = dir_.path() + "/elect.log";
  auto pid = runtime::spawn(runtime::SpawnOptions{{RAMPART_BINARY, "elect", "-c", file}, log});
  ASSERT_TRUE(pid);
  struct Reaper {
    pid_t pid;
    ~Reaper() { runtime::terminate(pid, 3s); }
  } reaper{*pid};

  net::http::Client http(io_.get_executor());
  net::Endpoint admin{"127.0.0.1", *port};
  auto get = [&](std::string path) {
    net::http::Request request{"GET", std::move(path), {}, {}};
    auto deadline = std::chrono::steady_clock::now() + 500ms;
    return run(http.fetch(admin, std::move(request), deadline));
  };
  // Ready once elected (the only candidate). Bounded poll.
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    auto r = get("/readyz");
    ready = r && r->status == 200;
    if (!ready) {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(ready) << readFile(log);
  auto health = get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rampart_election_is_leader{key=\"/cli/leader\"} 1"),
            std::string::npos)
      << metrics->body;

  std::ofstream(file) << "etcd:\n  endpoints: [nonsense]\n";
  ASSERT_EQ(::kill(*pid, SIGHUP), 0);
  std::string output;
  for (int i = 0; i < 100 && output.find("reload rejected") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    output = readFile(log);
  }
  EXPECT_NE(output.find("reload rejected"), std::string::npos) << output;
  EXPECT_NE(output.find("etcd.endpoints"), std::string::npos);
  auto still = get("/readyz");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200) << "the running config stays after a bad reload";

  // SIGTERM: resigns (the key goes at once) and exits 0.
  ASSERT_EQ(::kill(*pid, SIGTERM), 0);
  auto status = runtime::waitExit(*pid, 5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  reaper.pid = 0;
  auto key = run(store_->range(store::RangeRequest::single("/cli/leader")));
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->kvs.empty());
}

}  // namespace
}  // namespace rampart
