// The agent's container runtime (agent/runtime/runtime.h) against the real thing, as root:
// containers are real processes under real shims (the `rampart` binary), in real cgroup v1
// hierarchies, network namespaces made with `ip netns` and private mount namespaces. Each test
// has its own directories (0755: containers run as uid 65534 too), its own cgroup name and
// namespace names, and removes all of them in TearDown.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "agent/runtime/cri_log.h"
#include "agent/runtime/enter.h"
#include "agent/runtime/fence.h"
#include "agent/runtime/runtime.h"
#include "agent/runtime/state_file.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/run_loop.h"
#include "testing/test_files.h"

namespace rampart::agent::runtime {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::atomic<int> counter{0};

struct LogLine {
  LogStream stream;
  std::string text;
};

class AgentRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (cgroups, namespaces)";
    }
    ::chmod(dir_.path().c_str(), 0755);
    unique_ = std::to_string(::getpid()) + "-" + std::to_string(counter++);
    options_.state_dir = dir_.path() + "/state";
    options_.log_dir = dir_.path() + "/logs";
    options_.cgroup_name = "rampart-rt-test-" + unique_;
    options_.shim_executable = RAMPART_BINARY;
    runtime_ = std::make_unique<Runtime>(io_.get_executor(), options_);
    runtime_->setOnChange([this] { ++changes_; });
  }

  void TearDown() override {
    if (runtime_) {
      for (const auto& pod : pods_) {
        auto removed = testing::runLoop(io_, runtime_->removePod(pod));
        EXPECT_TRUE(removed) << removed.error().toString();
      }
    }
    for (const char* c : {"cpu", "cpuacct", "memory", "pids", "freezer"}) {
      ::rmdir(("/sys/fs/cgroup/" + std::string(c) + "/" + options_.cgroup_name).c_str());
    }
    for (const auto& ns : netns_) {
      rampart::runtime::runCommand({"ip", "netns", "delete", ns}, 10s);
    }
  }

  ContainerConfig config(const std::string& name, std::vector<std::string> argv) {
    ContainerConfig c;
    c.pod_uid = "pod-" + unique_;
    c.pod_namespace = "default";
    c.pod_name = "test";
    c.name = name;
    c.argv = std::move(argv);
    c.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    pods_.insert(c.pod_uid);
    return c;
  }

  ContainerState start(ContainerConfig c) {
    auto state = testing::runLoop(io_, runtime_->start(std::move(c)));
    EXPECT_TRUE(state) << state.error().toString();
    return state ? *state : ContainerState{};
  }

  // Runs the event loop until `pred` holds (bounded).
  bool pumpUntil(const std::function<bool()>& pred, Duration limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) {
        return true;
      }
      io_.restart();
      if (io_.run_for(std::chrono::milliseconds(10)) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return pred();
  }

  ContainerState waitExited(const ContainerConfig& c, Duration limit = 20s) {
    bool exited = pumpUntil(
        [&] {
          auto s = runtime_->container(c.pod_uid, c.name);
          return s && !s->running;
        },
        limit);
    EXPECT_TRUE(exited) << c.name << " did not exit";
    return runtime_->container(c.pod_uid, c.name).value_or(ContainerState{});
  }

  std::vector<LogLine> logLines(const ContainerConfig& c) {
    std::vector<LogLine> out;
    std::ifstream in(runtime_->logPath(c.pod_uid, c.name, c.attempt));
    std::string line;
    while (std::getline(in, line)) {
      auto record = parseCriLine(line);
      EXPECT_TRUE(record) << line;
      if (record) {
        out.push_back({record->stream, record->text});
      }
    }
    return out;
  }

  std::vector<std::string> stdoutLines(const ContainerConfig& c) {
    std::vector<std::string> out;
    for (const auto& l : logLines(c)) {
      if (l.stream == LogStream::Stdout) {
        out.push_back(l.text);
      }
    }
    return out;
  }

  std::string makeDir(const std::string& name) {
    std::string path = dir_.path() + "/" + name;
    fs::create_directories(path);
    ::chmod(path.c_str(), 0755);
    return path;
  }

  std::string addNetns() {
    std::string name = "rt-test-" + unique_;
    auto r = rampart::runtime::runCommand({"ip", "netns", "add", name}, 10s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    netns_.push_back(name);
    return name;
  }

  testing::TempDir dir_;
  std::string unique_;
  boost::asio::io_context io_;
  RuntimeOptions options_;
  std::unique_ptr<Runtime> runtime_;
  std::set<std::string> pods_;
  std::vector<std::string> netns_;
  int changes_ = 0;
};

