#include "failover/engine.h"

// g++ 12 reports asio's coroutine frames as mismatched new/delete: a false positive, GCC PR
// 109224 and asio issue 1391 (as in pg/manager.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "failover/leader_key.h"
#include "failover/switchover.h"
#include "net/endpoint.h"

namespace rampart::failover {
namespace asio = boost::asio;

std::string encodeMember(const MemberRecord& m) {
  auto j = nlohmann::json{{"host", m.address.host}, {"port", m.address.port},
                          {"role", m.role},         {"position", m.position},
                          {"race_rev", m.race_rev}, {"race_position", m.race_position}};
  if (!m.api.empty()) {
    j["api"] = m.api;
  }
  return j.dump();
}

namespace {

// An IP address or a host name: what a host read from the store may be before it is used.
bool isHostName(const std::string& host) {
  bool ok = !host.empty() && host.size() <= 253;
  for (char c : host) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
                c == '_');
  }
  return ok;
}

}  // namespace

Result<MemberRecord> decodeMember(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return fail(ErrorCode::InvalidArgument, "member status is not a JSON object");
  }
  // Read from etcd, which others write: every field is checked, never converted with a wrap
  // (nlohmann's get<uint16_t>() of 70000 is 4464, of -1 a huge position that would win races).
  auto unsigned_field = [&](const char* key, uint64_t max) -> std::optional<uint64_t> {
    auto it = j.find(key);
    if (it == j.end() || !(it->is_number_unsigned() || (it->is_number_integer() && *it >= 0))) {
      return std::nullopt;
    }
    auto v = it->get<uint64_t>();
    return v <= max ? std::optional<uint64_t>(v) : std::nullopt;
  };
  auto string_field = [&](const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? std::optional<std::string>(it->get<std::string>())
                                            : std::nullopt;
  };
  auto host = string_field("host");
  auto role = string_field("role");
  auto port = unsigned_field("port", 65535);
  auto position = unsigned_field("position", UINT64_MAX);
  auto race_position = unsigned_field("race_position", UINT64_MAX);
  auto race_rev = j.find("race_rev");
  if (!host || !role || !port || !position || !race_position || race_rev == j.end() ||
      !race_rev->is_number_integer() || race_rev->get<int64_t>() < -1) {
    return fail(ErrorCode::InvalidArgument,
                "member status: host, port (0-65535), role, position, race_rev (>= -1) and "
                "race_position must all be present with their types");
  }
  if (*role != "primary" && *role != "replica" && *role != "stopped") {
    return fail(ErrorCode::InvalidArgument, "member status: unknown role");
  }
  if (!isHostName(*host)) {
    return fail(ErrorCode::InvalidArgument, "member status: host is no address or host name");
  }
  // The failsafe sends its vouch request there (peers.h): an endpoint whose host is an address
  // or a host name, nothing else. One that is not counts as none: the member stays in the view
  // (a failsafe round then fails for want of its vouch) rather than dropping out of it.
  std::string api;
  if (auto it = j.find("api"); it != j.end() && it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    if (auto endpoint = net::parseEndpoint(text);
        text.size() <= 300 && endpoint && isHostName(endpoint->host)) {
      api = text;
    }
  }
  MemberRecord m;
  m.api = std::move(api);
  m.address.host = *host;
  m.address.port = static_cast<uint16_t>(*port);
  m.role = *role;
  m.position = *position;
  m.race_rev = race_rev->get<int64_t>();
  m.race_position = *race_position;
  return m;
}

CandidateDecision decideCandidate(const CandidateFacts& f) {
  auto mine = f.members.find(f.me);
  if (mine == f.members.end() || mine->second.race_rev != f.race_rev) {
    return {false, "own final position not published yet"};
  }
  for (const auto& [name, m] : f.members) {
    // Only running replicas can hold writes the candidate might lack and still answer: the
    // old leader, a stopped member or a primary (the old one, gone) is not waited for.
    if (name == f.me || name == f.old_leader || m.role != "replica") {
      continue;
    }
    if (m.race_rev != f.race_rev) {
      return {false, "no final position from " + name + " yet"};
    }
    const auto& me = mine->second;
    if (m.race_position > me.race_position ||
        (m.race_position == me.race_position && name < f.me)) {
      return {false, name + " is ahead"};
    }
  }
  return {true, "the most advanced of every member heard"};
}

