#include "pg/manager.h"

// g++ 12 reports asio's coroutine frames (allocated by awaitable_frame_base::operator new, freed
// by its sized operator delete) as mismatched new/delete: a false positive, GCC PR 109224 and
// asio issue 1391.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "failover/fencing.h"
#include "failover/leader_key.h"
#include "failover/tick.h"
#include "net/http/client.h"
#include "pg/decide.h"
#include "pg/postgres.h"
#include "pg/rejoin.h"
#include "pg/rest.h"
#include "pg/rest_auth.h"
#include "store/etcd_store.h"
#include "store/lease_keeper.h"

namespace rampart::pg {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

int64_t wallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TimePoint now() { return SteadyClock::instance().now(); }

constexpr Duration kPgTimeout = 2s;                      // one query to the local server
constexpr Duration kStartTimeout = 60s;                  // start-up, including crash recovery
constexpr Duration kCloneTimeout = 600s;                 // pg_basebackup / pg_rewind
constexpr Duration kSteadyStreaming = 250ms;             // see trackWalSenders
constexpr Duration kCheckpointAfterPromotionDelay = 2s;  // see checkpointAfterPromotion
constexpr Duration kHandoverMinimumLease = 300ms;        // see continueHandover
constexpr size_t kReadyWritesKept = 16;  // 2.4 s of them: the old leader's view may lag
constexpr size_t kHistoryLength = 20;

}  // namespace

class Manager : public std::enable_shared_from_this<Manager> {
 public:
  Manager(runtime::Daemon& daemon, MemberConfig config)
      : daemon_(daemon),
        config_(std::move(config)),
        keys_{config_.keyPrefix()},
        log_(log::get("pg")),
        pg_(config_),
        worker_(1),
        background_(1),
        store_(daemon.io().get_executor(), config_.etcdOptions()),
        keeper_(store_, daemon.io().get_executor()),
        // Calls to the other members' REST APIs (failsafe): over rest.tls, each verified
        // against rest.tls.ca and presenting this member's certificate.
        http_(daemon.io().get_executor(), config_.restClientTls()),
        wake_(daemon.io()),
        fencing_({config_.ha.leader_timeout, config_.ha.fence_margin,
                  config_.ha.heartbeat_interval}) {
    auto& registry = daemon_.metrics();
    auto labels = prometheus::Labels{{"cluster", config_.cluster}, {"member", config_.name}};
    is_leader_ = &prometheus::BuildGauge()
                      .Name("rampart_pg_is_leader")
                      .Help("1 while this member is the writable leader")
                      .Register(registry)
                      .Add(labels);
    failovers_ = &prometheus::BuildCounter()
                      .Name("rampart_pg_promotions_total")
                      .Help("Promotions of this member (failovers and switchovers)")
                      .Register(registry)
                      .Add(labels);
    fences_ = &prometheus::BuildCounter()
                   .Name("rampart_pg_fences_total")
                   .Help("Times this member killed its own server to keep a single primary")
                   .Register(registry)
                   .Add(labels);
    auto& phase = prometheus::BuildGauge()
                      .Name("rampart_pg_last_promotion_phase_seconds")
                      .Help("Last promotion of this member: seconds from detection to each phase")
                      .Register(registry);
    decided_seconds_ = &phase.Add({{"member", config_.name}, {"phase", "decided"}});
    promoted_seconds_ = &phase.Add({{"member", config_.name}, {"phase", "promoted"}});
  }

  ~Manager() {
    worker_.stop();
    background_.stop();
    worker_.join();
    background_.join();
  }

  asio::awaitable<int> run();
  asio::awaitable<void> shutdown();
  // What the role endpoints answer from; cheap, since a load balancer asks every 10-50 ms, on
  // this loop. GET /cluster and /history build their JSON only when asked.
  MemberView view() const;
  std::string clusterJson() const;
  std::string historyJson() const;
  Lsn leaderLsn() const;  // the leader's last published position (0: none known)
  RestActions restActions();

 private:
  // The REST API's etcd writes (restActions): each completes once etcd has acknowledged it.
  // Static, with the manager by weak pointer and every parameter by value: coroutines.
  static asio::awaitable<Result<Written>> writeSwitchoverRequest(std::weak_ptr<Manager> weak,
                                                                 std::string to, bool force,
                                                                 TimePoint deadline);
  static asio::awaitable<Result<Written>> writeSettings(std::weak_ptr<Manager> weak, bool paused,
                                                        TimePoint deadline);

