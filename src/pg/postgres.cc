#include "pg/postgres.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "base/log.h"
#include "pg/rejoin.h"
#include "pg/validate.h"
#include "runtime/process.h"

namespace rampart::pg {
namespace fs = std::filesystem;

namespace {

// Whether `pid` ignores SIGTERM (the SigIgn mask in /proc/<pid>/status). A starting backend
// never does (it inherits the postmaster's handler, then installs its own), while the logger
// (logging_collector = on), the one other child pg_stat_activity does not list, always does.
bool ignoresSigterm(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("SigIgn:")) {
      uint64_t mask = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (mask >> (SIGTERM - 1)) & 1;
    }
  }
  return false;
}

// A process that has released its memory is past its last instruction (or gone): its command
// line reads empty. Waiting for the postmaster to reap it would add tens of milliseconds.
bool isExiting(pid_t pid) { return runtime::commandLine(pid).empty(); }

// Writes `text` to `path` atomically: a temporary file created with `mode` from the start
// (O_EXCL|O_NOFOLLOW: never readable by others for a moment, and a symlink planted at the
// temporary name is refused, not followed), owned by the postgres user, renamed over `path`.
// pgpass and initdb's password file go through here too.
Result<void> writeFileAs(const std::string& path, const std::string& text, mode_t mode, uid_t uid,
                         gid_t gid) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crashed write (unlink never follows a symlink)
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return fail(ErrorCode::Internal, "cannot create ", tmp, ": ", std::strerror(errno));
  }
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(ErrorCode::Internal, "cannot write ", tmp, ": ", why);
    }
    written += static_cast<size_t>(n);
  }
  // The umask may have narrowed `mode`; fchmod sets it exactly (never wider than asked).
  bool owned = ::fchmod(fd, mode) == 0 && (::geteuid() != 0 || ::fchown(fd, uid, gid) == 0);
  ::close(fd);
  if (!owned) {
    ::unlink(tmp.c_str());
    return fail(ErrorCode::Internal, "cannot set the owner and mode of ", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(ErrorCode::Internal, "cannot rename ", tmp, " to ", path, ": ", why);
  }
  return ok();
}

}  // namespace

// A primary's current timeline: the first 8 hex digits of its current WAL file name (there is no
// function for it in PostgreSQL 15).
#define PRIMARY_TIMELINE_SQL \
  "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"

// ---- PgConn ----

Result<PgConn> PgConn::connect(const std::string& conninfo, Duration timeout) {
  auto conn = pq::Connection::connect(conninfo, SteadyClock::instance().now() + timeout);
  if (!conn) {
    return fail(conn.error());
  }
  return PgConn(std::move(*conn));
}

Result<std::vector<PgConn::Row>> PgConn::query(const std::string& sql, Duration timeout) {
  auto rows = conn_.query(sql, SteadyClock::instance().now() + timeout);
  if (!rows) {
    // The server's ERROR answer: the manager's callers have always seen it as Internal.
    if (rows.error().code == ErrorCode::FailedPrecondition) {
      return fail(ErrorCode::Internal, rows.error().message);
    }
    return fail(rows.error());
  }
  return std::move(rows->rows);
}

// ---- Postgres ----

