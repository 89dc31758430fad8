#include "failover/engine.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/fake_clock.h"
#include "failover/leader_key.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::failover {
namespace {

using namespace std::chrono_literals;

// A database server as a few fields, with a shared "cluster" of writes so that replication is
// visible: a primary's position grows with every write; a replica copies its upstream's.
class FakeDatabase final : public Database {
 public:
  explicit FakeDatabase(std::string name) : name_(std::move(name)) {}

  ServerState observe() override {
    ServerState s;
    s.running = running_;
    s.reachable = running_;
    s.replica = running_ && (replica_ || held);  // a held master takes no write (database.h)
    s.replicating = running_ && replica_ && upstream_ && upstream_alive_ && *upstream_alive_;
    s.position = position;
    s.has_data = has_data_;
    return s;
  }
  Result<void> bootstrap() override {
    has_data_ = true;
    return startPrimary();
  }
  Result<void> startPrimary() override {
    running_ = true;
    replica_ = false;
    upstream_.reset();
    return ok();
  }
  Result<void> startReplica(const std::optional<Address>& upstream) override {
    running_ = true;
    replica_ = true;
    upstream_ = upstream;
    return ok();
  }
  Result<void> stop() override {
    running_ = false;
    return ok();
  }
  Result<void> promote() override {
    if (!running_ || !replica_) {
      return fail(ErrorCode::FailedPrecondition, "not a running replica");
    }
    if (stall_clock && stall > Duration::zero()) {
      stall_clock->advance(stall);  // the member froze inside the call
    }
    replica_ = false;
    held = false;
    upstream_.reset();
    ++promotions;
    return ok();
  }
  Result<Position> follow(const std::optional<Address>& upstream) override {
    if (!running_) {
      return fail(ErrorCode::Unavailable, "not running");
    }
    if (upstream) {
      replica_ = true;
      held = false;
    }
    upstream_ = upstream;
    return position;
  }
  Result<void> rejoin(const Address& leader, bool /*may_have_diverged*/) override {
    ++rejoins;
    has_data_ = true;
    return startReplica(leader);
  }
  Result<void> serveReplicas(const std::vector<std::string>& members) override {
    served = members;
    return ok();
  }
  void fence() override {
    running_ = false;  // as PostgreSQL's: the server is killed
    ++fences;
  }
  Result<Position> holdWrites() override {
    if (!running_ || replica_) {
      return fail(ErrorCode::FailedPrecondition, "not a running primary");
    }
    held = true;
    ++holds;
    return position;
  }
  Result<Position> sealWrites() override {
    sealed = true;
    return position;
  }
  Result<void> resumeWrites() override {
    held = false;
    sealed = false;
    return ok();
  }
  Result<void> awaitReplica(const Address& replica, Position p, Duration timeout) override {
    waited.push_back(timeout);
    auto it = peers ? peers->find(replica.port) : decltype(peers->end()){};
    if (!peers || it == peers->end() || it->second->position < p) {
      return fail(ErrorCode::DeadlineExceeded, "not caught up");
    }
    return ok();
  }

  // Test controls.
  void crash() { running_ = false; }
  bool writable() const { return running_ && !replica_ && !held; }
  void setUpstreamAlive(const bool* alive) { upstream_alive_ = alive; }
  const std::optional<Address>& upstream() const { return upstream_; }

  Position position = 0;
  int promotions = 0;
  int fences = 0;
  int rejoins = 0;
  std::vector<std::string> served;
  bool held = false;  // holdWrites() until resumeWrites(), promote() or follow()
  bool sealed = false;
  FakeClock* stall_clock = nullptr;  // promote() advances it by `stall`
  Duration stall{};
  int holds = 0;
  std::vector<Duration> waited;  // awaitReplica's timeouts
  const std::map<uint16_t, FakeDatabase*>* peers = nullptr;  // by port, for awaitReplica

 private:
  std::string name_;
  bool running_ = false;
  bool replica_ = true;
  bool has_data_ = false;
  std::optional<Address> upstream_;
  const bool* upstream_alive_ = nullptr;
};

// One member's way to the shared store, which a test may cut (a partition from etcd).
class CutStore final : public store::Store {
 public:
  explicit CutStore(store::Store& inner) : inner_(inner) {}
  bool cut = false;

