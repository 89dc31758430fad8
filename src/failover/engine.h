#pragma once
// Engine: the database-independent failover of one member, over the store (the leader key and
// every member's status), a clock and the member's Database (database.h). It owns the leader key
// and its heartbeat, the fencing deadline (fencing.h), the race for the key when the leader goes
// and the rejoin of a former leader, and decides every HA tick with decideTick (tick.h), so the
// rules that run are the ones tick_test.cc proves.
//
// Step-driven, as etcd's raft is: the driver calls tick() every loop interval, heartbeat() every
// heartbeat interval and checkDeadline() often (every 10 ms); the engine sleeps nowhere and reads
// time only from its Clock, so tests drive several engines over one MemoryStore with a FakeClock.
//
// Keys under `prefix`: leader (the leader's name), initialize (who bootstrapped), members/<name>
// (each member's status, on a lease of kMemberTtl, so a dead member's status goes away).
// The invariant "never two writable primaries" is fencing.h's: the leader fences at the send
// time of its last acknowledged rewrite + leader_timeout - fence_margin, before any follower,
// counting leader_timeout on its own clock from when it saw the key change, may take it over.
//
// The race (decideCandidate): a replica detaches first, then publishes its final position for
// this race (the leader key's revision it replaces); it takes the key only once every other
// running replica (its status says so; the old leader and stopped members are not waited for)
// has published its final position for the same race and none is ahead (ties: the smaller
// name). Detached members receive nothing more, so the winner has everything any running
// replica received. A write only a stopped replica holds may be lost: a database that must
// not lose it (synchronous sets, WAIT) gives a stricter rule as EngineConfig::candidate_rule
// (redis/durability.h is Redis's; pg/decide.h is PostgreSQL's).
//
// The operator's requests (requests.h) are read with the view: a pause (no automatic action), a
// planned switchover (switchover.h: hold, catch up, hand the key over in one transaction) and a
// forced failover to a named member (it alone races, and takes the key without the candidate
// rule: the operator accepts what the others hold beyond it).
//
// Failsafe (with EngineConfig::peers): when the store has acknowledged no heartbeat for two
// heartbeat intervals (down, or too slow), the leader asks every other member in its last view
// to vouch (peers.h); if all do, fencing.h moves its deadline to the round's start +
// leader_timeout - fence_margin, so it keeps serving through a store outage; an unanswered or
// refused round lets the deadline fence it. A member vouches only under decideVouch's rule
// (vouch.h): for the current leader, authenticated, and only while it cannot reach the store
// itself, so a vouch never holds back a member that could take over. It then sits out any race
// for leader_timeout from its answer, which is what makes the moved deadline safe: the round
// started before every answer. The members asked are those of the leader's last view of the
// store; a member missing from it (it published just after that view, or its status did not
// decode) would not be asked, so a round with fewer than EngineConfig::group_size - 1 others in
// the view fails, and a status whose REST address does not decode counts with none (the round
// then fails too): the failsafe fails closed.
//
// Not yet here (pg::Manager still does them itself): synchronous sets, and moving the
// Database's blocking calls off the event loop (the engine calls them inline).
//
// Not thread-safe: one event loop. Database calls block that loop (see database.h).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "failover/database.h"
#include "failover/fencing.h"
#include "failover/history.h"
#include "failover/peers.h"
#include "failover/requests.h"
#include "failover/tick.h"
#include "failover/vouch.h"
#include "store/store.h"