Postgres::Postgres(const MemberConfig& config) : config_(config) {
  fs::path data(config_.data_dir);
  run_dir_ = (data.parent_path() / (data.filename().string() + ".run")).string();
  if (auto* pw = ::getpwnam(config_.os_user.c_str())) {
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
}

Postgres::~Postgres() = default;

bool Postgres::hasData() const { return fs::exists(fs::path(config_.data_dir) / "PG_VERSION"); }

std::vector<std::string> Postgres::asPostgresUser(std::vector<std::string> argv) const {
  if (::geteuid() != 0) {
    return argv;
  }
  std::vector<std::string> out{"runuser", "-u", config_.os_user, "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Result<void> Postgres::prepare() {
  std::error_code ec;
  fs::create_directories(run_dir_, ec);
  if (ec) {
    return fail(ErrorCode::Internal, "cannot create ", run_dir_, ": ", ec.message());
  }
  ::chmod(run_dir_.c_str(), 0700);
  if (::geteuid() == 0) {
    if (uid_ == 0) {
      return fail(ErrorCode::FailedPrecondition, "no OS user '", config_.os_user,
                  "' to run postgres as");
    }
    if (::chown(run_dir_.c_str(), uid_, gid_) != 0) {
      return fail(ErrorCode::Internal, "cannot chown ", run_dir_);
    }
    // A parent made here: the postgres user must pass through it, others need not list it. An
    // existing one is left as it is (it may be /tmp, or hold the operator's other files).
    auto parent = fs::path(config_.data_dir).parent_path();
    if (fs::create_directories(parent, ec)) {
      ::chmod(parent.c_str(), 0711);
    }
  }
  // Credentials for replication, pg_basebackup and pg_rewind go through this file, never the
  // command line or the logs.
  std::string pgpass;
  for (const auto* cred : {&config_.replication, &config_.superuser}) {
    auto user = pgpassField(cred->user);
    auto password = pgpassField(cred->password);
    if (!user || !password) {
      return fail(ErrorCode::InvalidArgument, "credentials for ", cred->user,
                  ": a user or password with a control character");
    }
    pgpass += "*:*:*:" + *user + ":" + *password + "\n";
  }
  if (auto w = writeFileAs(run_dir_ + "/pgpass", pgpass, 0600, uid_, gid_); !w) {
    return w;
  }
  // The TLS files, copied where the postgres user can read them and PostgreSQL accepts the key's
  // permissions (0600, owned by that user), whoever owns the originals.
  for (auto [from, to] :
       {std::pair{&config_.tls.cert, "server.crt"}, std::pair{&config_.tls.key, "server.key"},
        std::pair{&config_.tls.ca, "ca.crt"}}) {
    if (from->empty()) {
      continue;
    }
    std::ifstream in(*from, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      return fail(ErrorCode::InvalidArgument, "postgres.tls: cannot read ", *from);
    }
    if (auto w = writeFileAs(run_dir_ + "/" + to, text.str(), 0600, uid_, gid_); !w) {
      return w;
    }
  }
  return ok();
}

std::string Postgres::localConninfo() const {
  // Config values only: the run directory and the superuser's name were checked at load.
  return "host=" + conninfoValue(run_dir_).value_or("''") +
         " port=" + std::to_string(config_.listen.port) +
         " user=" + conninfoValue(config_.superuser.user).value_or("''") +
         " dbname=postgres application_name=rampart-manager connect_timeout=2";
}

Result<std::string> Postgres::conninfoTo(const Upstream& to, bool replication) const {
  // `to` comes from etcd: checked there (checkMemberStatus) and here again, before it reaches a
  // command line or postgresql.auto.conf.
  if (auto h = checkHost(to.host); !h || to.port == 0) {
    return fail(ErrorCode::InvalidArgument, "refusing to connect to '", to.host,
                "': ", h ? "no port" : h.error().message);
  }
  const auto& user = replication ? config_.replication.user : config_.superuser.user;
  std::string out = "port=" + std::to_string(to.port) + " connect_timeout=2" +
                    (replication ? "" : " dbname=postgres") + " sslmode=" + config_.sslmode;
  std::vector<std::pair<const char*, std::string>> values = {{"host", to.host},
                                                             {"user", user},
                                                             {"passfile", run_dir_ + "/pgpass"},
                                                             {"application_name", config_.name}};
  if (!config_.tls.ca.empty()) {
    values.push_back({"sslrootcert", run_dir_ + "/ca.crt"});
  }
  // The member's certificate as its client certificate. Always named: left out, libpq looks
  // in $HOME/.postgresql, and the server's WAL receiver runs with the manager's HOME (/root
  // when it is root), which the postgres user may not enter: every TLS attempt then fails.
  // A file that does not exist means "no client certificate".
  bool own = !config_.tls.cert.empty();
  values.push_back({"sslcert", run_dir_ + (own ? "/server.crt" : "/no-client-certificate")});
  values.push_back({"sslkey", run_dir_ + (own ? "/server.key" : "/no-client-certificate")});
  for (const auto& [key, value] : values) {
    auto quoted = conninfoValue(value);
    if (!quoted) {
      return fail(ErrorCode::InvalidArgument, "connection to ", to.host, ": ", key, ": ",
                  quoted.error().message);
    }
    out += std::string(" ") + key + "=" + *quoted;
  }
  return out;
}

Result<PgConn> Postgres::connectLocal(Duration timeout) {
  return PgConn::connect(localConninfo(), timeout);
}

Result<void> Postgres::initdb() {
  std::error_code ec;
  fs::remove_all(config_.data_dir, ec);
  fs::create_directories(config_.data_dir, ec);
  ::chmod(config_.data_dir.c_str(), 0700);
  if (::geteuid() == 0 && ::chown(config_.data_dir.c_str(), uid_, gid_) != 0) {
    return fail(ErrorCode::Internal, "cannot chown ", config_.data_dir);
  }
  std::string pwfile = run_dir_ + "/initdb.pw";
  if (auto w = writeFileAs(pwfile, config_.superuser.password + "\n", 0600, uid_, gid_); !w) {
    return w;
  }
  auto result = runtime::runCommand(
      asPostgresUser({bin("initdb"), "-D", config_.data_dir, "-U", config_.superuser.user,
                      "--pwfile=" + pwfile, "--data-checksums", "--auth-local=trust",
                      "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C",
                      // 1 MB WAL segments instead of 16: a promotion copies and pads the last
                      // segment onto the new timeline, and pg_rewind copies whole segments, both
                      // on the failover's critical path.
                      "--wal-segsize=1"}),
      std::chrono::seconds(120));
  fs::remove(pwfile, ec);
  if (result.exit_code != 0) {
    return fail(ErrorCode::Internal, "initdb failed: ", result.output);
  }
  return ok();
}

Result<void> Postgres::cloneFrom(const Upstream& source, Duration timeout) {
  std::error_code ec;
  fs::remove_all(config_.data_dir, ec);
  fs::create_directories(config_.data_dir, ec);
  ::chmod(config_.data_dir.c_str(), 0700);
  if (::geteuid() == 0 && ::chown(config_.data_dir.c_str(), uid_, gid_) != 0) {
    return fail(ErrorCode::Internal, "cannot chown ", config_.data_dir);
  }
  auto conninfo = conninfoTo(source, true);
  if (!conninfo) {
    return fail(conninfo.error());
  }
  auto result =
      runtime::runCommand(asPostgresUser({bin("pg_basebackup"), "-D", config_.data_dir, "-d",
                                          *conninfo, "-X", "stream", "-c", "fast", "--no-sync"}),
                          timeout);
  if (result.exit_code != 0) {
    return fail(ErrorCode::Unavailable, "pg_basebackup from ", source.host, ":",
                std::to_string(source.port), " failed: ", result.output);
  }
  return ok();
}

Result<bool> Postgres::rewindFrom(const Upstream& source, Duration timeout) {
  // pg_rewind compares timelines through the source's control file, which a promoted server
  // updates only at its first checkpoint after promotion, a spread one that can take minutes.
  // Until then pg_rewind reports "no rewind required" for a target that diverged, and that target
  // can never follow the new timeline. An immediate checkpoint on the source first closes that.
  if (alive()) {
    return fail(ErrorCode::FailedPrecondition, "pg_rewind needs the local server stopped");
  }
  auto conninfo = conninfoTo(source, false);
  if (!conninfo) {
    return fail(conninfo.error());
  }
  auto conn = PgConn::connect(*conninfo, timeout);
  if (!conn) {
    return fail(ErrorCode::Unavailable, "connecting to the rewind source: ", conn.error().message);
  }
  auto began = SteadyClock::instance().now();
  if (auto c = conn->query("CHECKPOINT", timeout); !c) {
    return fail(ErrorCode::Unavailable, "checkpoint on the rewind source: ", c.error().message);
  }
  auto checkpointed = SteadyClock::instance().now();
  // The crash recovery pg_rewind runs first would take a recycled PID in it for a running server.
  removeStaleLockFiles();
  // It runs that crash recovery in single-user mode, which refuses a standby.signal: one is left
  // behind by a start as a standby that failed before the server recovered.
  for (const char* signal_file : {"standby.signal", "recovery.signal"}) {
    std::error_code ec;
    fs::remove(fs::path(config_.data_dir) / signal_file, ec);
  }
  // jit=off on pg_rewind's session: its file-list query is estimated at millions of rows, and
  // compiling it costs 0.3 s on an idle machine and over a second on a loaded one, more than all
  // the copying.
  auto result = runtime::runCommand(
      asPostgresUser({bin("pg_rewind"), "--target-pgdata", config_.data_dir, "--source-server",
                      *conninfo + " options='-c jit=off'", "--no-sync", "--progress"}),
      timeout);
  if (result.exit_code != 0) {
    return fail(ErrorCode::Internal, "pg_rewind from ", source.host, ":",
                std::to_string(source.port), " failed: ", result.output);
  }
  // pg_rewind's own summary (where the timelines forked, the checkpoint it rewinds from, how
  // much it copied) says why a rewind took long.
  std::string summary = result.output;
  std::replace_if(
      summary.begin(), summary.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  log::get("pg")->info(
      "pg_rewind from {}:{}: checkpoint on the source {:.0f} ms, pg_rewind {:.0f} ms ({})",
      source.host, source.port, toMillis(checkpointed - began),
      toMillis(SteadyClock::instance().now() - checkpointed), summary);
  bool rewound = result.output.find("no rewind required") == std::string::npos;
  if (!rewound) {
    // pg_rewind may have run crash recovery first, with fsync off (`postgres --single -F`), and
    // left a control file that says "shut down", so the next start would not sync: do it here.
    int fd = ::open(config_.data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::syncfs(fd) != 0) {
      std::string why = std::strerror(errno);
      if (fd >= 0) {
        ::close(fd);
      }
      return fail(ErrorCode::Internal, "syncing ", config_.data_dir, " after pg_rewind: ", why);
    }
    ::close(fd);
  }
  return rewound;
}

Result<std::string> Postgres::hbaText(bool clients) const {
  auto superuser = hbaToken(config_.superuser.user);
  auto replicator = hbaToken(config_.replication.user);
  if (!superuser || !replicator) {
    return fail(ErrorCode::InvalidArgument, "pg_hba.conf: a role name that cannot be written");
  }
  // With server TLS, Rampart's own replication lines admit only TLS: the members all have it.
  // Its client lines stay `host` (clients may come through a balancer, or without TLS); an
  // operator who requires TLS of clients sets hba_networks: [] and writes hostssl lines.
  const std::string replication_type = config_.tls.cert.empty() ? "host" : "hostssl";
  std::string out = clients ? "# Written by rampart pg.\n"
                              "local all all trust\n"
                              "local replication all trust\n"
                            : "# Written by rampart pg: closed to clients for a switchover.\n"
                              "local all " +
                                  *superuser +
                                  " trust\n"
                                  "local replication all trust\n";
  // The operator's lines come first, so they decide before Rampart's; while closed to clients
  // only those for replication stay (the other members may depend on them).
  if (!config_.pg_hba.empty()) {
    out += "# postgres.pg_hba\n";
  }
  for (const auto& line : config_.pg_hba) {
    if (auto c = checkHbaLine(line); !c) {
      return fail(ErrorCode::InvalidArgument, "postgres.pg_hba: ", c.error().message);
    }
    std::istringstream fields(line);
    std::string type;
    std::string database;
    fields >> type >> database;
    if (clients || database == "replication") {
      out += line + "\n";
    }
  }
  if (!config_.hba_networks.empty()) {
    out += "# postgres.hba_networks\n";
  }
  for (const auto& network : config_.hba_networks) {
    out += replication_type + " replication " + *replicator + " " + network + " scram-sha-256\n";
  }
  if (clients) {
    for (const auto& network : config_.hba_networks) {
      out += "host all all " + network + " scram-sha-256\n";
    }
  }
  return out;
}

Result<void> Postgres::refuseNewClients(Duration timeout) {
  auto began = SteadyClock::instance().now();
  auto deadline = began + timeout;
  auto timeLeft = [&] { return deadline - SteadyClock::instance().now(); };
  auto hba = hbaText(false);
  if (!hba) {
    return fail(hba.error());
  }
  if (auto w = writeFileAs(config_.data_dir + "/pg_hba.conf", *hba, 0600, uid_, gid_); !w) {
    return fail(w.error());
  }
  pid_t pid = pid_.load();
  if (pid == 0 || ::kill(pid, SIGHUP) != 0) {
    return fail(ErrorCode::Unavailable, "postgres is not running");
  }
  // The postmaster reloads pg_hba.conf asynchronously: a refusal of our own proves it did.
  auto self = conninfoTo(Upstream{config_.listen.host, config_.listen.port}, false);
  if (!self) {
    return fail(self.error());
  }
  int probes = 1;  // the one in progress
  for (;; ++probes) {
    if (timeLeft() <= Duration::zero()) {
      return fail(ErrorCode::DeadlineExceeded, "the server kept admitting clients");
    }
    auto probe =
        PgConn::connect(*self, std::min<Duration>(timeLeft(), std::chrono::milliseconds(500)));
    if (!probe && probe.error().message.find("pg_hba.conf") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  log::get("pg")->info(
      "refusing new clients: pg_hba.conf reloaded, proven after {:.0f} ms ({} "
      "probes)",
      toMillis(SteadyClock::instance().now() - began), probes);
  return endStartingBackends(deadline);
}

// A backend the postmaster forked before pg_hba.conf was reloaded checks its client against the
// rules it was forked with; until it has its session (while it waits for the startup packet, or
// authenticates) pg_stat_activity does not list it and pg_terminate_backend cannot reach it, so
// endClientSessions() would miss it and it could admit a client after. Every child of the
// postmaster that pg_stat_activity does not list is such a backend (PostgreSQL 15 lists all its
// other processes, but for the logger, which ignores SIGTERM) or one forked since: each gets
// SIGTERM, on which a starting backend exits, until it is exiting. Children are listed before
// the query, so one forked meanwhile is in neither list or in both (then endClientSessions()
// ends it).
Result<void> Postgres::endStartingBackends(TimePoint deadline) {
  pid_t postmaster = pid_.load();
  auto children = runtime::childrenOf(postmaster);
  auto listed = localQuery("listing server processes", "SELECT pid::text FROM pg_stat_activity",
                           deadline - SteadyClock::instance().now());
  if (!listed) {
    return fail(listed.error());
  }
  std::set<pid_t> in_view;
  for (const auto& row : *listed) {
    if (!row.empty() && row[0]) {
      in_view.insert(static_cast<pid_t>(std::atoi(row[0]->c_str())));
    }
  }
  std::set<pid_t> starting;
  for (pid_t child : children) {
    if (!in_view.count(child) && !ignoresSigterm(child) && !isExiting(child)) {
      starting.insert(child);
    }
  }
  size_t count = starting.size();
  for (;;) {
    std::erase_if(starting, [&](pid_t pid) {
      return isExiting(pid) || !runtime::signalChild(postmaster, pid, SIGTERM);
    });
    if (starting.empty()) {
      break;
    }
    if (SteadyClock::instance().now() >= deadline) {
      return fail(ErrorCode::DeadlineExceeded, std::to_string(starting.size()),
                  " backends still starting did not exit on SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (count > 0) {
    log::get("pg")->info("ended {} backends still starting (not in pg_stat_activity)", count);
  }
  return ok();
}

Result<Lsn> Postgres::endClientSessions(Duration timeout) {
  auto began = SteadyClock::instance().now();
  auto deadline = began + timeout;
  auto timeLeft = [&] { return deadline - SteadyClock::instance().now(); };
  static const char* kClients =
      " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
  if (auto t =
          localQuery("terminating client sessions",
                     std::string("SELECT count(pg_terminate_backend(pid))") + kClients, timeLeft());
      !t) {
    return fail(t.error());
  }
  auto gone =
      pollLocal("waiting for client sessions to end", std::string("SELECT count(*)") + kClients,
                deadline, [](const PgConn::Row& row) { return row[0] && *row[0] == "0"; });
  if (!gone) {
    return fail(gone.error());
  }
  auto lsn = currentLsn(std::max<Duration>(timeLeft(), std::chrono::milliseconds(100)));
  log::get("pg")->info("client sessions ended after {:.0f} ms",
                       toMillis(SteadyClock::instance().now() - began));
  return lsn;
}

Result<void> Postgres::openToClients() {
  auto hba = hbaText(true);
  if (!hba) {
    return fail(hba.error());
  }
  if (auto w = writeFileAs(config_.data_dir + "/pg_hba.conf", *hba, 0600, uid_, gid_); !w) {
    return w;
  }
  pid_t pid = pid_.load();
  if (pid != 0) {
    ::kill(pid, SIGHUP);
  }
  return ok();
}

Result<void> Postgres::writeConfigFiles(bool standby, const std::optional<Upstream>& upstream,
                                        const std::string& sync_names) {
  std::ostringstream conf;
  conf << "# Written by rampart pg before every start; edit the member config instead.\n";
  // Every value is quoted (confValue refuses control characters), so none can end its line.
  std::vector<std::pair<std::string, std::string>> quoted = {
      {"listen_addresses", config_.listen.host},
      {"unix_socket_directories", run_dir_},
      {"cluster_name", config_.name}};
  if (!config_.tls.cert.empty()) {
    quoted.push_back({"ssl_cert_file", run_dir_ + "/server.crt"});
    quoted.push_back({"ssl_key_file", run_dir_ + "/server.key"});
  }
  if (!config_.tls.ca.empty()) {
    quoted.push_back({"ssl_ca_file", run_dir_ + "/ca.crt"});
  }
  for (const auto& [name, value] : config_.parameters) {
    quoted.push_back({name, value});
  }
  std::ostringstream settings;
  for (const auto& [name, value] : quoted) {
    auto v = confValue(value);
    if (auto n = checkParameterName(name); !n || !v) {
      return fail(ErrorCode::InvalidArgument,
                  "postgresql.conf: ", !n ? n.error().message : name + ": " + v.error().message);
    }
    settings << name << " = " << *v << "\n";
  }
  conf << "port = " << config_.listen.port << "\n"
       << "wal_level = replica\n"
       << "hot_standby = on\n"
       << "hot_standby_feedback = on\n"
       << "max_wal_senders = 16\n"
       << "max_replication_slots = 16\n"
       << "wal_keep_size = '256MB'\n"
       << "wal_log_hints = on\n"
       << "synchronous_commit = on\n"
       // A re-pointed standby retries its upstream after this long (default 5 s).
       << "wal_retrieve_retry_interval = '50ms'\n"
       << "wal_receiver_timeout = '5s'\n"
       << "wal_sender_timeout = '5s'\n"
       << "recovery_target_timeline = 'latest'\n"
       // After a crash (and in pg_rewind's crash recovery) one syncfs() instead of an fsync()
       // per file: seconds saved on the way back of a failed primary.
       << "recovery_init_sync_method = 'syncfs'\n"
       << "logging_collector = off\n"
       << "log_line_prefix = '%m [%p] '\n"
       << (config_.tls.cert.empty() ? "" : "ssl = on\n") << settings.str();
  auto hba = hbaText(true);
  if (!hba) {
    return fail(hba.error());
  }
  const auto& d = config_.data_dir;
  for (auto [path, text] :
       {std::pair{d + "/postgresql.conf", conf.str()}, std::pair{d + "/pg_hba.conf", *hba}}) {
    if (auto w = writeFileAs(path, text, 0600, uid_, gid_); !w) {
      return w;
    }
  }
  upstream_ = upstream;
  sync_names_ = sync_names;
  if (auto w = writeAutoConf(); !w) {
    return w;
  }
  std::error_code ec;
  if (standby) {
    if (auto w = writeFileAs(d + "/standby.signal", "", 0600, uid_, gid_); !w) {
      return w;
    }
  } else {
    fs::remove(d + "/standby.signal", ec);
  }
  fs::remove(d + "/recovery.signal", ec);
  return ok();
}

Result<void> Postgres::start(bool standby, const std::optional<Upstream>& upstream,
                             const std::string& sync_names, Duration timeout) {
  if (alive()) {
    return fail(ErrorCode::FailedPrecondition, "postgres is already running");
  }
  if (auto w = writeConfigFiles(standby, upstream, sync_names); !w) {
    return w;
  }
  removeStaleLockFiles();
  auto pid = runtime::spawn(runtime::SpawnOptions{{bin("postgres"), "-D", config_.data_dir},
                                                  logFile(),
                                                  "",
                                                  /*die_with_parent=*/true,
                                                  /*new_session=*/false,
                                                  ::geteuid() == 0 ? config_.os_user : ""});
  if (!pid) {
    return fail(pid.error());
  }
  pid_ = *pid;
  // Ready when the postmaster says so in its lock file (what pg_ctl waits for), and only then a
  // connection: an attempt during start-up costs a backend that is refused ("the database system
  // is starting up"), tens of milliseconds of CPU each on a loaded machine.
  auto deadline = SteadyClock::instance().now() + timeout;
  auto next_blind_attempt = SteadyClock::instance().now() + std::chrono::seconds(1);
  while (SteadyClock::instance().now() < deadline) {
    if (!alive()) {
      return fail(ErrorCode::Internal, "postgres exited during start-up; see ", logFile());
    }
    // A blind attempt now and then, should the lock file never say "ready" (it always has).
    if (postmasterSaysReady(*pid) || SteadyClock::instance().now() >= next_blind_attempt) {
      next_blind_attempt = SteadyClock::instance().now() + std::chrono::seconds(1);
      auto conn = connectLocal(std::chrono::seconds(1));
      if (conn) {
        cached_ = std::make_unique<PgConn>(std::move(*conn));
        return ok();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return fail(ErrorCode::DeadlineExceeded, "postgres did not accept connections within ",
              std::to_string(toMillis(timeout)), " ms; see ", logFile());
}

void Postgres::removeStaleLockFiles() {
  std::error_code ec;
  fs::remove(fs::path(config_.data_dir) / "postmaster.pid", ec);
  // The socket's lock file as well: its PID may still exist as a zombie (a postmaster that died
  // with a killed manager waits there until init reaps it) or belong to another process by now,
  // and either stops the next start ("lock file ... already exists"). A server that really still
  // ran would hold the TCP port, and the new one would fail to bind it.
  fs::remove(fs::path(run_dir_) / (".s.PGSQL." + std::to_string(config_.listen.port) + ".lock"),
             ec);
}

bool Postgres::postmasterSaysReady(pid_t pid) const {
  // postmaster.pid: line 1 the PID, line 8 the status, "ready" (a primary, or a standby with hot
  // standby that accepts connections) or "standby" (one that does not).
  std::ifstream lock(fs::path(config_.data_dir) / "postmaster.pid");
  std::string line;
  for (int number = 1; std::getline(lock, line); ++number) {
    if (number == 1 && std::atoi(line.c_str()) != pid) {
      return false;  // an older server's file
    }
    if (number == 8) {
      return line.starts_with("ready") || line.starts_with("standby");
    }
  }
  return false;
}

bool Postgres::alive() {
  pid_t pid = pid_.load();
  if (pid == 0) {
    return false;
  }
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == 0) {
    return true;
  }
  pid_.compare_exchange_strong(pid, 0);
  return false;
}

void Postgres::fence() {
  pid_t pid = pid_.load();
  if (pid == 0) {
    return;
  }
  // Freeze the postmaster so it forks nothing more, kill every child (backends, WAL senders),
  // then the postmaster. Killed processes send nothing: no commit is acknowledged after this.
  stop_requested_ = pid;
  ::kill(pid, SIGSTOP);
  for (pid_t child : runtime::childrenOf(pid)) {
    ::kill(child, SIGKILL);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid_.compare_exchange_strong(pid, 0);
}

Result<void> Postgres::stop(Duration timeout) { return stopWith(SIGINT, timeout); }

Result<void> Postgres::stopImmediately(Duration timeout) { return stopWith(SIGQUIT, timeout); }

Result<void> Postgres::stopWith(int signal, Duration timeout) {
  pid_t pid = pid_.load();
  cached_.reset();
  if (pid == 0 || !alive()) {
    return ok();
  }
  stop_requested_ = pid;
  ::kill(pid, signal);
  if (runtime::waitExit(pid, timeout)) {
    pid_.compare_exchange_strong(pid, 0);
    return ok();
  }
  fence();
  return fail(ErrorCode::DeadlineExceeded, "postgres did not stop in time; killed it");
}

LocalState Postgres::observe(Duration timeout) {
  LocalState s;
  s.running = alive();
  if (!s.running) {
    cached_.reset();
    return s;
  }
  if (!cached_) {
    auto conn = connectLocal(timeout);
    if (!conn) {
      s.error = conn.error().message;
      return s;
    }
    cached_ = std::make_unique<PgConn>(std::move(*conn));
  }
  static const char* kSql =
      "SELECT pg_is_in_recovery(),"
      " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END,"
      " pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,"
      " (SELECT status FROM pg_stat_wal_receiver),"
      " (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver),"
      " CASE WHEN pg_is_in_recovery()"
      "  THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver),"
      "                (SELECT timeline_id FROM pg_control_checkpoint()))"
      "  ELSE " PRIMARY_TIMELINE_SQL
      " END;"
      "SELECT application_name, state, coalesce(flush_lsn::text, '0/0'), pid::text"
      " FROM pg_stat_replication WHERE NOT pg_is_in_recovery()";
  auto rows = cached_->query(kSql, timeout);
  if (!rows || rows->empty()) {
    s.error = rows ? "no answer" : rows.error().message;
    cached_.reset();
    return s;
  }
  const auto& r = (*rows)[0];
  auto lsn = [](const std::optional<std::string>& v) -> Lsn {
    if (!v) {
      return 0;
    }
    auto l = parseLsn(*v);
    return l ? *l : 0;
  };
  s.reachable = true;
  s.in_recovery = r[0] && *r[0] == "t";
  s.write_lsn = lsn(r[1]);
  s.receive_lsn = lsn(r[2]);
  s.replay_lsn = lsn(r[3]);
  s.streaming = r[4] && *r[4] == "streaming";
  s.sender = r[5].value_or("");
  s.timeline = r[6] ? std::atoi(r[6]->c_str()) : 0;
  for (size_t i = 1; i < rows->size(); ++i) {
    const auto& rep = (*rows)[i];
    if (rep.size() == 4) {
      s.replicas.push_back({rep[0].value_or(""), rep[1].value_or(""), lsn(rep[2]),
                            rep[3] ? std::atoi(rep[3]->c_str()) : 0});
    }
  }
  return s;
}

Result<void> Postgres::promote(Duration timeout) {
  auto deadline = SteadyClock::instance().now() + timeout;
  // pg_promote(wait => true) polls ten times a second; asking without waiting and polling here
  // saves up to 100 ms of write unavailability, and the cached connection saves a new backend.
  if (auto r = localQuery("pg_promote", "SELECT pg_promote(false)", timeout); !r) {
    return fail(r.error());
  }
  auto writable = pollLocal("waiting for the promotion", "SELECT pg_is_in_recovery()", deadline,
                            [](const PgConn::Row& row) { return row[0] && *row[0] == "f"; });
  return writable ? ok() : fail(writable.error());
}

// Run-time changes rewrite postgresql.auto.conf (atomically, without the fsyncs of ALTER SYSTEM,
// which cost hundreds of milliseconds on a busy disk in the middle of a failover) and signal the
// postmaster to reload. The manager is the only writer of that file.
Result<void> Postgres::reconfigure() {
  if (auto w = writeAutoConf(); !w) {
    return w;
  }
  pid_t pid = pid_.load();
  if (pid == 0 || ::kill(pid, SIGHUP) != 0) {
    return fail(ErrorCode::Unavailable, "postgres is not running");
  }
  return ok();
}

Result<void> Postgres::writeAutoConf() {
  std::ostringstream autoconf;
  autoconf << "# Written by rampart pg; rewritten at run time (then the server reloads).\n";
  std::vector<std::pair<const char*, std::string>> settings;
  if (upstream_) {
    // The upstream's host comes from etcd: conninfoTo refuses one that is not a host, and
    // confValue keeps whatever it holds inside the one value.
    auto conninfo = conninfoTo(*upstream_, true);
    if (!conninfo) {
      return fail(conninfo.error());
    }
    settings.push_back({"primary_conninfo", *conninfo});
    settings.push_back({"primary_slot_name", config_.name});
  }
  settings.push_back({"synchronous_standby_names", sync_names_});
  for (const auto& [name, value] : settings) {
    auto quoted = confValue(value);
    if (!quoted) {
      return fail(ErrorCode::InvalidArgument, "postgresql.auto.conf: ", name, ": ",
                  quoted.error().message);
    }
    autoconf << name << " = " << *quoted << "\n";
  }
  return writeFileAs(config_.data_dir + "/postgresql.auto.conf", autoconf.str(), 0600, uid_, gid_);
}

Result<Lsn> Postgres::setUpstream(const std::optional<Upstream>& upstream, Duration timeout) {
  auto deadline = SteadyClock::instance().now() + timeout;
  upstream_ = upstream;
  if (auto r = reconfigure(); !r) {
    return fail(r.error());
  }
  if (upstream) {
    return Lsn{0};
  }
  // Detaching: wait for the WAL receiver to go, so that the position read next is final. The
  // cached connection: a new backend costs 100 ms and more on a busy machine, in the middle of
  // the failover.
  auto stopped =
      pollLocal("waiting for the WAL receiver to stop",
                "SELECT (SELECT count(*) FROM pg_stat_wal_receiver),"
                " coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text",
                deadline, [](const PgConn::Row& row) { return row[0] && *row[0] == "0"; });
  if (!stopped) {
    return fail(stopped.error());
  }
  return (*stopped)[1] ? parseLsn(*(*stopped)[1]) : Result<Lsn>(Lsn{0});
}

Result<void> Postgres::setSynchronousStandbyNames(const std::string& names, Duration) {
  sync_names_ = names;
  return reconfigure();
}

Result<PgConn*> Postgres::local(Duration timeout) {
  if (!cached_) {
    auto conn = connectLocal(timeout);
    if (!conn) {
      return fail(conn.error());
    }
    cached_ = std::make_unique<PgConn>(std::move(*conn));
  }
  return cached_.get();
}

Result<std::vector<PgConn::Row>> Postgres::localQuery(const char* what, const std::string& sql,
                                                      Duration timeout) {
  auto conn = local(timeout);
  if (!conn) {
    return fail(conn.error().code, what, ": ", conn.error().message);
  }
  auto rows = (*conn)->query(sql, timeout);
  if (!rows) {
    cached_.reset();  // a broken connection is not reused
    return fail(ErrorCode::Internal, what, ": ", rows.error().message);
  }
  return rows;
}

Result<bool> Postgres::divergedFrom(const Upstream& leader, Duration timeout) {
  auto mine = localQuery("reading the local timeline",
                         "SELECT timeline_id::text, pg_last_wal_replay_lsn()::text"
                         " FROM pg_control_checkpoint()",
                         timeout);
  if (!mine) {
    return fail(mine.error());
  }
  if (mine->empty() || !(*mine)[0][0] || !(*mine)[0][1]) {
    return fail(ErrorCode::Unavailable, "reading the local timeline: no answer");
  }
  int my_timeline = std::atoi((*mine)[0][0]->c_str());
  auto my_lsn = parseLsn(*(*mine)[0][1]);
  if (!my_lsn) {
    return fail(my_lsn.error());
  }
  auto conninfo = conninfoTo(leader, false);
  if (!conninfo) {
    return fail(conninfo.error());
  }
  auto conn = PgConn::connect(*conninfo, timeout);
  if (!conn) {
    return fail(ErrorCode::Unavailable, "connecting to the leader: ", conn.error().message);
  }
  auto theirs = conn->query("SELECT (" PRIMARY_TIMELINE_SQL ")::text", timeout);
  if (!theirs || theirs->empty() || !(*theirs)[0][0]) {
    return fail(ErrorCode::Unavailable,
                "reading the leader's timeline: ", theirs ? "no answer" : theirs.error().message);
  }
  TimelineFacts facts;
  facts.my_timeline = my_timeline;
  facts.my_lsn = *my_lsn;
  facts.leader_timeline = std::atoi((*theirs)[0][0]->c_str());
  if (historyNeeded(facts.my_timeline, facts.leader_timeline)) {
    char name[32];
    std::snprintf(name, sizeof name, "pg_wal/%08X.history", facts.leader_timeline);
    auto history =
        conn->query("SELECT pg_read_file(" + conn->literal(name).value_or("''") + ")", timeout);
    if (!history || history->empty() || !(*history)[0][0]) {
      return fail(ErrorCode::Unavailable, "reading the leader's timeline history: ",
                  history ? "no answer" : history.error().message);
    }
    facts.leader_history = *(*history)[0][0];
  }
  auto decision = decideRewindOrFollow(facts);  // rejoin.h
  if (!decision) {
    return fail(decision.error());
  }
  return decision->verdict == FollowVerdict::Rewind;
}

Result<void> Postgres::checkpoint(Duration timeout) {
  auto conn = connectLocal(timeout);  // not the cached one: this may run beside other calls
  if (!conn) {
    return fail(conn.error().code, "checkpoint: ", conn.error().message);
  }
  if (auto rows = conn->query("CHECKPOINT", timeout); !rows) {
    return fail(ErrorCode::Internal, "checkpoint: ", rows.error().message);
  }
  return ok();
}

Result<PgConn::Row> Postgres::pollLocal(const char* what, const std::string& sql,
                                        TimePoint deadline,
                                        const std::function<bool(const PgConn::Row&)>& done) {
  std::string last = "no answer";
  while (true) {
    auto left = deadline - SteadyClock::instance().now();
    if (left <= Duration::zero()) {
      return fail(ErrorCode::DeadlineExceeded, what, ": not done in time (", last, ")");
    }
    auto rows = localQuery(what, sql, std::min<Duration>(left, std::chrono::seconds(1)));
    if (!rows) {
      last = rows.error().message;
    } else if (!rows->empty() && done(rows->front())) {
      return rows->front();
    } else {
      last = "condition not met";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Result<void> Postgres::waitReceived(Lsn lsn, Duration timeout) {
  auto received = pollLocal("waiting for WAL", "SELECT pg_last_wal_receive_lsn()::text",
                            SteadyClock::instance().now() + timeout, [lsn](const PgConn::Row& row) {
                              auto at = row[0] ? parseLsn(*row[0]) : Result<Lsn>(Lsn{0});
                              return at && *at >= lsn;
                            });
  return received ? ok() : fail(received.error());
}

Result<Lsn> Postgres::currentLsn(Duration timeout) {
  auto rows = localQuery("reading the WAL position",
                         "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()"
                         " ELSE pg_current_wal_flush_lsn() END::text",
                         timeout);
  if (!rows) {
    return fail(rows.error());
  }
  if (rows->empty() || !(*rows)[0][0]) {
    return fail(ErrorCode::Unavailable, "reading the WAL position: no answer");
  }
  return parseLsn(*(*rows)[0][0]);
}

Result<void> Postgres::ensureSlots(const std::vector<std::string>& members, Duration timeout) {
  if (members.empty()) {
    return ok();
  }
  auto conn = local(timeout);
  if (!conn) {
    return fail(conn.error());
  }
  std::string sql;
  for (const auto& m : members) {
    // Slot names are member names (checked where they were read), quoted all the same.
    if (auto n = checkMemberName(m); !n) {
      return fail(ErrorCode::InvalidArgument, "replication slot: ", n.error().message);
    }
    auto name = (*conn)->literal(m).value_or("''");
    sql +=
        "SELECT pg_create_physical_replication_slot(" + name +
        ", true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = " + name +
        ");";
  }
  auto rows = localQuery("creating replication slots", sql, timeout);
  return rows ? ok() : fail(rows.error());
}

Result<void> Postgres::createReplicationRole(Duration timeout) {
  // A connection of its own, closed after: the settings below must not outlive the statement.
  auto conn = connectLocal(timeout);
  if (!conn) {
    return fail(conn.error().code, "creating the replication role: ", conn.error().message);
  }
  // The password travels in the statement text, so this session logs no statement text first:
  // not as a statement (log_statement), not as a slow one (log_min_duration_statement), not
  // beside an error (log_min_error_statement), whatever postgres.parameters set. A separate
  // query: a statement is logged as it arrives, before a SET in the same string would run.
  if (auto quiet = conn->query("SET log_statement = 'none'; SET log_min_duration_statement = -1; "
                               "SET log_min_error_statement = 'panic'; SET log_duration = off",
                               timeout);
      !quiet) {
    return fail(
        ErrorCode::Internal,
        "creating the replication role: silencing the session's logging: ", quiet.error().message);
  }
  auto role = conn->identifier(config_.replication.user);
  auto password = conn->literal(config_.replication.password);
  if (!role || !password) {
    return fail(ErrorCode::InvalidArgument,
                "creating the replication role: the user or password cannot be quoted");
  }
  auto rows = conn->query("CREATE ROLE " + *role + " WITH REPLICATION LOGIN PASSWORD " + *password,
                          timeout);
  if (!rows) {
    return fail(ErrorCode::Internal, "creating the replication role: ", rows.error().message);
  }
  return ok();
}

Result<std::string> Postgres::controlState() { return controlField("Database cluster state"); }

Result<std::string> Postgres::controlField(const std::string& name) {
  auto r = runtime::runCommand({bin("pg_controldata"), config_.data_dir}, std::chrono::seconds(10));
  if (r.exit_code != 0) {
    return fail(ErrorCode::Internal, "pg_controldata: ", r.output);
  }
  std::istringstream in(r.output);
  std::string line;
  const std::string key = name + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      auto value = line.substr(key.size());
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
  }
  return fail(ErrorCode::Internal, "pg_controldata printed no '", name, "'");
}

}  // namespace rampart::pg