  store::Async<store::RangeResponse> range(store::RangeRequest r) override {
    return unlessCut(inner_.range(std::move(r)));
  }
  store::Async<store::PutResponse> put(store::PutRequest r) override {
    return unlessCut(inner_.put(std::move(r)));
  }
  store::Async<store::DeleteResponse> deleteRange(store::DeleteRequest r) override {
    return unlessCut(inner_.deleteRange(std::move(r)));
  }
  store::Async<store::TxnResponse> txn(store::TxnRequest r) override {
    return unlessCut(inner_.txn(std::move(r)));
  }
  store::Async<void> compact(store::Revision r) override { return inner_.compact(r); }
  store::Async<store::LeaseGrantResponse> leaseGrant(std::chrono::seconds ttl) override {
    return unlessCut(inner_.leaseGrant(ttl));
  }
  store::Async<void> leaseRevoke(store::LeaseId id) override { return inner_.leaseRevoke(id); }
  store::Async<store::LeaseKeepAliveResponse> leaseKeepAliveOnce(store::LeaseId id) override {
    return unlessCut(inner_.leaseKeepAliveOnce(id));
  }
  store::Async<store::LeaseTimeToLiveResponse> leaseTimeToLive(store::LeaseId id,
                                                               bool with_keys) override {
    return inner_.leaseTimeToLive(id, with_keys);
  }
  store::WatchPtr watch(store::WatchRequest r) override { return inner_.watch(std::move(r)); }

 private:
  // The inner call is lazy (an asio awaitable): while cut it is dropped without running.
  template <typename T>
  store::Async<T> unlessCut(store::Async<T> call) {
    if (cut) {
      co_return fail(ErrorCode::Unavailable, "cut off from the store");
    }
    co_return co_await std::move(call);
  }
  store::Store& inner_;
};

class EngineTest : public ::testing::Test {
 protected:
  struct Member {
    std::unique_ptr<FakeDatabase> db;
    std::unique_ptr<CutStore> store;
    std::unique_ptr<Peers> peers;
    std::unique_ptr<Engine> engine;
    bool alive = true;  // its manager runs (a killed manager stops ticking and heartbeating)
  };

  // The failsafe's REST calls, straight to the named member's engine: a member whose manager
  // is dead does not answer; one that refuses answers 409 (Unavailable here).
  class FakePeers final : public Peers {
   public:
    FakePeers(EngineTest& test, std::string me) : test_(test), me_(std::move(me)) {}
    boost::asio::awaitable<Result<void>> askVouch(const std::string& member,
                                                  const std::string& api,
                                                  TimePoint /*deadline*/) override {
      auto& m = test_.named(member);
      if (api.empty() || !m.alive) {
        co_return fail(ErrorCode::DeadlineExceeded, member + " does not answer");
      }
      VouchFacts request;
      request.claimed_leader = me_;
      request.proof_valid = true;
      auto decision = m.engine->vouch(request);
      if (decision.verdict != VouchVerdict::Accept) {
        co_return fail(ErrorCode::Unavailable, decision.reason);
      }
      co_return ok();
    }

   private:
    EngineTest& test_;
    std::string me_;
  };

  void add(const std::string& name, uint16_t port, CandidateRule rule = {}) {
    Member m;
    m.db = std::make_unique<FakeDatabase>(name);
    m.store = std::make_unique<CutStore>(store_);
    EngineConfig config;
    config.prefix = "/rampart/test/c1";
    config.name = name;
    config.address = Address{"127.0.0.1", port};
    config.candidate_rule = std::move(rule);
    if (failsafe_) {
      config.group_size = group_size_;
      m.peers = std::make_unique<FakePeers>(*this, name);
      config.peers = m.peers.get();
      config.api = "127.0.0.1:" + std::to_string(port + 1000);
    }
    m.engine = std::make_unique<Engine>(*m.store, clock_, *m.db, config);
    m.db->peers = &by_port_;
    by_port_[port] = m.db.get();
    members_.push_back(std::move(m));
  }

  TickDecision tick(Member& m) { return testing::runLoop(io_, m.engine->tick()); }

  // One loop interval (100 ms) of every live member: heartbeats, deadline checks, ticks.
  void step(Duration d = 100ms) {
    clock_.advance(d);
    store_.expireLeases();
    for (auto& m : members_) {
      if (m.alive) {
        testing::runLoop(io_, m.engine->heartbeat());
        testing::runLoop(io_, m.engine->failsafe());
        m.engine->checkDeadline();
        tick(m);
      }
    }
  }

  std::vector<Member*> leaders() {
    std::vector<Member*> out;
    for (auto& m : members_) {
      if (m.engine->leading()) {
        out.push_back(&m);
      }
    }
    return out;
  }
  std::vector<Member*> writable() {
    std::vector<Member*> out;
    for (auto& m : members_) {
      if (m.db->writable()) {
        out.push_back(&m);
      }
    }
    return out;
  }

  // Starts a cluster of `n` and runs it until one leads and the others follow it.
  Member& startCluster(int n, const CandidateRule& rule = {}) {
    for (int i = 0; i < n; ++i) {
      add("m" + std::to_string(i + 1), static_cast<uint16_t>(5433 + i), rule);
    }
    for (int i = 0; i < 10; ++i) {
      step();
    }
    EXPECT_EQ(leaders().size(), 1u);
    return *leaders().at(0);
  }

