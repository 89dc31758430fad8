#include "agent/runtime/fence.h"

#include <fstream>

#include <gtest/gtest.h>

#include "testing/test_files.h"

namespace rampart::agent::runtime {
namespace {

TEST(Fence, HoldsOnlyBeforeTheDeadlineWritten) {
  testing::TempDir dir;
  std::string path = dir.path() + "/fence";
  EXPECT_FALSE(fenceHolds(path, 0)) << "no file: never renewed, so no fence";
  ASSERT_TRUE(writeFenceDeadline(path, 5'000));
  EXPECT_EQ(readFenceDeadline(path), 5'000);
  EXPECT_TRUE(fenceHolds(path, 4'999));
  EXPECT_FALSE(fenceHolds(path, 5'000));
  ASSERT_TRUE(writeFenceDeadline(path, 9'000));  // a later renewal moves it
  EXPECT_TRUE(fenceHolds(path, 5'000));
}

TEST(Fence, AMalformedFileIsADeadlineInThePast) {
  testing::TempDir dir;
  std::string path = dir.path() + "/fence";
  for (const char* text : {"", "12x", "-", "99999999999999999999999"}) {
    std::ofstream(path, std::ios::trunc) << text;
    EXPECT_FALSE(readFenceDeadline(path)) << text;
    EXPECT_FALSE(fenceHolds(path, 0)) << text;
  }
}

}  // namespace
}  // namespace rampart::agent::runtime
