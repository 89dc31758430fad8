#include "chaos/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::chaos {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

Report sampleReport() {
  Report r;
  r.scenario = "kill-postmaster";
  r.kind = "rampart";
  r.seed = 7;
  r.start = TimePoint{} + milliseconds(1000);
  r.end = r.start + milliseconds(8000);
  FaultRecord f;
  f.kind = "kill-postmaster";
  f.old_primary = "m1";
  f.target = "m1 postmaster pid 42";
  f.start = f.end = r.start + milliseconds(2000);
  f.old_primary_streaming = milliseconds(3500);
  r.faults.push_back(f);
  r.check.acked = 10;
  r.check.failed = 1;
  r.check.unknown = 2;
  r.check.lost_ids = {5};
  r.check.per_fault.push_back(Unavailability{milliseconds(1200), milliseconds(1100)});
  r.check.longest_gap = milliseconds(1200);
  r.final_primary = "m2";
  r.failover_json = R"({"from":"m1","to":"m2"})";
  r.problems = {"1 acknowledged writes lost"};
  Attempt a;
  a.id = 5;
  a.writer = "vip";
  a.sent = r.start + milliseconds(10);
  a.done = r.start + milliseconds(12);
  a.outcome = Outcome::Acked;
  a.server = "m1";
  a.epoch = "tl1";
  r.attempts.push_back(a);
  return r;
}

TEST(ReportJson, HasTheDocumentedFields) {
  auto j = nlohmann::json::parse(reportJson(sampleReport()));
  EXPECT_EQ(j["scenario"], "kill-postmaster");
  EXPECT_EQ(j["acked"], 10);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["unknown"], 2);
  EXPECT_EQ(j["lost"], 1);
  EXPECT_EQ(j["lost_ids"], nlohmann::json::array({5}));
  EXPECT_EQ(j["split_brain"], 0);
  EXPECT_EQ(j["unavailable_ms"], 1200.0);
  EXPECT_EQ(j["first_ack_after_fault_ms"], 1100.0);
  EXPECT_EQ(j["longest_gap_ms"], 1200.0);
  EXPECT_EQ(j["old_primary_streaming_ms"], 3500.0);
  EXPECT_EQ(j["failover"]["to"], "m2");
  EXPECT_EQ(j["faults"][0]["start_ms"], 2000.0);
  EXPECT_EQ(j["verdict"], "FAIL");
}

TEST(ReportJson, UnmeasuredFiguresAreNullAndPatroniHasNoFailoverField) {
  Report r = sampleReport();
  r.kind = "patroni";
  r.faults[0].old_primary_streaming.reset();
  r.check.per_fault[0].first_ack_after.reset();
  r.problems.clear();
  auto j = nlohmann::json::parse(reportJson(r));
  EXPECT_TRUE(j["old_primary_streaming_ms"].is_null());
  EXPECT_TRUE(j["first_ack_after_fault_ms"].is_null());
  EXPECT_FALSE(j.contains("failover"));
  EXPECT_EQ(j["verdict"], "PASS");
}

TEST(ReportText, SummarisesTheVerdictAndFigures) {
  auto text = reportText(sampleReport());
  EXPECT_THAT(text, HasSubstr("lost             1 (ids 5)"));
  EXPECT_THAT(text, HasSubstr("unavailable 1200 ms"));
  EXPECT_THAT(text, HasSubstr("verdict          FAIL"));
}

TEST(HistoryJsonLines, OneLinePerAttempt) {
  auto lines = historyJsonLines(sampleReport());
  auto j = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
  EXPECT_EQ(j["id"], 5);
  EXPECT_EQ(j["outcome"], "acked");
  EXPECT_EQ(j["server"], "m1");
  EXPECT_EQ(j["sent_ms"], 10.0);
}

}  // namespace
}  // namespace rampart::chaos