  // Every member but `leader`, in name order.
  std::vector<Member*> othersThan(const Member& leader) {
    std::vector<Member*> out;
    for (auto& m : members_) {
      if (&m != &leader) {
        out.push_back(&m);
      }
    }
    return out;
  }

  Member& named(const std::string& name) {
    for (auto& m : members_) {
      if (m.engine->name() == name) {
        return m;
      }
    }
    throw std::runtime_error("no member " + name);
  }

  // Writes an operator's request as the REST API does.
  void put(const std::string& suffix, const std::string& value) {
    auto r = testing::runLoop(io_, store_.put(store::PutRequest{"/rampart/test/c1" + suffix, value}));
    ASSERT_TRUE(r);
  }
  bool present(const std::string& suffix) {
    auto r = testing::runLoop(
        io_, store_.range(store::RangeRequest::single("/rampart/test/c1" + suffix)));
    return r && !r->kvs.empty();
  }

  // Steps by 10 ms until `done` or `limit`, checking at every step that no two are writable.
  template <typename Done>
  void runUntil(Done done, Duration limit = 3s) {
    auto until = clock_.now() + limit;
    while (!done() && clock_.now() < until) {
      step(10ms);
      ASSERT_LE(writable().size(), 1u) << "two writable primaries";
    }
  }

  boost::asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  std::vector<Member> members_;
  std::map<uint16_t, FakeDatabase*> by_port_;
  bool failsafe_ = false;  // members added from now on vouch for each other (peers.h)
  int group_size_ = 0;     // and know the group's size as this (0: unknown)
};

TEST_F(EngineTest, TwoEnginesOverOneStoreExactlyOneLeadsAndTheOtherFollowsIt) {
  auto& leader = startCluster(2);
  EXPECT_EQ(writable().size(), 1u);
  EXPECT_TRUE(leader.db->writable());
  EXPECT_EQ(leader.db->served.size(), 1u) << "the leader serves the other member";
  for (auto& m : members_) {
    EXPECT_EQ(m.engine->leaderName(), leader.engine->leaderName());
    if (&m != &leader) {
      EXPECT_EQ(m.db->rejoins, 1) << "a member without data joins by a rejoin (clone)";
      EXPECT_FALSE(m.db->writable());
    }
  }
  for (int i = 0; i < 30; ++i) {  // three seconds of heartbeats: nothing changes
    step();
    ASSERT_EQ(leaders().size(), 1u);
    ASSERT_EQ(writable().size(), 1u);
  }
}

TEST_F(EngineTest, AKilledLeadersKeyIsTakenOverAfterItExpiresNotBefore) {
  auto& leader = startCluster(2);
  auto& other = &members_[0] == &leader ? members_[1] : members_[0];
  leader.alive = false;  // the manager stops: no heartbeat, no tick (its server would die too)
  leader.db->crash();
  // The follower counts leader_timeout (1 s) from when it last saw the key change.
  for (int i = 0; i < 9; ++i) {
    step();
    ASSERT_FALSE(other.engine->leading()) << "took over after " << (i + 1) * 100 << " ms";
    ASSERT_EQ(other.db->promotions, 0);
  }
  for (int i = 0; i < 5 && !other.engine->leading(); ++i) {
    step();
  }
  EXPECT_TRUE(other.engine->leading());
  EXPECT_EQ(other.db->promotions, 1);
  EXPECT_TRUE(other.db->writable());
}

TEST_F(EngineTest, ALeaderWhoseServerDiesReleasesTheKeyAndAReplicaTakesOverAtOnce) {
  auto& leader = startCluster(2);
  auto& other = &members_[0] == &leader ? members_[1] : members_[0];
  leader.db->crash();
  for (int i = 0; i < 3 && !other.engine->leading(); ++i) {
    step();
  }
  EXPECT_TRUE(other.engine->leading()) << "well before leader_timeout";
  EXPECT_FALSE(leader.engine->leading());
  EXPECT_EQ(other.db->promotions, 1);
  // The old leader waits for the new one, then rejoins it as a replica (straight to a rewind).
  for (int i = 0; i < 30; ++i) {
    step();
  }
  EXPECT_EQ(leaders().size(), 1u);
  EXPECT_EQ(writable().size(), 1u);
  EXPECT_FALSE(leader.db->writable());
  EXPECT_EQ(leader.engine->leaderName(), other.engine->leaderName());
  EXPECT_GE(leader.db->rejoins, 1);
}

TEST_F(EngineTest, ALeaderCutOffFromTheStoreFencesBeforeAnyoneMayTakeOver) {
  auto& leader = startCluster(3);
  store_.setUnavailable(true);
  auto cut_at = clock_.now();
  auto deadline = leader.engine->fencing().deadline();
  EXPECT_LE(deadline, cut_at + 700ms);
  while (leader.engine->leading()) {
    step(10ms);
    ASSERT_LT(clock_.now(), cut_at + 2s);
  }
  EXPECT_EQ(leader.db->fences, 1);
  EXPECT_GE(clock_.now(), deadline);
  EXPECT_TRUE(writable().empty());
  auto fenced_at = clock_.now();
  store_.setUnavailable(false);
  Member* successor = nullptr;
  for (int i = 0; i < 40 && !successor; ++i) {
    step();
    for (auto& m : members_) {
      if (&m != &leader && m.engine->leading()) {
        successor = &m;
      }
    }
  }
  ASSERT_NE(successor, nullptr);
  EXPECT_GE(clock_.now() - fenced_at, 300ms) << "the margin between the fence and any takeover";
  EXPECT_EQ(writable().size(), 1u);
}

TEST_F(EngineTest, TheMostAdvancedReplicaWinsTheRace) {
  auto& leader = startCluster(3);
  auto replicas = othersThan(leader);
  replicas[0]->db->position = 100;
  replicas[1]->db->position = 200;  // received more of the old leader's writes
  leader.alive = false;
  leader.db->crash();
  // The dead manager's engine still thinks it leads: only the replicas count.
  for (int i = 0; i < 30 && !replicas[0]->engine->leading() && !replicas[1]->engine->leading();
       ++i) {
    step();
  }
  EXPECT_TRUE(replicas[1]->engine->leading());
  EXPECT_FALSE(replicas[0]->engine->leading());
  EXPECT_EQ(replicas[1]->db->promotions, 1);
  EXPECT_EQ(replicas[0]->db->promotions, 0);
}

// A database's own rule (Redis's WAIT rule) decides the race, and it learns the old leader even
// after that leader released its key.
TEST_F(EngineTest, TheDatabasesCandidateRuleDecidesTheRaceAndNamesTheReleasedLeader) {
  bool allow = false;
  std::vector<CandidateFacts> asked;
  auto& leader = startCluster(3, [&](const CandidateFacts& f) {
    asked.push_back(f);
    return allow ? decideCandidate(f) : CandidateDecision{false, "the test says no"};
  });
  std::string old = leader.engine->leaderName();
  leader.db->crash();  // released at once: the key goes
  for (int i = 0; i < 10; ++i) {
    step();
  }
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.back().old_leader, "");
  EXPECT_EQ(asked.back().previous_leader, old);
  EXPECT_TRUE(leaders().empty()) << "the rule refused every candidate";
  allow = true;
  for (int i = 0; i < 5 && leaders().empty(); ++i) {
    step();
  }
  ASSERT_EQ(leaders().size(), 1u);
  EXPECT_NE(leaders()[0], &leader);
}