Engine::Engine(store::Store& store, const Clock& clock, Database& database, EngineConfig config)
    : store_(store),
      clock_(clock),
      db_(database),
      config_(std::move(config)),
      fencing_({config_.leader_timeout, config_.fence_margin, config_.heartbeat_interval}) {}

bool Engine::writable() const {
  return leading_ && server_.running && !server_.replica && !fencing_.expired(clock_.now());
}

asio::awaitable<bool> Engine::refreshView() {
  // Every operand of co_await a local: g++ 12 destroys temporaries there twice (STYLE.md).
  auto sent_at = clock_.now();
  auto list = store::RangeRequest::prefix(config_.prefix + "/");
  auto listed = co_await store_.range(std::move(list));
  if (!listed) {
    co_return false;
  }
  store_reached_at_ = std::max(store_reached_at_, sent_at);
  auto now = clock_.now();
  bool present = false;
  initialized_ = false;
  members_.clear();
  switchover_.reset();
  switchover_rev_ = 0;
  settings_ = GroupSettings{};
  history_.clear();
  const auto members_prefix = key("/members/");
  for (const auto& kv : listed->kvs) {
    if (kv.key == key("/leader")) {
      present = true;
      if (!leader_present_ || kv.mod_revision != leader_rev_) {
        leader_seen_at_ = now;  // followers count leader_timeout from here (fencing.h)
      }
      if (leader_present_ && kv.value != leader_name_) {
        failsafe_until_ = {};  // a vouch binds only for the leader it was for
      }
      leader_name_ = kv.value;
      previous_leader_ = kv.value;
      leader_rev_ = kv.mod_revision;
    } else if (kv.key == key("/initialize")) {
      initialized_ = true;
    } else if (kv.key == key("/switchover")) {
      if (kv.mod_revision != seen_switchover_rev_) {
        seen_switchover_rev_ = kv.mod_revision;
        switchover_seen_at_ = now;
      }
      switchover_rev_ = kv.mod_revision;  // also when malformed: the leader deletes it by this
      if (auto r = decodeSwitchover(kv.value)) {
        switchover_ = *r;
      } else {
        log::get("failover")->warn("ignoring the switchover request: {}", r.error().message);
      }
    } else if (kv.key == key("/history")) {
      if (auto h = decodeHistory(kv.value)) {
        history_ = std::move(*h);
      }
    } else if (kv.key == key("/config")) {
      if (auto r = decodeSettings(kv.value)) {
        settings_ = *r;
      } else {
        log::get("failover")->warn("ignoring {}: {}", kv.key, r.error().message);
      }
    } else if (kv.key.rfind(members_prefix, 0) == 0) {
      if (auto m = decodeMember(kv.value)) {
        members_[kv.key.substr(members_prefix.size())] = *m;
      }
    }
  }
  if (!present && (leader_present_ || !view_ready_)) {
    leader_seen_at_ = now;
  }
  if (!present) {
    leader_name_.clear();
    leader_rev_ = 0;
    failsafe_until_ = {};  // released: the leader a vouch was for leads no more
  }
  leader_present_ = present;
  view_ready_ = true;
  co_return true;
}

asio::awaitable<void> Engine::publish() {
  MemberRecord m;
  m.address = config_.address;
  m.role = !server_.running ? "stopped" : server_.replica ? "replica" : "primary";
  m.position = server_.position;
  m.race_rev = race_rev_;
  m.race_position = race_position_;
  m.api = config_.api;
  if (lease_ != 0) {
    auto renewed = co_await store_.leaseKeepAliveOnce(lease_);
    if (!renewed) {
      lease_ = 0;
    }
  }
  if (lease_ == 0) {
    auto granted = co_await store_.leaseGrant(kMemberTtl);
    if (!granted) {
      co_return;
    }
    lease_ = granted->id;
  }
  store::PutRequest request{key("/members/" + config_.name), encodeMember(m), lease_};
  auto put = co_await store_.put(std::move(request));
  if (put) {
    members_[config_.name] = m;
  }
}

