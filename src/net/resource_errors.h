#pragma once
// Telling this process's own resource exhaustion apart from a peer's failure. When a socket(),
// accept() or connect() fails with EMFILE ("Too many open files") and its kin, nothing is wrong
// with the peer: an accept loop must back off instead of retrying at once (a level-triggered
// listener would spin at a full core), and a health check must not blame the backend for it.
// Pure logic, no I/O; not thread-safe (one instance per loop).

#include "base/backoff.h"
#include "base/clock.h"

namespace rampart::net {

// EMFILE, ENFILE, ENOBUFS, ENOMEM: this process or host ran out of descriptors or memory.
bool isLocalResourceError(int err);
// The same, plus the connect-side ones: EADDRNOTAVAIL (no free local port) and EAGAIN (Linux's
// answer to connect() when the ephemeral ports ran out).
bool isLocalConnectError(int err);

// One accept loop's episodes of resource exhaustion: the first error of an episode is logged
// (once, not per retry), every error waits 10 ms doubling to 1 s (jittered), and the next
// successful accept ends the episode and resets the wait.
class ExhaustionEpisode {
 public:
  // True when this error starts a new episode (the caller logs a warning then).
  bool onError() {
    bool first = !active_;
    active_ = true;
    return first;
  }
  // The wait before the next accept.
  Duration nextWait() { return backoff_.next(); }
  // True when an episode just ended (the caller may log the recovery).
  bool onSuccess() {
    bool ended = active_;
    if (ended) {
      active_ = false;
      backoff_.reset();
    }
    return ended;
  }
  bool active() const { return active_; }

 private:
  bool active_ = false;
  Backoff backoff_{std::chrono::milliseconds(10), std::chrono::seconds(1)};
};

}  // namespace rampart::net
