#include "agent/runtime/cri_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "testing/test_files.h"

namespace rampart::agent::runtime {
namespace {

WallTime at(int64_t secs, int64_t nanos) {
  return WallTime{} + std::chrono::duration_cast<WallTime::duration>(
                          std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos));
}

struct Emitted {
  std::string text;
  bool partial;
  bool operator==(const Emitted&) const = default;
};

std::vector<Emitted> split(CriLineSplitter& s, std::vector<std::string> chunks, bool finish) {
  std::vector<Emitted> out;
  auto emit = [&](std::string_view text, bool partial) {
    out.push_back({std::string(text), partial});
  };
  for (const auto& c : chunks) {
    s.feed(c, emit);
  }
  if (finish) {
    s.finish(emit);
  }
  return out;
}

TEST(CriLog, LineHasNanosecondUtcTimeStreamAndFullTag) {
  // 2026-12-06T21:00:01Z is 1796590801 s after the epoch.
  EXPECT_EQ(formatCriLine(at(1796590801, 123456789), LogStream::Stdout, false, "hello world"),
            "2026-12-06T21:00:01.123456789Z stdout F hello world\n");
  EXPECT_EQ(formatCriLine(at(1796590801, 5), LogStream::Stderr, true, ""),
            "2026-12-06T21:00:01.000000005Z stderr P \n");
}

TEST(CriLog, ParsesWhatItFormats) {
  auto line = formatCriLine(at(1796590801, 987654321), LogStream::Stderr, true, "a b  c");
  auto record = parseCriLine(line);
  ASSERT_TRUE(record) << record.error().toString();
  EXPECT_EQ(record->time, at(1796590801, 987654321));
  EXPECT_EQ(record->stream, LogStream::Stderr);
  EXPECT_TRUE(record->partial);
  EXPECT_EQ(record->text, "a b  c");
}

TEST(CriLog, ParsingRejectsMalformedLines) {
  EXPECT_FALSE(parseCriLine("garbage"));
  EXPECT_FALSE(parseCriLine("2026-12-06T21:00:01.1Z stdin F x"));
  EXPECT_FALSE(parseCriLine("2026-12-06T21:00:01.1Z stdout X x"));
  EXPECT_FALSE(parseCriLine("yesterday stdout F x"));
  EXPECT_TRUE(parseCriLine("2026-12-06T21:00:01Z stdout F"));
}

TEST(CriLog, SplitterEmitsCompleteLinesAndHoldsAnUnfinishedOne) {
  CriLineSplitter s(16);
  auto out = split(s, {"one\ntw", "o\n\nthr"}, false);
  EXPECT_EQ(out, (std::vector<Emitted>{{"one", false}, {"two", false}, {"", false}}));
  out = split(s, {"ee"}, true);
  EXPECT_EQ(out, (std::vector<Emitted>{{"three", false}}));
}

TEST(CriLog, LineLongerThanTheMaximumBecomesPartialRecordsThenAFinalOne) {
  CriLineSplitter s(4);
  auto out = split(s, {"abcdefghij\n"}, true);
  EXPECT_EQ(out, (std::vector<Emitted>{{"abcd", true}, {"efgh", true}, {"ij", false}}));
}

TEST(CriLog, LineOfExactlyTheMaximumIsOneFinalRecord) {
  CriLineSplitter s(4);
  auto out = split(s, {"ab", "cd\n"}, true);
  EXPECT_EQ(out, (std::vector<Emitted>{{"abcd", false}}));
}

TEST(CriLog, DefaultMaximumIsSixteenKiB) {
  CriLineSplitter s;
  auto out = split(s, {std::string(16 * 1024 + 1, 'x') + "\n"}, true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].text.size(), 16u * 1024);
  EXPECT_TRUE(out[0].partial);
  EXPECT_EQ(out[1], (Emitted{"x", false}));
}

TEST(CriLog, WriterRotatesAtTheSizeLimitKeepingTheNewestFiles) {
  testing::TempDir dir;
  std::string path = dir.path() + "/0.log";
  CriLogWriter writer(path, 10, 3);
  ASSERT_TRUE(writer.open());
  for (char c : std::string("abcdefgh")) {
    ASSERT_TRUE(writer.write(std::string(6, c)));  // 6 bytes: every write after the first rotates
  }
  EXPECT_EQ(testing::readWholeFile(path), "hhhhhh");
  EXPECT_EQ(testing::readWholeFile(path + ".1"), "gggggg");
  EXPECT_EQ(testing::readWholeFile(path + ".2"), "ffffff");
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
}

TEST(CriLog, WriterAppendsBelowTheLimit) {
  testing::TempDir dir;
  std::string path = dir.path() + "/0.log";
  CriLogWriter writer(path, 100, 2);
  ASSERT_TRUE(writer.open());
  ASSERT_TRUE(writer.write("a\n"));
  ASSERT_TRUE(writer.write("b\n"));
  EXPECT_EQ(testing::readWholeFile(path), "a\nb\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".1"));
}

}  // namespace
}  // namespace rampart::agent::runtime