TickFacts Engine::facts() const {
  auto now = clock_.now();
  TickFacts f;
  f.me = config_.name;
  f.view_ready = view_ready_;
  f.initialized = initialized_;
  // Paused means no automatic failover. A failover an operator forces to this member is not
  // one, and neither is following a leader that heartbeats (after an operator's switchover or
  // failover the other members must follow the new master: it needs a replica to take writes).
  bool forced_to_me = switchover_ && switchover_->force && switchover_->to == config_.name;
  bool live_leader_elsewhere = !leading_ && leader_present_ && leader_name_ != config_.name &&
                               now - leader_seen_at_ <= config_.leader_timeout;
  f.paused = settings_.paused && !forced_to_me && !live_leader_elsewhere;
  if (switchover_) {
    f.switchover = switchover_->facts();
  }
  f.leader_present = leader_present_;
  f.leader_name = leader_name_;
  f.leader_stale = now - leader_seen_at_ > config_.leader_timeout;
  f.leading = leading_;
  f.replicas_can_take_over = std::any_of(members_.begin(), members_.end(), [&](const auto& m) {
    return m.first != config_.name && m.second.role == "replica";
  });
  f.server_running = server_.running;
  f.server_reachable = server_.reachable;
  f.server_replica = server_.replica;
  f.has_data = server_.has_data;
  f.following_leader = following_ == leader_name_;
  f.may_have_diverged = may_have_diverged_;
  f.replicating_from_leader = server_.replicating;
  f.not_replicating_for = now - not_replicating_since_;
  f.leader_serving = leaderServing();
  f.last_leader = released_after_crash_at_.has_value();
  f.failsafe_promised = now < failsafe_until_;
  if (released_after_crash_at_) {
    f.since_released_after_crash = now - *released_after_crash_at_;
  }
  f.race_detached = race_rev_ == (leader_present_ ? leader_rev_ : 0);
  return f;
}

asio::awaitable<TickDecision> Engine::tick() {
  if (!co_await refreshView()) {
    // Still observed: a leader serving on the failsafe through a store outage must not go on
    // saying writable (REST /primary, which the VIP follows) for a server that died meanwhile.
    server_ = db_.observe();
    co_return TickDecision{TickAction::Wait, "the store is unreachable", false, false};
  }
  server_ = db_.observe();
  co_await publish();
  auto decision = decideTick(facts());
  if (decision.race_over) {
    race_rev_ = -1;
  }
  co_await act(decision);  // a copy: act's parameter is by value
  co_return decision;
}

