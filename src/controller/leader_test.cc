// Leader election's pure decision (leader.h) driven by a FakeClock: when a candidate may take
// over, when a holder must stop, and the Lease it writes.

#include "controller/leader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/fake_clock.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;

LeaderConfig config(const std::string& identity) {
  LeaderConfig c;
  c.identity = identity;
  return c;  // D 800 ms, renew deadline 600 ms, retry 100 ms
}

LeaseView held(const std::string& holder, const std::string& rv, Duration d = milliseconds(800)) {
  LeaseView v;
  v.exists = true;
  v.holder = holder;
  v.resource_version = rv;
  v.duration = d;
  return v;
}

TEST(LeaderDecision, NoLeaseMeansCreateIt) {
  FakeClock clock;
  LeaderState state;
  LeaseView none;
  observe(state, none, clock.now());
  EXPECT_EQ(decideLeader(state, none, config("a"), clock.now()).kind, LeaderActionKind::Create);
}

TEST(LeaderDecision, ACandidateWaitsAFullDurationOfAnUnchangedLeaseOnItsOwnClock) {
  FakeClock clock;
  LeaderState state;
  auto c = config("b");
  observe(state, held("a", "10"), clock.now());
  auto first = decideLeader(state, held("a", "10"), c, clock.now());
  EXPECT_EQ(first.kind, LeaderActionKind::Wait);
  clock.advance(milliseconds(799));
  observe(state, held("a", "10"), clock.now());
  auto almost = decideLeader(state, held("a", "10"), c, clock.now());
  EXPECT_EQ(almost.kind, LeaderActionKind::Wait);
  EXPECT_EQ(almost.next_check, milliseconds(1)) << "wakes exactly when the lease would expire";
  clock.advance(milliseconds(1));
  observe(state, held("a", "10"), clock.now());
  EXPECT_EQ(decideLeader(state, held("a", "10"), c, clock.now()).kind, LeaderActionKind::Acquire);
}

TEST(LeaderDecision, ARenewalRestartsTheCandidatesCount) {
  FakeClock clock;
  LeaderState state;
  auto c = config("b");
  observe(state, held("a", "10"), clock.now());
  clock.advance(milliseconds(700));
  observe(state, held("a", "11"), clock.now());  // renewed: a new resourceVersion
  clock.advance(milliseconds(700));
  observe(state, held("a", "11"), clock.now());
  EXPECT_EQ(decideLeader(state, held("a", "11"), c, clock.now()).kind, LeaderActionKind::Wait)
      << "only 700 ms since the new version was first seen";
  clock.advance(milliseconds(100));
  observe(state, held("a", "11"), clock.now());
  EXPECT_EQ(decideLeader(state, held("a", "11"), c, clock.now()).kind, LeaderActionKind::Acquire);
}

TEST(LeaderDecision, TheHoldersDurationAnnotationGovernsNotTheCandidatesOwn) {
  FakeClock clock;
  LeaderState state;
  auto c = config("b");  // 800 ms
  observe(state, held("a", "10", milliseconds(2000)), clock.now());
  clock.advance(milliseconds(1500));
  observe(state, held("a", "10", milliseconds(2000)), clock.now());
  EXPECT_EQ(decideLeader(state, held("a", "10", milliseconds(2000)), c, clock.now()).kind,
            LeaderActionKind::Wait);
}

TEST(LeaderDecision, AReleasedLeaseIsAcquiredAtOnce) {
  FakeClock clock;
  LeaderState state;
  observe(state, held("", "12"), clock.now());
  EXPECT_EQ(decideLeader(state, held("", "12"), config("b"), clock.now()).kind,
            LeaderActionKind::Acquire);
}

TEST(LeaderDecision, TheHolderRenewsAndStepsDownWhenTheLeaseNamesSomeoneElse) {
  FakeClock clock;
  LeaderState state;
  auto c = config("a");
  renewed(state, clock.now(), c);
  observe(state, held("a", "10"), clock.now());
  EXPECT_EQ(decideLeader(state, held("a", "10"), c, clock.now()).kind, LeaderActionKind::Renew);
  observe(state, held("b", "11"), clock.now());
  EXPECT_EQ(decideLeader(state, held("b", "11"), c, clock.now()).kind,
            LeaderActionKind::StepDown);
}

