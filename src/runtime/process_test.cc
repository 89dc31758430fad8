#include "runtime/process.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace rampart::runtime {
namespace {

using namespace std::chrono_literals;

bool contains(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

TEST(ParentFromStat, ParsesAfterTheLastParenthesis) {
  EXPECT_EQ(parentFromStat("42 (postgres) S 41 42 42 0 -1"), 41);
  // A command with spaces and parentheses must not shift the fields.
  EXPECT_EQ(parentFromStat("43 (postgres: walsender (x) ) S 7 43 43 0"), 7);
  EXPECT_FALSE(parentFromStat("garbage"));
}

TEST(ChildrenOf, ListsTheChildrenOfAProcess) {
  auto a = spawn(SpawnOptions{{"sleep", "30"}});
  ASSERT_TRUE(a);
  EXPECT_TRUE(contains(childrenOf(::getpid()), *a));
  terminate(*a, 1s);
  EXPECT_FALSE(contains(childrenOf(::getpid()), *a));
}

TEST(ChildrenOf, ListsAChildStartedByAnotherThreadOfTheParent) {
  // The kernel lists children per thread (/proc/<pid>/task/<tid>/children) while the thread
  // that started them lives; the child outlives that thread (no PDEATHSIG).
  std::promise<Result<pid_t>> started;
  std::promise<void> checked;
  std::thread starter([&] {
    started.set_value(spawn(SpawnOptions{{"sleep", "30"}, "", "", /*die_with_parent=*/false}));
    checked.get_future().wait();
  });
  auto a = started.get_future().get();
  bool listed = a && contains(childrenOf(::getpid()), *a);
  checked.set_value();
  starter.join();
  ASSERT_TRUE(a);
  EXPECT_TRUE(listed);
  terminate(*a, 1s);
}

TEST(SignalChild, SignalsOnlyAChildOfTheGivenParent) {
  auto a = spawn(SpawnOptions{{"sleep", "30"}});
  ASSERT_TRUE(a);
  EXPECT_FALSE(signalChild(1, *a, SIGTERM)) << "not init's child";
  EXPECT_TRUE(isAlive(*a));
  EXPECT_TRUE(signalChild(::getpid(), *a, SIGTERM));
  EXPECT_TRUE(waitExit(*a, 5s).has_value());
  EXPECT_FALSE(signalChild(::getpid(), *a, SIGTERM)) << "gone";
}

}  // namespace
}  // namespace rampart::runtime
