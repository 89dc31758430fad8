#include "net/resource_errors.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace rampart::net {
namespace {

TEST(ResourceErrors, OwnExhaustionIsNotAPeerFailure) {
  EXPECT_TRUE(isLocalResourceError(EMFILE));
  EXPECT_TRUE(isLocalResourceError(ENFILE));
  EXPECT_TRUE(isLocalResourceError(ENOBUFS));
  EXPECT_TRUE(isLocalResourceError(ENOMEM));
  EXPECT_FALSE(isLocalResourceError(ECONNREFUSED));
  EXPECT_FALSE(isLocalResourceError(ECONNABORTED));
  EXPECT_TRUE(isLocalConnectError(EADDRNOTAVAIL));
  EXPECT_TRUE(isLocalConnectError(EMFILE));
  EXPECT_FALSE(isLocalConnectError(ECONNREFUSED));
  EXPECT_FALSE(isLocalConnectError(ETIMEDOUT));
  EXPECT_FALSE(isLocalConnectError(EHOSTUNREACH));
}

TEST(ExhaustionEpisode, WarnsOncePerEpisodeAndBacksOffUpToOneSecond) {
  ExhaustionEpisode episode;
  EXPECT_TRUE(episode.onError()) << "the first error starts an episode";
  Duration previous_cap = std::chrono::milliseconds(10);
  for (int i = 0; i < 20; ++i) {
    auto wait = episode.nextWait();
    EXPECT_GE(wait, previous_cap / 2 - std::chrono::nanoseconds(1));
    EXPECT_LE(wait, std::chrono::seconds(1));
    previous_cap = std::min<Duration>(previous_cap * 2, std::chrono::seconds(1));
    EXPECT_FALSE(episode.onError()) << "later errors of the same episode are not logged";
  }
  EXPECT_GE(episode.nextWait(), std::chrono::milliseconds(500)) << "the wait reached the cap";
  EXPECT_TRUE(episode.onSuccess());
  EXPECT_FALSE(episode.onSuccess());
  EXPECT_TRUE(episode.onError()) << "a new episode is logged again";
  EXPECT_LE(episode.nextWait(), std::chrono::milliseconds(10)) << "and starts short again";
}

}  // namespace
}  // namespace rampart::net
