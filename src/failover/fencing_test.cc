#include "failover/fencing.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"

namespace rampart::failover {
namespace {

using namespace std::chrono_literals;

// The defaults of `rampart pg`: leader_timeout 1 s, fence_margin 300 ms, heartbeat 100 ms.
const FencingTimes kTimes{1000ms, 300ms, 100ms};

TEST(FencingDeadline, ATermFencesLeaderTimeoutMinusMarginAfterTheSendOfItsFirstWrite) {
  FakeClock clock;
  auto sent = clock.now();
  clock.advance(40ms);  // the answer came 40 ms later: the deadline still counts from the send
  FencingDeadline d(kTimes);
  d.startTerm(sent, clock.now());
  EXPECT_EQ(d.deadline(), sent + 700ms);
  clock.advance(659ms);
  EXPECT_FALSE(d.expired(clock.now()));
  EXPECT_EQ(d.remaining(clock.now()), 1ms);
  clock.advance(1ms);
  EXPECT_TRUE(d.expired(clock.now()));
  EXPECT_EQ(d.remaining(clock.now()), 0ms);
}

TEST(FencingDeadline, AnAcknowledgedHeartbeatMovesTheDeadlineFromItsSendTime) {
  FakeClock clock;
  FencingDeadline d(kTimes);
  d.startTerm(clock.now(), clock.now());
  clock.advance(100ms);
  auto sent = clock.now();
  clock.advance(500ms);  // a slow answer
  d.onHeartbeatAcked(sent);
  EXPECT_EQ(d.deadline(), sent + 700ms);
  clock.advance(199ms);
  EXPECT_FALSE(d.expired(clock.now()));
  clock.advance(1ms);
  EXPECT_TRUE(d.expired(clock.now()));
}

TEST(FencingDeadline, AStaleAcknowledgementNeverMovesTheDeadlineBack) {
  FakeClock clock;
  FencingDeadline d(kTimes);
  auto t0 = clock.now();
  d.startTerm(t0 + 200ms, t0 + 200ms);
  d.onHeartbeatAcked(t0);
  d.onVouched(t0);
  EXPECT_EQ(d.deadline(), t0 + 900ms);
}

TEST(FencingDeadline, AVouchedRoundMovesTheDeadlineFromTheRoundsStart) {
  FakeClock clock;
  FencingDeadline d(kTimes);
  d.startTerm(clock.now(), clock.now());
  clock.advance(300ms);
  auto started = clock.now();
  clock.advance(100ms);
  d.onVouched(started);
  EXPECT_EQ(d.deadline(), started + 700ms);
}

TEST(FencingDeadline, FailsafeIsDueAfterTwoHeartbeatIntervalsWithoutAnAcknowledgement) {
  FakeClock clock;
  FencingDeadline d(kTimes);
  d.startTerm(clock.now(), clock.now());
  clock.advance(200ms);
  EXPECT_FALSE(d.failsafeDue(clock.now()));
  clock.advance(1ms);
  EXPECT_TRUE(d.failsafeDue(clock.now()));
  d.onHeartbeatAcked(clock.now());
  EXPECT_FALSE(d.failsafeDue(clock.now()));
}

TEST(FencingDeadline, AHandoverCountsFailsafeSilenceFromTheTermsStartNotTheOlderWrite) {
  FakeClock clock;
  FencingDeadline d(kTimes);
  auto ready_sent = clock.now();
  clock.advance(250ms);  // the old leader handed over naming a write sent 250 ms ago
  d.startTerm(ready_sent, clock.now());
  EXPECT_FALSE(d.failsafeDue(clock.now()));
  clock.advance(201ms);
  EXPECT_TRUE(d.failsafeDue(clock.now()));
}

TEST(FencingDeadline, AFailsafeRoundEndsWithinHalfTheLeaseAndTheDeadline) {
  FakeClock clock;
  FencingDeadline d(kTimes);
  auto t0 = clock.now();
  d.startTerm(t0, t0);
  EXPECT_EQ(d.failsafeRoundDeadline(t0), t0 + 350ms);
  EXPECT_EQ(d.failsafeRoundDeadline(t0 + 500ms), t0 + 700ms);
}

}  // namespace
}  // namespace rampart::failover