TEST_F(EngineTest, AResigningLeaderFencesThenFreesTheKeyAndAReplicaTakesOverAtOnce) {
  auto& leader = startCluster(2);
  auto& other = &members_[0] == &leader ? members_[1] : members_[0];
  testing::runLoop(io_, leader.engine->resign());
  leader.alive = false;  // the manager stops
  EXPECT_EQ(leader.db->fences, 1);
  EXPECT_FALSE(leader.db->writable());
  EXPECT_FALSE(leader.engine->leading());
  step();
  step();
  EXPECT_TRUE(other.engine->leading()) << "well before leader_timeout (1 s)";
  EXPECT_EQ(writable().size(), 1u);
}

TEST_F(EngineTest, AWritableServerWithoutTheKeyIsFenced) {
  auto& leader = startCluster(2);
  auto& other = &members_[0] == &leader ? members_[1] : members_[0];
  (void)other.db->promote();  // someone promoted it by hand
  ASSERT_TRUE(other.db->writable());
  step();
  EXPECT_FALSE(other.db->writable());
  EXPECT_EQ(other.db->fences, 1);
  EXPECT_TRUE(leader.db->writable());
}

TEST_F(EngineTest, ALeaderWhoseKeyWasTakenOverFencesAtItsNextHeartbeat) {
  auto& leader = startCluster(2);
  auto& other = &members_[0] == &leader ? members_[1] : members_[0];
  // As a member that judged the key expired would: a compare-and-swap on the revision it saw.
  auto key = std::string("/rampart/test/c1/leader");
  auto seen = testing::runLoop(io_, store_.range(store::RangeRequest::single(key)));
  ASSERT_TRUE(seen && seen->kvs.size() == 1);
  auto taken = testing::runLoop(
      io_, store_.txn(takeKeyTxn(key, other.engine->leaderName() == "m1" ? "m2" : "m1",
                                 seen->kvs[0].mod_revision)));
  ASSERT_TRUE(taken && taken->succeeded);
  testing::runLoop(io_, leader.engine->heartbeat());
  EXPECT_FALSE(leader.engine->leading());
  EXPECT_EQ(leader.db->fences, 1);
  EXPECT_FALSE(leader.db->writable());
}