asio::awaitable<void> Engine::act(TickDecision decision) {
  auto log = log::get("failover");
  switch (decision.action) {
    case TickAction::Wait:
      break;
    case TickAction::Lead:
    case TickAction::Switchover: {
      if (switchover_rev_ != 0 && decision.action == TickAction::Lead) {
        // A leader acts only on a request that is its own (switchoverIsMine); any other is
        // done (handed over, or a forced failover that ended), was asked of another leader,
        // or is malformed.
        co_await dropSwitchover(switchover_ ? "dropped: not this leader's to carry out"
                                            : "dropped: malformed");
      }
      std::vector<std::string> others;
      for (const auto& [name, m] : members_) {
        if (name != config_.name) {
          others.push_back(name);
        }
      }
      if (others != served_) {
        if (auto r = db_.serveReplicas(others); r) {
          served_ = std::move(others);
        } else {
          log->warn("{}", r.error().message);
        }
      }
      if (decision.action == TickAction::Switchover) {
        co_await switchover();
      }
      break;
    }
    case TickAction::Bootstrap: {
      store::TxnRequest txn;
      txn.compare.push_back(
          store::Compare::createRevision(key("/initialize"), store::Compare::Op::Equal, 0));
      txn.success.push_back(store::PutRequest{key("/initialize"), config_.name});
      auto won = co_await store_.txn(std::move(txn));
      if (!won || !won->succeeded) {
        break;  // another member bootstraps; this one follows it once it leads
      }
      if (auto made = db_.bootstrap(); !made) {
        log->error("bootstrap failed: {}", made.error().message);
        store::DeleteRequest undo{key("/initialize")};
        co_await store_.deleteRange(std::move(undo));
        break;
      }
      initialized_ = true;
      co_await takeKey(0);
      break;
    }
    case TickAction::RestartAsPrimary:
    case TickAction::RestartInPlace:
      (void)db_.stop();
      if (auto r = db_.startPrimary(); !r) {
        log->error("restart in place failed: {}", r.error().message);
      }
      break;
    case TickAction::ReleaseAfterCrash:
      released_after_crash_at_ = clock_.now();
      may_have_diverged_ = true;  // its last writes may not have reached any replica
      co_await release();
      break;
    case TickAction::PromoteHeld:
      co_await promoteHeld();
      break;
    case TickAction::Adopt: {
      auto txn = adoptKeyTxn(key("/leader"), config_.name, leader_rev_);
      auto sent_at = clock_.now();
      auto r = co_await store_.txn(std::move(txn));
      if (r && r->succeeded) {
        becomeLeader(r->revision, sent_at);
        // A handover to this member: promote now rather than at the next tick, since the old
        // leader is held and nobody takes writes until this server does (switchover.h).
        if (switchover_ && switchover_->handed_over && switchover_->to == config_.name &&
            server_.reachable && server_.replica) {
          co_await promoteHeld();
        }
      }
      break;
    }
    case TickAction::Fence:
      fence(decision.reason);
      break;
    case TickAction::Rejoin:
    case TickAction::CheckDivergence: {
      auto up = addressOf(leader_name_);
      if (!up) {
        break;
      }
      if (auto r = db_.rejoin(*up, may_have_diverged_); !r) {
        log->warn("rejoining {} failed: {}", leader_name_, r.error().message);
        break;
      }
      following_ = leader_name_;
      may_have_diverged_ = false;
      released_after_crash_at_.reset();
      not_replicating_since_ = clock_.now();
      break;
    }
    case TickAction::RestartAsReplica:
      (void)db_.stop();
      (void)db_.startReplica(addressOf(leader_name_));
      break;
    case TickAction::Follow: {
      if (handed_to_ == leader_name_ && !leaderServing()) {
        // This member handed its key over: it follows the target once that one is a primary,
        // not while the target still replicates from it (a loop of two replicas).
        break;
      }
      handed_to_.clear();
      auto up = addressOf(leader_name_);
      if (up && db_.follow(up)) {
        following_ = leader_name_;
        not_replicating_since_ = clock_.now();
      }
      break;
    }
    case TickAction::KeepFollowing:
      not_replicating_since_ = clock_.now();
      break;
    case TickAction::RestartRejoin:
      (void)db_.stop();
      not_replicating_since_ = clock_.now();
      break;
    case TickAction::StartForRace:
      if (auto r = db_.startReplica(std::nullopt); !r) {
        log->warn("start for the race failed: {}", r.error().message);
      }
      break;
    case TickAction::Race:
      if (forcedElsewhere()) {
        break;  // failover --to another member: that member alone takes the key
      }
      co_await race();
      break;
  }
}

