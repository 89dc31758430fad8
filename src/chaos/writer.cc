#include "chaos/writer.h"

#include <algorithm>

#include "base/log.h"

namespace rampart::chaos {

namespace {
using std::chrono::steady_clock;

int64_t nanosOf(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

Writer::Writer(WriterOptions options) : options_(std::move(options)) {
  next_id_ = options_.first_id;
  promised_ = options_.datastore->promises(options_.mode);
}

Writer::~Writer() { stop(); }

void Writer::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Writer::stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Writer::run() {
  auto logger = log::get("chaos");
  const Duration period = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(1.0 / std::max(options_.rate, 0.001)));
  std::unique_ptr<WriteSession> session;
  TimePoint next_tick = steady_clock::now();
  std::string last_connect_error;
  // Bounded by stop() and by the writer's id range.
  while (!stopping_ && next_id_ - options_.first_id < options_.max_attempts) {
    if (!session) {
      auto began = steady_clock::now();
      auto connected = options_.datastore->connect(options_.host, options_.port, options_.mode,
                                                   began + options_.connect_timeout);
      if (connected) {
        session = std::move(*connected);
        last_connect_error.clear();
        logger->debug(
            "writer connected writer={} target={}:{} took_ms={:.0f}", options_.name, options_.host,
            options_.port,
            std::chrono::duration<double, std::milli>(steady_clock::now() - began).count());
      } else if (connected.error().message != last_connect_error) {
        // Log on change only: a down member would otherwise log every tick.
        last_connect_error = connected.error().message;
        logger->debug("writer cannot connect writer={} error=\"{}\"", options_.name,
                      last_connect_error);
      }
    }
    if (session) {
      writeOnce(session);
      if (session && session->broken()) {
        session.reset();
      }
    }
    next_tick += period;
    auto now = steady_clock::now();
    if (next_tick < now) {
      next_tick = now;  // behind schedule: no catch-up burst
    }
    // Sleep in short steps so stop() is prompt.
    while (!stopping_ && steady_clock::now() < next_tick) {
      auto left = next_tick - steady_clock::now();
      std::this_thread::sleep_for(std::min<Duration>(left, std::chrono::milliseconds(20)));
    }
  }
}

void Writer::writeOnce(std::unique_ptr<WriteSession>& session) {
  if (options_.mode.pinned) {
    auto primary = session->isPrimary(steady_clock::now() + options_.write_timeout);
    if (!primary) {
      session.reset();  // nothing was written: no attempt to record
      return;
    }
    if (!*primary) {
      return;  // a replica (or no answer): a stale client would be refused here too
    }
  }
  Attempt a;
  a.id = next_id_++;
  a.writer = options_.name;
  a.promised = promised_;
  a.sent = steady_clock::now();
  WriteOutcome result = session->write(a.id, options_.name, a.sent + options_.write_timeout);
  a.done = steady_clock::now();
  a.outcome = result.outcome;
  if (result.outcome == Outcome::Acked) {
    a.server = std::move(result.server);
    a.epoch = std::move(result.epoch);
    a.warned = !result.warning.empty();
    last_ack_sent_ = nanosOf(a.sent);
    ++acks_;
    if (a.warned) {
      log::get("chaos")->warn("acknowledged with a warning writer={} id={} warning=\"{}\"",
                              options_.name, a.id, result.warning);
    }
  } else if (result.outcome == Outcome::Unknown) {
    session.reset();
  }
  history_.push_back(std::move(a));
}

}  // namespace rampart::chaos
