#pragma once
// A real PostgreSQL 15 server (Debian's postgresql-15) for tests: initdb into a fresh directory
// owned by the postgres user, `postgres` started as that user on 127.0.0.1:<port> with
// PR_SET_PDEATHSIG, trust authentication on loopback. A standby is an initdb'd cluster started
// with standby.signal and no upstream: it stays in recovery (read-only) until promoted.

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "runtime/process.h"

namespace rampart::testing {

inline constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin/";

class PgServer {
 public:
  static Result<std::unique_ptr<PgServer>> start(const std::string& parent, const std::string& name,
                                                 uint16_t port, bool standby) {
    std::unique_ptr<PgServer> pg(new PgServer());
    pg->port_ = port;
    pg->data_ = parent + "/" + name;
    ::chmod(parent.c_str(), 0755);
    std::filesystem::create_directories(pg->data_);
    struct passwd* pw = ::getpwnam("postgres");
    if (!pw) {
      return fail(ErrorCode::FailedPrecondition, "no postgres user");
    }
    if (::chown(pg->data_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return fail(ErrorCode::FailedPrecondition, "chown ", pg->data_);
    }
    auto init = runtime::runCommand({"runuser", "-u", "postgres", "--", std::string(kPgBin) + "initdb",
                                     "-D", pg->data_, "-A", "trust", "-U", "postgres",
                                     "--no-sync"},
                                    std::chrono::seconds(60));
    if (init.exit_code != 0) {
      return fail(ErrorCode::Internal, "initdb: ", init.output);
    }
    if (standby) {
      std::ofstream(pg->data_ + "/standby.signal").flush();
      ::chown((pg->data_ + "/standby.signal").c_str(), pw->pw_uid, pw->pw_gid);
    }
    auto pid = runtime::spawn(runtime::SpawnOptions{
        {std::string(kPgBin) + "postgres", "-D", pg->data_, "-p", std::to_string(port), "-c",
         "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + pg->data_, "-c",
         "fsync=off"},
        parent + "/" + name + ".log", "", true, false, "postgres"});
    if (!pid) {
      return fail(pid.error());
    }
    pg->pid_ = *pid;
    for (int i = 0; i < 300; ++i) {
      auto ready = runtime::runCommand({std::string(kPgBin) + "pg_isready", "-h", "127.0.0.1",
                                        "-p", std::to_string(port)},
                                       std::chrono::seconds(2));
      if (ready.exit_code == 0) {
        return pg;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail(ErrorCode::DeadlineExceeded, "postgres on port ", std::to_string(port),
                " not ready");
  }

  ~PgServer() { stop(); }

  Result<void> promote() {
    auto r = runtime::runCommand({"runuser", "-u", "postgres", "--",
                                  std::string(kPgBin) + "pg_ctl", "promote", "-D", data_},
                                 std::chrono::seconds(30));
    if (r.exit_code != 0) {
      return fail(ErrorCode::Internal, "pg_ctl promote: ", r.output);
    }
    return ok();
  }

  void stop() {
    if (pid_) {
      ::kill(pid_, SIGINT);  // fast shutdown
      if (!runtime::waitExit(pid_, std::chrono::seconds(10))) {
        runtime::terminate(pid_, std::chrono::seconds(1));
      }
      pid_ = 0;
    }
  }

  uint16_t port() const { return port_; }

 private:
  PgServer() = default;
  std::string data_;
  uint16_t port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace rampart::testing