uint64_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(AgentRuntimeTest, ContainerGetsExactlyItsEnvironment) {
  auto c = config("env", {"env"});
  c.env = {{"PATH", "/usr/bin:/bin"}, {"GREETING", "hello world"}};
  auto state = start(c);
  EXPECT_GT(state.pid, 0);
  auto done = waitExited(c);
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_EQ(done.reason, "Completed");
  EXPECT_EQ(stdoutLines(c),
            (std::vector<std::string>{"PATH=/usr/bin:/bin", "GREETING=hello world"}));
}

TEST_F(AgentRuntimeTest, ContainerRunsInItsWorkingDirAsItsUserAndLogsBothStreams) {
  std::string work = makeDir("work");
  auto c = config("whoami", {"/bin/sh", "-c", "pwd; id -u; id -g; id -G; echo oops >&2"});
  c.working_dir = work;
  c.run_as_user = 65534;
  c.run_as_group = 65534;
  start(c);
  auto done = waitExited(c);
  EXPECT_EQ(done.reason, "Completed") << done.message;
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{work, "65534", "65534", "65534"}));
  auto lines = logLines(c);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines.back().stream, LogStream::Stderr);
  EXPECT_EQ(lines.back().text, "oops");
}

TEST_F(AgentRuntimeTest, ExitCodesAreReportedAsCompletedOrError) {
  auto ok = config("ok", {"/bin/sh", "-c", "exit 0"});
  auto bad = config("bad", {"/bin/sh", "-c", "exit 3"});
  start(ok);
  start(bad);
  auto ok_state = waitExited(ok);
  auto bad_state = waitExited(bad);
  EXPECT_EQ(ok_state.exit_code, 0);
  EXPECT_EQ(ok_state.reason, "Completed");
  EXPECT_EQ(bad_state.exit_code, 3);
  EXPECT_EQ(bad_state.reason, "Error");
  EXPECT_TRUE(bad_state.finished_at.has_value());
  EXPECT_GE(changes_, 2) << "every exit is announced";
}

TEST_F(AgentRuntimeTest, CommandThatCannotBeExecutedIsAStartError) {
  auto c = config("missing", {"no-such-command-rt"});
  auto state = start(c);
  EXPECT_FALSE(state.running);
  EXPECT_EQ(state.reason, "StartError");
  EXPECT_EQ(state.exit_code, 128);
  EXPECT_NE(state.message.find("no-such-command-rt"), std::string::npos) << state.message;
}

TEST_F(AgentRuntimeTest, StopEndsAContainerThatHonoursSigtermAtOnce) {
  auto c = config("sleeper", {"sleep", "1000"});
  start(c);
  auto t0 = std::chrono::steady_clock::now();
  auto stopped = testing::runLoop(io_, runtime_->stop(c.pod_uid, c.name, 10s));
  ASSERT_TRUE(stopped) << stopped.error().toString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  auto s = runtime_->container(c.pod_uid, c.name);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->running);
  EXPECT_EQ(s->exit_code, 143);
}

