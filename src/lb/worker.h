#pragma once
// Worker: one data-path thread with its own event loop. It accepts on its own SO_REUSEPORT
// socket of every virtual server, and relays each connection between client and backend on that
// thread for its whole life. A connect that fails or times out is retried on the next backend in
// the picker's order before the client sees anything, and reported to the control thread
// (passive ejection) — unless it failed for lack of this process's own resources (EMFILE, no
// local port), which says nothing about the backend. When accept() fails for lack of descriptors
// or memory, that listener is left out of epoll for a back-off (10 ms doubling to 1 s) instead of
// waking the loop at once again, and a warning is logged once per episode. Half-close is relayed
// (FIN in one direction keeps the other open). Buffers are taken from a per-worker pool only while
// data is in flight, so idle connections hold none.
//
// Thread-safety: apply() and stop() may be called from any thread (they post to the worker).

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "lb/snapshot.h"

namespace rampart::lb {

class Worker {
 public:
  // Called on the worker thread when a client connect to a backend failed.
  using ConnectFailed = std::function<void(const std::string& vs, const std::string& backend,
                                           const std::string& reason)>;

  Worker(int index, ConnectFailed on_connect_failed);
  ~Worker();

  void start();
  // Installs a new picture of the virtual servers (adopting listen sockets it has not seen).
  void apply(SnapshotPtr snapshot);
  void stop();

  // Counters since start (any thread).
  struct Stats {
    uint64_t accept_errors = 0;  // accept() failed for lack of descriptors or memory
    // A backend connect that failed for lack of this process's own resources (EMFILE, no free
    // local port): the client is closed, the backend not blamed.
    uint64_t local_connect_errors = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace rampart::lb
