// Watches and calls continue when the etcd member they use dies (3-member cluster).

#include <signal.h>

#include "etcd_fixture.h"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;
using testing::EtcdClusterTest;

TEST_F(EtcdClusterTest, WatchSurvivesLossOfItsMemberWithoutLosingOrDuplicatingEvents) {
  auto endpoints = cluster_->clientEndpoints();
  // The watcher connects to member 0 first; the writer only uses members 1 and 2.
  auto watcher = makeStore(endpoints, 2s);
  auto writer = makeStore({endpoints[1], endpoints[2]}, 2s);
  auto start = run(writer->put(PutRequest{.key = "/seq/start", .value = ""}));
  ASSERT_TRUE(start);
  auto watch = watcher->watch(WatchRequest::prefix("/seq/", start->revision + 1));

  std::vector<std::string> seen;
  auto drain = [&](Duration d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      auto batch = run(watch->next(20ms));
      ASSERT_TRUE(batch) << batch.error().message;
      for (const auto& e : batch->events) {
        seen.push_back(e.kv.value);
      }
    }
  };
  constexpr int kPuts = 60;
  for (int i = 0; i < kPuts; ++i) {
    if (i == kPuts / 2) {
      ASSERT_TRUE(cluster_->signalMember(0, SIGKILL));
    }
    auto put = run(writer->put(PutRequest{.key = "/seq/" + std::to_string(i % 7),
                                          .value = std::to_string(i)}));
    ASSERT_TRUE(put) << put.error().message;
    if (i % 5 == 0) {
      drain(10ms);
    }
  }
  for (int i = 0; i < 200 && seen.size() < kPuts; ++i) {
    drain(20ms);
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kPuts)) << "every put seen exactly once";
  for (int i = 0; i < kPuts; ++i) {
    EXPECT_EQ(seen[i], std::to_string(i)) << "in order, no gaps, no repeats";
  }
}

TEST_F(EtcdClusterTest, CallsMoveToAnotherMemberWhenTheirMemberDies) {
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/f", .value = "before"})));
  ASSERT_TRUE(cluster_->signalMember(0, SIGKILL));
  auto put = run(store_->put(PutRequest{.key = "/f", .value = "after"}));
  ASSERT_TRUE(put) << put.error().message;
  auto got = run(store_->range(RangeRequest::single("/f")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kvs.at(0).value, "after");
}

TEST_F(EtcdClusterTest, HungMemberCostsACallAtMostItsShareOfTheTimeout) {
  // SIGSTOP: the member accepts TCP connections (kernel backlog) but never answers.
  ASSERT_TRUE(cluster_->signalMember(0, SIGSTOP));
  auto start = std::chrono::steady_clock::now();
  auto put = run(store_->put(PutRequest{.key = "/h", .value = "x"}));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(cluster_->signalMember(0, SIGCONT));
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_LT(took, 2s) << "the request timeout is 2 s; a hung member gets a third of it";
}

}  // namespace
}  // namespace rampart::store