TEST_F(AgentRuntimeTest, StopWaitsTheGraceThenKillsTheContainerAndWhatItForked) {
  auto c = config("stubborn", {"/bin/sh", "-c",
                               "trap '' TERM; sleep 1000 & echo child=$!; "
                               "while true; do sleep 0.05; done"});
  auto state = start(c);
  pid_t child = 0;
  ASSERT_TRUE(pumpUntil([&] {
    for (const auto& l : stdoutLines(c)) {
      if (l.rfind("child=", 0) == 0) {
        child = std::stoi(l.substr(6));
      }
    }
    return child > 0;
  }));
  ASSERT_TRUE(rampart::runtime::isAlive(child));
  auto t0 = std::chrono::steady_clock::now();
  auto stopped = testing::runLoop(io_, runtime_->stop(c.pod_uid, c.name, 1s));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(stopped) << stopped.error().toString();
  EXPECT_GE(took, 1s) << "the grace period is honoured";
  EXPECT_LT(took, 6s);
  auto s = runtime_->container(c.pod_uid, c.name);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->running);
  EXPECT_EQ(s->exit_code, 137);
  EXPECT_FALSE(rampart::runtime::isAlive(state.pid));
  EXPECT_FALSE(rampart::runtime::isAlive(child)) << "the forked child survived the container";
}

TEST_F(AgentRuntimeTest, MemoryHogOverItsLimitIsOomKilled) {
  auto c = config("hog", {"python3", "-c", "b = bytearray(200 << 20)"});
  c.resources.memory_limit_bytes = 50 << 20;
  start(c);
  auto s = waitExited(c, 60s);
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(s.exit_code, 137);
}

TEST_F(AgentRuntimeTest, PidsLimitCapsTheProcessesOfTheContainer) {
  auto c = config("forker", {"python3", "-c",
                             "import os, time\n"
                             "n = 0\n"
                             "for i in range(20):\n"
                             "    try:\n"
                             "        pid = os.fork()\n"
                             "    except OSError:\n"
                             "        break\n"
                             "    if pid == 0:\n"
                             "        time.sleep(30)\n"
                             "        os._exit(0)\n"
                             "    n += 1\n"
                             "print('forked', n, flush=True)\n"});
  c.resources.pids_limit = 5;
  start(c);
  auto s = waitExited(c, 30s);
  EXPECT_EQ(s.reason, "Completed") << s.message;
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{"forked 4"}));
}

TEST_F(AgentRuntimeTest, NewRuntimeRecoversARunningContainerAndLaterSeesItsExit) {
  std::string go = dir_.path() + "/go";
  auto c = config("survivor",
                  {"/bin/sh", "-c", "while [ ! -e " + go + " ]; do sleep 0.02; done; exit 7"});
  auto state = start(c);
  ASSERT_TRUE(state.running);
  runtime_.reset();  // the agent goes away; its containers stay

  runtime_ = std::make_unique<Runtime>(io_.get_executor(), options_);
  runtime_->setOnChange([this] { ++changes_; });
  auto recovered = runtime_->recover();
  ASSERT_TRUE(recovered) << recovered.error().toString();
  ASSERT_EQ(recovered->size(), 1u);
  EXPECT_TRUE(recovered->front().running);
  EXPECT_EQ(recovered->front().pid, state.pid);
  EXPECT_TRUE(rampart::runtime::isAlive(state.pid));

  std::ofstream(go) << "go";
  auto s = waitExited(c);
  EXPECT_EQ(s.exit_code, 7);
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(changes_, 1);
}

TEST_F(AgentRuntimeTest, ContainerThatExitedWhileNoRuntimeWatchedIsReportedAfterRecover) {
  std::string go = dir_.path() + "/go";
  auto c =
      config("lonely", {"/bin/sh", "-c", "while [ ! -e " + go + " ]; do sleep 0.02; done; exit 5"});
  start(c);
  runtime_.reset();
  std::ofstream(go) << "go";
  std::string status = options_.state_dir + "/" + c.pod_uid + "/" + c.name + "/status.json";
  ASSERT_TRUE(pumpUntil([&] { return fs::exists(status); }));

  runtime_ = std::make_unique<Runtime>(io_.get_executor(), options_);
  auto recovered = runtime_->recover();
  ASSERT_TRUE(recovered) << recovered.error().toString();
  ASSERT_EQ(recovered->size(), 1u);
  EXPECT_FALSE(recovered->front().running);
  EXPECT_EQ(recovered->front().exit_code, 5);
  EXPECT_EQ(recovered->front().reason, "Error");
}