  // ---- plumbing ----
  template <typename F>
  asio::awaitable<std::invoke_result_t<F>> offload(F f, asio::thread_pool* pool = nullptr) {
    auto task = [f = std::move(f)]() mutable -> asio::awaitable<std::invoke_result_t<F>> {
      co_return f();
    };
    auto executor = (pool ? *pool : worker_).get_executor();
    auto op = asio::co_spawn(executor, std::move(task), asio::use_awaitable);
    co_return co_await std::move(op);
  }
  void wake() {
    wake_pending_ = true;
    wake_.cancel();
  }
  asio::awaitable<void> sleep(Duration d) {
    asio::steady_timer t(daemon_.io());
    t.expires_after(d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void spawn(asio::awaitable<void> (Manager::*method)()) {
    auto self = shared_from_this();
    asio::co_spawn(
        daemon_.io(), [self, method]() { return ((*self).*method)(); }, asio::detached);
  }

  // ---- loops ----
  asio::awaitable<void> watchLoop();
  asio::awaitable<void> heartbeatLoop();
  asio::awaitable<void> failsafeLoop();
  asio::awaitable<void> etcdProbeLoop();
  bool failsafeEnabled() const { return config_.ha.failsafe && !config_.member_token.empty(); }
  VouchDecision vouch(const std::string& leader, const std::string& proof,
                      const std::string& peer_name);
  asio::awaitable<void> watchdogLoop();
  asio::awaitable<void> checkpointAfterPromotion();
  asio::awaitable<void> postmasterLoop();
  asio::awaitable<void> haLoop();
  asio::awaitable<void> tick();

  // ---- the view from etcd ----
  void applyKv(const store::KeyValue& kv);
  void applyDelete(const std::string& key);
  // Logs that the value at `key` was ignored, once per key and reason (members rewrite their
  // keys every loop); `why` empty: the key is valid (again).
  void noteRejected(const std::string& key, const std::string& why);
  bool leaderStale() const { return now() - leader_seen_at_ > config_.ha.leader_timeout; }
  // What mayReuseObservation decides on (asks the Postgres object whether the postmaster lives).
  ObservationFacts observationFacts();

  // ---- actions ----
  asio::awaitable<void> publishStatus(bool force);
  asio::awaitable<void> bootstrap();
  // The HA tick: decideTick's facts, and its actions carried out.
  failover::TickFacts tickFacts();
  std::optional<failover::SwitchoverFacts> switchoverFacts() const;
  void noteDecision(const failover::TickDecision& decision);
  asio::awaitable<void> act(failover::TickDecision decision);
  asio::awaitable<void> restartAsPrimary();
  asio::awaitable<void> restartInPlace();
  asio::awaitable<void> promoteHeld();
  asio::awaitable<void> lead();
  asio::awaitable<void> adoptKey();
  asio::awaitable<void> restartAsReplica();
  asio::awaitable<bool> checkDivergence();
  asio::awaitable<void> follow();
  asio::awaitable<void> startForRace();
  asio::awaitable<void> race();
  asio::awaitable<bool> takeLeadership(int64_t seen_rev, SyncState start_sync);
  asio::awaitable<bool> adopt();
  bool continueHandover();
  asio::awaitable<void> announceReady();
  asio::awaitable<void> promoteSelf(FailoverEvent event);
  asio::awaitable<void> manageSync();
  asio::awaitable<void> switchover();
  asio::awaitable<void> rejoin(const std::string& leader);
  asio::awaitable<void> release(const std::string& why);
  // Notes that the key was released because the server died (see released_after_crash_at_).
  void releasedAfterCrash();
  asio::awaitable<Result<void>> failsafeRound(TimePoint deadline);
  asio::awaitable<void> recordEvent(FailoverEvent event);
  void fence(const std::string& why);
  void becomeLeader(int64_t rev, TimePoint sent_at);
  std::optional<Upstream> upstreamOf(const std::string& member) const;
  std::vector<std::string> otherMembers() const;
  std::string describeLeader() const;
  bool replicasCanTakeOver() const;
  void trackWalSenders();
  bool steadilyStreaming(const std::string& member) const;

  runtime::Daemon& daemon_;
  MemberConfig config_;
  Keys keys_;
  std::shared_ptr<spdlog::logger> log_;
  Postgres pg_;
  asio::thread_pool worker_;      // blocking calls of the HA loop, one at a time, in order
  asio::thread_pool background_;  // slow calls off the HA loop's path (own connections only)
  store::EtcdStore store_;
  store::LeaseKeeper keeper_;
  net::http::Client http_;
  asio::steady_timer wake_;
  bool wake_pending_ = false;  // a wake() that came while the loop was busy
  bool stopping_ = false;
  bool restarting_ = false;  // a requested restart: the postmaster's exit is expected

  // The view from etcd (list + watch).
  bool view_ready_ = false;
  bool initialized_ = false;
  std::string initialized_by_;
  bool leader_present_ = false;
  std::string leader_name_;
  int64_t leader_mod_rev_ = 0;
  std::map<std::string, std::string> rejected_;  // key -> why its value was ignored
  TimePoint leader_seen_at_{};
  std::map<std::string, MemberStatus> members_;
  std::optional<SyncState> sync_;
  ClusterSettings settings_;
  std::optional<SwitchoverRequest> switchover_;
  int64_t switchover_rev_ = 0;                 // mod_revision of switchover_
  std::map<std::string, int64_t> ready_seen_;  // handover-ready writes by member: mod_revision
  std::vector<FailoverEvent> history_;

  // Leadership.
  bool leading_ = false;
  uint64_t term_ = 0;  // counts becomeLeader() calls: one heartbeat loop per term
  int64_t my_leader_rev_ = 0;
  failover::FencingDeadline fencing_;  // manager.h: the invariant it keeps
  bool demoting_ = false;  // a planned switchover is under way: not writable any more
  // A planned switchover began: open sessions still write, new clients belong to the target.
  bool handing_over_ = false;
  std::string applied_sync_names_;
  std::optional<SyncState> pending_sync_;  // published once every member flushed switch_lsn_
  Lsn switch_lsn_ = 0;
  std::vector<std::string> slots_made_;
  // Per replica: the WAL sender streaming to it and since when (trackWalSenders).
  std::map<std::string, std::pair<int, TimePoint>> wal_senders_;

  // Follower state.
  std::string configured_upstream_ = "?";  // the leader our standby streams from ("" detached)
  int64_t race_rev_ = -1;
  Lsn race_lsn_ = 0;
  int64_t race_detected_ms_ = 0;
  std::string race_reason_;
  std::string last_wait_reason_;
  std::string last_decision_;  // the last tick decision logged (noteDecision)
  TimePoint failsafe_until_{};
  // Send time of this member's last etcd request that was answered (etcdProbeLoop, and status
  // writes): a member vouches for a leader only while this is old (decideVouch).
  TimePoint etcd_reached_at_{};
  std::optional<VouchVerdict> last_vouch_verdict_;  // refusals are logged once per kind
  // This member's last handover-ready writes (for the switchover request at `request_rev`).
  struct ReadyWrite {
    int64_t request_rev = 0;
    int64_t revision = 0;
    TimePoint sent_at{};
  };
  std::deque<ReadyWrite> ready_written_;
  bool announcing_ = false;
  int rejoin_failures_ = 0;
  // A former primary running as a detached standby (started for a race as the last leader, or by
  // rejoin): its WAL may run past the point where the new leader's timeline forked. The follower
  // loop checks (divergedFrom) and re-points it or rewinds it; until then it serves no reads.
  // Also set for a former primary whose server died: its next rejoin goes straight to pg_rewind.
  bool may_have_diverged_ = false;
  // When this member released the leader key because its server died and a replica could take
  // over. For a while after, it waits for that replica instead of starting its server for the
  // race: crash recovery takes seconds, and a diverged server would only stop again to rewind.
  std::optional<TimePoint> released_after_crash_at_;
  // A release of the leader key is in flight (release()).
  bool releasing_ = false;
  TimePoint not_streaming_since_{};

  // Local server.
  LocalState local_;
  TimePoint observed_at_{};  // when local_ was read from the server
  MemberStatus published_;
  TimePoint published_at_{};
  store::KeepAlivePtr member_lease_;
  TimePoint loop_done_at_ = now();
  bool restart_requested_ = false;
  bool reinit_requested_ = false;

  prometheus::Gauge* is_leader_ = nullptr;
  prometheus::Counter* failovers_ = nullptr;
  prometheus::Counter* fences_ = nullptr;
  prometheus::Gauge* decided_seconds_ = nullptr;
  prometheus::Gauge* promoted_seconds_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// The view from etcd

void Manager::applyKv(const store::KeyValue& kv) {
  const auto& k = kv.key;
  if (k == keys_.leader()) {
    if (!leader_present_ || kv.mod_revision != leader_mod_rev_) {
      leader_seen_at_ = now();
    }
    if (kv.value != leader_name_) {
      failsafe_until_ = {};  // a promise to vouch for the previous holder ends with its tenure
    }
    // Present whatever it holds (no race while the key exists); a name that is no member name
    // matches no member, so nothing is taken from it.
    noteRejected(k, checkMemberName(kv.value) ? "" : "the leader key holds no member name");
    leader_present_ = true;
    leader_name_ = kv.value;
    leader_mod_rev_ = kv.mod_revision;
  } else if (k == keys_.initialize()) {
    initialized_ = true;
    initialized_by_ = kv.value;
  } else if (k.rfind(keys_.members(), 0) == 0) {
    // Trusted by its key: a value that names another member (or holds a host that is not one)
    // is ignored, and the member counts as absent until it publishes a valid status.
    auto name = k.substr(keys_.members().size());
    auto s = decodeMemberEntry(name, kv.value);
    noteRejected(k, s ? "" : s.error().message);
    if (s) {
      members_[name] = *s;
    } else {
      members_.erase(name);
    }
  } else if (k == keys_.sync()) {
    auto s = decodeSyncState(kv.value);
    if (s) {
      if (auto c = checkSyncState(*s); !c) {
        s = fail(c.error());
      }
    }
    noteRejected(k, s ? "" : s.error().message);
    if (s) {
      sync_ = *s;
    }
  } else if (k == keys_.config()) {
    if (auto s = decodeClusterSettings(kv.value)) {
      settings_ = *s;
    }
  } else if (k == keys_.switchover()) {
    auto s = decodeSwitchoverRequest(kv.value);
    if (s) {
      if (auto c = checkSwitchoverRequest(*s); !c) {
        s = fail(c.error());
      }
    }
    noteRejected(k, s ? "" : s.error().message);
    if (s) {
      switchover_ = *s;
      switchover_rev_ = kv.mod_revision;
    }
  } else if (k.rfind(keys_.handoversReady(), 0) == 0) {
    auto name = k.substr(keys_.handoversReady().size());
    auto c = checkMemberName(name);
    noteRejected(k, c ? "" : c.error().message);
    if (c) {
      ready_seen_[name] = kv.mod_revision;
    }
  } else if (k == keys_.history()) {
    auto j = nlohmann::json::parse(kv.value, nullptr, false);
    if (j.is_array()) {
      history_.clear();
      for (const auto& e : j) {
        if (auto ev = decodeFailoverEvent(e.dump())) {
          history_.push_back(*ev);
        }
      }
    }
  }
}

void Manager::noteRejected(const std::string& key, const std::string& why) {
  auto it = rejected_.find(key);
  if (why.empty()) {
    if (it != rejected_.end()) {
      rejected_.erase(it);
    }
    return;
  }
  if (it != rejected_.end() && it->second == why) {
    return;
  }
  rejected_[key] = why;
  log_->warn("ignoring the value of {}: {}", key, why);
}

void Manager::applyDelete(const std::string& k) {
  rejected_.erase(k);
  if (k == keys_.leader()) {
    // Released: the leader stopped first (release()), so a failsafe promise to it no longer
    // holds anyone back. Without this, a replica that vouched during a slow etcd moment sat out
    // the race for up to leader_timeout after the primary's server died.
    failsafe_until_ = {};
    leader_present_ = false;
    leader_name_.clear();
    leader_mod_rev_ = 0;
    leader_seen_at_ = now();
  } else if (k == keys_.initialize()) {
    initialized_ = false;
  } else if (k.rfind(keys_.members(), 0) == 0) {
    members_.erase(k.substr(keys_.members().size()));
  } else if (k == keys_.sync()) {
    sync_.reset();
  } else if (k == keys_.switchover()) {
    switchover_.reset();
  } else if (k.rfind(keys_.handoversReady(), 0) == 0) {
    ready_seen_.erase(k.substr(keys_.handoversReady().size()));
  }
}

asio::awaitable<void> Manager::watchLoop() {
  while (!stopping_) {
    auto list = store::RangeRequest::prefix(keys_.prefix);  // a local: the g++ 12 co_await rule
    auto list_sent_at = now();
    auto listed = co_await store_.range(std::move(list));
    if (!listed) {
      log_->warn("listing {} failed: {}", keys_.prefix, listed.error().toString());
      co_await sleep(200ms);
      continue;
    }
    etcd_reached_at_ = std::max(etcd_reached_at_, list_sent_at);
    leader_present_ = false;
    members_.clear();
    sync_.reset();
    switchover_.reset();
    ready_seen_.clear();
    initialized_ = false;
    for (const auto& kv : listed->kvs) {
      applyKv(kv);
    }
    if (!leader_present_) {
      leader_seen_at_ = now();
    }
    view_ready_ = true;
    wake();
    auto watch = store_.watch(store::WatchRequest::prefix(keys_.prefix, listed->revision + 1));
    while (!stopping_) {
      auto batch = co_await watch->next(1s);
      if (!batch) {
        if (batch.error().code == ErrorCode::Cancelled) {
          co_return;
        }
        continue;  // the watch keeps retrying on other members
      }
      if (batch->compacted) {
        break;  // re-list
      }
      for (const auto& event : batch->events) {
        if (event.type == store::WatchEvent::Type::Put) {
          applyKv(event.kv);
        } else {
          applyDelete(event.kv.key);
        }
      }
      if (!batch->events.empty()) {
        wake();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Leadership: heartbeat, fencing, failsafe

void Manager::becomeLeader(int64_t rev, TimePoint sent_at) {
  ++term_;  // a heartbeat loop of an earlier term (still sleeping) must not run beside this one
  leading_ = true;
  slots_made_.clear();  // this data directory may have been rewound or cloned since last term
  my_leader_rev_ = rev;
  fencing_.startTerm(sent_at, now());
  is_leader_->Set(1);
  spawn(&Manager::heartbeatLoop);
  if (failsafeEnabled()) {
    spawn(&Manager::failsafeLoop);
  }
}

void Manager::fence(const std::string& why) {
  bool was_running = pg_.pid() != 0;
  // A fenced primary (mostly a frozen or cut-off leader whose lease ran out) may hold a commit
  // that waited for its synchronous standby: WAL past where the new leader's timeline forks (in
  // about half the freeze rounds here). Its rejoin goes straight to pg_rewind, which also copes
  // when nothing needs rewinding, like a primary whose server died (releasedAfterCrash). A
  // detached start to compare first was quicker only without divergence (2.0 s back) and cost a
  // start and a stop more with it (5.2-6.4 s); straight away: 3.7-5.1 s in the freeze rounds.
  if (was_running && (leading_ || (local_.reachable && !local_.in_recovery))) {
    may_have_diverged_ = true;
  }
  leading_ = false;
  is_leader_->Set(0);
  pg_.fence();
  fences_->Increment();
  configured_upstream_ = "?";
  log_->warn("FENCED: {} (server {})", why, was_running ? "killed" : "was not running");
  wake();
}

asio::awaitable<void> Manager::heartbeatLoop() {
  const uint64_t term = term_;
  while (leading_ && term == term_ && !stopping_) {
    auto sent_at = now();
    auto txn = failover::heartbeatTxn(keys_.leader(), config_.name, my_leader_rev_);
    auto r = co_await store_.txn(std::move(txn));
    if (!leading_ || term != term_) {
      break;
    }
    if (r) {
      using Kind = failover::HeartbeatOutcome::Kind;
      auto outcome = failover::interpretHeartbeat(*r, config_.name);
      if (outcome.kind == Kind::Renewed) {
        my_leader_rev_ = outcome.revision;
        // Invariant (manager.h): the deadline counts from when this rewrite was sent.
        fencing_.onHeartbeatAcked(sent_at);
      } else if (outcome.kind == Kind::StillOurs) {
        my_leader_rev_ = outcome.revision;  // the old deadline stays (leader_key.h)
      } else {
        fence("the leader key was taken over (now " +
              (outcome.holder.empty() ? std::string("gone") : outcome.holder) + ")");
        break;
      }
    }
    // An error (etcd unreachable or too slow): retry at once; failsafeLoop vouches meanwhile.
    auto next = sent_at + config_.ha.heartbeat_interval;
    if (next > now()) {
      co_await sleep(next - now());
    }
  }
}

asio::awaitable<void> Manager::failsafeLoop() {
  // Runs beside the heartbeat. As soon as etcd has not acknowledged a heartbeat for two intervals
  // (down, or too slow), every other member is asked to vouch, while the fencing deadline still
  // leaves room for the round. Waiting for the heartbeat's own etcd timeout first would leave too
  // little: on a loaded machine the round then lost the race with the watchdog and the leader
  // fenced although every member could reach it.
  const uint64_t term = term_;
  bool vouching = false;
  std::string last_refusal;
  while (leading_ && term == term_ && !stopping_) {
    auto started = now();
    if (fencing_.failsafeDue(started)) {
      auto vouched = co_await failsafeRound(fencing_.failsafeRoundDeadline(started));
      if (!leading_ || term != term_) {
        break;
      }
      if (vouched) {
        // Every member promised at or after `started` to stay out of any race for
        // leader_timeout, so fencing leader_timeout - fence_margin after it is early enough.
        fencing_.onVouched(started);
        if (!vouching) {
          log_->warn(
              "etcd does not acknowledge heartbeats: every member vouched, still leading "
              "(failsafe)");
        }
        vouching = true;
        last_refusal.clear();
      } else if (vouched.error().message != last_refusal) {
        last_refusal = vouched.error().message;
        log_->warn("etcd does not acknowledge heartbeats and failsafe failed: {}", last_refusal);
      }
    } else if (vouching) {
      log_->info("etcd acknowledges heartbeats again: failsafe over");
      vouching = false;
    }
    auto next = started + config_.ha.heartbeat_interval;
    if (next > now()) {
      co_await sleep(next - now());
    }
  }
}

asio::awaitable<Result<void>> Manager::failsafeRound(TimePoint deadline) {
  // Every other member must answer; each then stays out of any race for leader_timeout.
  auto others = otherMembers();
  if (others.empty()) {
    co_return fail(ErrorCode::Unavailable, "no other member is known");
  }
  for (const auto& name : others) {
    auto it = members_.find(name);
    if (it == members_.end()) {
      co_return fail(ErrorCode::Unavailable, "member " + name + " has no published status");
    }
    auto ep = net::parseEndpoint(it->second.rest);
    if (!ep) {
      co_return fail(ErrorCode::Unavailable, "member " + name + " has no REST address");
    }
    auto request = vouchRequest(config_.member_token, config_.name, name);
    auto response = co_await http_.fetch(*ep, std::move(request), deadline);
    if (!response) {
      co_return fail(ErrorCode::Unavailable, "member " + name + ": " + response.error().message);
    }
    if (response->status != 200) {
      co_return fail(ErrorCode::Unavailable,
                     "member " + name + " refused (HTTP " + std::to_string(response->status) + ")");
    }
  }
  co_return ok();
}

asio::awaitable<void> Manager::etcdProbeLoop() {
  // What a member's vouch rests on (decideVouch): whether it reaches etcd itself. A linearizable
  // read needs etcd's quorum, as the leader's heartbeat does; a serializable one would be
  // answered by an etcd member cut off from the others.
  while (!stopping_) {
    auto sent_at = now();
    if (leading_) {  // the leader's heartbeat says as much, and it vouches for no one
      co_await sleep(config_.ha.heartbeat_interval);
      continue;
    }
    auto probe = store::RangeRequest::single(keys_.leader());
    probe.count_only = true;
    auto r = co_await store_.range(std::move(probe));
    if (r) {
      etcd_reached_at_ = std::max(etcd_reached_at_, sent_at);
    }
    auto next = sent_at + config_.ha.heartbeat_interval;
    if (next > now()) {
      co_await sleep(next - now());
    }
  }
}

VouchDecision Manager::vouch(const std::string& leader, const std::string& proof,
                             const std::string& peer_name) {
  VouchFacts facts;
  facts.me = config_.name;
  facts.claimed_leader = leader;
  facts.proof_valid = vouchProofValid(config_.member_token, leader, config_.name, proof);
  facts.peer_name = peer_name;
  // With client certificates required, a vouch must come from the leader's own certificate:
  // the member credential alone (held by every member) does not say who sends it.
  facts.identity_required = config_.rest_client_auth;
  facts.leading = leading_;
  facts.leader_present = leader_present_;
  facts.leader_name = leader_name_;
  facts.now = now();
  facts.etcd_reached_at = etcd_reached_at_;
  facts.etcd_silence_limit = config_.ha.heartbeat_interval * 2;
  auto decision = decideVouch(facts);
  if (decision.verdict == VouchVerdict::Accept) {
    if (now() >= failsafe_until_) {
      log_->warn("vouched for {} (failsafe): {}; no race for {:.0f} ms", leader, decision.reason,
                 toMillis(config_.ha.leader_timeout));
    }
    failsafe_until_ = now() + config_.ha.leader_timeout;
  } else if (decision.verdict != last_vouch_verdict_) {
    log_->warn("refused to vouch for {} (failsafe): {}", leader, decision.reason);
  }
  last_vouch_verdict_ = decision.verdict;
  return decision;
}

asio::awaitable<void> Manager::watchdogLoop() {
  while (!stopping_) {
    if (leading_ && fencing_.expired(now())) {
      fence("no leader heartbeat acknowledged in time (etcd unreachable and no failsafe)");
    }
    co_await sleep(10ms);
  }
}

asio::awaitable<void> Manager::postmasterLoop() {
  // Wakes the HA loop the moment the postmaster exits (pidfd), instead of at the next loop.
  pid_t watched = 0;
  pid_t exited = 0;  // until the Postgres object notices, pid() still names it
  std::unique_ptr<asio::posix::stream_descriptor> fd;
  while (!stopping_) {
    pid_t pid = pg_.pid();
    if (pid != 0 && pid != watched && pid != exited) {
      int raw = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      if (raw >= 0) {
        fd = std::make_unique<asio::posix::stream_descriptor>(daemon_.io(), raw);
        watched = pid;
      }
    }
    if (fd && watched != 0) {
      co_await fd->async_wait(asio::posix::stream_descriptor::wait_read,
                              asio::as_tuple(asio::use_awaitable));
      fd.reset();
      if (pg_.stopRequested(watched)) {
        log_->info("postgres stopped (postmaster pid {})", watched);
      } else {
        log_->warn("postgres exited unexpectedly (postmaster pid {})", watched);
      }
      exited = watched;
      watched = 0;
      failover::ServerExitFacts exit_facts{leading_, demoting_, restarting_, settings_.paused,
                                           leading_ && replicasCanTakeOver()};
      if (failover::releaseOnServerExit(exit_facts)) {
        // Released here, not at the next loop: every millisecond counts while nobody takes writes.
        leading_ = false;
        releasedAfterCrash();
        std::string why = "postgres exited";
        co_await release(why);
      }
      wake();
    } else {
      co_await sleep(20ms);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The HA loop

asio::awaitable<void> Manager::haLoop() {
  while (!stopping_) {
    co_await tick();
    loop_done_at_ = now();
    if (!wake_pending_) {
      wake_.expires_after(config_.ha.loop_interval);
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    wake_pending_ = false;
  }
}

ObservationFacts Manager::observationFacts() {
  ObservationFacts facts;
  facts.me = config_.name;
  facts.leading = leading_;
  facts.switchover = switchover_;
  facts.leader_present = leader_present_;
  facts.leader_stale = leaderStale();
  facts.leader_name = leader_name_;
  facts.server_alive = pg_.alive();
  facts.last_reachable = local_.reachable;
  facts.last_in_recovery = local_.in_recovery;
  facts.last_age = now() - observed_at_;
  return facts;
}

asio::awaitable<void> Manager::tick() {
  // A switchover's target acts on its last observation while the handover is due (see
  // mayReuseObservation): the leader key then finds the loop idle, not in a query.
  if (!switchover_ || !mayReuseObservation(observationFacts())) {
    auto observe = [this] { return pg_.observe(kPgTimeout); };
    local_ = co_await offload(std::move(observe));
    observed_at_ = now();
    trackWalSenders();
    co_await publishStatus(false);
  }
  // What runs is what failover::decideTick decides (tick.h); the rest is carrying it out.
  auto decision = failover::decideTick(tickFacts());
  noteDecision(decision);
  if (decision.race_over) {
    race_rev_ = -1;
  }
  if (decision.announce_ready) {
    announcing_ = true;  // beside the loop: the handover itself must not wait for this write
    spawn(&Manager::announceReady);
  }
  co_await act(std::move(decision));
}

failover::TickFacts Manager::tickFacts() {
  failover::TickFacts f;
  auto t = now();
  f.me = config_.name;
  f.view_ready = view_ready_;
  f.stopping = stopping_;
  f.initialized = initialized_;
  f.paused = settings_.paused;
  f.leader_present = leader_present_;
  f.leader_name = leader_name_;
  f.leader_stale = leaderStale();
  f.leading = leading_;
  f.demoting = demoting_;
  f.releasing = releasing_;
  f.replicas_can_take_over = leading_ && replicasCanTakeOver();
  f.server_running = local_.running;
  f.server_reachable = local_.reachable;
  f.server_replica = local_.in_recovery;
  // Read only while the server is stopped (one stat of PG_VERSION per tick then).
  f.has_data = local_.running || pg_.hasData();
  f.restart_requested = restart_requested_;
  f.reinit_requested = reinit_requested_;
  f.switchover = switchoverFacts();
  f.ready_written_for_request =
      !ready_written_.empty() && ready_written_.back().request_rev == switchover_rev_;
  if (!ready_written_.empty()) {
    f.since_ready_written = t - ready_written_.back().sent_at;
  }
  f.announcing = announcing_;
  f.following_leader = configured_upstream_ == leader_name_;
  f.may_have_diverged = may_have_diverged_;
  // Streaming an older timeline than the leader's is not following it (a diverged standby
  // streams the old timeline up to the fork point, over and over).
  auto leader = leader_name_.empty() ? members_.end() : members_.find(leader_name_);
  int leader_timeline = leader != members_.end() ? leader->second.timeline : 0;
  f.replicating_from_leader =
      local_.streaming && (leader_timeline == 0 || local_.timeline == leader_timeline);
  f.not_replicating_for = t - not_streaming_since_;
  f.leader_serving = leader != members_.end() && leader->second.role == "primary" &&
                     leader->second.state == "running";
  f.failsafe_promised = t < failsafe_until_;
  f.last_leader = sync_ && sync_->leader == config_.name;
  if (released_after_crash_at_) {
    f.since_released_after_crash = t - *released_after_crash_at_;
  }
  f.race_detached = race_rev_ == (leader_present_ ? leader_mod_rev_ : 0);
  return f;
}

std::optional<failover::SwitchoverFacts> Manager::switchoverFacts() const {
  if (!switchover_) {
    return std::nullopt;
  }
  return failover::SwitchoverFacts{switchover_->from, switchover_->to, switchover_->force,
                                   switchover_->handover_lsn != 0};
}

void Manager::noteDecision(const failover::TickDecision& decision) {
  // Logged on change only (the loop runs every loop_interval), at debug: the actions log
  // themselves.
  auto line = std::string(failover::toString(decision.action)) + ": " + decision.reason;
  if (line != last_decision_) {
    log_->debug("tick: {}", line);
    last_decision_ = std::move(line);
  }
}

asio::awaitable<void> Manager::publishStatus(bool force) {
  MemberStatus s;
  s.name = config_.name;
  s.host = config_.listen.host;
  s.port = config_.listen.port;
  s.rest = config_.restAddress();
  s.nofailover = config_.nofailover;
  s.priority = config_.priority;
  s.timeline = local_.timeline;
  if (!local_.running) {
    s.role = "stopped";
    s.state = "stopped";
  } else if (!local_.reachable) {
    s.role = published_.role.empty() ? "stopped" : published_.role;
    s.state = "starting";
  } else if (local_.in_recovery) {
    s.role = "replica";
    s.state = local_.streaming ? "streaming" : "running";
    s.receive_lsn = local_.receive_lsn;
    s.replay_lsn = local_.replay_lsn;
    s.upstream = configured_upstream_ == "?" ? "" : configured_upstream_;
  } else {
    s.role = "primary";
    s.state = "running";
    s.write_lsn = local_.write_lsn;
  }
  s.race_rev = race_rev_;
  s.race_lsn = race_lsn_;
  if (!force && s == published_ && now() - published_at_ < 1s) {
    co_return;
  }
  if (!member_lease_ || member_lease_->lost()) {
    auto ttl = std::chrono::seconds(3);
    auto lease = co_await keeper_.grantAndKeep(ttl);
    if (!lease) {
      co_return;
    }
    member_lease_ = *lease;
  }
  store::PutRequest put{keys_.member(config_.name), encode(s), member_lease_->id()};
  auto sent_at = now();
  auto r = co_await store_.put(std::move(put));
  if (r) {
    etcd_reached_at_ = std::max(etcd_reached_at_, sent_at);
    published_ = s;
    published_at_ = now();
    members_[s.name] = s;
  }
}

asio::awaitable<void> Manager::bootstrap() {
  if (!initialized_) {
    store::TxnRequest txn;
    txn.compare.push_back(
        store::Compare::createRevision(keys_.initialize(), store::Compare::Op::Equal, 0));
    txn.success.push_back(store::PutRequest{keys_.initialize(), config_.name});
    auto r = co_await store_.txn(std::move(txn));
    if (!r || !r->succeeded) {
      co_return;  // someone else bootstraps; we clone once a leader runs
    }
    initialized_ = true;
    log_->info("won the initialize key: bootstrapping the cluster");
    if (!pg_.hasData()) {
      auto init_cluster = [this] { return pg_.initdb(); };
      auto made = co_await offload(std::move(init_cluster));
      if (!made) {
        log_->error("bootstrap failed: {}", made.error().message);
        store::DeleteRequest undo{keys_.initialize()};
        co_await store_.deleteRange(std::move(undo));
        co_return;
      }
    }
    auto start_primary = [this] { return pg_.start(false, std::nullopt, "", kStartTimeout); };
    auto started = co_await offload(std::move(start_primary));
    if (!started) {
      log_->error("bootstrap start failed: {}", started.error().message);
      co_return;
    }
    auto create_role = [this] { return pg_.createReplicationRole(kPgTimeout); };
    auto role = co_await offload(std::move(create_role));
    if (!role) {
      log_->warn("{}", role.error().message);
    }
    applied_sync_names_.clear();
    SyncState start_sync{config_.name, {}, 0};
    co_await takeLeadership(0, std::move(start_sync));
    co_return;
  }
}

// Takes the leader key by compare-and-swap against the revision this member saw (0: no key), and
// starts the new term's sync state in the same transaction, so no one can be promoted on the
// strength of the previous leader's synchronous set.
asio::awaitable<bool> Manager::takeLeadership(int64_t seen_rev, SyncState start_sync) {
  auto txn = failover::takeKeyTxn(keys_.leader(), config_.name, seen_rev);
  txn.success.push_back(store::PutRequest{keys_.sync(), encode(start_sync)});
  txn.success.push_back(store::DeleteRequest{keys_.switchover()});
  auto sent_at = now();
  auto r = co_await store_.txn(std::move(txn));
  if (!r || !r->succeeded) {
    co_return false;
  }
  sync_ = start_sync;
  pending_sync_.reset();
  becomeLeader(r->revision, sent_at);
  log_->info("took the leader key (revision {})", r->revision);
  co_return true;
}

// The leader key names this member but it is not leading: a handover from the old leader, or
// this manager restarted. Continue the term by rewriting the key at the revision seen.
asio::awaitable<bool> Manager::adopt() {
  auto txn = failover::adoptKeyTxn(keys_.leader(), config_.name, leader_mod_rev_);
  auto sent_at = now();
  auto r = co_await store_.txn(std::move(txn));
  if (!r || !r->succeeded) {
    co_return false;
  }
  becomeLeader(r->revision, sent_at);
  log_->info("continuing as leader (revision {})", r->revision);
  co_return true;
}

// A switchover candidate's write before the handover (see switchover()), repeated while the
// request is pending: the target's lease after the handover counts from the write the old leader
// last saw, so a fresh one leaves it more of the lease for its first heartbeat.
asio::awaitable<void> Manager::announceReady() {
  auto request_rev = switchover_rev_;
  store::PutRequest put{keys_.handoverReady(config_.name), std::to_string(request_rev)};
  auto sent_at = now();
  auto r = co_await store_.put(std::move(put));
  announcing_ = false;
  if (r) {
    ready_written_.push_back(ReadyWrite{request_rev, r->revision, sent_at});
    if (ready_written_.size() > kReadyWritesKept) {
      ready_written_.pop_front();
    }
  }
}

// The old leader handed the key over naming our handover-ready write (see switchover()): lead
// from now on, the fencing deadline counting from that write's send time, and let the heartbeat
// loop renew it, instead of waiting first for a rewrite of the key (a round trip to etcd that
// would lengthen the switchover's gap).
bool Manager::continueHandover() {
  if (!switchover_ || switchover_->to != config_.name || switchover_->handover_lsn == 0 ||
      switchover_rev_ != leader_mod_rev_) {
    return false;
  }
  auto named = std::find_if(ready_written_.begin(), ready_written_.end(), [&](const auto& w) {
    return w.revision == switchover_->ready_revision;
  });
  // Otherwise the key is confirmed by a rewrite first (adopt): slower, as safe. Logged, so that a
  // slow switchover explains itself.
  if (named == ready_written_.end()) {
    log_->info(
        "handover names ready write revision {}, not one of our last {}: confirming the "
        "key first",
        switchover_->ready_revision, ready_written_.size());
    return false;
  }
  auto sent_at = named->sent_at;
  auto deadline = sent_at + config_.ha.leader_timeout - config_.ha.fence_margin;
  if (deadline - now() < kHandoverMinimumLease) {
    log_->info(
        "handover names our ready write of {:.0f} ms ago, too little lease left for a "
        "first heartbeat: confirming the key first",
        toMillis(now() - sent_at));
    return false;
  }
  becomeLeader(leader_mod_rev_, sent_at);
  log_->info(
      "continuing as leader (handed over at revision {}, seen {:.0f} ms ago; the lease counts "
      "from our ready write, sent {:.0f} ms ago)",
      leader_mod_rev_, toMillis(now() - leader_seen_at_), toMillis(now() - sent_at));
  return true;
}

asio::awaitable<void> Manager::promoteSelf(FailoverEvent event) {
  auto others = otherMembers();
  std::string names;
  if (config_.ha.synchronous_mode && config_.ha.synchronous_mode_strict) {
    names = synchronousStandbyNames(
        desiredSync(config_.name, {}, others, config_.ha.synchronous_node_count, true));
  }
  auto promote = [this, names] {
    // Promotion stops the WAL receiver by itself; the standby's list is '' unless strict.
    if (!names.empty()) {
      if (auto s = pg_.setSynchronousStandbyNames(names, kPgTimeout); !s) {
        return s;
      }
    }
    return pg_.promote(std::chrono::seconds(30));
  };
  auto promoted = co_await offload(std::move(promote));
  if (!promoted) {
    log_->error("promotion failed: {}", promoted.error().message);
    std::string why = "promotion failed";
    co_await release(why);
    fence("promotion failed");
    co_return;
  }
  applied_sync_names_ = names;
  configured_upstream_ = "";
  may_have_diverged_ = false;
  released_after_crash_at_.reset();
  race_rev_ = -1;
  // promote() saw pg_is_in_recovery() = false: /primary may answer 200 now, not only after the
  // next observation of the server (tens of milliseconds the write VIP would wait for).
  local_.in_recovery = false;
  event.promoted_at_ms = wallMillis();
  failovers_->Increment();
  if (event.detected_at_ms > 0) {
    decided_seconds_->Set((event.decided_at_ms - event.detected_at_ms) / 1000.0);
    promoted_seconds_->Set((event.promoted_at_ms - event.detected_at_ms) / 1000.0);
  }
  log_->info("PROMOTED: {} -> {} ({}; {}); detected->decided {} ms, ->promoted {} ms",
             event.old_leader, event.new_leader, event.reason, event.decision,
             event.decided_at_ms - event.detected_at_ms,
             event.promoted_at_ms - event.detected_at_ms);
  auto observe_promoted = [this] { return pg_.observe(kPgTimeout); };
  local_ = co_await offload(std::move(observe_promoted));
  observed_at_ = now();
  co_await publishStatus(true);
  co_await recordEvent(std::move(event));
  spawn(&Manager::checkpointAfterPromotion);
}

asio::awaitable<void> Manager::checkpointAfterPromotion() {
  // pg_rewind reads a server's timeline from its control file, which a promoted server updates
  // only at its first checkpoint: normally a spread one, minutes later. Until then a rewind that
  // uses this server as its source, or as its target should it fail in that window, sees the old
  // timeline and fails ("could not find previous WAL record", then a full clone) or finds nothing
  // to do. An immediate checkpoint closes the window; it runs beside the HA loop, on a
  // connection of its own. Not at once: its writes slow the first commits of the new leader (the
  // switchover gap went from ~0.5 to ~0.85 s), and a leader failing within these two seconds
  // still rejoins by a clone.
  co_await sleep(kCheckpointAfterPromotionDelay);
  if (!leading_ || stopping_) {
    co_return;
  }
  auto began = now();
  auto checkpoint = [this] { return pg_.checkpoint(std::chrono::seconds(60)); };
  auto done = co_await offload(std::move(checkpoint), &background_);
  if (done) {
    log_->info("checkpoint after promotion: {:.0f} ms", toMillis(now() - began));
  } else {
    log_->warn("checkpoint after promotion failed: {}", done.error().message);
  }
}

asio::awaitable<void> Manager::recordEvent(FailoverEvent event) {
  history_.push_back(event);
  while (history_.size() > kHistoryLength) {
    history_.erase(history_.begin());
  }
  auto array = nlohmann::json::array();
  for (const auto& e : history_) {
    array.push_back(nlohmann::json::parse(encode(e)));
  }
  store::TxnRequest txn;
  txn.compare.push_back(
      store::Compare::valueIs(keys_.leader(), store::Compare::Op::Equal, config_.name));
  txn.success.push_back(store::PutRequest{keys_.history(), array.dump()});
  co_await store_.txn(std::move(txn));
}

void Manager::releasedAfterCrash() {
  released_after_crash_at_ = now();
  may_have_diverged_ = true;  // its last WAL may not have reached any replica
}

// Gives the leader key up at once (the server died, or promotion failed) so that the best
// replica takes over without waiting for leader_timeout.
asio::awaitable<void> Manager::release(const std::string& why) {
  leading_ = false;
  is_leader_->Set(0);
  auto txn = failover::releaseKeyTxn(keys_.leader(), config_.name);
  releasing_ = true;  // the HA loop must not take the key back meanwhile (decideTick)
  auto r = co_await store_.txn(std::move(txn));
  releasing_ = false;
  log_->warn("released the leader key: {}{}", why,
             r ? "" : " (etcd unreachable; it expires by itself)");
}

std::vector<std::string> Manager::otherMembers() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : members_) {
    if (name != config_.name) {
      out.push_back(name);
    }
  }
  return out;
}

std::optional<Upstream> Manager::upstreamOf(const std::string& member) const {
  auto it = members_.find(member);
  if (it == members_.end() || it->second.port == 0) {
    return std::nullopt;
  }
  return Upstream{it->second.host, it->second.port};
}

bool Manager::replicasCanTakeOver() const {
  if (config_.ha.synchronous_mode) {
    // Only a set this leader published speaks for its commits: right after a handover the key
    // still holds the one from before (decide.h), and no one else may have what it acknowledged.
    return sync_ && sync_->leader == config_.name && sync_->quorum > 0 &&
           std::any_of(sync_->members.begin(), sync_->members.end(),
                       [&](const auto& m) { return m != config_.name; });
  }
  return std::any_of(members_.begin(), members_.end(), [&](const auto& m) {
    return m.first != config_.name && m.second.state == "streaming";
  });
}

std::string Manager::describeLeader() const {
  return leader_present_ ? leader_name_ : std::string("(none)");
}

asio::awaitable<void> Manager::act(failover::TickDecision decision) {
  using failover::TickAction;
  switch (decision.action) {
    case TickAction::Wait:
      break;
    case TickAction::Bootstrap:
      co_await bootstrap();
      break;
    case TickAction::RestartAsPrimary:
      co_await restartAsPrimary();
      break;
    case TickAction::ReleaseAfterCrash: {
      releasedAfterCrash();
      std::string why = "postgres exited";
      co_await release(why);
      break;
    }
    case TickAction::RestartInPlace:
      co_await restartInPlace();
      break;
    case TickAction::PromoteHeld:
      co_await promoteHeld();
      break;
    case TickAction::Lead:
    case TickAction::Switchover:
      co_await lead();
      break;
    case TickAction::Adopt:
      co_await adoptKey();
      break;
    case TickAction::Fence:
      fence(decision.reason);
      break;
    case TickAction::Rejoin:
      co_await rejoin(leader_name_);
      break;
    case TickAction::RestartAsReplica:
      co_await restartAsReplica();
      break;
    case TickAction::CheckDivergence:
      if (co_await checkDivergence()) {
        co_await follow();
      }
      break;
    case TickAction::Follow:
      co_await follow();
      break;
    case TickAction::KeepFollowing:
      not_streaming_since_ = now();
      rejoin_failures_ = 0;
      break;
    case TickAction::RestartRejoin: {
      // Re-pointed but not streaming: diverged history (or a gone slot). Stop; the next tick
      // rejoins with pg_rewind, or a fresh clone if that fails.
      log_->warn("not streaming from {} for 5 s: restarting the rejoin", leader_name_);
      ++rejoin_failures_;
      auto stop_for_rejoin = [this] { return pg_.stop(std::chrono::seconds(30)); };
      co_await offload(std::move(stop_for_rejoin));
      not_streaming_since_ = now();
      break;
    }
    case TickAction::StartForRace:
      co_await startForRace();
      break;
    case TickAction::Race:
      co_await race();
      break;
  }
}

asio::awaitable<void> Manager::restartAsPrimary() {
  restart_requested_ = false;
  restarting_ = true;
  auto names = applied_sync_names_;
  auto restart_primary = [this, names] {
    (void)pg_.stop(std::chrono::seconds(30));
    return pg_.start(false, std::nullopt, names, kStartTimeout);
  };
  auto r = co_await offload(std::move(restart_primary));
  restarting_ = false;
  log_->info("restart as primary: {}", r ? "done" : r.error().message);
}

asio::awaitable<void> Manager::restartInPlace() {
  log_->warn("postgres exited and no replica may take over: restarting it in place");
  auto names = applied_sync_names_;
  auto start_in_place = [this, names] {
    return pg_.start(false, std::nullopt, names, kStartTimeout);
  };
  auto r = co_await offload(std::move(start_in_place));
  if (!r) {
    log_->error("restart failed: {}", r.error().message);
  }
}

// Leader key, but still a standby: a handover (wait for the old leader's last WAL) or a
// restarted manager whose server came up as a standby.
asio::awaitable<void> Manager::promoteHeld() {
  FailoverEvent event;
  event.kind = "switchover";
  event.new_leader = config_.name;
  event.detected_at_ms = wallMillis();
  Lsn need = 0;
  if (switchover_ && switchover_->to == config_.name) {
    need = switchover_->handover_lsn;
    event.old_leader = switchover_->from;
    event.reason = "planned switchover";
  } else {
    event.kind = "failover";
    event.reason = "leader key held while in recovery";
  }
  if (need > local_.receive_lsn) {
    auto handover_wal = [this, need] { return pg_.waitReceived(need, std::chrono::seconds(5)); };
    auto reached = co_await offload(std::move(handover_wal));
    if (!reached) {
      std::string why = "the old leader's last WAL did not arrive; a normal race decides";
      co_await release(why);
      co_return;
    }
  }
  event.decision =
      need > 0 ? "received the old leader's WAL to " + formatLsn(need) : "holds the leader key";
  event.decided_at_ms = wallMillis();
  co_await promoteSelf(std::move(event));
  if (need > 0 && leading_) {
    // The handover is done: a request left behind would make the next race wait for its
    // target (see race()).
    store::DeleteRequest done{keys_.switchover()};
    co_await store_.deleteRange(std::move(done));
  }
}

asio::awaitable<void> Manager::lead() {
  auto others = otherMembers();
  if (others != slots_made_) {
    auto make_slots = [this, others] { return pg_.ensureSlots(others, kPgTimeout); };
    auto made = co_await offload(std::move(make_slots));
    if (made) {
      slots_made_ = others;
    } else {
      log_->warn("{}", made.error().message);
    }
  }
  co_await manageSync();
  // Asked again: a request may have come while the maintenance waited.
  if (failover::switchoverIsMine(config_.name, switchoverFacts())) {
    co_await switchover();
  }
}

asio::awaitable<void> Manager::manageSync() {
  if (!config_.ha.synchronous_mode) {
    co_return;
  }
  std::vector<std::string> streaming;
  for (const auto& r : local_.replicas) {
    if (steadilyStreaming(r.name) && members_.count(r.name)) {
      streaming.push_back(r.name);
    }
  }
  auto desired = desiredSync(config_.name, streaming, otherMembers(),
                             config_.ha.synchronous_node_count, config_.ha.synchronous_mode_strict);
  auto names = synchronousStandbyNames(desired);
  SyncState current = sync_.value_or(SyncState{config_.name, {}, 0});
  auto put_sync = [this](const SyncState& state) -> asio::awaitable<bool> {
    store::TxnRequest txn;
    txn.compare.push_back(
        store::Compare::valueIs(keys_.leader(), store::Compare::Op::Equal, config_.name));
    txn.success.push_back(store::PutRequest{keys_.sync(), encode(state)});
    auto r = co_await store_.txn(std::move(txn));
    if (r && r->succeeded) {
      log_->info("sync set published: {} (quorum {})",
                 synchronousStandbyNames(state).empty() ? "none" : synchronousStandbyNames(state),
                 state.quorum);
      sync_ = state;
      co_return true;
    }
    co_return false;
  };
  // After a handover the key names no leader (decide.h, handoverSync) until this leader publishes
  // its own: the same widening, with the list it runs already.
  if (names != applied_sync_names_ || current.leader != config_.name) {
    // Rule 1 of decide.h: widen the published set first, then the server's list.
    auto widened = syncTransition(current, desired);
    if (!(widened == current)) {
      auto put = put_sync(widened);
      if (!co_await std::move(put)) {
        co_return;
      }
    }
    bool unchanged = names == applied_sync_names_;  // only the key's leader was not ours
    auto apply_sync_names = [this, names, unchanged]() -> Result<Lsn> {
      // Unchanged: no reload for every backend of a fresh leader.
      if (!unchanged) {
        if (auto r = pg_.setSynchronousStandbyNames(names, kPgTimeout); !r) {
          return fail(r.error());
        }
      }
      return pg_.currentLsn(kPgTimeout);
    };
    auto set = co_await offload(std::move(apply_sync_names));
    if (!set) {
      log_->warn("{}", set.error().message);
      co_return;
    }
    if (!unchanged) {
      log_->info("synchronous_standby_names = '{}'", names);
    }
    applied_sync_names_ = names;
    switch_lsn_ = *set;
    pending_sync_ = desired;
    co_return;
  }
  if (pending_sync_ && !(current == *pending_sync_)) {
    bool all_flushed = true;
    for (const auto& name : pending_sync_->members) {
      auto it = std::find_if(local_.replicas.begin(), local_.replicas.end(),
                             [&](const auto& r) { return r.name == name; });
      if (it == local_.replicas.end() || it->flush_lsn < switch_lsn_) {
        all_flushed = false;
      }
    }
    if (all_flushed) {
      auto target = *pending_sync_;
      auto put = put_sync(target);
      if (co_await std::move(put)) {
        pending_sync_.reset();
      }
    }
  } else if (pending_sync_) {
    pending_sync_.reset();
  }
}

// A replica whose stream keeps breaking (a diverged timeline: it streams the old one up to the
// fork, is cut off, and reconnects every wal_retrieve_retry_interval) shows up as "streaming" for
// a moment every time. Only a replica served by the same WAL sender for kSteadyStreaming counts,
// so that such a member neither enters the synchronous set nor becomes a switchover target.
void Manager::trackWalSenders() {
  std::map<std::string, std::pair<int, TimePoint>> seen;
  for (const auto& r : local_.replicas) {
    if (r.state != "streaming") {
      continue;
    }
    auto it = wal_senders_.find(r.name);
    bool same = it != wal_senders_.end() && it->second.first == r.sender_pid;
    seen[r.name] = {r.sender_pid, same ? it->second.second : now()};
  }
  wal_senders_ = std::move(seen);
}

bool Manager::steadilyStreaming(const std::string& member) const {
  auto it = wal_senders_.find(member);
  return it != wal_senders_.end() && now() - it->second.second >= kSteadyStreaming;
}

asio::awaitable<void> Manager::switchover() {
  auto request = *switchover_;
  std::string target = request.to;
  Lsn best = 0;
  for (const auto& r : local_.replicas) {
    bool in_set = !config_.ha.synchronous_mode ||
                  (sync_ && std::count(sync_->members.begin(), sync_->members.end(), r.name));
    if (!steadilyStreaming(r.name)) {
      continue;
    }
    if (target.empty() && in_set && r.flush_lsn >= best) {
      best = r.flush_lsn;
      target = r.name;
    }
  }
  bool target_streaming = steadilyStreaming(target);
  bool target_in_set = !config_.ha.synchronous_mode ||
                       (sync_ && std::count(sync_->members.begin(), sync_->members.end(), target));
  if (target.empty() || target == config_.name || !target_streaming || !target_in_set) {
    // Synchronous mode: only a member of the set may be promoted (as in a race); the handover's
    // sync key (handoverSync) relies on it.
    log_->warn("switchover refused: {} is not a streaming {}replica",
               target.empty() ? "no candidate" : target,
               config_.ha.synchronous_mode ? "synchronous " : "");
    store::DeleteRequest drop{keys_.switchover()};
    co_await store_.deleteRange(std::move(drop));
    co_return;
  }
  log_->info("switchover to {}: closing to clients", target);
  handing_over_ = true;  // until the end of this function, whichever way it ends
  struct HandingOverEnds {
    bool& flag;
    ~HandingOverEnds() { flag = false; }
  } handing_over_ends{handing_over_};
  // A checkpoint while still writable (not on the write path): the crash recovery after the
  // immediate stop below, and a rewind if one is needed, then start from a recent checkpoint.
  auto precheckpoint = [this] { return pg_.checkpoint(std::chrono::seconds(60)); };
  if (auto c = co_await offload(std::move(precheckpoint)); !c) {
    log_->warn("switchover: checkpoint before the handover failed: {}", c.error().message);
  }
  // First refuse new clients while the open sessions keep writing (proving the pg_hba.conf
  // reload takes a connection attempt, ~100 ms under load, so it stays off the write path).
  // Then: not writable (REST /primary answers 503), every session ended, and no client can
  // commit any more, so the flush position covers every acknowledged commit; the new leader
  // promotes only once it has that much. The server stops after the handover, also off the path
  // of the writes.
  auto refuse = [this] { return pg_.refuseNewClients(std::chrono::seconds(5)); };
  auto refused = co_await offload(std::move(refuse));
  auto closing_began = now();
  Result<Lsn> closed = refused ? Result<Lsn>(Lsn{0}) : fail(refused.error());
  if (closed) {
    demoting_ = true;
    auto end_sessions = [this] { return pg_.endClientSessions(std::chrono::seconds(5)); };
    closed = co_await offload(std::move(end_sessions));
  }
  auto closing_took = now() - closing_began;
  if (!closed) {
    log_->error("switchover abandoned: {}", closed.error().message);
    auto reopen = [this] { return pg_.openToClients(); };
    co_await offload(std::move(reopen));
    demoting_ = false;
    store::DeleteRequest drop{keys_.switchover()};
    co_await store_.deleteRange(std::move(drop));
    co_return;
  }
  // The handover names the target's handover-ready write (announceReady), if one was seen: it was
  // applied before this transaction, so every other member sees the key change after that write
  // was sent, and the target may count its lease from the write's send time and promote at once
  // (continueHandover). Without one the target confirms the key by a rewrite first (adopt).
  auto ready = ready_seen_.find(target);
  SwitchoverRequest handover{config_.name, target, false, *closed,
                             ready != ready_seen_.end() ? ready->second : 0};
  store::TxnRequest txn;
  txn.compare.push_back(
      store::Compare::valueIs(keys_.leader(), store::Compare::Op::Equal, config_.name));
  txn.success.push_back(store::PutRequest{keys_.leader(), target});
  txn.success.push_back(store::PutRequest{keys_.switchover(), encode(handover)});
  std::optional<SyncState> handover_sync;
  if (config_.ha.synchronous_mode) {
    // No "last leader" from here on: see decide.h.
    handover_sync = handoverSync(sync_.value_or(SyncState{}), target);
    txn.success.push_back(store::PutRequest{keys_.sync(), encode(*handover_sync)});
  }
  leading_ = false;
  is_leader_->Set(0);
  auto handover_began = now();
  auto r = co_await store_.txn(std::move(txn));
  if (r && r->succeeded && handover_sync) {
    sync_ = handover_sync;
  }
  log_->info(
      "handed the leader key to {} (WAL end {}; sessions ended in {:.0f} ms, handover "
      "{:.0f} ms): {}",
      target, formatLsn(*closed), toMillis(closing_took), toMillis(now() - handover_began),
      r && r->succeeded ? "ok" : "failed; the key expires and a race decides");
  // Either way this server must not serve again as it is: it rejoins as a replica. An immediate
  // stop writes no shutdown checkpoint, so its WAL usually ends inside the new leader's history
  // and it can follow without pg_rewind (see rejoin).
  auto stop = [this] { return pg_.stopImmediately(std::chrono::seconds(30)); };
  if (auto s = co_await offload(std::move(stop)); !s) {
    log_->warn("switchover: {}", s.error().message);
  }
  demoting_ = false;
  configured_upstream_ = "?";
}

asio::awaitable<void> Manager::adoptKey() {
  bool adopted = continueHandover();
  if (!adopted) {
    adopted = co_await adopt();
  }
  if (adopted && local_.in_recovery) {
    // A handover: promote now, on this tick's observation, rather than a loop later.
    auto decision = failover::decideTick(tickFacts());
    noteDecision(decision);
    co_await act(std::move(decision));
  }
}

asio::awaitable<void> Manager::restartAsReplica() {
  restart_requested_ = false;
  auto up = upstreamOf(leader_name_);
  auto restart_replica = [this, up] {
    (void)pg_.stop(std::chrono::seconds(30));
    return pg_.start(true, up, "", kStartTimeout);
  };
  auto r = co_await offload(std::move(restart_replica));
  log_->info("restart as replica: {}", r ? "done" : r.error().message);
}

// Usually the last leader's WAL ended where the new timeline forked (synchronous replication);
// then re-pointing is enough and saves a stop, a rewind and a start. True: it may follow.
asio::awaitable<bool> Manager::checkDivergence() {
  auto up = upstreamOf(leader_name_);
  if (!up) {
    co_return false;
  }
  auto check = [this, up] { return pg_.divergedFrom(*up, kPgTimeout); };
  auto diverged = co_await offload(std::move(check));
  if (diverged && !*diverged) {
    may_have_diverged_ = false;
    co_return true;
  }
  log_->info("this server's WAL runs past where {}'s timeline forked{}: rewinding", leader_name_,
             diverged ? "" : " (or the check failed: " + diverged.error().message + ")");
  co_await rejoin(leader_name_);
  co_return false;
}

asio::awaitable<void> Manager::follow() {
  auto up = upstreamOf(leader_name_);
  if (!up) {
    co_return;
  }
  auto repoint = [this, up] { return pg_.setUpstream(up, kPgTimeout); };
  auto r = co_await offload(std::move(repoint));
  if (r) {
    log_->info("streaming from {}", leader_name_);
    configured_upstream_ = leader_name_;
    not_streaming_since_ = now();
  }
}

// Start detached so that our position can take part in the race, unless this data directory was
// a primary and another member led after it: then it may hold WAL the cluster never had, and it
// must wait for the new leader and rewind.
asio::awaitable<void> Manager::startForRace() {
  bool last_leader = sync_ && sync_->leader == config_.name;
  auto start_for_race = [this, last_leader]() -> Result<void> {
    auto state = pg_.controlState();
    if (!last_leader && state && (*state == "in production" || *state == "shut down")) {
      return ok();
    }
    return pg_.start(true, std::nullopt, "", kStartTimeout);
  };
  auto r = co_await offload(std::move(start_for_race));
  if (!r) {
    log_->warn("start for the race failed: {}", r.error().message);
  } else if (last_leader) {
    may_have_diverged_ = true;
  }
}

asio::awaitable<void> Manager::race() {
  int64_t rev = leader_present_ ? leader_mod_rev_ : 0;
  if (race_rev_ != rev) {  // a new race (decideTick saw a reachable standby)
    race_detected_ms_ = wallMillis();
    race_reason_ = leader_present_ ? "no heartbeat from " + leader_name_ + " for " +
                                         std::to_string(toMillis(config_.ha.leader_timeout)) + " ms"
                                   : "leader key released";
    log_->info("leader gone ({}): detaching", race_reason_);
    last_wait_reason_.clear();  // a new race: say again why we wait, if we do
    // Rule 2 of decide.h: detach first, then publish the final position.
    auto detach = [this] { return pg_.setUpstream(std::nullopt, kPgTimeout); };
    auto lsn = co_await offload(std::move(detach));
    if (!lsn) {
      log_->warn("detaching for the race failed: {}", lsn.error().message);
      co_return;
    }
    configured_upstream_ = "";
    race_rev_ = rev;
    race_lsn_ = *lsn;
    log_->info("detached at {}", formatLsn(race_lsn_));
    co_await publishStatus(true);
  }
  bool forced = switchover_ && switchover_->force && switchover_->to == config_.name;
  if (failover::operatorChoseAnother(config_.name, switchoverFacts())) {
    co_return;
  }
  RaceFacts facts;
  facts.me = config_.name;
  facts.leader_rev = rev;
  facts.synchronous_mode = config_.ha.synchronous_mode;
  facts.sync = sync_.value_or(SyncState{});
  facts.members = members_;
  if (!leader_name_.empty() && members_.count(leader_name_)) {
    facts.last_leader_lsn = members_.at(leader_name_).write_lsn;
  }
  facts.maximum_lag_on_failover = config_.ha.maximum_lag_on_failover;
  auto decision = forced ? RaceDecision{RaceVerdict::Take, "forced failover by an operator"}
                         : decideRace(facts);
  if (decision.verdict != RaceVerdict::Take) {
    if (decision.reason != last_wait_reason_) {
      log_->info("not taking over: {}", decision.reason);
      last_wait_reason_ = decision.reason;
    }
    co_return;
  }
  FailoverEvent event;
  event.kind = "failover";
  event.old_leader = leader_present_ ? leader_name_ : facts.sync.leader;
  event.new_leader = config_.name;
  event.reason = race_reason_;
  event.decision = decision.reason;
  event.detected_at_ms = race_detected_ms_;
  event.decided_at_ms = wallMillis();
  SyncState start_sync{config_.name, {}, 0};
  if (config_.ha.synchronous_mode && config_.ha.synchronous_mode_strict) {
    start_sync =
        desiredSync(config_.name, {}, otherMembers(), config_.ha.synchronous_node_count, true);
  }
  auto took = takeLeadership(rev, start_sync);
  if (!co_await std::move(took)) {
    co_return;
  }
  co_await promoteSelf(std::move(event));
}

asio::awaitable<void> Manager::rejoin(const std::string& leader) {
  auto up = upstreamOf(leader);
  if (!up) {
    co_return;
  }
  bool reinit_requested = reinit_requested_;
  reinit_requested_ = false;
  int failures = rejoin_failures_;
  bool may_have_diverged = may_have_diverged_;
  struct Rejoined {
    std::string how;
    bool detached = false;  // started without an upstream, to be compared first
    std::string steps;      // "stop 80 ms, rewind 2100 ms, start 700 ms"
  };
  auto rejoin_steps = [this, up, reinit_requested, failures,
                       may_have_diverged]() -> Result<Rejoined> {
    // How long each step took goes into the log line: the rejoin's time is mostly here.
    std::string steps;
    auto timed = [&steps](const char* step, auto&& action) {
      auto began = now();
      auto result = action();
      steps +=
          fmt::format("{}{} {:.0f} ms", steps.empty() ? "" : ", ", step, toMillis(now() - began));
      return result;
    };
    if (pg_.alive()) {
      (void)timed("stop", [&] { return pg_.stop(std::chrono::seconds(30)); });
    }
    RejoinFacts facts;
    facts.reinit_requested = reinit_requested;
    facts.failures = failures;
    facts.may_have_diverged = may_have_diverged;
    facts.has_data = pg_.hasData();
    if (facts.has_data) {
      if (auto state = pg_.controlState()) {
        facts.control_state = *state;
      }
    }
    std::string how = "started";
    switch (planRejoin(facts)) {  // rejoin.h
      case RejoinPlan::Clone:
        if (auto c = timed("clone", [&] { return pg_.cloneFrom(*up, kCloneTimeout); }); !c) {
          return fail(c.error());
        }
        how = "cloned";
        break;
      case RejoinPlan::DetachedStart: {
        // A former primary. Its WAL often ends exactly where the new timeline forked
        // (synchronous replication), and then it can simply follow: start it as a detached
        // standby (crash recovery in standby mode writes no WAL), and the next round compares
        // its position with the leader's history (divergedFrom), rewinding only if needed.
        auto s = timed("detached start",
                       [&] { return pg_.start(true, std::nullopt, "", kStartTimeout); });
        if (!s) {
          return fail(s.error());
        }
        return Rejoined{"started detached", true, steps};
      }
      case RejoinPlan::Rewind: {
        auto w = timed("rewind", [&] { return pg_.rewindFrom(*up, kCloneTimeout); });
        if (!w) {
          log::get("pg")->warn("{}; cloning instead", w.error().message);
          if (auto c = timed("clone", [&] { return pg_.cloneFrom(*up, kCloneTimeout); }); !c) {
            return fail(c.error());
          }
          how = "cloned after a failed rewind";
        } else {
          how = *w ? "rewound" : "no rewind required";
        }
        break;
      }
      case RejoinPlan::Start:
        break;
    }
    if (auto s = timed("start", [&] { return pg_.start(true, up, "", kStartTimeout); }); !s) {
      return fail(s.error());
    }
    return Rejoined{how, false, steps};
  };
  auto r = co_await offload(std::move(rejoin_steps));
  if (!r) {
    log_->warn("rejoining {} failed: {}", leader, r.error().message);
    ++rejoin_failures_;
    co_return;
  }
  if (r->detached) {
    log_->info("former primary started as a detached standby, to compare its WAL with {}'s ({})",
               leader, r->steps);
    configured_upstream_ = "";
    may_have_diverged_ = true;
    co_return;
  }
  configured_upstream_ = leader;
  not_streaming_since_ = now();
  may_have_diverged_ = false;
  released_after_crash_at_.reset();
  log_->info("rejoined as a replica of {} ({}: {})", leader, r->how, r->steps);
}

// ---------------------------------------------------------------------------------------------
// REST view and actions

MemberView Manager::view() const {
  MemberView v;
  v.self = published_;
  bool server_up = pg_.pid() != 0 && local_.running && local_.reachable;
  v.running = server_up;
  v.writable_leader =
      leading_ && !demoting_ && server_up && !local_.in_recovery && !fencing_.expired(now());
  // Handing over: still writable for the open sessions, but new clients should go to the target
  // (they would be refused here within ~100 ms anyway).
  v.draining = v.writable_leader && handing_over_;
  // On its way to primary: the leader key is ours while the server is still a standby (a
  // handover, or a race won), or a switchover names this member. Only a hint for the write VIP
  // to connect clients early: their statements still wait for writable_leader.
  bool key_ours = leader_present_ && leader_name_ == config_.name;
  bool named = switchover_ && switchover_->to == config_.name;
  v.promoting = server_up && local_.in_recovery && !settings_.paused && (key_ours || named);
  // A former primary that has not been compared with the new leader's history may hold a commit
  // the cluster never acknowledged (and will rewind away): no reads from it until then.
  v.replica = server_up && local_.in_recovery && !may_have_diverged_;
  v.leader_lsn = leaderLsn();
  v.since_loop = now() - loop_done_at_;
  return v;
}

Lsn Manager::leaderLsn() const {
  auto it = leader_name_.empty() ? members_.end() : members_.find(leader_name_);
  return it == members_.end() ? 0 : it->second.write_lsn;
}

std::string Manager::clusterJson() const {
  Lsn leader_lsn = leaderLsn();
  auto members = nlohmann::json::array();
  for (const auto& [name, m] : members_) {
    auto j = nlohmann::json::parse(encode(m));
    Lsn own = std::max(m.receive_lsn, m.replay_lsn);
    j["lag"] = m.role == "replica" && leader_lsn > own ? static_cast<int64_t>(leader_lsn - own) : 0;
    j["leader"] = leader_present_ && name == leader_name_;
    j["sync"] = sync_ && std::count(sync_->members.begin(), sync_->members.end(), name) > 0;
    members.push_back(j);
  }
  nlohmann::json cluster = {{"cluster", config_.cluster},
                            {"leader", leader_present_ ? leader_name_ : ""},
                            {"paused", settings_.paused},
                            {"members", members}};
  if (sync_) {
    cluster["sync"] = nlohmann::json::parse(encode(*sync_));
  }
  return cluster.dump();
}

std::string Manager::historyJson() const {
  auto history = nlohmann::json::array();
  for (const auto& e : history_) {
    history.push_back(nlohmann::json::parse(encode(e)));
  }
  return history.dump();
}

RestActions Manager::restActions() {
  std::weak_ptr<Manager> weak = shared_from_this();
  RestActions a;
  a.view = [weak] {
    auto self = weak.lock();
    return self ? self->view() : MemberView{};
  };
  a.cluster_json = [weak] {
    auto self = weak.lock();
    return self ? self->clusterJson() : std::string("{}");
  };
  a.history_json = [weak] {
    auto self = weak.lock();
    return self ? self->historyJson() : std::string("[]");
  };
  a.failsafe = [weak](const std::string& leader, const std::string& proof,
                      const std::string& peer_name) {
    auto self = weak.lock();
    if (!self) {
      return VouchDecision{VouchVerdict::NotTheLeader, "shutting down"};
    }
    return self->vouch(leader, proof, peer_name);
  };
  a.switchover = [weak](std::string to, bool force, TimePoint deadline) {
    return writeSwitchoverRequest(weak, std::move(to), force, deadline);
  };
  a.pause = [weak](bool paused, TimePoint deadline) {
    return writeSettings(weak, paused, deadline);
  };
  a.restart = [weak]() -> Result<void> {
    auto self = weak.lock();
    if (!self) {
      return fail(ErrorCode::Unavailable, "shutting down");
    }
    self->restart_requested_ = true;
    self->wake();
    return ok();
  };
  a.reinitialize = [weak]() -> Result<void> {
    auto self = weak.lock();
    if (!self) {
      return fail(ErrorCode::Unavailable, "shutting down");
    }
    if (self->leading_) {
      return fail(ErrorCode::FailedPrecondition, "the leader cannot be reinitialized");
    }
    self->reinit_requested_ = true;
    self->wake();
    return ok();
  };
  return a;
}

asio::awaitable<Result<Written>> Manager::writeSwitchoverRequest(std::weak_ptr<Manager> weak,
                                                                 std::string to, bool force,
                                                                 TimePoint deadline) {
  auto self = weak.lock();
  if (!self) {
    co_return fail(ErrorCode::Unavailable, "shutting down");
  }
  if (!to.empty() && !self->members_.count(to)) {
    co_return fail(ErrorCode::InvalidArgument, "no member named '", to, "'");
  }
  if (!force && !self->leader_present_) {
    co_return fail(ErrorCode::FailedPrecondition, "no leader: use failover --to");
  }
  if (!force && to == self->leader_name_) {
    co_return fail(ErrorCode::InvalidArgument, "'", to, "' is already the leader");
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    co_return fail(ErrorCode::DeadlineExceeded, "no time left to write the request");
  }
  std::string leader = force ? "" : self->leader_name_;
  Written written{self->keys_.switchover(), encode(SwitchoverRequest{leader, to, force, 0}), 0};
  store::TxnRequest txn;
  if (!force) {
    // A planned switchover names the leader it hands over from: if another member took the key
    // since this member saw it, the request would name the wrong one (and be ignored), so it is
    // refused (409) instead of written.
    txn.compare.push_back(
        store::Compare::valueIs(self->keys_.leader(), store::Compare::Op::Equal, leader));
  }
  txn.success.push_back(store::PutRequest{written.key, written.value});
  auto r = co_await self->store_.txn(std::move(txn));
  if (!r) {
    co_return fail(r.error().code, "switchover request not written: ", r.error().message);
  }
  if (!r->succeeded) {
    co_return fail(ErrorCode::FailedPrecondition, "the leader changed: '", leader,
                   "' no longer holds the leader key; nothing written");
  }
  written.revision = r->revision;
  co_return written;
}

asio::awaitable<Result<Written>> Manager::writeSettings(std::weak_ptr<Manager> weak, bool paused,
                                                        TimePoint deadline) {
  auto self = weak.lock();
  if (!self) {
    co_return fail(ErrorCode::Unavailable, "shutting down");
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    co_return fail(ErrorCode::DeadlineExceeded, "no time left to write the setting");
  }
  Written written{self->keys_.config(), encode(ClusterSettings{paused}), 0};
  store::PutRequest put{written.key, written.value};
  auto r = co_await self->store_.put(std::move(put));
  if (!r) {
    co_return fail(r.error().code, paused ? "pause" : "resume",
                   " not written: ", r.error().message);
  }
  written.revision = r->revision;
  co_return written;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

asio::awaitable<int> Manager::run() {
  auto prepare = [this] { return pg_.prepare(); };
  auto prepared = co_await offload(std::move(prepare));
  if (!prepared) {
    log_->error("{}", prepared.error().message);
    co_return 1;
  }
  log_->info("member {} of cluster {}: postgres {}, REST {}, etcd {}", config_.name,
             config_.cluster, config_.listen.toString(), config_.restAddress(), keys_.prefix);
  if (config_.token.empty()) {
    log_->warn(
        "no rest.token: the REST API refuses every mutation (switchover, restart, the "
        "failsafe vouch of the other members); set rest.token or rest.token_file");
  }
  spawn(&Manager::watchLoop);
  if (failsafeEnabled()) {
    spawn(&Manager::etcdProbeLoop);
  } else if (config_.ha.failsafe) {
    log_->warn(
        "ha.failsafe is on but rest.member_token is not set: failsafe is off (a leader that "
        "cannot reach etcd fences itself even when every member reaches it)");
  }
  spawn(&Manager::watchdogLoop);
  spawn(&Manager::postmasterLoop);
  spawn(&Manager::haLoop);
  daemon_.setReady(true);
  while (!stopping_) {
    co_await sleep(200ms);
  }
  co_return 0;
}

asio::awaitable<void> Manager::shutdown() {
  log_->info("shutting down");
  stopping_ = true;
  bool was_leader = leading_;
  leading_ = false;
  is_leader_->Set(0);
  wake();
  auto stop_server = [this] { return pg_.stop(std::chrono::seconds(30)); };
  co_await offload(std::move(stop_server));
  if (was_leader) {
    std::string why = "shutting down";
    co_await release(why);
  }
  store::DeleteRequest del{keys_.member(config_.name)};
  co_await store_.deleteRange(std::move(del));
  if (member_lease_) {
    member_lease_->stop();
  }
}

int runMember(runtime::Daemon& daemon, MemberConfig config) {
  auto manager = std::make_shared<Manager>(daemon, config);
  auto rest = daemon.startAdmin(config.rest, config.restServerTls());
  if (!rest) {
    log::get("pg")->error("REST API on {}: {}", config.rest.toString(), rest.error().message);
    return 1;
  }
  // An etcd write gets the store's whole budget (request_timeout, and as much again should it
  // have to authenticate first) before the REST call gives up with 504.
  Duration mutation_timeout = config.etcd_request_timeout * 2 + std::chrono::seconds(1);
  addRestRoutes(daemon.admin(), config.token, config.ha.maximum_lag_on_failover,
                config.ha.leader_timeout * 2, manager->restActions(), mutation_timeout);
  daemon.onShutdown([manager] { return manager->shutdown(); });
  return daemon.run([manager] { return manager->run(); });
}

}  // namespace rampart::pg
