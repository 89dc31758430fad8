#include "chaos/checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::chaos {
namespace {

using std::chrono::milliseconds;

TimePoint at(int64_t ms) { return TimePoint{} + milliseconds(ms); }

// Builds histories: one writer's attempts with explicit times.
class History {
 public:
  History& ack(int64_t id, int64_t sent, int64_t done, const std::string& server, uint32_t tl,
               const std::string& writer = "vip", bool promised = true) {
    Attempt a;
    a.id = id;
    a.writer = writer;
    a.sent = at(sent);
    a.done = at(done);
    a.outcome = Outcome::Acked;
    a.server = server;
    a.epoch = "tl" + std::to_string(tl);
    a.promised = promised;
    attempts_.push_back(a);
    present_.insert(id);
    return *this;
  }
  History& failed(int64_t id, int64_t sent, int64_t done, const std::string& writer = "vip") {
    return other(id, sent, done, Outcome::Failed, writer);
  }
  History& unknown(int64_t id, int64_t sent, int64_t done, const std::string& writer = "vip") {
    return other(id, sent, done, Outcome::Unknown, writer);
  }
  // The final primary does not have `id`.
  History& missing(int64_t id) {
    present_.erase(id);
    return *this;
  }
  History& present(int64_t id) {
    present_.insert(id);
    return *this;
  }
  // The last attempt's answer named no epoch.
  History& withoutEpoch() {
    attempts_.back().epoch.clear();
    return *this;
  }
  History& fault(int64_t start, int64_t end) {
    faults_.push_back(FaultWindow{at(start), at(end)});
    return *this;
  }
  CheckResult check(int64_t end, bool present_known = true) const {
    CheckInput in;
    in.attempts = attempts_;
    in.present = present_;
    in.present_known = present_known;
    in.faults = faults_;
    in.end = at(end);
    return checkHistory(in);
  }

 private:
  History& other(int64_t id, int64_t sent, int64_t done, Outcome o, const std::string& writer) {
    Attempt a;
    a.id = id;
    a.writer = writer;
    a.sent = at(sent);
    a.done = at(done);
    a.outcome = o;
    attempts_.push_back(a);
    return *this;
  }

  std::vector<Attempt> attempts_;
  std::unordered_set<int64_t> present_;
  std::vector<FaultWindow> faults_;
};

// A healthy stream of VIP acks on one tenure: ids from `first_id`, one every `step` ms.
void stream(History& h, int64_t first_id, int64_t from, int64_t to, int64_t step,
            const std::string& server, uint32_t tl, const std::string& writer = "vip") {
  int64_t id = first_id;
  for (int64_t t = from; t < to; t += step) {
    h.ack(id++, t, t + 2, server, tl, writer);
  }
}

TEST(CheckHistory, NoLossWhenEveryAckIsPresent) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  auto r = h.check(1000);
  EXPECT_EQ(r.acked, 100);
  EXPECT_TRUE(r.lost_ids.empty());
  EXPECT_TRUE(r.split_brains.empty());
  EXPECT_TRUE(r.passed());
}

TEST(CheckHistory, OneAckedIdMissingOnTheFinalPrimaryIsLost) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  h.missing(42);
  auto r = h.check(1000);
  EXPECT_EQ(r.lost_ids, std::vector<int64_t>{42});
  EXPECT_FALSE(r.passed());
}

TEST(CheckHistory, FailedAndUnknownWritesAreNeverLost) {
  History h;
  h.ack(1, 0, 2, "m1", 1).failed(2, 10, 12).unknown(3, 20, 2000).unknown(4, 30, 40).present(4);
  auto r = h.check(3000);
  EXPECT_EQ(r.acked, 1);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.unknown, 2);
  EXPECT_EQ(r.unknown_present, 1);  // an unknown write may have committed
  EXPECT_EQ(r.failed_present, 0);
  EXPECT_TRUE(r.lost_ids.empty());
  EXPECT_TRUE(r.passed());
}

TEST(CheckHistory, AFailedWriteFoundOnThePrimaryIsCountedAsAnAnomaly) {
  History h;
  h.ack(1, 0, 2, "m1", 1).failed(2, 10, 12).present(2);
  EXPECT_EQ(h.check(100).failed_present, 1);
}