TEST_F(AgentRuntimeTest, ContainerRunsInTheGivenNetworkNamespace) {
  std::string ns = addNetns();
  auto c = config("net", {"/bin/sh", "-c", "stat -L -c %i /proc/self/ns/net"});
  c.netns_path = "/run/netns/" + ns;
  start(c);
  auto s = waitExited(c);
  EXPECT_EQ(s.reason, "Completed") << s.message;
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{std::to_string(inodeOf(c.netns_path))}));
  EXPECT_NE(inodeOf(c.netns_path), inodeOf("/proc/self/ns/net"));
}

TEST_F(AgentRuntimeTest, BindMountAppearsAtItsTargetInsideTheContainerOnly) {
  std::string src = makeDir("src");
  std::ofstream(src + "/hello.txt") << "hi from the node\n";
  std::string target = dir_.path() + "/target/data";
  auto c = config("mount", {"/bin/sh", "-c",
                            "cat " + target + "/hello.txt; touch " + target +
                                "/new 2>/dev/null && echo writable || echo read-only"});
  c.mounts = {{src, target, true}};
  start(c);
  auto s = waitExited(c);
  EXPECT_EQ(s.reason, "Completed") << s.message;
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{"hi from the node", "read-only"}));
  EXPECT_FALSE(fs::exists(target + "/hello.txt")) << "the mount leaked into the node's namespace";
}

TEST_F(AgentRuntimeTest, SpawnInContainerSeesItsMountsNetworkEnvAndCgroup) {
  std::string ns = addNetns();
  std::string src = makeDir("src");
  std::ofstream(src + "/hello.txt") << "inside\n";
  std::string target = dir_.path() + "/target/data";
  auto c = config("app", {"sleep", "1000"});
  c.netns_path = "/run/netns/" + ns;
  c.mounts = {{src, target, false}};
  c.env.push_back({"FOO", "bar"});
  auto state = start(c);
  ASSERT_TRUE(state.running) << state.message;

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  EnterOptions enter;
  enter.target = state.pid;
  enter.argv = {"/bin/sh", "-c",
                "cat " + target +
                    "/hello.txt; echo $FOO; stat -L -c %i /proc/self/ns/net; "
                    "grep memory /proc/self/cgroup"};
  enter.stdout_fd = out[1];
  auto pid = spawnInContainer(enter);
  ::close(out[1]);
  ASSERT_TRUE(pid) << pid.error().toString();
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    output.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  std::string cgroup = "/" + options_.cgroup_name + "/pod" + c.pod_uid + "/" + c.name;
  EXPECT_EQ(output.rfind("inside\nbar\n" + std::to_string(inodeOf(c.netns_path)) + "\n", 0), 0u)
      << output;
  EXPECT_NE(output.find(":memory:" + cgroup + "\n"), std::string::npos) << output;

  auto gone = spawnInContainer(EnterOptions{.target = 0, .argv = {"true"}});
  EXPECT_FALSE(gone);
  EnterOptions bad = enter;
  bad.argv = {"no-such-command-rt"};
  bad.stdout_fd = -1;
  auto failed = spawnInContainer(bad);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("no-such-command-rt"), std::string::npos);
}