TEST_F(EngineTest, APlannedSwitchoverHandsTheKeyToTheTargetWithEveryWriteAndNeverTwoWritable) {
  auto& leader = startCluster(3);
  std::string old = leader.engine->name();
  std::string target = old == "m3" ? "m2" : "m3";
  for (auto& m : members_) {
    m.db->position = 500;  // every replica has the leader's last write
  }
  put("/switchover", encodeSwitchover(SwitchoverRecord{old, target}));
  runUntil([&] { return named(target).db->writable() && !present("/switchover"); });
  EXPECT_TRUE(named(target).engine->leading());
  EXPECT_EQ(named(target).db->promotions, 1);
  EXPECT_EQ(leader.db->holds, 1);
  EXPECT_TRUE(leader.db->sealed) << "sealed before the key moved";
  EXPECT_FALSE(leader.engine->leading());
  EXPECT_FALSE(leader.db->writable());
  EXPECT_EQ(leader.db->fences, 0) << "a handover, not a fence";
  EXPECT_FALSE(present("/switchover")) << "the new leader deletes the request";
  step();  // every member reads the history back from the store
  for (auto& m : members_) {
    auto history = decodeHistory(m.engine->historyJson());
    ASSERT_TRUE(history && history->size() == 1) << m.engine->historyJson();
    EXPECT_EQ(history->back().kind, "switchover");
    EXPECT_EQ(history->back().old_leader, old);
    EXPECT_EQ(history->back().new_leader, target);
    EXPECT_LE(history->back().decided_at_ms, history->back().promoted_at_ms);
  }
  // The old leader follows its successor once that one publishes a primary.
  runUntil([&] { return leader.db->upstream().has_value(); });
  ASSERT_TRUE(leader.db->upstream());
  EXPECT_EQ(leader.db->upstream()->port, named(target).engine->address().port);
  EXPECT_FALSE(leader.db->held) << "following ends the hold: the held writes are refused";
  for (int i = 0; i < 20; ++i) {
    step();
    ASSERT_EQ(leaders().size(), 1u);
    ASSERT_EQ(writable().size(), 1u);
  }
}

TEST_F(EngineTest, ASwitchoverWithoutATargetHandsOverToTheMostAdvancedReplica) {
  auto& leader = startCluster(3);
  leader.db->position = 700;
  auto replicas = othersThan(leader);
  replicas[0]->db->position = 700;
  replicas[1]->db->position = 650;
  step();  // the replicas publish their positions
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", ""}));
  runUntil([&] { return replicas[0]->db->writable(); });
  EXPECT_TRUE(replicas[0]->engine->leading());
  EXPECT_EQ(replicas[1]->db->promotions, 0);
}

TEST_F(EngineTest, ASwitchoverWhoseTargetDoesNotCatchUpIsAbandonedAndTheLeaderTakesWritesAgain) {
  auto& leader = startCluster(3);
  std::string target = leader.engine->name() == "m3" ? "m2" : "m3";
  leader.db->position = 900;
  named(target).db->position = 899;  // one write behind, and it stays behind
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", target}));
  runUntil([&] { return !present("/switchover"); });
  EXPECT_FALSE(present("/switchover")) << "abandoned requests are deleted";
  EXPECT_EQ(leader.db->holds, 1);
  EXPECT_TRUE(leader.engine->leading());
  EXPECT_TRUE(leader.db->writable()) << "resumed: the held writes run";
  EXPECT_EQ(named(target).db->promotions, 0);
  ASSERT_EQ(leader.db->waited.size(), 1u);
  // The wait ends before the fencing deadline, with room for the handover's write.
  EXPECT_LE(leader.db->waited[0], 500ms);
  EXPECT_GT(leader.db->waited[0], 0ms);
}

TEST_F(EngineTest, ASwitchoverToAMemberThatIsNoRunningReplicaIsRefusedWithoutHoldingWrites) {
  auto& leader = startCluster(2);
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", "m9"}));
  runUntil([&] { return !present("/switchover"); }, 500ms);
  EXPECT_FALSE(present("/switchover"));
  EXPECT_EQ(leader.db->holds, 0);
  EXPECT_TRUE(leader.db->writable());
}

TEST_F(EngineTest, ASwitchoverAskedOfAnotherLeaderOrMalformedIsDropped) {
  auto& leader = startCluster(2);
  std::string other = leader.engine->name() == "m1" ? "m2" : "m1";
  put("/switchover", encodeSwitchover(SwitchoverRecord{other, ""}));
  step();
  EXPECT_FALSE(present("/switchover"));
  put("/switchover", R"({"to": "m1; DROP"})");
  step();
  EXPECT_FALSE(present("/switchover"));
  EXPECT_EQ(leader.db->holds, 0);
  EXPECT_TRUE(leader.engine->leading());
}

