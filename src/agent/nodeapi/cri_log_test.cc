#include "agent/nodeapi/cri_log.h"

#include <gtest/gtest.h>

namespace rampart::agent::nodeapi {
namespace {

using std::chrono::seconds;

// Four logical lines over two files (rotated first), one of them written in three P pieces and
// one on stderr, one second apart.
std::vector<LogEntry> sample() {
  LogAssembler assembler;
  std::vector<LogEntry> all;
  for (std::string_view file : {"2026-12-06T21:00:01.000000001Z stdout F one\n"
                                "2026-12-06T21:00:02.000000000Z stderr F two (err)\n",
                                "2026-12-06T21:00:03.000000000Z stdout P thr\n"
                                "2026-12-06T21:00:03.500000000Z stdout P e\n"
                                "2026-12-06T21:00:03.600000000Z stdout F e joined\n"
                                "2026-12-06T21:00:04.000000000Z stdout F four\n"}) {
    auto done = assembler.feed(file);
    all.insert(all.end(), done.begin(), done.end());
  }
  return all;
}

WallTime at(const char* text) { return *parseRfc3339(text); }

TEST(CriLine, ParsesStreamTagTimeAndText) {
  auto line = parseCriLine("2026-12-06T21:00:01.123456789Z stderr P hello world");
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_TRUE(line->stderr_stream);
  EXPECT_TRUE(line->partial);
  EXPECT_EQ(line->text, "hello world");
  EXPECT_EQ(line->timestamp, "2026-12-06T21:00:01.123456789Z");
  EXPECT_EQ(line->time.time_since_epoch() % seconds(1), std::chrono::nanoseconds(123456789));
}

TEST(CriLine, EmptyTextIsAnEmptyLine) {
  auto line = parseCriLine("2026-12-06T21:00:01Z stdout F ");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "");
  EXPECT_FALSE(line->partial);
}

TEST(CriLine, RejectsWhatIsNotTheFormat) {
  EXPECT_FALSE(parseCriLine("hello"));
  EXPECT_FALSE(parseCriLine("2026-12-06T21:00:01Z stdin F x"));
  EXPECT_FALSE(parseCriLine("2026-12-06T21:00:01Z stdout X x"));
  EXPECT_FALSE(parseCriLine("yesterday stdout F x"));
}

TEST(Rfc3339, OffsetsAreApplied) {
  EXPECT_EQ(at("2026-12-06T23:00:00+02:00"), at("2026-12-06T21:00:00Z"));
  EXPECT_EQ(at("2026-12-06T20:30:00-00:30"), at("2026-12-06T21:00:00Z"));
  EXPECT_FALSE(parseRfc3339("2026-02-30T00:00:00Z"));
}

TEST(LogAssembler, JoinsPartialPiecesAndWaitsForTheNewline) {
  LogAssembler assembler;
  EXPECT_TRUE(assembler.feed("2026-12-06T21:00:01Z stdout P ab").empty());
  EXPECT_TRUE(assembler.feed("c\n2026-12-06T21:00:02Z stdout F de").empty());
  auto done = assembler.feed("f\n");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].text, "abcdef");
  EXPECT_EQ(done[0].timestamp, "2026-12-06T21:00:01Z");  // the first piece's
  EXPECT_TRUE(done[0].complete);
}

TEST(LogAssembler, AnUnfinishedPartialLineIsShownWithoutNewlineAtTheEnd) {
  LogAssembler assembler;
  assembler.feed("2026-12-06T21:00:01Z stdout P no newline yet\n");
  auto rest = assembler.finish();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_FALSE(rest[0].complete);
  EXPECT_EQ(formatEntry(rest[0], false), "no newline yet");
}

TEST(LogAssembler, MalformedLinesAreSkippedAndCounted) {
  LogAssembler assembler;
  auto done = assembler.feed("garbage\n2026-12-06T21:00:01Z stdout F ok\n");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].text, "ok");
  EXPECT_EQ(assembler.malformed(), 1u);
}

TEST(RenderLog, WholeLogAcrossRotatedFilesWithoutPrefixes) {
  EXPECT_EQ(renderLog(sample(), {}), "one\ntwo (err)\nthree joined\nfour\n");
}

TEST(RenderLog, TailCountsLogicalLines) {
  LogOptions options;
  options.tail_lines = 2;
  EXPECT_EQ(renderLog(sample(), options), "three joined\nfour\n");
  options.tail_lines = 0;
  EXPECT_EQ(renderLog(sample(), options), "");
  options.tail_lines = 100;
  EXPECT_EQ(renderLog(sample(), options), "one\ntwo (err)\nthree joined\nfour\n");
}

TEST(RenderLog, TimestampsPrefixEachLogicalLineOnce) {
  LogOptions options;
  options.timestamps = true;
  options.tail_lines = 2;
  EXPECT_EQ(renderLog(sample(), options),
            "2026-12-06T21:00:03.000000000Z three joined\n"
            "2026-12-06T21:00:04.000000000Z four\n");
}

TEST(RenderLog, SinceKeepsLinesAtOrAfterTheInstantThenTailApplies) {
  LogOptions options;
  options.since = at("2026-12-06T21:00:02Z");
  EXPECT_EQ(renderLog(sample(), options), "two (err)\nthree joined\nfour\n");
  options.tail_lines = 1;
  EXPECT_EQ(renderLog(sample(), options), "four\n");
}

TEST(RenderLog, LimitBytesCutsMidLine) {
  LogOptions options;
  options.limit_bytes = 6;
  EXPECT_EQ(renderLog(sample(), options), "one\ntw");
}

TEST(LogOptions, FromTheQuery) {
  WallTime now = at("2026-12-06T21:00:10Z");
  auto options = parseLogOptions({{"tailLines", "3"},
                                  {"timestamps", "true"},
                                  {"sinceSeconds", "5"},
                                  {"limitBytes", "10"},
                                  {"follow", "1"}},
                                 now);
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->tail_lines, 3);
  EXPECT_TRUE(options->timestamps);
  EXPECT_TRUE(options->follow);
  EXPECT_EQ(options->since, at("2026-12-06T21:00:05Z"));
  EXPECT_EQ(options->limit_bytes, 10);
  auto since_time = parseLogOptions({{"sinceTime", "2026-12-06T21:00:02Z"}}, now);
  ASSERT_TRUE(since_time);
  EXPECT_EQ(since_time->since, at("2026-12-06T21:00:02Z"));
}

TEST(LogOptions, BadValuesAreRefused) {
  WallTime now{};
  EXPECT_FALSE(parseLogOptions({{"tailLines", "x"}}, now));
  EXPECT_FALSE(parseLogOptions({{"tailLines", "-1"}}, now));
  EXPECT_FALSE(parseLogOptions({{"limitBytes", "0"}}, now));
  EXPECT_FALSE(parseLogOptions({{"follow", "maybe"}}, now));
  EXPECT_FALSE(parseLogOptions({{"sinceTime", "noon"}}, now));
  EXPECT_FALSE(
      parseLogOptions({{"sinceTime", "2026-12-06T21:00:02Z"}, {"sinceSeconds", "1"}}, now));
}

}  // namespace
}  // namespace rampart::agent::nodeapi
