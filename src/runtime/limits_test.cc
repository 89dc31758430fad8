#include "runtime/limits.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

namespace rampart::runtime {
namespace {

TEST(Limits, RaisesTheSoftFileLimitToTheHardLimit) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(64, saved.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto raised = raiseFileLimit();
  ASSERT_TRUE(raised) << raised.error().message;
  EXPECT_EQ(*raised, static_cast<uint64_t>(saved.rlim_max));
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, saved.rlim_max);
  EXPECT_EQ(now.rlim_max, saved.rlim_max) << "the hard limit is left alone";
}

}  // namespace
}  // namespace rampart::runtime