TEST(CheckHistory, LostIdsAreSortedAndCountedPerAck) {
  History h;
  stream(h, 1, 0, 100, 10, "m1", 1);
  h.missing(7).missing(3);
  EXPECT_EQ(h.check(100).lost_ids, (std::vector<int64_t>{3, 7}));
}

TEST(CheckHistory, ALostUnpromisedAckIsCountedApartAndDoesNotFail) {
  // A plain Redis write (no WAIT) acknowledged by the old master and gone after the failover.
  History h;
  h.ack(1, 0, 1, "m1", 1).ack(2, 10, 11, "m1", 1, "vip-plain", false).missing(2);
  auto r = h.check(100);
  EXPECT_TRUE(r.lost_ids.empty());
  EXPECT_EQ(r.unpromised_lost_ids, std::vector<int64_t>{2});
  EXPECT_EQ(r.unpromised_acked, 1);
  EXPECT_EQ(r.acked, 2);
  EXPECT_TRUE(r.passed());
}

TEST(CheckHistory, UnpromisedAcksStillShowASplitBrain) {
  // Two masters taking plain writes at once is a split brain whatever was promised.
  History h;
  h.ack(1, 0, 1, "m1", 1, "pinned-m1", false)
      .ack(2, 5, 6, "m2", 2, "pinned-m2", false)
      .ack(3, 10, 11, "m1", 1, "pinned-m1", false);
  auto r = h.check(100);
  EXPECT_EQ(r.split_brains.size(), 1u);
  EXPECT_FALSE(r.passed());
}

TEST(CheckHistory, ALostWriteIsNotCheckedWhenTheFinalPrimaryIsUnknown) {
  History h;
  h.ack(1, 0, 2, "m1", 1).missing(1);
  EXPECT_EQ(h.check(10).lost_ids.size(), 1u);
  EXPECT_TRUE(h.check(10, /*present_known=*/false).lost_ids.empty());
}

TEST(CheckHistory, RePromotionOfTheSameServerLaterIsNotSplitBrain) {
  // m1 (timeline 1), then m2 (timeline 2), then m1 again (timeline 3): sequential tenures.
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  stream(h, 1000, 1500, 2500, 10, "m2", 2);
  stream(h, 2000, 3000, 4000, 10, "m1", 3);
  auto r = h.check(4000);
  ASSERT_EQ(r.tenures.size(), 3u);
  EXPECT_EQ(r.tenures[0].server, "m1");
  EXPECT_EQ(r.tenures[1].server, "m2");
  EXPECT_EQ(r.tenures[2].epoch, "tl3");
  EXPECT_TRUE(r.split_brains.empty());
  EXPECT_TRUE(r.passed());
}

TEST(CheckHistory, InterleavedAcksOfTwoTenuresAreSplitBrain) {
  // The VIP writer moved to m2 while a pinned client kept committing on m1.
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  stream(h, 1000, 1000, 2000, 10, "m2", 2);
  stream(h, 5000, 1000, 1500, 10, "m1", 1, "pinned-m1");
  auto r = h.check(2000);
  ASSERT_EQ(r.split_brains.size(), 1u);
  const auto& s = r.split_brains[0];
  EXPECT_EQ(s.a.server, "m1");
  EXPECT_EQ(s.b.server, "m2");
  // Both committed between m2's first ack (1002) and m1's last send (1490).
  EXPECT_EQ(s.from, at(1002));
  EXPECT_EQ(s.to, at(1490));
  EXPECT_FALSE(r.passed());
}

TEST(CheckHistory, AcksStraddlingOnlyThroughLatencyAreNotSplitBrain) {
  // m1's last write was sent at 100 and acked late at 150; m2's first write was sent at 120 and
  // acked at 125. Their ack intervals overlap in wall time, but m2 committed nothing before m1's
  // last write was sent: E(m2) = 125 > L(m1) = 100.
  History h;
  h.ack(1, 0, 5, "m1", 1).ack(2, 100, 150, "m1", 1);
  h.ack(3, 120, 125, "m2", 2).ack(4, 200, 205, "m2", 2);
  auto r = h.check(300);
  EXPECT_TRUE(r.split_brains.empty());
}