namespace rampart::failover {

// A member's status as published in the store.
struct MemberRecord {
  Address address;
  std::string role;  // "primary", "replica", "stopped"
  Position position = 0;
  int64_t race_rev = -1;  // the leader key revision of the race it published a final position for
  Position race_position = 0;
  std::string api;  // where its REST API listens ("host:port", "https://host:port"; "" none)
  bool operator==(const MemberRecord&) const = default;
};

std::string encodeMember(const MemberRecord& m);
Result<MemberRecord> decodeMember(const std::string& text);

// Who may take the key in a race (see the header comment).
struct CandidateFacts {
  std::string me;
  std::string old_leader;  // "" when the key is gone
  int64_t race_rev = 0;
  std::map<std::string, MemberRecord> members;  // the live ones, including me
  // The last leader this member saw, also after its key went (released when its server died):
  // a database rule that counts the old leader's replicas must not count the old leader.
  std::string previous_leader;
};
struct CandidateDecision {
  bool take = false;
  std::string reason;
};
CandidateDecision decideCandidate(const CandidateFacts& facts);
using CandidateRule = std::function<CandidateDecision(const CandidateFacts&)>;

struct EngineConfig {
  std::string prefix;  // the cluster's keys, e.g. "/rampart/redis/c1"
  std::string name;    // this member
  Address address;     // where its server listens
  std::string api;     // where its REST API listens, published for the failsafe (peers.h)
  Duration leader_timeout = std::chrono::seconds(1);
  Duration heartbeat_interval = std::chrono::milliseconds(100);
  Duration fence_margin = std::chrono::milliseconds(300);
  // Who may take the key in a race; empty: decideCandidate. A database whose clients count a
  // write as durable once some replicas have it gives a stricter rule (redis/durability.h).
  CandidateRule candidate_rule;
  // The longest a planned switchover waits for its target to catch up (also bounded by the
  // fencing deadline): the leader's clients wait this long at most before it resumes.
  Duration switchover_timeout = std::chrono::milliseconds(500);
  // Wall-clock Unix milliseconds, for the failover history's times only (history.h); never
  // used to measure a duration.
  std::function<int64_t()> wall_ms;
  // The other members, for the failsafe; null: no failsafe (a leader that loses the store
  // fences at its deadline). Not owned; outlives the engine.
  Peers* peers = nullptr;
  // The group's size as configured (0: unknown): a failsafe round needs this many members,
  // itself included, in its view of the store.
  int group_size = 0;
};

// What a switchover keeps of the fencing deadline for the handover's own write.
inline constexpr Duration kHandoverWriteReserve = std::chrono::milliseconds(100);
// How long the other members stay out of a race for a forced failover's target to take the key.
inline constexpr Duration kForcedFailoverWait = std::chrono::seconds(5);

class Engine {
 public:
  static constexpr std::chrono::seconds kMemberTtl{3};

  Engine(store::Store& store, const Clock& clock, Database& database, EngineConfig config);

  // One HA tick: read the store, observe the server, publish the status, decide, act.
  boost::asio::awaitable<TickDecision> tick();
  // While leading: rewrite the leader key (compare-and-swap on its revision); fences when
  // another member holds it.
  boost::asio::awaitable<void> heartbeat();
  // Fences once the deadline has passed without an acknowledged heartbeat.
  void checkDeadline();
  // Every heartbeat interval, beside heartbeat(): the failsafe (see above). While leading, a
  // round when one is due; otherwise a quorum read of the store, whose answer is what a vouch
  // rests on (decideVouch). Does nothing without EngineConfig::peers.
  boost::asio::awaitable<void> failsafe();
  // The answer to a leader's request to vouch (POST /failsafe): fills in this member's part of
  // `request` (who leads, when the store last answered) and decides; an accepted vouch keeps
  // this member out of any race for leader_timeout.
  VouchDecision vouch(VouchFacts request);
  // A graceful stop: while leading, refuses writes first (the database's fence) and then
  // deletes the key, so the replicas race at once instead of after leader_timeout; nothing is
  // acknowledged after the key goes. The member must stop ticking afterwards.
  boost::asio::awaitable<void> resign();

  const std::string& name() const { return config_.name; }
  const Address& address() const { return config_.address; }
  bool leading() const { return leading_; }
  // Holds the key, before its deadline, with a server that was last seen writable.
  bool writable() const;
  const std::string& leaderName() const { return leader_name_; }
  // The key names a leader whose rewrites this member saw within leader_timeout.
  bool leaderAlive() const;
  const FencingDeadline& fencing() const { return fencing_; }
  // The store's view as of the last tick: every live member's status (this one's included).
  const std::map<std::string, MemberRecord>& members() const { return members_; }
  // This member's server as last observed.
  const ServerState& server() const { return server_; }
  int fences() const { return fences_; }
  // An operator's switchover or failover request is pending: the driver ticks more often, since
  // the handover's target must notice it is named (switchover.h).
  bool switchoverPending() const { return switchover_.has_value(); }
  bool paused() const { return settings_.paused; }
  // Leading on the failsafe's vouches: the store has acknowledged no heartbeat lately.
  bool onFailsafe() const { return on_failsafe_; }
  // The group's failover history as the store held it at the last tick (JSON array).
  std::string historyJson() const;

