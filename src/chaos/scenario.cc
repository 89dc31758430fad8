#include "chaos/scenario.h"

#include <signal.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/check.h"
#include "base/log.h"
#include "chaos/datastore.h"
#include "chaos/partition.h"
#include "chaos/processes.h"
#include "chaos/rest.h"
#include "chaos/writer.h"
#include "runtime/process.h"

namespace rampart::chaos {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Ids: each run gets its own range (from the wall clock's seconds), each writer a slice of it, so
// rows left by earlier runs never collide and the final read only fetches this run's rows.
constexpr int64_t kRunSpan = 1'000'000'000;
constexpr int64_t kWriterSpan = 10'000'000;

// The faults `random` draws from; a PostgreSQL cluster's kill-server is named kill-postmaster.
const std::vector<std::string> kInjectable = {
    "kill-server", "kill-manager", "freeze", "switchover", "etcd-member", "etcd-all", "partition"};

bool isPostgres(const Cluster& c) { return c.kind == "rampart" || c.kind == "patroni"; }

std::string ms(Duration d) { return std::to_string(std::llround(toMillis(d))) + " ms"; }

Result<void> needField(const Cluster& c, const std::string& scenario, bool present,
                       const std::string& field) {
  if (present) {
    return ok();
  }
  return fail(ErrorCode::InvalidArgument, c.path.empty() ? "cluster" : c.path, ": ", field,
              ": required by scenario ", scenario);
}

// What the cluster file allows; `random` draws only from these.
std::vector<std::string> injectableKinds(const Cluster& c) {
  std::vector<std::string> out;
  const std::string kill_server = isPostgres(c) ? "kill-postmaster" : "kill-server";
  bool managers = std::all_of(c.members.begin(), c.members.end(), [](const Member& m) {
    return m.manager_pid > 0 && !m.start_command.empty();
  });
  for (const auto& kind : kInjectable) {
    if (kind == "kill-manager" && !managers) {
      continue;
    }
    if (kind == "switchover" && (c.switchover_command.empty() || c.members.size() < 2)) {
      continue;
    }
    if ((kind == "etcd-member" || kind == "etcd-all") && c.etcd.empty()) {
      continue;
    }
    if (kind == "partition" && !isolationSupported()) {
      continue;
    }
    out.push_back(kind == "kill-server" ? kill_server : kind);
  }
  return out;
}

class Run {
 public:
  Run(const Cluster& cluster, const ScenarioOptions& options)
      : cluster_(cluster),
        options_(options),
        datastore_(datastoreFor(cluster)),
        logger_(log::get("chaos")) {
    seed_ = options.seed ? *options.seed : std::random_device{}();
    rng_.seed(seed_);
  }
  ~Run() {
    stopWriters();
    joinWatchers();
  }

  Result<Report> execute();

 private:
  bool cancelled() const { return options_.cancel && options_.cancel->load(); }
  // Sleeps `d` in short steps; false if cancelled meanwhile.
  bool sleepFor(Duration d);
  void startWriters(int64_t base);
  void stopWriters();
  bool waitForAckSince(TimePoint since, Duration timeout);
  bool waitHealthy(Duration timeout, std::string* why);
  void inject(const std::string& kind, const std::string& primary, FaultRecord& record);
  void killServer(const Member& m, FaultRecord& record);
  void killManager(Member& m, FaultRecord& record);
  void freeze(const Member& m, FaultRecord& record);
  void partition(const Member& m, FaultRecord& record);
  void switchover(const std::string& primary, FaultRecord& record);
  void stopEtcd(bool all, FaultRecord& record);
  void startRejoinWatch(FaultRecord& record);
  void joinWatchers();
  void finish(Report& report, int64_t base);

  Cluster cluster_;  // a copy: kill-manager changes manager_pid
  ScenarioOptions options_;
  std::unique_ptr<Datastore> datastore_;  // before writers_: their sessions use it
  std::shared_ptr<spdlog::logger> logger_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Writer>> writers_;
  Writer* vip_ = nullptr;
  std::atomic<bool> writers_stopped_{false};
  std::atomic<size_t> faults_started_{0};
  std::deque<FaultRecord> faults_;  // deque: watcher threads hold references to its elements
  std::vector<std::thread> watchers_;
  std::vector<std::string> problems_;
};

bool Run::sleepFor(Duration d) {
  auto until = steady_clock::now() + d;
  while (!cancelled() && steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<Duration>(until - steady_clock::now(), milliseconds(20)));
  }
  return !cancelled();
}

void Run::startWriters(int64_t base) {
  WriterOptions vip;
  vip.name = "vip";
  vip.datastore = datastore_.get();
  vip.host = cluster_.write_vip.host;
  vip.port = cluster_.write_vip.port;
  vip.mode = WriteMode{.pinned = false, .durable = true};
  vip.rate = options_.rate;
  vip.first_id = base;
  vip.max_attempts = kWriterSpan;
  vip.write_timeout = options_.write_timeout;
  vip.connect_timeout = options_.connect_timeout;
  writers_.push_back(std::make_unique<Writer>(vip));
  vip_ = writers_.back().get();
  int64_t slice = 1;
  for (const auto& [name, mode] : datastore_->extraVipWriters()) {
    WriterOptions w = vip;
    w.name = name;
    w.mode = mode;
    w.first_id = base + slice++ * kWriterSpan;
    writers_.push_back(std::make_unique<Writer>(w));
  }
  for (const auto& m : cluster_.members) {
    WriterOptions w = vip;
    w.name = "pinned-" + m.name;
    w.host = m.host;
    w.port = m.port;
    // Plain writes: a second master taking any write at all is the split brain to show.
    w.mode = WriteMode{.pinned = true, .durable = false};
    w.rate = options_.pinned_rate > 0 ? options_.pinned_rate : options_.rate / 2;
    w.first_id = base + slice++ * kWriterSpan;
    writers_.push_back(std::make_unique<Writer>(w));
  }
  for (auto& w : writers_) {
    w->start();
  }
}

void Run::stopWriters() {
  for (auto& w : writers_) {
    w->stop();
  }
  writers_stopped_ = true;
}

bool Run::waitForAckSince(TimePoint since, Duration timeout) {
  auto deadline = steady_clock::now() + timeout;
  int64_t since_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
  while (steady_clock::now() < deadline && !cancelled()) {
    if (vip_->lastAckSentNanos() >= since_ns) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

bool Run::waitHealthy(Duration timeout, std::string* why) {
  auto since = steady_clock::now();
  auto deadline = since + timeout;
  const auto since_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
  // Bounded by the deadline; each probe and query by its own deadline.
  while (steady_clock::now() < deadline && !cancelled()) {
    Roles roles = probeRoles(cluster_, milliseconds(500));
    bool acked = vip_->lastAckSentNanos() >= since_ns;
    if (roles.primaries.size() != 1) {
      *why = std::to_string(roles.primaries.size()) + " members answer /primary";
    } else if (!acked) {
      *why = "no write acknowledged through the VIP since the wait began";
    } else {
      // Every other member must stream from the primary: a replica that only answers /replica
      // (running, but not following) could not take over, and the next fault would test nothing.
      const Member* primary = cluster_.member(roles.primaries[0]);
      auto standbys = datastore_->followersOf(*primary, milliseconds(1000));
      std::vector<std::string> missing;
      for (const auto& m : cluster_.members) {
        bool streams =
            standbys && std::any_of(standbys->begin(), standbys->end(),
                                    [&m](const Follower& s) { return s.name == m.name; });
        if (m.name != roles.primaries[0] && !streams) {
          missing.push_back(m.name);
        }
      }
      if (missing.empty()) {
        return true;
      }
      *why = "not streaming from " + roles.primaries[0] + ":";
      for (const auto& name : missing) {
        *why += " " + name;
      }
      if (!standbys) {
        *why += " (" + standbys.error().message + ")";
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  if (cancelled()) {
    *why = "interrupted";
  }
  return false;
}

void Run::killServer(const Member& m, FaultRecord& record) {
  auto pid = datastore_->serverPid(m, seconds(1));
  if (!pid) {
    record.error = pid.error().message;
    return;
  }
  const std::string what = datastore_->serverWhat();
  record.target = m.name + " " + what + " pid " + std::to_string(*pid);
  record.start = record.end = steady_clock::now();
  if (auto r = signalProcess(*pid, SIGKILL, m.name + "'s " + what, datastore_->serverCommand());
      !r) {
    record.error = r.error().message;
  }
}

void Run::killManager(Member& m, FaultRecord& record) {
  pid_t old_pid = m.manager_pid;
  record.target = m.name + " manager pid " + std::to_string(old_pid);
  record.start = record.end = steady_clock::now();
  if (auto r = signalProcess(old_pid, SIGKILL, m.name + "'s manager"); !r) {
    record.error = r.error().message;
    return;
  }
  // Reaps it if an earlier fault of this run restarted it (then it is our child).
  runtime::waitExit(old_pid, seconds(2));
  sleepFor(options_.manager_restart_delay);
  runtime::SpawnOptions spawn;
  spawn.argv = m.start_command;
  spawn.log_file = m.log_file;
  spawn.die_with_parent = false;  // the member outlives this run, as the lab's manager does
  spawn.new_session = true;
  auto pid = runtime::spawn(spawn);
  record.end = steady_clock::now();
  if (!pid) {
    record.error = m.name + ": cannot restart the manager: " + pid.error().message;
    return;
  }
  m.manager_pid = *pid;
  record.detail = "restarted as pid " + std::to_string(*pid);
  logger_->info("manager restarted member={} pid={}", m.name, *pid);
  if (!cluster_.path.empty()) {
    if (auto r = updateManagerPid(cluster_.path, m.name, *pid); !r) {
      problems_.push_back("cluster file not updated with the new manager pid: " +
                          r.error().message);
    }
  }
}

void Run::freeze(const Member& m, FaultRecord& record) {
  auto server = datastore_->serverPid(m, seconds(1));
  if (!server) {
    record.error = server.error().message;
    return;
  }
  const std::string what = datastore_->serverWhat();
  const std::string command = datastore_->serverCommand();
  Pause pause;  // resumes everything on every path out of here
  record.start = steady_clock::now();
  // The manager first, so it cannot react to its server stopping; the server before its
  // children (PostgreSQL's backends, Redis's save child), so it cannot fork new ones meanwhile.
  if (m.manager_pid > 0) {
    if (auto r = pause.stop(m.manager_pid, m.name + "'s manager"); !r) {
      record.error = r.error().message;
      return;
    }
  }
  if (auto r = pause.stop(*server, m.name + "'s " + what, command); !r) {
    record.error = r.error().message;
    return;
  }
  int children = 0;
  for (pid_t child : runtime::childrenOf(*server)) {
    // A child may exit between listing and signalling; that is not an error.
    if (pause.stop(child, m.name + " " + what + " child", command)) {
      ++children;
    }
  }
  record.target = m.name + " manager pid " + std::to_string(m.manager_pid) + ", " + what + " pid " +
                  std::to_string(*server) + " and " + std::to_string(children) + " children";
  sleepFor(options_.freeze);
  pause.resumeAll();
  record.end = steady_clock::now();
}

void Run::partition(const Member& m, FaultRecord& record) {
  std::vector<pid_t> roots;
  if (m.manager_pid > 0) {
    roots.push_back(m.manager_pid);
  }
  if (auto server = datastore_->serverPid(m, seconds(1))) {
    roots.push_back(*server);  // usually the manager's child already; listed in case not
  }
  if (roots.empty()) {
    record.error = "partition: neither a manager pid nor a running " + datastore_->serverWhat() +
                   " for " + m.name;
    return;
  }
  auto cut = Isolation::start(roots);  // healed on every path out of here
  if (!cut) {
    record.error = "partition: " + cut.error().message;
    return;
  }
  record.start = steady_clock::now();  // the cut is complete from here
  record.target = m.name + " (" + (*cut)->summary() + ")";
  sleepFor(options_.partition);
  (*cut)->heal();
  record.end = steady_clock::now();
}

void Run::switchover(const std::string& primary, FaultRecord& record) {
  Roles roles = probeRoles(cluster_, milliseconds(1000));
  std::vector<std::string> replicas;
  for (const auto& r : roles.replicas) {
    if (r != primary) {
      replicas.push_back(r);
    }
  }
  if (replicas.empty()) {
    record.error = "switchover: no member answers /replica, no candidate";
    return;
  }
  // A manager in synchronous mode refuses (or cannot complete) a switchover to a replica outside
  // the synchronous set, so prefer those the primary reports as streaming synchronously, then
  // any streaming one, then any running replica.
  std::vector<std::string> sync;
  std::vector<std::string> streaming;
  if (auto standbys = datastore_->followersOf(*cluster_.member(primary), seconds(1))) {
    for (const auto& st : *standbys) {
      if (std::find(replicas.begin(), replicas.end(), st.name) == replicas.end()) {
        continue;
      }
      streaming.push_back(st.name);
      if (st.sync_state == "sync" || st.sync_state == "quorum") {
        sync.push_back(st.name);
      }
    }
  }
  const auto& candidates = !sync.empty() ? sync : !streaming.empty() ? streaming : replicas;
  std::string candidate = candidates[rng_() % candidates.size()];
  auto argv = substituteCommand(cluster_.switchover_command, primary, candidate);
  record.target = primary + " -> " + candidate;
  record.start = steady_clock::now();
  auto result = runtime::runCommand(argv, options_.command_timeout);
  record.end = steady_clock::now();
  record.detail = result.output;
  if (result.exit_code != 0) {
    std::string output = result.output.substr(0, 500);
    std::replace(output.begin(), output.end(), '\n', ' ');  // one line in the summary
    record.error = "switchover command " +
                   (result.exit_code < 0 ? std::string("did not finish in time or was killed")
                                         : "exited with " + std::to_string(result.exit_code)) +
                   ": " + output;
  }
}

void Run::stopEtcd(bool all, FaultRecord& record) {
  std::vector<size_t> victims;
  if (all) {
    for (size_t i = 0; i < cluster_.etcd.size(); ++i) {
      victims.push_back(i);
    }
  } else {
    // The raft leader is the interesting member to lose; any member if it cannot be told.
    auto leader = etcdLeader(cluster_, seconds(1));
    victims.push_back(leader ? *leader : rng_() % cluster_.etcd.size());
  }
  Pause pause;  // resumes everything on every path out of here
  record.start = steady_clock::now();
  for (size_t i : victims) {
    const auto& e = cluster_.etcd[i];
    if (auto r = pause.stop(e.pid, "etcd member " + e.name, "etcd"); !r) {
      record.error = r.error().message;
      return;
    }
    record.target += (record.target.empty() ? "" : ",") + e.name;
  }
  sleepFor(options_.etcd_down);
  pause.resumeAll();
  record.end = steady_clock::now();
}

void Run::inject(const std::string& kind, const std::string& primary, FaultRecord& record) {
  record.kind = kind;
  record.old_primary = primary;
  record.start = record.end = steady_clock::now();
  Member* m = nullptr;
  for (auto& member : cluster_.members) {
    if (member.name == primary) {
      m = &member;
    }
  }
  RAMPART_CHECK(m != nullptr, "the primary comes from the cluster's member list");
  logger_->info("fault start kind={} primary={}", kind, primary);
  if (kind == "kill-postmaster" || kind == "kill-server") {
    killServer(*m, record);
  } else if (kind == "kill-manager") {
    killManager(*m, record);
  } else if (kind == "freeze") {
    freeze(*m, record);
  } else if (kind == "partition") {
    partition(*m, record);
  } else if (kind == "switchover") {
    switchover(primary, record);
  } else if (kind == "etcd-member" || kind == "etcd-all") {
    stopEtcd(kind == "etcd-all", record);
  } else {
    record.error = "unknown fault kind " + kind;
  }
  if (!record.error.empty()) {
    logger_->error("fault failed kind={} error=\"{}\"", kind, record.error);
  } else {
    logger_->info("fault end kind={} target=\"{}\" duration_ms={:.0f}", kind, record.target,
                  toMillis(record.end - record.start));
  }
}

void Run::startRejoinWatch(FaultRecord& record) {
  if (!record.error.empty()) {
    return;
  }
  // For every kind, etcd faults included: if the primary moved, the old one must come back. If it
  // did not move, the watcher ends with the writers.
  // The watcher gets its own copy of the cluster: the main thread may change manager_pid.
  // It ends at the next fault, after one last look (the run waits for every member to stream
  // before a fault, so a rejoin seen then is this fault's; a later one is the next fault's).
  const size_t index = faults_started_.load();
  watchers_.emplace_back([this, &record, index, cluster = cluster_] {
    const TimePoint from = record.end;
    const TimePoint deadline = from + options_.recovery_timeout;
    // Bounded by the deadline; each probe and query by its own deadline.
    while (steady_clock::now() < deadline && !cancelled()) {
      const bool last_look = faults_started_.load() != index;
      Roles roles = probeRoles(cluster, milliseconds(500));
      if (roles.primaries.size() == 1) {
        const std::string& primary = roles.primaries[0];
        if (primary == record.old_primary) {
          if (writers_stopped_) {
            return;  // no failover happened: nothing to rejoin
          }
        } else if (auto standbys =
                       datastore_->followersOf(*cluster.member(primary), milliseconds(1000))) {
          for (const auto& st : *standbys) {
            if (st.name == record.old_primary) {
              record.old_primary_streaming = steady_clock::now() - from;
              return;
            }
          }
        }
      }
      if (last_look) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
}

void Run::joinWatchers() {
  for (auto& t : watchers_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

void Run::finish(Report& report, int64_t base) {
  CheckInput input;
  input.end = report.end;
  for (const auto& f : faults_) {
    if (f.error.empty()) {
      input.faults.push_back(FaultWindow{f.start, f.end});
    }
  }
  for (auto& w : writers_) {
    input.attempts.insert(input.attempts.end(), w->history().begin(), w->history().end());
  }
  std::sort(input.attempts.begin(), input.attempts.end(),
            [](const Attempt& a, const Attempt& b) { return a.sent < b.sent; });

  Roles roles;
  auto primary = waitForPrimary(cluster_, options_.recovery_timeout, &roles, options_.cancel);
  if (!primary) {
    input.present_known = false;
    problems_.push_back(roles.primaries.empty()
                            ? "no member answers /primary at the end: lost writes not checked"
                            : std::to_string(roles.primaries.size()) +
                                  " members answer /primary at the end: lost writes not checked");
  } else {
    report.final_primary = *primary;
    const Member* p = cluster_.member(*primary);
    auto ids = datastore_->readIds(*p, base, base + kRunSpan - 1, seconds(30));
    if (!ids) {
      input.present_known = false;
      problems_.push_back("cannot read the ids on the final primary " + *primary + ": " +
                          ids.error().message);
    } else {
      input.present = std::move(*ids);
    }
    if (cluster_.kind == "rampart" || cluster_.kind == "rampart-redis") {
      auto history = httpGet(p->rest, "/history", seconds(2), cluster_.rest_tls);
      if (history && history->status == 200) {
        auto j = nlohmann::json::parse(history->body, nullptr, false);
        if (!j.is_discarded() && j.is_array() && !j.empty()) {
          report.failover_json = j.back().dump();
        }
      }
    }
  }

  report.check = checkHistory(input);
  report.attempts = std::move(input.attempts);
  size_t fi = 0;
  for (const auto& f : faults_) {
    if (!f.error.empty()) {
      problems_.push_back("fault " + f.kind + " not injected: " + f.error);
      continue;
    }
    const auto& u = report.check.per_fault[fi++];
    if (!u.first_ack_after) {
      problems_.push_back("no write acknowledged through the write VIP after fault " + f.kind +
                          " (" + ms(u.longest_gap) + " without one until the end)");
    }
  }
  if (!report.check.lost_ids.empty()) {
    problems_.push_back(std::to_string(report.check.lost_ids.size()) + " acknowledged writes lost");
  }
  // A planned switchover loses nothing at all, promised or not (CLIENT PAUSE WRITE, then the
  // target catches up before its promotion); other faults may lose unconfirmed Redis writes.
  if (options_.scenario == "switchover" && !report.check.unpromised_lost_ids.empty()) {
    problems_.push_back(std::to_string(report.check.unpromised_lost_ids.size()) +
                        " acknowledged plain writes lost in a planned switchover");
  }
  if (report.check.unattributed > 0) {
    problems_.push_back(std::to_string(report.check.unattributed) +
                        " acknowledged writes named no server or epoch: split brain unchecked "
                        "for them");
  }
  if (!report.check.split_brains.empty()) {
    problems_.push_back(std::to_string(report.check.split_brains.size()) +
                        " overlapping primary tenures (split brain)");
  }
  if (cancelled()) {
    problems_.push_back("interrupted");
  }
  report.faults.assign(faults_.begin(), faults_.end());
  report.problems = problems_;
}

Result<Report> Run::execute() {
  if (auto v = validateScenario(cluster_, options_); !v) {
    return fail(v.error());
  }
  Report report;
  report.scenario = options_.scenario;
  report.kind = cluster_.kind;
  report.seed = seed_;

  Roles roles;
  auto primary = waitForPrimary(cluster_, seconds(30), &roles, options_.cancel);
  if (!primary) {
    return fail(ErrorCode::Unavailable, "no single member answers /primary (",
                std::to_string(roles.primaries.size()),
                " do): the cluster is not healthy, nothing injected");
  }
  const int64_t run = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t base = run * kRunSpan;
  if (auto prepared = datastore_->prepare(run, steady_clock::now() + seconds(10), options_.cancel);
      !prepared) {
    return fail(prepared.error());
  }
  report.start = steady_clock::now();
  report.start_wall = std::chrono::system_clock::now();
  startWriters(base);
  if (!waitForAckSince(report.start, seconds(10))) {
    stopWriters();
    return fail(ErrorCode::Unavailable, "no write acknowledged through write_vip ",
                cluster_.write_vip.toString(), " within 10 s: nothing injected");
  }
  logger_->info("writers running writers={} seed={}", writers_.size(), seed_);

  const bool random = options_.scenario == "random";
  const int count = random ? options_.faults : 1;
  auto kinds = injectableKinds(cluster_);
  for (int i = 0; i < count && !cancelled(); ++i) {
    // Never hit a cluster that is still recovering (from the previous fault, or from anything
    // before the first): the fault's figures would mix two outages. Healthy, `before` of steady
    // writing, and still healthy (quick when it is) right before the fault.
    std::string why;
    bool healthy = waitHealthy(options_.recovery_timeout, &why) && sleepFor(options_.before) &&
                   waitHealthy(options_.recovery_timeout, &why);
    if (!healthy) {
      problems_.push_back(
          "cluster not healthy within " + ms(options_.recovery_timeout) +
          (i == 0 ? std::string(" before the fault")
                  : " after fault " + std::to_string(i) + " (" + faults_.back().kind + ")") +
          ": " + why);
      break;
    }
    auto current = waitForPrimary(cluster_, options_.recovery_timeout, &roles, options_.cancel);
    if (!current) {
      problems_.push_back("no single primary before fault " + std::to_string(i + 1));
      break;
    }
    std::string kind = random ? kinds[rng_() % kinds.size()] : options_.scenario;
    faults_.emplace_back();
    ++faults_started_;
    inject(kind, *current, faults_.back());
    startRejoinWatch(faults_.back());
    if (!faults_.back().error.empty()) {
      break;
    }
  }
  sleepFor(options_.after);
  stopWriters();
  report.end = steady_clock::now();
  logger_->info("writers stopped; waiting for rejoin measurements and the final primary");
  joinWatchers();
  finish(report, base);
  return report;
}

}  // namespace

const std::vector<std::string>& scenarioNames() {
  static const std::vector<std::string> names = {"kill-server", "kill-postmaster", "kill-manager",
                                                 "freeze",      "switchover",      "etcd-member",
                                                 "etcd-all",    "partition",       "random"};
  return names;
}

Result<void> validateScenario(const Cluster& c, const ScenarioOptions& o) {
  const auto& names = scenarioNames();
  if (std::find(names.begin(), names.end(), o.scenario) == names.end()) {
    return fail(ErrorCode::InvalidArgument, "unknown scenario '", o.scenario,
                "' (kill-server, kill-postmaster, kill-manager, freeze, switchover, etcd-member, "
                "etcd-all, partition, random)");
  }
  if (o.scenario == "kill-postmaster" && !isPostgres(c)) {
    return fail(ErrorCode::InvalidArgument, "scenario kill-postmaster needs a PostgreSQL cluster (",
                c.path.empty() ? "cluster" : c.path, " is kind ", c.kind, "): use kill-server");
  }
  if (o.scenario == "partition") {
    if (auto s = isolationSupported(); !s) {
      return fail(ErrorCode::FailedPrecondition, "scenario partition: ", s.error().message);
    }
  }
  if (o.rate <= 0 || o.pinned_rate < 0 || o.faults < 1) {
    return fail(ErrorCode::InvalidArgument, "rate and faults must be positive");
  }
  if (o.scenario == "kill-manager") {
    for (size_t i = 0; i < c.members.size(); ++i) {
      const auto& m = c.members[i];
      std::string at = "members[" + std::to_string(i) + "].";
      if (auto r = needField(c, o.scenario, m.manager_pid > 0, at + "manager_pid"); !r) {
        return r;
      }
      if (auto r = needField(c, o.scenario, !m.start_command.empty(), at + "start_command"); !r) {
        return r;
      }
    }
  }
  if (o.scenario == "switchover") {
    if (auto r = needField(c, o.scenario, !c.switchover_command.empty(), "switchover_command");
        !r) {
      return r;
    }
    if (c.members.size() < 2) {
      return fail(ErrorCode::InvalidArgument, c.path, ": members: switchover needs two members");
    }
  }
  if (o.scenario == "etcd-member" || o.scenario == "etcd-all") {
    if (auto r = needField(c, o.scenario, !c.etcd.empty(), "etcd"); !r) {
      return r;
    }
  }
  if (o.scenario == "random" && injectableKinds(c).empty()) {
    return fail(ErrorCode::InvalidArgument, c.path, ": the cluster file allows no fault");
  }
  return ok();
}

Result<Report> runScenario(const Cluster& cluster, const ScenarioOptions& options) {
  Run run(cluster, options);
  return run.execute();
}

}  // namespace rampart::chaos
