// WorkQueue (workqueue.h) and Expectations (expectations.h): pure bookkeeping.

#include "controller/workqueue.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"
#include "controller/expectations.h"

namespace rampart::controller {
namespace {
using std::chrono::milliseconds;

TEST(WorkQueue, AKeyAddedTwiceIsProcessedOnce) {
  FakeClock clock;
  WorkQueue q;
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  EXPECT_EQ(q.queued(), 2u);
  EXPECT_EQ(q.take(clock.now()), "ns/a");
  EXPECT_EQ(q.take(clock.now()), "ns/b");
  EXPECT_FALSE(q.take(clock.now()));
}

TEST(WorkQueue, AKeyAddedWhileProcessedComesBackAfterDoneNotBefore) {
  FakeClock clock;
  WorkQueue q;
  q.add("k");
  ASSERT_EQ(q.take(clock.now()), "k");
  q.add("k");
  EXPECT_FALSE(q.take(clock.now())) << "never handed to a second worker at once";
  q.done("k", true, clock.now());
  EXPECT_EQ(q.take(clock.now()), "k");
}

TEST(WorkQueue, FailuresRetryWithExponentialBackoffAndThenGiveUp) {
  FakeClock clock;
  WorkQueueOptions options;
  options.retry_base = milliseconds(10);
  options.max_retries = 3;
  WorkQueue q(options);
  q.add("k");
  Duration expected = milliseconds(10);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(q.take(clock.now()), "k");
    EXPECT_TRUE(q.done("k", false, clock.now()));
    clock.advance(expected - milliseconds(1));
    EXPECT_FALSE(q.take(clock.now())) << "retry " << i << " too early";
    clock.advance(milliseconds(1));
    expected *= 2;
  }
  ASSERT_EQ(q.take(clock.now()), "k");
  EXPECT_FALSE(q.done("k", false, clock.now())) << "given up after max_retries";
  clock.advance(std::chrono::hours(1));
  EXPECT_FALSE(q.take(clock.now()));
}

TEST(WorkQueue, SuccessForgetsFailuresAndClearDropsRetries) {
  FakeClock clock;
  WorkQueue q;
  q.add("k");
  q.take(clock.now());
  q.done("k", false, clock.now());
  EXPECT_EQ(q.failures("k"), 1);
  clock.advance(std::chrono::seconds(1));
  q.take(clock.now());
  q.done("k", true, clock.now());
  EXPECT_EQ(q.failures("k"), 0);
  q.add("x");
  q.take(clock.now());
  q.done("x", false, clock.now());
  q.clear();
  clock.advance(std::chrono::seconds(10));
  EXPECT_FALSE(q.take(clock.now()));
}

TEST(Expectations, AnOwnerIsNotSyncedWhileItsCreationsAreUnobserved) {
  FakeClock clock;
  Expectations e;
  EXPECT_TRUE(e.satisfied("ns/rs", clock.now()));
  e.expectCreations("ns/rs", 2, clock.now());
  EXPECT_FALSE(e.satisfied("ns/rs", clock.now()));
  e.creationObserved("ns/rs");
  EXPECT_FALSE(e.satisfied("ns/rs", clock.now()));
  e.creationObserved("ns/rs");
  EXPECT_TRUE(e.satisfied("ns/rs", clock.now()));
}

TEST(Expectations, ADeletionSeenTwiceCountsOnce) {
  FakeClock clock;
  Expectations e;
  e.expectDeletion("ns/rs", "ns/p1", clock.now());
  e.expectDeletion("ns/rs", "ns/p2", clock.now());
  e.deletionObserved("ns/rs", "ns/p1");
  e.deletionObserved("ns/rs", "ns/p1");  // deletionTimestamp set, then DELETED
  EXPECT_FALSE(e.satisfied("ns/rs", clock.now()));
  e.deletionObserved("ns/rs", "ns/p2");
  EXPECT_TRUE(e.satisfied("ns/rs", clock.now()));
}

TEST(Expectations, ExpireAfterTheirTtlSoALostObservationCannotWedgeAnOwner) {
  FakeClock clock;
  Expectations e(std::chrono::minutes(5));
  e.expectCreations("ns/rs", 1, clock.now());
  clock.advance(std::chrono::minutes(5) - milliseconds(1));
  EXPECT_FALSE(e.satisfied("ns/rs", clock.now()));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(e.satisfied("ns/rs", clock.now()));
}

}  // namespace
}  // namespace rampart::controller
