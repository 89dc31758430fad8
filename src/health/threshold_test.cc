#include "health/threshold.h"

#include <gtest/gtest.h>

namespace rampart::health {
namespace {

TEST(HealthState, UnknownBackendsTakeTrafficAndTheFirstPassMakesThemUp) {
  HealthState h(2, 2);
  EXPECT_TRUE(h.usable());
  auto t = h.onSuccess();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, State::Up);
}

TEST(HealthState, FallConsecutiveFailuresMarkDownWithTheReason) {
  HealthState h(2, 3);
  h.onSuccess();
  EXPECT_FALSE(h.onFailure("connection refused"));
  EXPECT_FALSE(h.onFailure("connection refused"));
  auto t = h.onFailure("connection refused");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, State::Down);
  EXPECT_EQ(t->reason, "3 checks failed (connection refused)");
  EXPECT_FALSE(h.usable());
}

TEST(HealthState, ASuccessInBetweenResetsTheFailureCount) {
  HealthState h(1, 2);
  h.onSuccess();
  h.onFailure("timeout");
  h.onSuccess();
  EXPECT_FALSE(h.onFailure("timeout"));
  EXPECT_TRUE(h.usable());
}

TEST(HealthState, RiseConsecutiveSuccessesBringItBack) {
  HealthState h(3, 1);
  h.onSuccess();
  ASSERT_TRUE(h.onFailure("refused"));
  EXPECT_FALSE(h.onSuccess());
  EXPECT_FALSE(h.onSuccess());
  auto t = h.onSuccess();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, State::Up);
  EXPECT_EQ(t->reason, "3 checks passed");
}

TEST(HealthState, ADownStartTakesNoTrafficUntilTheFirstPass) {
  HealthState h(3, 1, State::Down);
  EXPECT_FALSE(h.usable());
  auto t = h.onSuccess();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, State::Up);
}

TEST(HealthState, PassiveFailureEjectsAtOnce) {
  HealthState h(2, 5);
  h.onSuccess();
  auto t = h.onPassiveFailure("connection refused");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, State::Down);
  EXPECT_FALSE(h.onPassiveFailure("again")) << "only transitions are reported";
}

}  // namespace
}  // namespace rampart::health
