#pragma once
// Writer: one thread inserting one uniquely numbered row per tick into rampart_chaos and
// recording every attempt (chaos/checker.h's Attempt) for the checker.
//
// The VIP writer goes through the write VIP, as an application would. A pinned writer goes
// straight to one member and writes only while that member says it is not in recovery: it models
// a client with stale routing, and it is what makes a second writable primary visible.
//
// Each acknowledged INSERT returns the server's port (-> member name) and its current WAL file
// name (-> timeline), which identify the tenure that committed it. Every call is bounded
// (PgSession): on any error or missed deadline the connection is dropped and a new one is made on
// a later tick; a dropped write is recorded as unknown. Ticks are paced at `rate`; a slow write
// delays the next tick instead of causing a burst.
//
// Thread-safety: start()/stop() from one controlling thread; lastAckSent() and acks() from any
// thread; history() only after stop().

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "chaos/checker.h"
#include "chaos/pg_session.h"

namespace rampart::chaos {

struct WriterOptions {
  std::string name;  // recorded as Attempt::writer and in the row's writer column
  PgTarget target;
  bool pinned = false;                // check pg_is_in_recovery() before each write
  double rate = 100;                  // writes per second
  int64_t first_id = 1;               // ids first_id, first_id + 1, ...
  int64_t max_attempts = 10'000'000;  // hard bound; the id range reserved for this writer
  Duration write_timeout = std::chrono::seconds(2);
  Duration connect_timeout = std::chrono::seconds(1);
  std::map<int, std::string> member_by_port;
};

inline constexpr const char* kInsertSql =
    "INSERT INTO rampart_chaos (id, writer) VALUES ($1, $2) "
    "RETURNING inet_server_port(), pg_walfile_name(pg_current_wal_lsn())";
inline constexpr const char* kCreateTableSql =
    "CREATE TABLE IF NOT EXISTS rampart_chaos (id bigint PRIMARY KEY, writer text NOT NULL, "
    "at timestamptz NOT NULL DEFAULT now())";

class Writer {
 public:
  explicit Writer(WriterOptions options);
  ~Writer();  // stops the thread
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  void stop();

  const std::string& name() const { return options_.name; }
  // Send time (steady clock, ns since epoch) of the latest acknowledged write; 0 if none.
  int64_t lastAckSentNanos() const { return last_ack_sent_.load(); }
  int64_t acks() const { return acks_.load(); }
  const std::vector<Attempt>& history() const { return history_; }

 private:
  void run();
  void writeOnce(std::unique_ptr<PgSession>& session);

  WriterOptions options_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> last_ack_sent_{0};
  std::atomic<int64_t> acks_{0};
  std::vector<Attempt> history_;  // written by the thread only
  int64_t next_id_ = 0;
};

}  // namespace rampart::chaos
