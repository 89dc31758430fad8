#include "agent/runtime/backoff.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"

namespace rampart::agent::runtime {
namespace {
using std::chrono::minutes;
using std::chrono::seconds;

TEST(CrashLoopBackOff, DelaysDoubleFromTenSecondsUpToFiveMinutes) {
  BackOffPolicy policy;
  std::vector<int64_t> got;
  for (int n = 1; n <= 8; ++n) {
    got.push_back(std::chrono::duration_cast<seconds>(crashLoopDelay(policy, n)).count());
  }
  EXPECT_EQ(got, (std::vector<int64_t>{10, 20, 40, 80, 160, 300, 300, 300}));
}

TEST(CrashLoopBackOff, InitialDelayIsConfigurable) {
  BackOffPolicy policy;
  policy.initial = std::chrono::milliseconds(100);
  EXPECT_EQ(crashLoopDelay(policy, 1), std::chrono::milliseconds(100));
  EXPECT_EQ(crashLoopDelay(policy, 3), std::chrono::milliseconds(400));
}

TEST(CrashLoopBackOff, ManyExitsStayAtTheCapWithoutOverflow) {
  BackOffPolicy policy;
  EXPECT_EQ(crashLoopDelay(policy, 1000), seconds(300));
}

TEST(CrashLoopBackOff, ARestartWaitsUntilTheDelayHasPassed) {
  FakeClock clock;
  CrashLoopBackOff backoff;
  auto started = clock.now();
  clock.advance(seconds(1));
  auto next = backoff.recordExit(started, clock.now());
  EXPECT_EQ(next, clock.now() + seconds(10));
  EXPECT_TRUE(backoff.inBackOff(clock.now()));
  clock.advance(seconds(9));
  EXPECT_TRUE(backoff.inBackOff(clock.now()));
  clock.advance(seconds(1));
  EXPECT_FALSE(backoff.inBackOff(clock.now()));

  started = clock.now();
  clock.advance(seconds(2));
  backoff.recordExit(started, clock.now());
  EXPECT_EQ(backoff.lastDelay(), seconds(20));
  EXPECT_EQ(backoff.consecutiveExits(), 2);
}

TEST(CrashLoopBackOff, TenMinutesOfCleanRunningStartTheSequenceOver) {
  FakeClock clock;
  CrashLoopBackOff backoff;
  for (int i = 0; i < 5; ++i) {
    auto started = clock.now();
    clock.advance(seconds(1));
    backoff.recordExit(started, clock.now());
    clock.advance(backoff.lastDelay());
  }
  EXPECT_EQ(backoff.lastDelay(), seconds(160));

  auto started = clock.now();
  clock.advance(minutes(10) - seconds(1));
  backoff.recordExit(started, clock.now());
  EXPECT_EQ(backoff.lastDelay(), seconds(300)) << "9:59 of running is not enough";

  started = clock.now();
  clock.advance(minutes(10));
  backoff.recordExit(started, clock.now());
  EXPECT_EQ(backoff.lastDelay(), seconds(10));
  EXPECT_EQ(backoff.consecutiveExits(), 1);
}

TEST(CrashLoopBackOff, ResetForgetsEarlierExits) {
  FakeClock clock;
  CrashLoopBackOff backoff;
  backoff.recordExit(clock.now(), clock.now());
  backoff.recordExit(clock.now(), clock.now());
  backoff.reset();
  EXPECT_FALSE(backoff.inBackOff(clock.now()));
  backoff.recordExit(clock.now(), clock.now());
  EXPECT_EQ(backoff.lastDelay(), seconds(10));
}

}  // namespace
}  // namespace rampart::agent::runtime
