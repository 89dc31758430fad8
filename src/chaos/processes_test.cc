#include "chaos/processes.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "runtime/process.h"

namespace rampart::chaos {
namespace {

// State letter of /proc/<pid>/stat ('T' when stopped).
char stateOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

// Spawns `sleep 30` and waits (bounded) until it has exec'd, so its command name is "sleep".
pid_t sleeper() {
  auto pid = runtime::spawn(runtime::SpawnOptions{{"sleep", "30"}});
  if (!pid) {
    return 0;
  }
  for (int i = 0; i < 200 && commandName(*pid) != "sleep"; ++i) {
    ::usleep(5'000);
  }
  return *pid;
}

TEST(Pause, ResumesEverythingItStoppedWhenItGoes) {
  auto pid = std::optional<pid_t>(sleeper());
  ASSERT_GT(*pid, 0);
  {
    Pause pause;
    ASSERT_TRUE(pause.stop(*pid, "sleeper", "sleep"));
    // Wait (bounded) for the stop to take effect.
    for (int i = 0; i < 100 && stateOf(*pid) != 'T'; ++i) {
      ::usleep(10'000);
    }
    EXPECT_EQ(stateOf(*pid), 'T');
  }
  for (int i = 0; i < 100 && stateOf(*pid) == 'T'; ++i) {
    ::usleep(10'000);
  }
  EXPECT_NE(stateOf(*pid), 'T');
  EXPECT_TRUE(runtime::terminate(*pid, std::chrono::seconds(1)));
}

TEST(SignalProcess, RefusesAProcessWhoseCommandDoesNotMatch) {
  auto pid = std::optional<pid_t>(sleeper());
  ASSERT_GT(*pid, 0);
  auto r = signalProcess(*pid, SIGKILL, "fake postmaster", "postgres");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::FailedPrecondition);
  EXPECT_TRUE(runtime::isAlive(*pid));
  EXPECT_FALSE(signalProcess(1, SIGCONT, "init"));
  EXPECT_FALSE(signalProcess(::getpid(), SIGCONT, "self"));
  EXPECT_TRUE(runtime::terminate(*pid, std::chrono::seconds(1)));
  EXPECT_FALSE(signalProcess(*pid, SIGKILL, "gone"));
}

TEST(PostmasterPid, AStaleOrMissingFileIsAnError) {
  EXPECT_FALSE(postmasterPid("/nonexistent"));
  char dir[] = "/tmp/chaos-pm-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  std::string file = std::string(dir) + "/postmaster.pid";
  std::ofstream(file) << ::getpid() << "\n/data\n";  // alive, but not postgres
  auto r = postmasterPid(dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a running postgres"), std::string::npos);
  std::ofstream(file) << "abc\n";
  EXPECT_FALSE(postmasterPid(dir));
  ::unlink(file.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace rampart::chaos
