#include "agent/runtime/state_file.h"

#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "testing/test_files.h"

namespace rampart::agent::runtime {
namespace {

// waitpid status words, built as the kernel does.
int exitedWith(int code) { return (code & 0xff) << 8; }
int killedBy(int signal) { return signal & 0x7f; }

WallTime someTime() { return WallTime{} + std::chrono::nanoseconds(1796590801123456789LL); }

TEST(StateFile, ExitZeroIsCompleted) {
  auto s = exitStatusFromWait(exitedWith(0), false, someTime());
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.reason, "Completed");
}

TEST(StateFile, NonZeroExitIsError) {
  auto s = exitStatusFromWait(exitedWith(3), false, someTime());
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(s.reason, "Error");
}

TEST(StateFile, KilledBySignalIs128PlusSignal) {
  auto s = exitStatusFromWait(killedBy(SIGTERM), false, someTime());
  EXPECT_EQ(s.exit_code, 143);
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_EQ(s.reason, "Error");
}

TEST(StateFile, SigkillWhileTheOomCounterRoseIsOomKilled) {
  auto s = exitStatusFromWait(killedBy(SIGKILL), true, someTime());
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_TRUE(s.oom_killed);
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(exitStatusFromWait(killedBy(SIGKILL), false, someTime()).reason, "Error");
  EXPECT_EQ(exitStatusFromWait(exitedWith(1), true, someTime()).reason, "Error")
      << "only the OOM killer's SIGKILL counts";
}

TEST(StateFile, StartErrorHasExitCode128AndTheMessage) {
  auto s = startErrorStatus("exec nope: No such file or directory", someTime());
  EXPECT_EQ(s.exit_code, 128);
  EXPECT_EQ(s.reason, "StartError");
  EXPECT_EQ(s.message, "exec nope: No such file or directory");
}

TEST(StateFile, ExitStatusRoundTrips) {
  auto s = exitStatusFromWait(killedBy(SIGKILL), true, someTime());
  s.message = "quote \" and newline \n";
  auto back = decodeExitStatus(encodeExitStatus(s));
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->signal, SIGKILL);
  EXPECT_TRUE(back->oom_killed);
  EXPECT_EQ(back->finished_at, someTime());
  EXPECT_EQ(back->reason, "OOMKilled");
  EXPECT_EQ(back->message, s.message);
}

TEST(StateFile, CorruptRecordsAreErrorsNotZeroes) {
  EXPECT_FALSE(decodeExitStatus("{\"exit_code\": 1"));
  EXPECT_FALSE(decodeExitStatus("{\"exit_code\": \"one\"}"));
  EXPECT_FALSE(decodeStarted("{}"));
  EXPECT_FALSE(decodeStarted(
      R"({"shim_pid":0,"shim_start_ticks":1,"container_pid":5,"container_start_ticks":2,"started_at_ns":0})"));
  EXPECT_FALSE(decodeShimSpec("[]"));
}

TEST(StateFile, StartedRecordRoundTrips) {
  StartedRecord r{41, 1234567, 42, 1234568, someTime()};
  auto back = decodeStarted(encodeStarted(r));
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(back->shim_pid, 41);
  EXPECT_EQ(back->shim_start_ticks, 1234567u);
  EXPECT_EQ(back->container_pid, 42);
  EXPECT_EQ(back->container_start_ticks, 1234568u);
  EXPECT_EQ(back->started_at, someTime());
}

TEST(StateFile, ShimSpecRoundTripsEveryField) {
  ShimSpec spec;
  auto& c = spec.config;
  c.pod_uid = "u1";
  c.pod_namespace = "ns";
  c.pod_name = "p";
  c.name = "c";
  c.attempt = 3;
  c.argv = {"/bin/sh", "-c", "echo $A"};
  c.env = {{"A", "1"}, {"B", "x=y"}};
  c.working_dir = "/tmp";
  c.run_as_user = 65534;
  c.netns_path = "/run/netns/x";
  c.mounts = {{"/src", "/dst", true}};
  c.resources = {50 << 20, 250, 500, 10};
  spec.log_path = "/var/log/pods/u1/c/3.log";
  spec.log_max_bytes = 1000;
  spec.log_max_files = 2;
  spec.cgroup_name = "rt-test";
  auto back = decodeShimSpec(encodeShimSpec(spec));
  ASSERT_TRUE(back) << back.error().toString();
  const auto& b = back->config;
  EXPECT_EQ(b.pod_uid, "u1");
  EXPECT_EQ(b.pod_namespace, "ns");
  EXPECT_EQ(b.pod_name, "p");
  EXPECT_EQ(b.attempt, 3);
  EXPECT_EQ(b.argv, c.argv);
  EXPECT_EQ(b.env, c.env);
  EXPECT_EQ(b.working_dir, "/tmp");
  EXPECT_EQ(b.run_as_user, 65534u);
  EXPECT_FALSE(b.run_as_group.has_value());
  EXPECT_EQ(b.netns_path, "/run/netns/x");
  ASSERT_EQ(b.mounts.size(), 1u);
  EXPECT_EQ(b.mounts[0].target, "/dst");
  EXPECT_TRUE(b.mounts[0].read_only);
  EXPECT_EQ(b.resources.memory_limit_bytes, 50 << 20);
  EXPECT_EQ(b.resources.cpu_request_milli, 250);
  EXPECT_EQ(b.resources.cpu_limit_milli, 500);
  EXPECT_EQ(b.resources.pids_limit, 10);
  EXPECT_EQ(back->log_path, spec.log_path);
  EXPECT_EQ(back->log_max_bytes, 1000);
  EXPECT_EQ(back->log_max_files, 2);
  EXPECT_EQ(back->cgroup_name, "rt-test");
}

TEST(StateFile, StartTimeIsField22EvenWithParenthesesInTheCommand) {
  std::string line =
      "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
  auto ticks = startTicksFromStat(line);
  ASSERT_TRUE(ticks) << ticks.error().toString();
  EXPECT_EQ(*ticks, 987654u);
  EXPECT_FALSE(startTicksFromStat("42 (x) S 1 2"));
}

TEST(StateFile, OwnStartTimeIsReadable) {
  auto ticks = processStartTicks(::getpid());
  ASSERT_TRUE(ticks) << ticks.error().toString();
  EXPECT_GT(*ticks, 0u);
}

TEST(StateFile, AtomicWriteReplacesTheFileWhole) {
  testing::TempDir dir;
  std::string path = dir.path() + "/status.json";
  ASSERT_TRUE(writeFileAtomically(path, "first"));
  ASSERT_TRUE(writeFileAtomically(path, "second"));
  EXPECT_EQ(testing::readWholeFile(path), "second");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(readWholeFile(dir.path() + "/absent").error().code, ErrorCode::NotFound);
}

TEST(StateFile, RecordWithSecretsIsReadableByItsOwnerOnly) {
  testing::TempDir dir;
  std::string path = dir.path() + "/spec.json";
  ASSERT_TRUE(writeFileAtomically(path, "{}", 0600));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace rampart::agent::runtime