TEST_F(AgentRuntimeTest, LimitsAreWrittenToTheContainersCgroups) {
  auto c = config("limited", {"sleep", "1000"});
  c.resources = {64 << 20, 250, 500, 30};
  auto state = start(c);
  ASSERT_TRUE(state.running);
  std::string tail = "/" + options_.cgroup_name + "/pod" + c.pod_uid + "/" + c.name + "/";
  auto read = [&](const std::string& controller, const std::string& file) {
    std::string text = testing::readWholeFile("/sys/fs/cgroup/" + controller + tail + file);
    while (!text.empty() && text.back() == '\n') {
      text.pop_back();
    }
    return text;
  };
  EXPECT_EQ(read("memory", "memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(read("cpu", "cpu.shares"), "256");
  EXPECT_EQ(read("cpu", "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(read("cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read("pids", "pids.max"), "30");
  EXPECT_EQ(read("pids", "cgroup.procs"), std::to_string(state.pid));
}

TEST_F(AgentRuntimeTest, LineLongerThan16KiBIsLoggedAsPartialRecords) {
  auto c = config("long", {"python3", "-c", "print('x' * 40000); print('end')"});
  start(c);
  auto s = waitExited(c);
  EXPECT_EQ(s.reason, "Completed") << s.message;
  auto lines = logLines(c);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text.size(), 16384u);
  EXPECT_EQ(lines[1].text.size(), 16384u);
  EXPECT_EQ(lines[2].text, std::string(40000 - 2 * 16384, 'x'));
  EXPECT_EQ(lines[3].text, "end");
  std::ifstream in(runtime_->logPath(c.pod_uid, c.name, 0));
  std::vector<bool> partial;
  for (std::string line; std::getline(in, line);) {
    partial.push_back(parseCriLine(line)->partial);
  }
  EXPECT_EQ(partial, (std::vector<bool>{true, true, false, false}));
}

TEST_F(AgentRuntimeTest, EachAttemptHasItsOwnLogFile) {
  auto c = config("again", {"/bin/sh", "-c", "echo first"});
  start(c);
  waitExited(c);
  c.attempt = 1;
  c.argv = {"/bin/sh", "-c", "echo second"};
  auto second = start(c);
  EXPECT_EQ(second.attempt, 1);
  waitExited(c);
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{"second"}));
  c.attempt = 0;
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{"first"})) << "the previous log stays";
  EXPECT_EQ(runtime_->containers().size(), 1u) << "one entry per container: the latest attempt";
}

TEST_F(AgentRuntimeTest, KilledShimTakesItsContainerAlongAndIsReportedStatusUnknown) {
  auto c = config("orphan", {"sleep", "1000"});
  auto state = start(c);
  ASSERT_TRUE(state.running);
  auto started =
      testing::readWholeFile(options_.state_dir + "/" + c.pod_uid + "/" + c.name + "/started.json");
  auto record = decodeStarted(started);
  ASSERT_TRUE(record) << started;
  ASSERT_EQ(::kill(record->shim_pid, SIGKILL), 0);  // the test's own child
  auto s = waitExited(c);
  EXPECT_EQ(s.reason, "ContainerStatusUnknown");
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_TRUE(testing::eventually([&] { return !rampart::runtime::isAlive(state.pid); }, 5s))
      << "the container outlived its shim";
}

