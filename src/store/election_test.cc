#include "store/election.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

struct Candidate {
  std::string name;
  LeaseId lease = 0;
  std::optional<Result<Leadership>> outcome;
};

asio::awaitable<void> campaignInto(Election* election, Candidate* c, Duration max_wait) {
  c->outcome = co_await election->campaign(c->name, c->lease, max_wait);
}

class ElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      auto lease = testing::runLoop(io_, store_.leaseGrant(1s));
      candidates_.push_back(Candidate{"c" + std::to_string(i), lease->id, {}});
    }
    for (auto& c : candidates_) {
      asio::co_spawn(io_, campaignInto(&election_, &c, 10s), asio::detached);
    }
    settle();
  }
  void settle() {
    io_.restart();
    for (int i = 0; i < 20; ++i) {
      io_.run_for(2ms);
      io_.restart();
    }
  }
  std::vector<Candidate*> winners() {
    std::vector<Candidate*> out;
    for (auto& c : candidates_) {
      if (c.outcome && *c.outcome) {
        out.push_back(&c);
      }
    }
    return out;
  }

  asio::io_context io_;
  FakeClock clock_;
  MemoryStore store_{io_.get_executor(), clock_};
  Election election_{store_, "/leader"};
  std::vector<Candidate> candidates_;
};

TEST_F(ElectionTest, ExactlyOneOfConcurrentCandidatesWins) {
  auto won = winners();
  ASSERT_EQ(won.size(), 1u);
  auto leader = testing::runLoop(io_, election_.leader());
  ASSERT_TRUE(leader && *leader);
  EXPECT_EQ((*leader)->value, won[0]->name);
  EXPECT_EQ((*leader)->lease, won[0]->lease);
}

TEST_F(ElectionTest, ResignHandsOverToExactlyOneWaitingCandidate) {
  auto first = winners().at(0);
  auto term = **first->outcome;
  ASSERT_TRUE(testing::runLoop(io_, election_.resign(term)));
  settle();
  auto won = winners();
  ASSERT_EQ(won.size(), 2u) << "the old leader plus exactly one successor";
  auto leader = testing::runLoop(io_, election_.leader());
  EXPECT_NE((*leader)->value, first->name);
}

TEST_F(ElectionTest, LeaseExpiryOfTheLeaderHandsOver) {
  auto first = winners().at(0);
  // Everyone but the leader renews; then the leader's lease runs out.
  clock_.advance(800ms);
  for (auto& c : candidates_) {
    if (&c != first) {
      ASSERT_TRUE(testing::runLoop(io_, store_.leaseKeepAliveOnce(c.lease)));
    }
  }
  clock_.advance(300ms);
  EXPECT_EQ(store_.expireLeases(), 1);
  settle();
  EXPECT_EQ(winners().size(), 2u);
  auto leader = testing::runLoop(io_, election_.leader());
  EXPECT_NE((*leader)->value, first->name);
}

TEST_F(ElectionTest, ProclaimFailsOnceLeadershipIsGone) {
  auto first = winners().at(0);
  auto term = **first->outcome;
  ASSERT_TRUE(testing::runLoop(io_, election_.proclaim(term, "still-me")));
  ASSERT_TRUE(testing::runLoop(io_, election_.resign(term)));
  settle();
  auto stale = testing::runLoop(io_, election_.proclaim(term, "zombie"));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::FailedPrecondition);
}

TEST_F(ElectionTest, CampaignRecognisesAKeyItAlreadyHoldsUnderItsLease) {
  auto first = winners().at(0);
  // As if the answer to the winning txn had been lost and the candidate retried.
  auto again = testing::runLoop(io_, election_.campaign(first->name, first->lease, 1s));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->create_revision, (**first->outcome).create_revision);
}

}  // namespace
}  // namespace rampart::store