TEST(CheckHistory, OneAckOfTheOtherTenureInsideASpanIsEnough) {
  // m2 committed once (sent 400, acked 402) while m1 committed before and after it.
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  h.ack(5000, 400, 402, "m2", 2, "pinned-m2");
  auto r = h.check(1000);
  ASSERT_EQ(r.split_brains.size(), 1u);
  EXPECT_EQ(r.split_brains[0].b.server, "m2");
  EXPECT_EQ(r.split_brains[0].b.acks, 1);
}

TEST(CheckHistory, SameServerOnDifferentTimelinesAreDifferentTenures) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  stream(h, 1000, 500, 1500, 10, "m1", 2, "pinned-m1");
  auto r = h.check(1500);
  ASSERT_EQ(r.tenures.size(), 2u);
  ASSERT_EQ(r.split_brains.size(), 1u);
  EXPECT_EQ(r.split_brains[0].a.epoch, "tl1");
  EXPECT_EQ(r.split_brains[0].b.epoch, "tl2");
}

TEST(CheckHistory, SameServerSameTimelineFromTwoWritersIsOneTenure) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  stream(h, 1000, 5, 1000, 10, "m1", 1, "pinned-m1");
  auto r = h.check(1000);
  EXPECT_EQ(r.tenures.size(), 1u);
  EXPECT_TRUE(r.split_brains.empty());
}

TEST(CheckHistory, AnAckWithoutServerOrEpochIsInNoTenure) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  h.ack(5000, 500, 501, "", 2).ack(5001, 502, 503, "m2", 2).withoutEpoch();
  auto r = h.check(1000);
  EXPECT_EQ(r.tenures.size(), 1u);
  EXPECT_TRUE(r.split_brains.empty());
  EXPECT_EQ(r.acked, 102);  // still counted, and checked for loss
  EXPECT_EQ(r.unattributed, 2);
}

TEST(Overlaps, FollowsTheDefinition) {
  Tenure a{"m1", "tl1", at(10), at(100), 5};
  Tenure b{"m2", "tl2", at(100), at(200), 5};  // E(b) == L(a): not strictly before
  EXPECT_FALSE(overlaps(a, b));
  b.first_ack_done = at(99);
  EXPECT_TRUE(overlaps(a, b));
  EXPECT_TRUE(overlaps(b, a));
}

TEST(CheckHistory, UnavailabilityIsTheGapAroundTheFault) {
  // Acks every 10 ms (completing 2 ms after sending) until 1000, the fault at 1005, nothing
  // until a write sent at 2300 is acked at 2302, then every 10 ms again.
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);        // last ack done at 992
  h.unknown(500, 1000, 3000);                // stuck on the dying primary
  stream(h, 1000, 2300, 3000, 10, "m2", 2);  // first ack done at 2302
  h.fault(1005, 1005);
  auto r = h.check(3000);
  ASSERT_EQ(r.per_fault.size(), 1u);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(2302 - 992));
  ASSERT_TRUE(r.per_fault[0].first_ack_after);
  EXPECT_EQ(*r.per_fault[0].first_ack_after, milliseconds(2302 - 1005));
  EXPECT_EQ(*r.per_fault[0].recovered_after, milliseconds(2302 - 1005));
  EXPECT_EQ(r.longest_gap, milliseconds(2302 - 992));
  EXPECT_EQ(r.vip_unknown, 1);
}

TEST(CheckHistory, AnOutageStartingAfterTheFaultStillCounts) {
  // The killed postmaster's backend still acked twice after the fault; the outage came after.
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);  // acks done up to 992
  h.ack(200, 995, 1001, "m1", 1).ack(201, 1001, 1012, "m1", 1);
  stream(h, 1000, 2000, 2500, 10, "m2", 2);  // first done at 2002
  h.fault(1000, 1000);
  auto r = h.check(2500);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(2002 - 1012));
  // Writes sent before the fault do not count as the first ack after it (the one sent at 1001
  // does).
  EXPECT_EQ(*r.per_fault[0].first_ack_after, milliseconds(12));
  // ... while writes were back for good only when the outage ended.
  EXPECT_EQ(*r.per_fault[0].recovered_after, milliseconds(2002 - 1000));
}

