#pragma once
// Writer: one thread writing one uniquely numbered id per tick through a chaos datastore
// (chaos/datastore.h: a row in PostgreSQL, a set member in Redis) and recording every attempt
// (chaos/checker.h's Attempt) for the checker.
//
// The VIP writer goes through the write VIP, as an application would. A pinned writer goes
// straight to one member and writes only while that member says it is the primary: it models a
// client with stale routing, and it is what makes a second writable primary visible.
//
// Each acknowledged write names the member that took it and its epoch, which identify the tenure
// that committed it. Every call is bounded: on any error or missed deadline the connection is
// dropped and a new one is made on a later tick; a dropped write is recorded as unknown. Ticks
// are paced at `rate`; a slow write delays the next tick instead of causing a burst.
//
// Thread-safety: start()/stop() from one controlling thread; lastAckSent() and acks() from any
// thread; history() only after stop().

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "chaos/checker.h"
#include "chaos/datastore.h"

namespace rampart::chaos {

struct WriterOptions {
  std::string name;  // recorded as Attempt::writer (and with the write where the database can)
  const Datastore* datastore = nullptr;  // outlives the writer
  std::string host;
  int port = 0;
  WriteMode mode;
  double rate = 100;                  // writes per second
  int64_t first_id = 1;               // ids first_id, first_id + 1, ...
  int64_t max_attempts = 10'000'000;  // hard bound; the id range reserved for this writer
  Duration write_timeout = std::chrono::seconds(2);
  Duration connect_timeout = std::chrono::seconds(1);
};

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
  void writeOnce(std::unique_ptr<WriteSession>& session);

  WriterOptions options_;
  bool promised_ = true;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> last_ack_sent_{0};
  std::atomic<int64_t> acks_{0};
  std::vector<Attempt> history_;  // written by the thread only
  int64_t next_id_ = 0;
};

}  // namespace rampart::chaos