asio::awaitable<bool> Engine::promoteOrGiveUp() {
  // A member stalled between taking the key and promoting may have lost the key meanwhile:
  // writable only before its fencing deadline (fencing.h), checked again after the call.
  if (fencing_.expired(clock_.now())) {
    fence("the fencing deadline passed before the promotion");
    co_return false;
  }
  if (auto p = db_.promote(); !p) {
    log::get("failover")->error("promotion failed: {}", p.error().message);
    co_await release();
    fence("promotion failed");
    co_return false;
  }
  if (fencing_.expired(clock_.now())) {
    fence("the fencing deadline passed during the promotion");
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Engine::promoteHeld() {
  if (!co_await promoteOrGiveUp()) {
    co_return;
  }
  following_ = "";
  may_have_diverged_ = false;
  released_after_crash_at_.reset();
  race_rev_ = -1;
  server_.replica = false;
  if (switchover_ && switchover_->to == config_.name) {
    // Published now, not at the next tick: the old leader follows this member only once its
    // status says primary (act, Follow), and the new master counts it among its replicas.
    co_await publish();
    auto request = *switchover_;
    co_await dropSwitchover("done: " + config_.name + " is writable");
    FailoverEvent e;
    e.kind = request.force ? "failover" : "switchover";
    e.old_leader = request.from;
    e.new_leader = config_.name;
    e.reason = request.force ? "failover requested" : "switchover requested";
    e.decision = request.handed_over ? "handed over at position " + std::to_string(request.position)
                                     : "named by the operator";
    e.detected_at_ms = wallMsAt(leader_seen_at_);
    e.decided_at_ms = e.detected_at_ms;
    e.promoted_at_ms = wallMs();
    co_await recordEvent(std::move(e));
  }
}

int64_t Engine::wallMs() const {
  if (config_.wall_ms) {
    return config_.wall_ms();
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Engine::wallMsAt(TimePoint t) const {
  return wallMs() - static_cast<int64_t>(toMillis(clock_.now() - t));
}

asio::awaitable<void> Engine::recordEvent(FailoverEvent event) {
  store::TxnRequest txn;
  txn.compare.push_back(
      store::Compare::valueIs(key("/leader"), store::Compare::Op::Equal, config_.name));
  txn.success.push_back(store::PutRequest{key("/history"), appendEvent(history_, event)});
  auto r = co_await store_.txn(std::move(txn));
  if (r && r->succeeded) {
    history_.push_back(std::move(event));
  } else {
    log::get("failover")->warn("the failover history was not written{}",
                               r ? std::string(" (not leading)") : ": " + r.error().message);
  }
}

std::string Engine::historyJson() const { return encodeHistory(history_); }

asio::awaitable<void> Engine::switchover() {
  auto log = log::get("failover");
  auto request = *switchover_;
  auto choice = chooseTarget(config_.name, request, members_);
  if (choice.target.empty()) {
    co_await dropSwitchover("abandoned: " + choice.reason);
    co_return;
  }
  auto up = addressOf(choice.target);
  if (!up) {
    co_await dropSwitchover("abandoned: " + choice.target + " publishes no address");
    co_return;
  }
  auto held = db_.holdWrites();
  if (!held) {
    (void)db_.resumeWrites();
    co_await dropSwitchover("abandoned: holding writes failed: " + held.error().message);
    co_return;
  }
  // The wait must end before the fencing deadline with room for the handover's write; a leader
  // whose deadline passes while held fences (its writes stay refused) rather than resuming.
  auto budget = fencing_.remaining(clock_.now()) - kHandoverWriteReserve;
  budget = std::min(budget, config_.switchover_timeout);
  auto caught_up = budget > Duration::zero()
                       ? db_.awaitReplica(*up, *held, budget)
                       : Result<void>(fail(ErrorCode::DeadlineExceeded, "no time left to wait"));
  Result<Position> sealed = caught_up ? db_.sealWrites() : Result<Position>(*held);
  if (fencing_.expired(clock_.now())) {
    fence("the fencing deadline passed during a switchover");
    co_return;
  }
  std::string abandon;
  if (!caught_up) {
    abandon = choice.target + " did not catch up: " + caught_up.error().message;
  } else if (!sealed) {
    abandon = "sealing writes failed: " + sealed.error().message;
  } else if (*sealed != *held) {
    abandon = "the position moved while held (" + std::to_string(*held) + " -> " +
              std::to_string(*sealed) + ")";
  }
  if (!abandon.empty()) {
    (void)db_.resumeWrites();
    co_await dropSwitchover("abandoned: " + abandon);
    co_return;
  }
  SwitchoverRecord handed = request;
  handed.from = config_.name;  // who handed over (the request may have named no leader)
  handed.to = choice.target;
  handed.handed_over = true;
  handed.position = *held;
  auto txn = handoverTxn(key("/leader"), key("/switchover"), config_.name, switchover_rev_,
                         handed);
  handing_over_ = true;  // no heartbeat meanwhile: it would renew a key being given away
  auto r = co_await store_.txn(std::move(txn));
  handing_over_ = false;
  if (!r || !r->succeeded) {
    // Unknown outcome, or the key or the request changed: the key may name another member now.
    // Fenced, the server takes no write; the next tick adopts the key again if it is still ours.
    fence(r ? "the leader key or the request changed during the handover"
            : "the handover's outcome is unknown: " + r.error().message);
    co_return;
  }
  leading_ = false;
  leader_name_ = choice.target;
  previous_leader_ = choice.target;
  leader_rev_ = r->revision;
  leader_seen_at_ = clock_.now();
  following_ = "";  // held and fenced, following no one: a later tick follows the target
  handed_to_ = choice.target;
  may_have_diverged_ = false;  // the target has everything it wrote (position P)
  switchover_ = handed;
  log->info("handed the leader key over to {} ({}) at position {}", choice.target, choice.reason,
            *held);
}

asio::awaitable<void> Engine::dropSwitchover(const std::string& why) {
  log::get("failover")->info("switchover request {}", why);
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare::modRevision(key("/switchover"),
                                                    store::Compare::Op::Equal, switchover_rev_));
  txn.success.push_back(store::DeleteRequest{key("/switchover")});
  auto r = co_await store_.txn(std::move(txn));
  if (r && r->succeeded) {
    switchover_.reset();
  }
}

asio::awaitable<void> Engine::race() {
  int64_t rev = leader_present_ ? leader_rev_ : 0;
  if (race_rev_ != rev) {
    // Detach first, then publish the final position (engine.h).
    auto final_position = db_.follow(std::nullopt);
    if (!final_position) {
      co_return;
    }
    following_ = "";
    race_rev_ = rev;
    race_position_ = *final_position;
    co_await publish();
  }
  // Seen before the key changes hands: what the history records of this race.
  std::string old_leader = previous_leader_;
  std::string why_gone = leader_present_ ? "no heartbeat from " + leader_name_
                                         : std::string("leader key released");
  auto detected_at = leader_present_ ? leader_seen_at_ + config_.leader_timeout : leader_seen_at_;
  CandidateFacts f{config_.name, leader_name_, rev, members_, previous_leader_};
  bool forced = switchover_ && switchover_->force && switchover_->to == config_.name;
  auto decision = forced ? CandidateDecision{true, "failover to this member requested"}
                  : config_.candidate_rule ? config_.candidate_rule(f)
                                           : decideCandidate(f);
  if (!decision.take) {
    co_return;
  }
  if (!co_await takeKey(rev)) {
    co_return;
  }
  auto decided_at = clock_.now();
  if (!co_await promoteOrGiveUp()) {
    co_return;
  }
  following_ = "";
  race_rev_ = -1;
  server_.replica = false;
  if (forced) {
    co_await dropSwitchover("done: forced failover to " + config_.name);
  }
  FailoverEvent e;
  e.kind = "failover";
  e.old_leader = old_leader;
  e.new_leader = config_.name;
  e.reason = why_gone;
  e.decision = decision.reason;
  e.detected_at_ms = wallMsAt(detected_at);
  e.decided_at_ms = wallMsAt(decided_at);
  e.promoted_at_ms = wallMs();
  co_await recordEvent(std::move(e));
}

asio::awaitable<bool> Engine::takeKey(int64_t seen_rev) {
  auto txn = takeKeyTxn(key("/leader"), config_.name, seen_rev);
  auto sent_at = clock_.now();
  auto r = co_await store_.txn(std::move(txn));
  if (!r || !r->succeeded) {
    co_return false;
  }
  becomeLeader(r->revision, sent_at);
  co_return true;
}

asio::awaitable<void> Engine::release() {
  leading_ = false;
  auto txn = releaseKeyTxn(key("/leader"), config_.name);
  co_await store_.txn(std::move(txn));
}

void Engine::becomeLeader(int64_t rev, TimePoint sent_at) {
  leading_ = true;
  ++term_;
  on_failsafe_ = false;
  served_.reset();  // a new term: the database may have been rewound or cloned since
  my_rev_ = rev;
  leader_present_ = true;
  leader_name_ = config_.name;
  previous_leader_ = config_.name;
  leader_rev_ = rev;
  fencing_.startTerm(sent_at, clock_.now());
}

asio::awaitable<void> Engine::heartbeat() {
  if (!leading_ || handing_over_) {
    co_return;
  }
  auto sent_at = clock_.now();
  auto txn = heartbeatTxn(key("/leader"), config_.name, my_rev_);
  auto r = co_await store_.txn(std::move(txn));
  if (!leading_ || !r) {
    co_return;  // unreachable: the deadline decides (checkDeadline)
  }
  auto outcome = interpretHeartbeat(*r, config_.name);
  switch (outcome.kind) {
    case HeartbeatOutcome::Kind::Renewed:
      my_rev_ = outcome.revision;
      fencing_.onHeartbeatAcked(sent_at);
      if (on_failsafe_) {
        on_failsafe_ = false;
        log::get("failover")->info("the store acknowledges heartbeats again: failsafe over");
      }
      break;
    case HeartbeatOutcome::Kind::StillOurs:
      my_rev_ = outcome.revision;  // the old deadline stays (leader_key.h)
      break;
    case HeartbeatOutcome::Kind::TakenOver:
      fence("the leader key was taken over (now " +
            (outcome.holder.empty() ? std::string("gone") : outcome.holder) + ")");
      break;
  }
}

asio::awaitable<void> Engine::resign() {
  if (!leading_) {
    co_return;
  }
  db_.fence();  // before the key goes: a replica may be promoted the moment it does
  may_have_diverged_ = true;
  co_await release();
  log::get("failover")->info("resigned the leader key");
}

asio::awaitable<void> Engine::failsafe() {
  if (config_.peers == nullptr) {
    co_return;
  }
  auto started = clock_.now();
  if (!leading_) {
    // What a vouch rests on (decideVouch): whether this member reaches the store itself. A
    // linearizable read needs etcd's quorum, as the leader's heartbeat does; a serializable
    // one would be answered by an etcd member cut off from the others.
    auto probe = store::RangeRequest::single(key("/leader"));
    probe.count_only = true;
    auto answered = co_await store_.range(std::move(probe));
    if (answered) {
      store_reached_at_ = std::max(store_reached_at_, started);
    }
    co_return;
  }
  if (handing_over_ || !fencing_.failsafeDue(started)) {
    co_return;
  }
  const auto term = term_;
  auto vouched = co_await failsafeRound(fencing_.failsafeRoundDeadline(started));
  if (!leading_ || term != term_) {
    co_return;
  }
  auto log = log::get("failover");
  if (vouched) {
    // Every member in the view answered after `started` and sits out any race for
    // leader_timeout from its answer, so fencing at started + leader_timeout - fence_margin
    // comes before any of them may race (fencing.h).
    fencing_.onVouched(started);
    if (!on_failsafe_) {
      log->warn("the store does not acknowledge heartbeats: every member vouched, still "
                "leading (failsafe)");
    }
    on_failsafe_ = true;
    last_refusal_.clear();
  } else if (vouched.error().message != last_refusal_) {
    last_refusal_ = vouched.error().message;
    log->warn("the store does not acknowledge heartbeats and the failsafe failed: {}",
              last_refusal_);
  }
}

asio::awaitable<Result<void>> Engine::failsafeRound(TimePoint deadline) {
  std::vector<std::pair<std::string, std::string>> others;  // name, api
  for (const auto& [name, m] : members_) {
    if (name != config_.name) {
      others.emplace_back(name, m.api);
    }
  }
  if (others.empty()) {
    co_return fail(ErrorCode::Unavailable, "no other member is known");
  }
  if (config_.group_size > 0 && static_cast<int>(others.size()) + 1 < config_.group_size) {
    co_return fail(ErrorCode::Unavailable,
                   "only " + std::to_string(others.size() + 1) + " of the group's " +
                       std::to_string(config_.group_size) + " members are in the last view");
  }
  const auto term = term_;
  for (const auto& [name, api] : others) {
    if (!leading_ || term != term_) {
      // Fenced meanwhile: a vouch asked now would only keep that member out of the race.
      co_return fail(ErrorCode::FailedPrecondition, "no longer leading");
    }
    if (api.empty()) {
      co_return fail(ErrorCode::Unavailable, "member " + name + " publishes no REST address");
    }
    auto answer = co_await config_.peers->askVouch(name, api, deadline);
    if (!answer) {
      co_return fail(ErrorCode::Unavailable, "member " + name + ": " + answer.error().message);
    }
  }
  co_return ok();
}

VouchDecision Engine::vouch(VouchFacts request) {
  auto now = clock_.now();
  request.me = config_.name;
  request.leading = leading_;
  request.leader_present = leader_present_;
  request.leader_name = leader_name_;
  request.now = now;
  request.etcd_reached_at = store_reached_at_;
  request.etcd_silence_limit = config_.heartbeat_interval * 2;
  auto decision = decideVouch(request);
  auto log = log::get("failover");
  if (decision.verdict == VouchVerdict::Accept) {
    if (now >= failsafe_until_) {
      log->warn("vouched for {} (failsafe): {}; no race for {:.0f} ms", request.claimed_leader,
                decision.reason, toMillis(config_.leader_timeout));
    }
    failsafe_until_ = now + config_.leader_timeout;
  } else if (decision.verdict != last_vouch_verdict_) {
    log->warn("refused to vouch for {} (failsafe): {}", request.claimed_leader, decision.reason);
  }
  last_vouch_verdict_ = decision.verdict;
  return decision;
}

void Engine::checkDeadline() {
  if (leading_ && fencing_.expired(clock_.now())) {
    fence("no leader heartbeat acknowledged in time");
  }
}

void Engine::fence(const std::string& why) {
  if (leading_ || (server_.reachable && !server_.replica)) {
    may_have_diverged_ = true;
  }
  leading_ = false;
  db_.fence();
  ++fences_;
  following_ = "?";
  log::get("failover")->warn("FENCED: {}", why);
}

bool Engine::forcedElsewhere() const {
  if (!switchover_ || !switchover_->force || switchover_->to == config_.name) {
    return false;
  }
  // Binding only while the named member runs as a replica and for kForcedFailoverWait after
  // this member first saw the request: a target that cannot take the key (no data, a server
  // that does not start) must not stop every failover for good.
  auto it = members_.find(switchover_->to);
  return it != members_.end() && it->second.role == "replica" &&
         clock_.now() - switchover_seen_at_ < kForcedFailoverWait;
}

bool Engine::leaderAlive() const {
  return leading_ ||
         (leader_present_ && clock_.now() - leader_seen_at_ <= config_.leader_timeout);
}

bool Engine::leaderServing() const {
  auto it = members_.find(leader_name_);
  return it != members_.end() && it->second.role == "primary";
}

std::optional<Address> Engine::addressOf(const std::string& member) const {
  auto it = members_.find(member);
  if (it == members_.end() || it->second.address.port == 0) {
    return std::nullopt;
  }
  return it->second.address;
}

}  // namespace rampart::failover
