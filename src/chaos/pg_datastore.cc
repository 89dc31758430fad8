// PostgreSQL as a chaos datastore: rows in table rampart_chaos, each INSERT returning the server's
// port (-> member) and its current WAL file name (-> timeline, the tenure's epoch); followers
// from pg_stat_replication (rampart pg and Patroni both set application_name to the member's
// name); the postmaster from <data_dir>/postmaster.pid.

#include <thread>

#include "chaos/datastore.h"
#include "chaos/pg_session.h"
#include "chaos/processes.h"

namespace rampart::chaos {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kInsertSql =
    "INSERT INTO rampart_chaos (id, writer) VALUES ($1, $2) "
    "RETURNING inet_server_port(), pg_walfile_name(pg_current_wal_lsn())";
constexpr const char* kCreateTableSql =
    "CREATE TABLE IF NOT EXISTS rampart_chaos (id bigint PRIMARY KEY, writer text NOT NULL, "
    "at timestamptz NOT NULL DEFAULT now())";

class PgWriteSession : public WriteSession {
 public:
  PgWriteSession(std::unique_ptr<PgSession> session, const std::map<int, std::string>& by_port)
      : session_(std::move(session)), by_port_(by_port) {}

  Result<bool> isPrimary(TimePoint deadline) override {
    auto role = session_->query("SELECT pg_is_in_recovery()", {}, deadline);
    if (!role) {
      session_.reset();
      return fail(role.error());
    }
    return role->rows.size() == 1 && !role->rows[0].empty() && role->rows[0][0] == "f";
  }

  WriteOutcome write(int64_t id, const std::string& writer, TimePoint deadline) override {
    WriteOutcome out;
    auto result = session_->query(kInsertSql, {std::to_string(id), writer}, deadline);
    if (result) {
      out.outcome = Outcome::Acked;
      if (!result->warnings.empty()) {
        out.warning = result->warnings.front();
      }
      // An ack without the RETURNING row cannot be placed in a tenure: server stays empty.
      if (result->rows.size() == 1 && result->rows[0].size() == 2) {
        int port = std::atoi(result->rows[0][0].c_str());
        auto it = by_port_.find(port);
        out.server = it != by_port_.end() ? it->second : "port:" + result->rows[0][0];
        out.epoch = "tl" + std::to_string(timelineOfWalFile(result->rows[0][1]).value_or(0));
      }
    } else if (result.error().code == ErrorCode::FailedPrecondition) {
      out.outcome = Outcome::Failed;  // the server refused it; the connection is still fine
    } else {
      out.outcome = Outcome::Unknown;
      session_.reset();
    }
    return out;
  }

  bool broken() const override { return !session_ || session_->broken(); }

 private:
  std::unique_ptr<PgSession> session_;
  const std::map<int, std::string>& by_port_;
};

class PgDatastore : public Datastore {
 public:
  explicit PgDatastore(const Cluster& cluster)
      : cluster_(cluster), by_port_(membersByPort(cluster)) {}

  bool promises(const WriteMode&) const override { return true; }
  std::vector<std::pair<std::string, WriteMode>> extraVipWriters() const override { return {}; }

  Result<void> prepare(int64_t, TimePoint deadline, const std::atomic<bool>* cancel) override {
    std::string last = "no attempt";
    // Bounded by the deadline; the VIP may need a moment to route to the primary.
    while (steady_clock::now() < deadline && !(cancel && cancel->load())) {
      auto session = PgSession::connect(
          target(cluster_.write_vip.host, cluster_.write_vip.port, "rampart-chaos"),
          std::min(deadline, steady_clock::now() + std::chrono::seconds(1)));
      if (session) {
        auto r = (*session)->query(
            kCreateTableSql, {}, std::min(deadline, steady_clock::now() + std::chrono::seconds(5)));
        if (r) {
          return ok();
        }
        last = r.error().message;
      } else {
        last = session.error().message;
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
    return fail(ErrorCode::Unavailable, "cannot create table rampart_chaos through write_vip ",
                cluster_.write_vip.toString(), ": ", last);
  }

  Result<std::unique_ptr<WriteSession>> connect(const std::string& host, int port,
                                                const WriteMode& mode,
                                                TimePoint deadline) const override {
    auto session = PgSession::connect(
        target(host, port, mode.pinned ? "rampart-chaos-pinned" : "rampart-chaos"), deadline);
    if (!session) {
      return fail(session.error());
    }
    return std::unique_ptr<WriteSession>(new PgWriteSession(std::move(*session), by_port_));
  }

  Result<std::vector<Follower>> followersOf(const Member& primary,
                                            Duration timeout) const override {
    auto rows =
        queryOn(primary, "SELECT application_name, state, sync_state FROM pg_stat_replication", {},
                timeout);
    if (!rows) {
      return fail(rows.error());
    }
    std::vector<Follower> out;
    for (const auto& row : rows->rows) {
      if (row.size() == 3 && row[1] == "streaming") {
        out.push_back(Follower{row[0], row[2]});
      }
    }
    return out;
  }

  Result<pid_t> serverPid(const Member& m, Duration) const override {
    return postmasterPid(m.data_dir);
  }
  std::string serverWhat() const override { return "postmaster"; }
  std::string serverCommand() const override { return "postgres"; }

  Result<std::unordered_set<int64_t>> readIds(const Member& primary, int64_t first, int64_t last,
                                              Duration timeout) const override {
    auto rows = queryOn(primary, "SELECT id FROM rampart_chaos WHERE id BETWEEN $1 AND $2",
                        {std::to_string(first), std::to_string(last)}, timeout);
    if (!rows) {
      return fail(rows.error());
    }
    std::unordered_set<int64_t> out;
    for (const auto& row : rows->rows) {
      out.insert(std::strtoll(row[0].c_str(), nullptr, 10));
    }
    return out;
  }

 private:
  // One statement on a new session to `m`, connection included within `timeout`.
  Result<PgRows> queryOn(const Member& m, const std::string& sql,
                         const std::vector<std::string>& params, Duration timeout) const {
    auto deadline = steady_clock::now() + timeout;
    auto session = PgSession::connect(target(m.host, m.port, "rampart-chaos"), deadline);
    if (!session) {
      return fail(session.error());
    }
    return (*session)->query(sql, params, deadline);
  }

  PgTarget target(const std::string& host, int port, const std::string& application) const {
    PgTarget t;
    t.host = host;
    t.port = port;
    t.user = cluster_.user;
    t.password = cluster_.password;
    t.database = cluster_.database;
    t.application_name = application;
    return t;
  }

  const Cluster cluster_;  // a copy: immutable while writers use it
  std::map<int, std::string> by_port_;
};

}  // namespace

std::unique_ptr<Datastore> makePgDatastore(const Cluster& cluster) {
  return std::make_unique<PgDatastore>(cluster);
}

}  // namespace rampart::chaos