TEST_F(AgentRuntimeTest, RecoverNeverSignalsAProcessThatMerelyHasARecordedPid) {
  // A record naming a live process that is not the shim it recorded (its PID was reused): the
  // start times differ, so the runtime must neither adopt nor signal it.
  auto bystander = rampart::runtime::spawn({.argv = {"sleep", "1000"}});
  ASSERT_TRUE(bystander);
  auto c = config("stale", {"sleep", "1000"});
  std::string dir = options_.state_dir + "/" + c.pod_uid + "/" + c.name;
  fs::create_directories(dir);
  ShimSpec spec;
  spec.config = c;
  spec.log_path = runtime_->logPath(c.pod_uid, c.name, 0);
  spec.cgroup_name = options_.cgroup_name;
  ASSERT_TRUE(writeFileAtomically(dir + "/spec.json", encodeShimSpec(spec)));
  StartedRecord started{*bystander, 1, *bystander, 1, std::chrono::system_clock::now()};
  ASSERT_TRUE(writeFileAtomically(dir + "/started.json", encodeStarted(started)));

  auto recovered = runtime_->recover();
  ASSERT_TRUE(recovered) << recovered.error().toString();
  ASSERT_EQ(recovered->size(), 1u);
  EXPECT_FALSE(recovered->front().running);
  EXPECT_EQ(recovered->front().reason, "ContainerStatusUnknown");
  auto stopped = testing::runLoop(io_, runtime_->stop(c.pod_uid, c.name, 0s));
  EXPECT_TRUE(stopped) << stopped.error().toString();
  EXPECT_TRUE(rampart::runtime::isAlive(*bystander));
  rampart::runtime::terminate(*bystander, 1s);
}

TEST_F(AgentRuntimeTest, RemovePodTakesItsCgroupsStateAndLogs) {
  auto c = config("doomed", {"sleep", "1000"});
  auto state = start(c);
  ASSERT_TRUE(state.running);
  std::string memory = "/sys/fs/cgroup/memory/" + options_.cgroup_name + "/pod" + c.pod_uid;
  ASSERT_TRUE(fs::exists(memory + "/" + c.name));
  auto removed = testing::runLoop(io_, runtime_->removePod(c.pod_uid));
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_FALSE(rampart::runtime::isAlive(state.pid));
  EXPECT_FALSE(fs::exists(memory));
  EXPECT_FALSE(fs::exists(options_.state_dir + "/" + c.pod_uid));
  EXPECT_FALSE(fs::exists(runtime_->podLogDir(c.pod_uid)));
  EXPECT_FALSE(runtime_->container(c.pod_uid, c.name).has_value());
}

TEST_F(AgentRuntimeTest, RecoverEndsAShimThatNeverReportedItsStart) {
  // The agent died right after spawning a shim that then hung: after the start timeout the
  // recovered runtime kills it (identified by PID and start time) and reports the container lost.
  auto hung = rampart::runtime::spawn({.argv = {"sleep", "1000"}});
  ASSERT_TRUE(hung);
  auto c = config("hung", {"sleep", "1000"});
  std::string dir = options_.state_dir + "/" + c.pod_uid + "/" + c.name;
  fs::create_directories(dir);
  ShimSpec spec;
  spec.config = c;
  spec.cgroup_name = options_.cgroup_name;
  ASSERT_TRUE(writeFileAtomically(dir + "/spec.json", encodeShimSpec(spec)));
  StartedRecord shim;
  shim.shim_pid = *hung;
  shim.shim_start_ticks = processStartTicks(*hung).value_or(0);
  ASSERT_TRUE(writeFileAtomically(dir + "/shim.json", encodeShimRecord(shim)));

  options_.start_timeout = 200ms;
  runtime_ = std::make_unique<Runtime>(io_.get_executor(), options_);
  auto recovered = runtime_->recover();
  ASSERT_TRUE(recovered) << recovered.error().toString();
  ASSERT_EQ(recovered->size(), 1u);
  EXPECT_FALSE(recovered->front().running);
  EXPECT_EQ(recovered->front().reason, "ContainerStatusUnknown");
  auto status = rampart::runtime::waitExit(*hung, 5s);
  ASSERT_TRUE(status.has_value()) << "the hung shim was not killed";
  EXPECT_TRUE(WIFSIGNALED(*status));
}