TEST(CheckHistory, NoAckAfterTheFaultReportsTheSilenceUntilTheEnd) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);  // last done 992
  h.unknown(500, 1000, 3000);
  h.fault(1005, 1005);
  auto r = h.check(4000);
  EXPECT_FALSE(r.per_fault[0].first_ack_after);
  EXPECT_FALSE(r.per_fault[0].recovered_after);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(4000 - 992));
}

TEST(CheckHistory, PinnedWritesDoNotCountForAvailability) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);
  stream(h, 5000, 1000, 2000, 10, "m1", 1, "pinned-m1");  // the old primary, stale routing
  stream(h, 1000, 2000, 2500, 10, "m2", 2);
  h.fault(1000, 1000);
  auto r = h.check(2500);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(2002 - 992));
  EXPECT_EQ(r.vip_acked, 150);
  EXPECT_EQ(r.acked, 250);
}

TEST(CheckHistory, AGapRunningIntoTheNextFaultCountsOnlyUpToIt) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);        // done up to 992
  stream(h, 1000, 2000, 3000, 10, "m2", 2);  // back at 2002
  h.fault(500, 500).fault(1500, 1500);       // the second fault hits during the outage
  auto r = h.check(3000);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(1500 - 992));
  EXPECT_FALSE(r.per_fault[0].recovered_after);  // not back before the next fault
  EXPECT_EQ(r.per_fault[1].longest_gap, milliseconds(2002 - 992));
  EXPECT_EQ(*r.per_fault[1].recovered_after, milliseconds(2002 - 1500));
}

TEST(CheckHistory, EachFaultOfASeriesGetsItsOwnFigures) {
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);        // done up to 992
  stream(h, 1000, 1500, 3000, 10, "m2", 2);  // outage 1 ends 1502, done up to 2992
  stream(h, 2000, 3800, 5000, 10, "m3", 3);  // outage 2 ends 3802
  h.fault(1000, 1000).fault(3000, 3000);
  auto r = h.check(5000);
  ASSERT_EQ(r.per_fault.size(), 2u);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(1502 - 992));
  EXPECT_EQ(*r.per_fault[0].first_ack_after, milliseconds(502));
  EXPECT_EQ(r.per_fault[1].longest_gap, milliseconds(3802 - 2992));
  EXPECT_EQ(*r.per_fault[1].first_ack_after, milliseconds(802));
  EXPECT_EQ(*r.per_fault[0].recovered_after, milliseconds(502));
  EXPECT_EQ(*r.per_fault[1].recovered_after, milliseconds(802));
  EXPECT_EQ(r.longest_gap, milliseconds(3802 - 2992));
}

TEST(CheckHistory, AFreezeGapCoversTheWholePause) {
  // Frozen from 1000 to 4000; the stuck write completes when the primary resumes, no failover.
  History h;
  stream(h, 1, 0, 1000, 10, "m1", 1);  // done up to 992
  h.ack(300, 1000, 4001, "m1", 1);
  stream(h, 400, 4010, 5000, 10, "m1", 1);
  h.fault(1000, 4000);
  auto r = h.check(5000);
  EXPECT_EQ(r.per_fault[0].longest_gap, milliseconds(4001 - 992));
  EXPECT_EQ(*r.per_fault[0].first_ack_after, milliseconds(3001));
  EXPECT_TRUE(r.split_brains.empty());
}

TEST(TimelineOfWalFile, ReadsTheFirstEightHexDigits) {
  EXPECT_EQ(timelineOfWalFile("000000010000000000000003"), 1u);
  EXPECT_EQ(timelineOfWalFile("0000001A0000000000000003"), 26u);
  EXPECT_FALSE(timelineOfWalFile("0000"));
  EXPECT_FALSE(timelineOfWalFile("zz0000010000000000000003"));
}

}  // namespace
}  // namespace rampart::chaos