TEST_F(EngineTest, AForcedFailoverPromotesTheNamedMemberEvenWhenAnotherIsAhead) {
  auto& leader = startCluster(3);
  auto replicas = othersThan(leader);
  replicas[0]->db->position = 100;
  replicas[1]->db->position = 200;
  leader.alive = false;
  leader.db->crash();
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", replicas[0]->engine->name(), true}));
  runUntil([&] { return replicas[0]->engine->leading(); });
  EXPECT_TRUE(replicas[0]->db->writable());
  EXPECT_EQ(replicas[1]->db->promotions, 0) << "the ahead replica did not race";
  auto history = decodeHistory(replicas[0]->engine->historyJson());
  ASSERT_TRUE(history && history->size() == 1) << replicas[0]->engine->historyJson();
  EXPECT_EQ(history->back().kind, "failover");
  EXPECT_EQ(history->back().old_leader, leader.engine->name());
  EXPECT_EQ(history->back().decision, "failover to this member requested");
  runUntil([&] { return !present("/switchover"); }, 500ms);
  EXPECT_FALSE(present("/switchover"));
}

TEST_F(EngineTest, AForcedFailoverToAMemberThatIsGoneDoesNotStopTheOthersFromRacing) {
  auto& leader = startCluster(3);
  leader.alive = false;
  leader.db->crash();
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", "m9", true}));
  runUntil([&] { return writable().size() == 1; });
  EXPECT_EQ(writable().size(), 1u);
}

TEST_F(EngineTest, APausedGroupDoesNotFailOver) {
  auto& leader = startCluster(3);
  put("/config", encodeSettings(GroupSettings{true}));
  step();
  leader.alive = false;
  leader.db->crash();
  for (int i = 0; i < 30; ++i) {
    step();
    ASSERT_TRUE(writable().empty());
    for (auto& m : members_) {
      ASSERT_EQ(m.db->promotions, 0);
    }
  }
  put("/config", encodeSettings(GroupSettings{false}));
  runUntil([&] { return writable().size() == 1; });
  EXPECT_EQ(writable().size(), 1u) << "resumed: the failover happens";
}

TEST_F(EngineTest, APausedGroupStillFailsOverToTheMemberAnOperatorNames) {
  auto& leader = startCluster(3);
  put("/config", encodeSettings(GroupSettings{true}));
  step();
  leader.alive = false;
  leader.db->crash();
  for (int i = 0; i < 15; ++i) {
    step();
  }
  ASSERT_TRUE(writable().empty());
  std::string chosen = leader.engine->name() == "m1" ? "m2" : "m1";
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", chosen, true}));
  runUntil([&] { return named(chosen).db->writable(); });
  EXPECT_TRUE(named(chosen).engine->leading());
  for (auto& m : members_) {
    EXPECT_EQ(m.db->promotions, m.engine->name() == chosen ? 1 : 0) << m.engine->name();
  }
  // Still paused, the third member follows the new leader (it needs a replica to take writes).
  Member* third = nullptr;
  for (auto* m : othersThan(named(chosen))) {
    third = m != &leader ? m : third;
  }
  ASSERT_NE(third, nullptr);
  runUntil([&] {
    return third->db->upstream() &&
           third->db->upstream()->port == named(chosen).engine->address().port;
  });
  ASSERT_TRUE(third->db->upstream());
  EXPECT_EQ(third->db->upstream()->port, named(chosen).engine->address().port);
  EXPECT_TRUE(named(chosen).engine->paused());
}

TEST_F(EngineTest, AForcedFailoverWhoseTargetNeverTakesTheKeyStopsHoldingTheOthersBack) {
  auto& leader = startCluster(3);
  auto replicas = othersThan(leader);
  replicas[0]->alive = false;  // its manager is gone; its status lives until its lease ends
  leader.alive = false;
  leader.db->crash();
  put("/switchover", encodeSwitchover(SwitchoverRecord{"", replicas[0]->engine->name(), true}));
  runUntil([&] { return replicas[1]->db->writable(); }, 10s);
  EXPECT_TRUE(replicas[1]->engine->leading());
  EXPECT_FALSE(replicas[0]->db->writable());
}

TEST_F(EngineTest, AMemberThatStallsPastItsDeadlineWhilePromotingFencesInsteadOfTakingWrites) {
  auto& leader = startCluster(3);
  auto replicas = othersThan(leader);
  replicas[0]->db->position = 100;
  replicas[1]->db->position = 200;  // the winner, which then freezes inside promote()
  replicas[1]->db->stall_clock = &clock_;
  replicas[1]->db->stall = 2s;
  leader.alive = false;
  leader.db->crash();
  runUntil([&] { return replicas[1]->db->fences > 0; }, 5s);
  EXPECT_EQ(replicas[1]->db->fences, 1);
  EXPECT_FALSE(replicas[1]->db->writable());
  replicas[1]->db->stall = Duration::zero();
  runUntil([&] { return writable().size() == 1; }, 10s);
  EXPECT_EQ(writable().size(), 1u);
}