TEST_F(AgentRuntimeTest, RemoveContainerKillsItAndTakesItsCgroupButKeepsItsLog) {
  auto c = config("gone", {"/bin/sh", "-c", "echo hello; exec sleep 1000"});
  auto state = start(c);
  ASSERT_TRUE(state.running);
  ASSERT_TRUE(pumpUntil([&] { return !stdoutLines(c).empty(); }));
  auto removed = testing::runLoop(io_, runtime_->removeContainer(c.pod_uid, c.name));
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_FALSE(rampart::runtime::isAlive(state.pid));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/" + options_.cgroup_name + "/pod" + c.pod_uid +
                          "/" + c.name));
  EXPECT_FALSE(runtime_->container(c.pod_uid, c.name).has_value());
  EXPECT_EQ(stdoutLines(c), (std::vector<std::string>{"hello"}));
}

TEST_F(AgentRuntimeTest, WithoutCgroupControllersContainersStillRunAndStop) {
  options_.cgroup_root = makeDir("no-cgroups");  // nothing mounted there
  runtime_ = std::make_unique<Runtime>(io_.get_executor(), options_);
  auto c =
      config("bare", {"/bin/sh", "-c", "trap '' TERM; echo up; while true; do sleep 0.05; done"});
  c.resources.memory_limit_bytes = 50 << 20;
  auto state = start(c);
  ASSERT_TRUE(state.running) << state.message;
  ASSERT_TRUE(pumpUntil([&] { return !stdoutLines(c).empty(); }));
  auto stopped = testing::runLoop(io_, runtime_->stop(c.pod_uid, c.name, 200ms));
  ASSERT_TRUE(stopped) << stopped.error().toString();
  EXPECT_EQ(runtime_->container(c.pod_uid, c.name)->exit_code, 137);
  EXPECT_FALSE(rampart::runtime::isAlive(state.pid));
}

// The node-side fence (fence.h): a container that must not run twice is killed by its own shim
// once the deadline the agent stopped extending has passed, with no runtime or agent involved.
TEST_F(AgentRuntimeTest, AFencedContainerIsKilledByItsShimWhenTheDeadlineLapses) {
  std::string fence = dir_.path() + "/fence";
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  ASSERT_TRUE(writeFenceDeadline(fence, now_ns() + 1'000'000'000));  // holds for 1 s
  auto c = config("unique", {"sleep", "1000"});
  c.fence_file = fence;
  auto started = start(c);
  ASSERT_TRUE(started.running) << started.message;
  // The runtime object goes away (an agent killed): the shim alone enforces the deadline.
  runtime_.reset();
  auto t0 = std::chrono::steady_clock::now();
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !rampart::runtime::isAlive(started.pid);
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "the fenced container outlived its deadline";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  runtime_ = std::make_unique<Runtime>(io_.get_executor(), options_);
  auto recovered = runtime_->recover();
  ASSERT_TRUE(recovered) << recovered.error().toString();
  auto s = runtime_->container(c.pod_uid, c.name);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->running);
  EXPECT_EQ(s->reason, kReasonFenced);
  EXPECT_EQ(s->exit_code, 137);
}

TEST_F(AgentRuntimeTest, AFencedContainerDoesNotStartOnceTheDeadlinePassedOrWithoutOne) {
  std::string fence = dir_.path() + "/fence";
  auto c = config("unique", {"sleep", "1000"});
  c.fence_file = fence;  // no file yet: never renewed
  auto refused = start(c);
  EXPECT_FALSE(refused.running);
  EXPECT_EQ(refused.reason, "StartError");
  EXPECT_NE(refused.message.find("fencing deadline"), std::string::npos) << refused.message;

  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  ASSERT_TRUE(writeFenceDeadline(fence, now_ns - 1));  // passed
  c.attempt = 1;
  refused = start(c);
  EXPECT_FALSE(refused.running);

  ASSERT_TRUE(writeFenceDeadline(fence, now_ns + 60'000'000'000LL));
  c.attempt = 2;
  auto running = start(c);
  EXPECT_TRUE(running.running) << running.message;
  auto stopped = testing::runLoop(io_, runtime_->stop(c.pod_uid, c.name, 1s));
  EXPECT_TRUE(stopped);
}

}  // namespace
}  // namespace rampart::agent::runtime