// The safety argument of leader.h, replayed: the holder's last successful renewal is sent at s
// and applied at a >= s; a candidate that first sees it at o >= a takes over no earlier than
// o + D, while the holder stopped acting at s + D - M.
TEST(LeaderDecision, TheHolderStopsActingBeforeAnyCandidateCanTakeOver) {
  FakeClock clock;
  LeaderConfig holder_config = config("a");
  LeaderConfig candidate_config = config("b");
  LeaderState holder;
  LeaderState candidate;
  TimePoint s = clock.now();
  renewed(holder, s, holder_config);          // sent at s
  clock.advance(milliseconds(5));             // applied at a = s + 5 ms
  observe(candidate, held("a", "20"), clock.now());  // seen at once (o = a)
  TimePoint takeover{};
  TimePoint holder_stops{};
  for (int i = 0; i < 2000 && (takeover == TimePoint{} || holder_stops == TimePoint{}); ++i) {
    clock.advance(milliseconds(1));
    if (holder_stops == TimePoint{} && !mayAct(holder, clock.now())) {
      holder_stops = clock.now();
    }
    observe(candidate, held("a", "20"), clock.now());
    if (takeover == TimePoint{} &&
        decideLeader(candidate, held("a", "20"), candidate_config, clock.now()).kind ==
            LeaderActionKind::Acquire) {
      takeover = clock.now();
    }
  }
  ASSERT_NE(takeover, TimePoint{});
  ASSERT_NE(holder_stops, TimePoint{});
  EXPECT_EQ(holder_stops - s, milliseconds(600));
  EXPECT_GE(takeover - s, milliseconds(805));
  EXPECT_GE(takeover - holder_stops, milliseconds(200)) << "the safety margin M";
}

TEST(LeaderDecision, AFailedRenewalDoesNotMoveTheFencingDeadline) {
  FakeClock clock;
  LeaderState state;
  auto c = config("a");
  renewed(state, clock.now(), c);
  TimePoint deadline = state.fence_deadline;
  clock.advance(milliseconds(300));  // renewals fail from here: renewed() is not called
  EXPECT_TRUE(mayAct(state, clock.now()));
  clock.advance(milliseconds(300));
  EXPECT_EQ(clock.now(), deadline);
  EXPECT_FALSE(mayAct(state, clock.now()));
}

TEST(LeaderDecision, AfterSteppingDownTheOldLeaderWaitsLikeAnyCandidate) {
  FakeClock clock;
  LeaderState state;
  auto c = config("a");
  renewed(state, clock.now(), c);
  stepDown(state);
  EXPECT_FALSE(mayAct(state, clock.now()));
  observe(state, held("b", "30"), clock.now());
  EXPECT_EQ(decideLeader(state, held("b", "30"), c, clock.now()).kind, LeaderActionKind::Wait);
}

TEST(LeaseObject, ParsesTheDurationAnnotationBeforeTheWholeSeconds) {
  json lease = json::parse(R"({"metadata":{"resourceVersion":"7",
    "annotations":{"rampart.io/lease-duration-ms":"800"}},
    "spec":{"holderIdentity":"a","leaseDurationSeconds":1,"leaseTransitions":3}})");
  LeaseView v = leaseViewOf(lease);
  EXPECT_TRUE(v.exists);
  EXPECT_EQ(v.holder, "a");
  EXPECT_EQ(v.resource_version, "7");
  EXPECT_EQ(v.duration, milliseconds(800));
  EXPECT_EQ(v.transitions, 3);
  lease["metadata"]["annotations"]["rampart.io/lease-duration-ms"] = "junk";
  EXPECT_EQ(leaseViewOf(lease).duration, std::chrono::seconds(1));
  EXPECT_FALSE(leaseViewOf(nullptr).exists);
}

TEST(LeaseObject, TakingOverCountsATransitionAndKeepsTheResourceVersionForTheCas) {
  json current = json::parse(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
    "metadata":{"name":"rampart-controller","namespace":"kube-system","resourceVersion":"9"},
    "spec":{"holderIdentity":"a","leaseDurationSeconds":1,"leaseTransitions":2}})");
  json next = leaseToWrite(current, "kube-system", "rampart-controller", config("b"),
                           "2026-12-06T05:00:00.123456Z");
  EXPECT_EQ(next["spec"]["holderIdentity"], "b");
  EXPECT_EQ(next["spec"]["leaseTransitions"], 3);
  EXPECT_EQ(next["spec"]["acquireTime"], "2026-12-06T05:00:00.123456Z");
  EXPECT_EQ(next["spec"]["renewTime"], "2026-12-06T05:00:00.123456Z");
  EXPECT_EQ(next["spec"]["leaseDurationSeconds"], 1) << "800 ms rounds up to whole seconds";
  EXPECT_EQ(next["metadata"]["annotations"]["rampart.io/lease-duration-ms"], "800");
  EXPECT_EQ(next["metadata"]["resourceVersion"], "9");
  json renewal = leaseToWrite(next, "kube-system", "rampart-controller", config("b"), "later");
  EXPECT_EQ(renewal["spec"]["leaseTransitions"], 3) << "a renewal is not a transition";
  json fresh = leaseToWrite(nullptr, "kube-system", "rampart-controller", config("a"), "t");
  EXPECT_EQ(fresh["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(fresh["metadata"]["namespace"], "kube-system");
  json released = leaseToWrite(next, "kube-system", "rampart-controller", config("b"), "t", true);
  EXPECT_EQ(released["spec"]["holderIdentity"], "");
}

}  // namespace
}  // namespace rampart::controller