 private:
  std::string key(const std::string& suffix) const { return config_.prefix + suffix; }
  boost::asio::awaitable<bool> refreshView();
  boost::asio::awaitable<void> publish();
  TickFacts facts() const;
  boost::asio::awaitable<void> act(TickDecision decision);
  boost::asio::awaitable<bool> takeKey(int64_t seen_rev);
  boost::asio::awaitable<void> release();
  boost::asio::awaitable<void> race();
  // Promotes the server; when that fails, gives the key up and fences (false).
  boost::asio::awaitable<bool> promoteOrGiveUp();
  boost::asio::awaitable<void> promoteHeld();
  boost::asio::awaitable<void> switchover();
  boost::asio::awaitable<void> dropSwitchover(const std::string& why);
  // Appends to the history while this member leads (history.h).
  boost::asio::awaitable<void> recordEvent(FailoverEvent event);
  int64_t wallMs() const;
  // The wall-clock time of a monotonic time point (for the history).
  int64_t wallMsAt(TimePoint t) const;
  void becomeLeader(int64_t rev, TimePoint sent_at);
  void fence(const std::string& why);
  std::optional<Address> addressOf(const std::string& member) const;
  // The leader's published status says primary.
  bool leaderServing() const;
  // A forced failover names another member that may still take the key: stay out of the race.
  bool forcedElsewhere() const;
  boost::asio::awaitable<Result<void>> failsafeRound(TimePoint deadline);

  store::Store& store_;
  const Clock& clock_;
  Database& db_;
  EngineConfig config_;
  FencingDeadline fencing_;

  // The view from the store.
  bool view_ready_ = false;
  bool initialized_ = false;
  bool leader_present_ = false;
  std::string leader_name_;
  std::string previous_leader_;  // the last name the key held
  int64_t leader_rev_ = 0;
  TimePoint leader_seen_at_{};  // when this member saw the key change (or go)
  std::map<std::string, MemberRecord> members_;
  std::optional<SwitchoverRecord> switchover_;
  int64_t switchover_rev_ = 0;  // the request's mod_revision (0: none)
  std::string handed_to_;       // the member this one handed its key over to, until it follows
  bool handing_over_ = false;   // the handover's transaction is in flight: no heartbeat
  int64_t seen_switchover_rev_ = 0;  // the request revision switchover_seen_at_ is for
  TimePoint switchover_seen_at_{};   // when this member first saw that request
  GroupSettings settings_;
  std::vector<FailoverEvent> history_;

  // The server and this member's part.
  ServerState server_;
  bool leading_ = false;
  int64_t my_rev_ = 0;              // the key's revision after our last write
  std::string following_ = "?";     // the leader the replica follows ("" detached, "?" unknown)
  bool may_have_diverged_ = false;  // a former primary: rejoin rewinds
  std::optional<TimePoint> released_after_crash_at_;
  TimePoint not_replicating_since_{};
  int64_t race_rev_ = -1;
  Position race_position_ = 0;
  int64_t lease_ = 0;  // the member key's lease (0: none yet)

  // The failsafe.
  TimePoint store_reached_at_{};  // send time of the last store request answered (vouch.h)
  TimePoint failsafe_until_{};    // a vouch binds this member until then (no race)
  bool on_failsafe_ = false;      // the leader's last round succeeded and no heartbeat since
  uint64_t term_ = 0;             // counts becomeLeader(): a round's vouches are for one term
  std::string last_refusal_;      // the last failed round's reason, logged once
  std::optional<VouchVerdict> last_vouch_verdict_;  // refusals are logged when it changes
  int fences_ = 0;
  std::optional<std::vector<std::string>> served_;  // serveReplicas' last successful set
};

}  // namespace rampart::failover