// The failsafe (engine.h): every member reaches the others but none reaches the store.
TEST_F(EngineTest, WithTheFailsafeALeaderEveryMemberVouchesForKeepsServingThroughAStoreOutage) {
  failsafe_ = true;
  auto& leader = startCluster(3);
  store_.setUnavailable(true);
  auto cut_at = clock_.now();
  runUntil([] { return false; }, 5s);
  EXPECT_TRUE(leader.engine->leading());
  EXPECT_TRUE(leader.engine->writable());
  EXPECT_TRUE(leader.engine->onFailsafe());
  EXPECT_EQ(leader.db->fences, 0);
  EXPECT_GT(leader.engine->fencing().deadline(), cut_at + 5s) << "each round moved it on";
  store_.setUnavailable(false);
  runUntil([&] { return !leader.engine->onFailsafe(); }, 1s);
  EXPECT_FALSE(leader.engine->onFailsafe()) << "heartbeats acknowledged again";
  for (int i = 0; i < 20; ++i) {
    step();
  }
  EXPECT_EQ(leaders().size(), 1u);
  EXPECT_TRUE(leader.engine->leading());
  EXPECT_EQ(leader.db->fences, 0);
}

TEST_F(EngineTest, ALeaderOnTheFailsafeWhoseServerDiesNoLongerSaysWritable) {
  failsafe_ = true;
  auto& leader = startCluster(3);
  store_.setUnavailable(true);
  runUntil([] { return false; }, 2s);
  ASSERT_TRUE(leader.engine->onFailsafe());
  ASSERT_TRUE(leader.engine->writable());
  leader.db->crash();
  step(10ms);
  EXPECT_FALSE(leader.engine->writable()) << "REST /primary would still send clients there";
}

TEST_F(EngineTest, WithTheFailsafeALeaderFencesAtItsDeadlineWhenOneMemberDoesNotVouch) {
  failsafe_ = true;
  auto& leader = startCluster(3);
  othersThan(leader)[1]->alive = false;  // its manager is dead: no answer
  store_.setUnavailable(true);
  auto deadline = leader.engine->fencing().deadline();
  runUntil([&] { return !leader.engine->leading(); }, 2s);
  EXPECT_FALSE(leader.engine->leading());
  EXPECT_EQ(leader.db->fences, 1);
  EXPECT_GE(clock_.now(), deadline);
  EXPECT_LE(clock_.now(), deadline + 10ms) << "no round moved the deadline";
}

TEST_F(EngineTest, AFailsafeRoundFailsWhenTheLeadersViewLacksAMemberOfTheGroup) {
  failsafe_ = true;
  group_size_ = 4;  // a fourth member exists that the store has no status of
  auto& leader = startCluster(3);
  store_.setUnavailable(true);
  auto deadline = leader.engine->fencing().deadline();
  runUntil([&] { return !leader.engine->leading(); }, 2s);
  EXPECT_EQ(leader.db->fences, 1) << "a member it did not ask could have taken over";
  EXPECT_LE(clock_.now(), deadline + 10ms);
}

TEST_F(EngineTest, MembersThatReachTheStoreRefuseToVouchSoALeaderCutOffAloneIsReplaced) {
  failsafe_ = true;
  auto& leader = startCluster(3);
  leader.store->cut = true;
  auto deadline = leader.engine->fencing().deadline();
  runUntil([&] {
    auto now_leading = leaders();
    return now_leading.size() == 1 && now_leading[0] != &leader;
  });
  EXPECT_EQ(leader.db->fences, 1);
  EXPECT_GE(clock_.now(), deadline);
  auto now_leading = leaders();
  ASSERT_EQ(now_leading.size(), 1u);
  EXPECT_NE(now_leading[0], &leader);
}

TEST_F(EngineTest, AMemberThatVouchedStaysOutOfAnyRaceForLeaderTimeoutAndRefusesOnceItReachesTheStore) {
  failsafe_ = true;
  auto& leader = startCluster(2);
  auto& replica = *othersThan(leader)[0];
  leader.alive = false;  // the manager dies, and its server with it
  leader.db->crash();
  replica.store->cut = true;
  auto killed_at = clock_.now();
  for (int i = 0; i < 30; ++i) {
    step(10ms);
  }
  VouchFacts request;
  request.claimed_leader = leader.engine->name();
  request.proof_valid = true;
  auto vouched_at = clock_.now();
  ASSERT_EQ(replica.engine->vouch(request).verdict, VouchVerdict::Accept);
  replica.store->cut = false;
  for (int i = 0; i < 5; ++i) {
    step(10ms);
  }
  EXPECT_EQ(replica.engine->vouch(request).verdict, VouchVerdict::EtcdReachable)
      << "a repeated vouch must not keep a member that reaches the store out of the race";
  while (!replica.engine->leading()) {
    step(10ms);
    ASSERT_LT(clock_.now(), vouched_at + 3s);
  }
  EXPECT_GE(clock_.now(), vouched_at + 1s) << "raced while bound by its vouch";
  EXPECT_GE(clock_.now() - killed_at, 1300ms);
}

TEST_F(EngineTest, AMemberVouchesOnlyForTheLeaderItSees) {
  failsafe_ = true;
  auto& leader = startCluster(3);
  auto& replica = *othersThan(leader)[0];
  replica.store->cut = true;
  for (int i = 0; i < 30; ++i) {
    step(10ms);
  }
  VouchFacts request;
  request.claimed_leader = othersThan(leader)[1]->engine->name();
  request.proof_valid = true;
  EXPECT_EQ(replica.engine->vouch(request).verdict, VouchVerdict::NotTheLeader);
  request.claimed_leader = leader.engine->name();
  request.proof_valid = false;
  EXPECT_EQ(replica.engine->vouch(request).verdict, VouchVerdict::Unauthenticated);
  request.proof_valid = true;
  EXPECT_EQ(replica.engine->vouch(request).verdict, VouchVerdict::Accept);
  VouchFacts to_leader = request;
  EXPECT_EQ(leader.engine->vouch(to_leader).verdict, VouchVerdict::NotTheLeader)
      << "the leader vouches for no one";
}

TEST(DecideCandidate, TakesOnlyWithEveryLiveMembersFinalPositionAndNoneAhead) {
  auto rec = [](int64_t rev, Position p) {
    MemberRecord m;
    m.role = "replica";
    m.race_rev = rev;
    m.race_position = p;
    return m;
  };
  CandidateFacts f{"m2", "m1", 7, {{"m1", rec(-1, 0)}, {"m2", rec(7, 50)}, {"m3", rec(-1, 0)}}};
  EXPECT_FALSE(decideCandidate(f).take) << "m3 has not published its final position";
  f.members["m3"] = rec(7, 60);
  EXPECT_FALSE(decideCandidate(f).take) << "m3 is ahead";
  f.members["m3"] = rec(7, 50);
  EXPECT_TRUE(decideCandidate(f).take) << "a tie goes to the smaller name";
  f.me = "m3";
  EXPECT_FALSE(decideCandidate(f).take) << "m2 ties with m3 and is the smaller name";
  f.me = "m2";
  f.members["m3"] = rec(7, 40);
  EXPECT_TRUE(decideCandidate(f).take);
  f.members["m2"] = rec(6, 50);
  EXPECT_FALSE(decideCandidate(f).take) << "its own position is from an older race";
  f.members["m2"] = rec(7, 50);
  f.members["m3"] = rec(-1, 0);
  f.members["m3"].role = "stopped";
  EXPECT_TRUE(decideCandidate(f).take) << "a stopped member is not waited for";
}

TEST(MemberRecord, RoundTripsAndRejectsGarbage) {
  MemberRecord m{Address{"10.0.0.1", 6379}, "replica", 42, 7, 40};
  auto back = decodeMember(encodeMember(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
  m.api = "10.0.0.1:8008";
  back = decodeMember(encodeMember(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(decodeMember("not json"));
  EXPECT_FALSE(decodeMember(R"({"host":"h"})"));
}

TEST(MemberRecord, RefusesValuesThatWouldWrapOrLieInsteadOfConvertingThem) {
  auto with = [](const std::string& field, const std::string& value) {
    nlohmann::json j = nlohmann::json::parse(encodeMember(MemberRecord{Address{"10.0.0.1", 6379},
                                                                       "replica", 42, 7, 40}));
    j[field] = nlohmann::json::parse(value);
    return decodeMember(j.dump());
  };
  EXPECT_TRUE(with("port", "6380"));
  EXPECT_FALSE(with("port", "70000")) << "would wrap to 4464";
  EXPECT_FALSE(with("port", "-1"));
  EXPECT_FALSE(with("position", "-1")) << "would become the greatest position and win races";
  EXPECT_FALSE(with("position", "1.5"));
  EXPECT_FALSE(with("race_position", "1e30"));
  EXPECT_FALSE(with("race_rev", "-2"));
  EXPECT_FALSE(with("role", R"("leader")"));
  EXPECT_FALSE(with("host", R"("10.0.0.1' \nfsync = off")"));
  EXPECT_FALSE(with("host", R"("")"));
  EXPECT_TRUE(with("host", R"("db-1.example.internal")"));
  EXPECT_TRUE(with("api", R"("10.0.0.1:8008")"));
  EXPECT_TRUE(with("api", R"("https://db-1.example.internal:8008")"));
  // A REST address that does not decode counts as none: the member stays in the view, and a
  // failsafe round fails for want of its vouch instead of leaving it out.
  for (const char* bad : {R"("10.0.0.1:8008/x y")", "8008", R"("a b\r\nX:80")"}) {
    auto m = with("api", bad);
    ASSERT_TRUE(m) << bad;
    EXPECT_EQ(m->api, "") << bad;
  }
}

}  // namespace
}  // namespace rampart::failover
