#include "lb/worker.h"

// The data path is a plain edge-triggered epoll loop rather than asio coroutines: a relayed
// connection is two file descriptors and a few flags, with no coroutine frames, no per-operation
// allocations and no buffer while idle. (An asio-coroutine version measured 0.81-0.88x HAProxy's
// requests/s and ~5 KB per idle connection; see docs/BENCHMARKS.md.)
//
// Per connection: Connecting (the backend's non-blocking connect is in flight, with a deadline)
// then Relaying. Each direction reads into the worker's scratch buffer and writes straight to the
// other side; only bytes the other side cannot take yet are copied into a per-direction buffer,
// and reading that direction pauses until they are written. EOF in one direction is passed on as
// shutdown(SHUT_WR) (half-close); the connection ends when both directions have ended, or at once
// on an error.
//
// Protocol postgres, while no backend is up: a new client may be connected to a promoting backend
// ("gated"). Its bytes then pass the PgStartupGate on their way up, so the start-up and the
// authentication run during the promotion while its statements wait in `held`; the snapshot
// that shows the backend up releases them, one that shows it neither up nor promoting closes the
// connection, and so does `promotion_wait` running out. Invariant: a gated client's statements
// reach a backend only after this worker has a snapshot in which that backend passed its check
// (is confirmed primary), the same condition an ordinary connection is made under.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_set>

#include "base/log.h"
#include "lb/pg_startup_gate.h"
#include "net/resource_errors.h"

namespace rampart::lb {
namespace {

constexpr size_t kScratchSize = 64 * 1024;
// The events that say the peer closed its side (or the socket failed): an EOF or error waits.
constexpr uint32_t kHungUp = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr int kMaxEvents = 256;
constexpr std::chrono::milliseconds kStalledSweep{50};
// A gated client's bytes held back at most: then reading from it pauses until the release.
constexpr size_t kHeldLimit = 64 * 1024;
// retry_unanswered: the most of a client's bytes kept for resending while its backend is silent.
// A TLS ClientHello is well under it; a client that sends more before any answer is not moved.
constexpr size_t kReplayLimit = 16 * 1024;

// What an epoll event points at.
struct Handler {
  virtual ~Handler() = default;
  virtual void onEvent(uint32_t events) = 0;
};

}  // namespace

struct Worker::Impl {
  struct Session;

  // One direction of a relayed connection.
  struct Flow {
    int from = -1;
    int to = -1;
    std::unique_ptr<char[]> pending;  // bytes read but not yet written to `to`
    size_t pending_off = 0;
    size_t pending_len = 0;
    bool ended = false;  // EOF seen on `from` and passed on to `to`
    // epoll reported that `from` hung up (kHungUp). Edge-triggered epoll says so once:
    // from then on a short read does not mean "drained", the EOF may be queued behind the data.
    bool from_hung_up = false;
  };

  struct Side final : Handler {
    Session* session = nullptr;
    bool is_backend = false;
    void onEvent(uint32_t events) override;
  };

  struct Session {
    Impl* worker = nullptr;
    std::shared_ptr<const VirtualServerSnapshot> vs;
    int client = -1;
    int backend = -1;
    Side client_side;
    Side backend_side;
    Flow up;                    // client -> backend
    Flow down;                  // backend -> client
    std::vector<size_t> order;  // backends still to try, in the picker's order
    size_t attempt = 0;
    const BackendSlot* chosen = nullptr;
    bool connecting = false;
    TimePoint connect_deadline{};
    TimePoint last_activity{};
    TimePoint backend_heard{};  // connect started, or the backend's last bytes (close_stalled)
    bool closed = false;
    // Connected to a promoting backend: `up` passes `gate` only, the rest waits in `held`.
    bool gated = false;
    TimePoint gated_since{};
    PgStartupGate gate;
    std::string held;
    // retry_unanswered: until the backend sends its first byte, every byte the client sent, so
    // the session can move to the next backend when this one fails before answering.
    bool replayable = false;
    std::string replay;
  };

  struct Listener final : Handler {
    Impl* worker = nullptr;
    std::string vs;
    int fd = -1;
    uint64_t counter = 0;  // round-robin position on this worker
    bool paused = false;   // out of epoll while accept() lacks resources
    TimePoint resume_at{};
    void onEvent(uint32_t) override { worker->acceptAll(*this); }
  };

  struct Wakeup final : Handler {
    Impl* worker = nullptr;
    void onEvent(uint32_t) override { worker->runTasks(); }
  };

  int index = 0;
  ConnectFailed on_connect_failed;
  int epfd = -1;
  int wake_fd = -1;
  Wakeup wakeup;
  std::mutex tasks_mutex;
  std::vector<std::function<void()>> tasks;  // posted by other threads
  std::map<std::string, std::shared_ptr<const VirtualServerSnapshot>> servers;
  std::map<std::string, std::unique_ptr<Listener>> listeners;
  std::unordered_set<Session*> sessions;
  std::list<Session*> connecting;   // sessions waiting for a backend connect, for deadlines
  std::vector<Session*> graveyard;  // closed this round; freed after the event batch
  std::unique_ptr<char[]> scratch = std::make_unique<char[]>(kScratchSize);
  bool stopping = false;
  TimePoint next_sweep{};
  bool watch_stalled = false;  // some close_stalled backend is Down: sweep every kStalledSweep
  TimePoint next_stalled_sweep{};
  net::ExhaustionEpisode accept_exhaustion;
  int paused_listeners = 0;
  bool connect_exhausted = false;  // an episode of local connect errors is on (logged once)
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> local_connect_errors{0};

  Impl() {
    epfd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wakeup.worker = this;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = static_cast<Handler*>(&wakeup);
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, wake_fd, &ev);
  }

  ~Impl() {
    for (auto* s : sessions) {
      closeFds(*s);
      delete s;
    }
    for (auto& [name, l] : listeners) {
      ::close(l->fd);
    }
    ::close(wake_fd);
    ::close(epfd);
  }

  void post(std::function<void()> task) {
    {
      std::lock_guard lock(tasks_mutex);
      tasks.push_back(std::move(task));
    }
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void runTasks() {
    uint64_t count;
    [[maybe_unused]] auto n = ::read(wake_fd, &count, sizeof count);
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(tasks_mutex);
      batch.swap(tasks);
    }
    for (auto& t : batch) {
      t();
    }
  }

  void run() {
    epoll_event events[kMaxEvents];
    while (!stopping) {
      int timeout_ms = connecting.empty() ? 1000 : 5;
      if (watch_stalled) {
        timeout_ms = std::min(timeout_ms, static_cast<int>(kStalledSweep.count()));
      }
      if (paused_listeners > 0) {
        timeout_ms = std::min(timeout_ms, 10);  // resume paused listeners on time
      }
      int n = ::epoll_wait(epfd, events, kMaxEvents, timeout_ms);
      for (int i = 0; i < n; ++i) {
        static_cast<Handler*>(events[i].data.ptr)->onEvent(events[i].events);
      }
      auto now = std::chrono::steady_clock::now();
      if (paused_listeners > 0) {
        resumeListeners(now);
      }
      checkConnectDeadlines(now);
      if (watch_stalled && now >= next_stalled_sweep) {
        closeStalledSessions(now);
        next_stalled_sweep = now + kStalledSweep;
      }
      if (now >= next_sweep) {
        sweepIdle(now);
        next_sweep = now + std::chrono::seconds(1);
      }
      for (auto* s : graveyard) {
        delete s;
      }
      graveyard.clear();
    }
  }

  // --- snapshots ---------------------------------------------------------------------------

  void apply(const SnapshotPtr& snapshot) {
    std::map<std::string, std::shared_ptr<const VirtualServerSnapshot>> next;
    for (const auto& vs : *snapshot) {
      next[vs->name] = vs;
    }
    for (auto it = listeners.begin(); it != listeners.end();) {
      auto found = next.find(it->first);
      int wanted = found == next.end() ? -1 : found->second->listen_fds.at(index);
      if (wanted != it->second->fd) {
        // Gone or moved: stop accepting here; established connections stay.
        if (it->second->paused) {
          --paused_listeners;
        }
        ::epoll_ctl(epfd, EPOLL_CTL_DEL, it->second->fd, nullptr);
        ::close(it->second->fd);
        it = listeners.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [name, vs] : next) {
      if (!listeners.count(name)) {
        auto l = std::make_unique<Listener>();
        l->worker = this;
        l->vs = name;
        l->fd = vs->listen_fds.at(static_cast<size_t>(index));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = static_cast<Handler*>(l.get());
        ::epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev);
        listeners[name] = std::move(l);
      }
      auto previous = servers.find(name);
      if (previous != servers.end() && vs->on_down == OnDown::Close) {
        closeSessionsOfNewlyDownBackends(*previous->second, *vs);
      }
    }
    settleGatedSessions(next);
    servers = std::move(next);
    watch_stalled = false;
    for (const auto& [name, vs] : servers) {
      for (const auto& b : vs->backends) {
        watch_stalled |= vs->on_down == OnDown::CloseStalled && !b.usable && !b.draining;
      }
    }
    if (watch_stalled) {
      closeStalledSessions(std::chrono::steady_clock::now());
    }
  }

  // on_down: close_stalled. Cuts the sessions whose backend is now neither usable nor draining
  // and has sent nothing for the virtual server's stalled_after. Runs when a picture arrives and
  // then every kStalledSweep while such a backend exists, so a stalled session is cut at most
  // stalled_after + kStalledSweep after the later of its backend's last bytes and its Down mark.
  void closeStalledSessions(TimePoint now) {
    std::vector<Session*> victims;
    for (auto* s : sessions) {
      if (s->closed || !s->chosen || s->gated) {
        continue;
      }
      auto current = servers.find(s->vs->name);
      if (current == servers.end() || current->second->on_down != OnDown::CloseStalled ||
          now - s->backend_heard < current->second->stalled_after) {
        continue;
      }
      for (const auto& b : current->second->backends) {
        if (b.id == s->chosen->id && !b.usable && !b.draining) {
          victims.push_back(s);
        }
      }
    }
    for (auto* s : victims) {
      if (!moveToNextBackend(*s, "stalled")) {
        close(*s);
      }
    }
  }

  // A new picture: gated clients whose backend is now up go on as ordinary connections; those
  // whose backend is neither up nor promoting any more (another member won, the promotion
  // failed) are disconnected, their statements never sent.
  void settleGatedSessions(
      const std::map<std::string, std::shared_ptr<const VirtualServerSnapshot>>& next) {
    std::vector<Session*> release;
    std::vector<Session*> drop;
    for (auto* s : sessions) {
      if (!s->gated || !s->chosen) {
        continue;
      }
      auto vs = next.find(s->vs->name);
      const BackendSlot* now = nullptr;
      if (vs != next.end()) {
        for (const auto& b : vs->second->backends) {
          if (b.id == s->chosen->id) {
            now = &b;
          }
        }
      }
      if (now && now->usable) {
        release.push_back(s);
      } else if (!now || !now->promoting) {
        drop.push_back(s);
      }
    }
    for (auto* s : release) {
      s->gated = false;
      if (!s->held.empty()) {
        appendPending(s->up, s->held.data(), s->held.size());
        s->held.clear();
        s->held.shrink_to_fit();
      }
      if (!s->connecting) {
        relay(*s, s->up);
      }
    }
    for (auto* s : drop) {
      close(*s);
    }
  }

  void closeSessionsOfNewlyDownBackends(const VirtualServerSnapshot& before,
                                        const VirtualServerSnapshot& after) {
    std::vector<std::string> down;
    for (const auto& b : after.backends) {
      for (const auto& p : before.backends) {
        if (p.id == b.id && (p.usable || p.draining) && !b.usable && !b.draining) {
          down.push_back(b.id);
        }
      }
    }
    if (down.empty()) {
      return;
    }
    std::vector<Session*> victims;
    for (auto* s : sessions) {
      if (s->vs->name == after.name && s->chosen &&
          std::find(down.begin(), down.end(), s->chosen->id) != down.end()) {
        victims.push_back(s);
      }
    }
    for (auto* s : victims) {
      close(*s);
    }
  }

  // --- accepting and connecting --------------------------------------------------------------

  void acceptAll(Listener& l) {
    auto it = servers.find(l.vs);
    if (it == servers.end()) {
      return;
    }
    for (int i = 0; i < 64; ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int fd =
          ::accept4(l.fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) {
          return;
        }
        if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) {
          continue;  // that one connection is gone; the next may be fine
        }
        // Out of descriptors or memory (or worse): the connection stays queued and the
        // level-triggered listener readable, so retrying now would spin at a full core.
        pauseListener(l, err);
        return;
      }
      if (accept_exhaustion.onSuccess()) {
        log::get("lb")->info("accept works again worker={}", index);
      }
      startSession(it->second, l.counter++, fd, addr);
    }
  }

  void pauseListener(Listener& l, int err) {
    accept_errors.fetch_add(1, std::memory_order_relaxed);
    if (accept_exhaustion.onError()) {
      log::get("lb")->warn(
          "accept failing, backing off until it succeeds worker={} vs={} error=\"{}\" "
          "sessions={}",
          index, l.vs, std::strerror(err), sessions.size());
    }
    ::epoll_ctl(epfd, EPOLL_CTL_DEL, l.fd, nullptr);
    l.paused = true;
    ++paused_listeners;
    l.resume_at = std::chrono::steady_clock::now() + accept_exhaustion.nextWait();
  }

  void resumeListeners(TimePoint now) {
    for (auto& [name, l] : listeners) {
      if (l->paused && now >= l->resume_at) {
        l->paused = false;
        --paused_listeners;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = static_cast<Handler*>(l.get());
        ::epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev);
      }
    }
  }

  // This process could not make the backend connection itself: nothing is known about the
  // backend, so it is not blamed (no passive ejection); the client is closed.
  void localConnectError(Session& s, const BackendSlot& b, int err) {
    local_connect_errors.fetch_add(1, std::memory_order_relaxed);
    if (!connect_exhausted) {
      connect_exhausted = true;
      log::get("lb")->warn(
          "cannot open a backend connection (this process is out of resources; the backend is "
          "not marked down) worker={} vs={} backend={} error=\"{}\"",
          index, s.vs->name, b.id, std::strerror(err));
    }
  }

  void startSession(const std::shared_ptr<const VirtualServerSnapshot>& vs, uint64_t counter,
                    int client_fd, const sockaddr_storage& addr) {
    auto* s = new Session();
    s->worker = this;
    s->vs = vs;  // this connection keeps the picture it started with
    s->client = client_fd;
    s->client_side.session = s;
    s->backend_side.session = s;
    s->backend_side.is_backend = true;
    s->last_activity = std::chrono::steady_clock::now();
    sessions.insert(s);
    int one = 1;
    ::setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    BackendView views[64];
    std::vector<BackendView> many;
    BackendView* view = views;
    if (vs->backends.size() > 64) {
      many.resize(vs->backends.size());
      view = many.data();
    }
    for (size_t i = 0; i < vs->backends.size(); ++i) {
      const auto& b = vs->backends[i];
      view[i] = BackendView{b.id_hash, b.weight, b.counters->active.load(std::memory_order_relaxed),
                            b.max_connections, b.usable};
    }
    uint64_t source = 0;
    if (vs->policy == Policy::SourceHash) {
      if (addr.ss_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
        source = hashBytes(std::string_view(reinterpret_cast<const char*>(&in->sin_addr), 4));
      } else {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
        source = hashBytes(std::string_view(reinterpret_cast<const char*>(&in6->sin6_addr), 16));
      }
    }
    s->order = connectOrder(vs->policy, std::span<const BackendView>(view, vs->backends.size()),
                            counter, source);
    if (s->order.empty() && vs->postgres) {
      // Nobody is up: a member being promoted takes the client now, its statements wait.
      for (size_t i = 0; i < vs->backends.size(); ++i) {
        view[i].usable = vs->backends[i].promoting;
      }
      s->order = connectOrder(vs->policy, std::span<const BackendView>(view, vs->backends.size()),
                              counter, source);
      s->gated = !s->order.empty();
      s->gated_since = s->last_activity;
    }
    s->replayable = vs->retry_unanswered && !s->gated;
    tryNextBackend(*s);
  }

  // Whether the current picture (not the session's own, taken at accept) takes new connections
  // for `b`: a session moving on after a failure skips backends marked Down since it began.
  bool usableNow(const Session& s, const BackendSlot& b) const {
    auto current = servers.find(s.vs->name);
    if (current == servers.end()) {
      return b.usable;
    }
    for (const auto& c : current->second->backends) {
      if (c.id == b.id) {
        return c.usable;
      }
    }
    return false;
  }

  void tryNextBackend(Session& s) {
    while (s.attempt < s.order.size()) {
      const auto& b = s.vs->backends[s.order[s.attempt++]];
      if (s.attempt > 1 && !usableNow(s, b)) {
        continue;
      }
      int fd =
          ::socket(b.address.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        localConnectError(s, b, errno);
        break;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      int r = ::connect(fd, b.address.data(), static_cast<socklen_t>(b.address.size()));
      if (r != 0 && errno != EINPROGRESS) {
        int err = errno;
        ::close(fd);
        if (net::isLocalConnectError(err)) {
          localConnectError(s, b, err);
          break;
        }
        connectFailed(s, b, std::strerror(err));
        continue;
      }
      connect_exhausted = false;
      s.backend = fd;
      s.chosen = &b;
      s.connecting = true;
      s.backend_heard = std::chrono::steady_clock::now();
      s.connect_deadline = s.backend_heard + s.vs->connect_timeout;
      connecting.push_back(&s);
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET;
      ev.data.ptr = static_cast<Handler*>(&s.backend_side);
      ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
      return;
    }
    // Nobody could be reached: the client gets a closed connection.
    s.vs->failed_connections->fetch_add(1, std::memory_order_relaxed);
    close(s);
  }

  void connectFailed(Session& s, const BackendSlot& b, const std::string& why) {
    b.counters->connect_failures.fetch_add(1, std::memory_order_relaxed);
    if (s.vs->passive_ejection && on_connect_failed) {
      on_connect_failed(s.vs->name, b.id, why);
    }
  }

  void abandonConnect(Session& s, const std::string& why) {
    connecting.remove(&s);
    s.connecting = false;
    ::epoll_ctl(epfd, EPOLL_CTL_DEL, s.backend, nullptr);
    ::close(s.backend);
    s.backend = -1;
    const BackendSlot& failed = *s.chosen;
    s.chosen = nullptr;
    connectFailed(s, failed, why);
    tryNextBackend(s);
  }

  void checkConnectDeadlines(TimePoint now) {
    std::vector<Session*> expired;
    for (auto* s : connecting) {
      if (now >= s->connect_deadline) {
        expired.push_back(s);
      }
    }
    for (auto* s : expired) {
      abandonConnect(*s, "connect timed out");
    }
  }

  void onBackendConnected(Session& s, uint32_t events) {
    connecting.remove(&s);
    s.connecting = false;
    s.chosen->counters->active.fetch_add(1, std::memory_order_relaxed);
    s.chosen->counters->connections.fetch_add(1, std::memory_order_relaxed);
    s.up.from = s.client;
    s.up.to = s.backend;
    s.down.from = s.backend;
    s.down.to = s.client;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = static_cast<Handler*>(&s.client_side);
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, s.client, &ev) != 0 && errno == EEXIST) {
      // A session moved on from a backend that failed before answering: the client's bytes so
      // far go to this one first.
      if (!s.replay.empty() && !sendOrKeep(s, s.up, s.replay.data(), s.replay.size())) {
        return;
      }
    }
    // The client may have sent its request already, and a server-first protocol (SMTP, MySQL)
    // may have sent its greeting in the same edge that reported the connect: relay it too, or
    // edge-triggered epoll would never report it again.
    pump(s, s.up);
    if (events & kHungUp) {
      s.down.from_hung_up = true;
    }
    if (events & (EPOLLIN | EPOLLRDHUP)) {
      relay(s, s.down);
    }
  }

  // --- relaying ---------------------------------------------------------------------------

  // Writes what `flow` holds; false if the session was closed.
  bool flushPending(Session& s, Flow& f) {
    while (f.pending_len > 0) {
      ssize_t n = ::send(f.to, f.pending.get() + f.pending_off, f.pending_len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          return true;
        }
        if (&f != &s.up || !moveToNextBackend(s, std::strerror(errno))) {
          close(s);
        }
        return false;
      }
      f.pending_off += static_cast<size_t>(n);
      f.pending_len -= static_cast<size_t>(n);
      countBytes(s, f, static_cast<size_t>(n));
    }
    f.pending.reset();  // idle connections hold no buffer
    f.pending_off = 0;
    return true;
  }

  static void appendPending(Flow& f, const char* data, size_t n) {
    auto joined = std::make_unique<char[]>(f.pending_len + n);
    if (f.pending_len > 0) {
      std::memcpy(joined.get(), f.pending.get() + f.pending_off, f.pending_len);
    }
    std::memcpy(joined.get() + f.pending_len, data, n);
    f.pending = std::move(joined);
    f.pending_off = 0;
    f.pending_len += n;
  }

  void countBytes(Session& s, Flow& f, size_t n) {
    auto& c = *s.chosen->counters;
    (&f == &s.up ? c.bytes_to_backend : c.bytes_to_client).fetch_add(n, std::memory_order_relaxed);
  }

  // Moves bytes along `f`: through the gate while the session is gated, else relay().
  void pump(Session& s, Flow& f) {
    if (&f == &s.up && s.gated) {
      relayGated(s);
    } else {
      relay(s, f);
    }
  }

  // The client's bytes of a gated session: read into `held` (up to kHeldLimit), and what the
  // gate admits (start-up and authentication messages) sent on; statements stay held.
  void relayGated(Session& s) {
    Flow& f = s.up;
    if (s.closed || !flushPending(s, f) || f.pending_len > 0) {
      return;  // closed, or the backend is full: EPOLLOUT on it calls us again
    }
    while (s.held.size() < kHeldLimit) {
      size_t room = std::min(kScratchSize, kHeldLimit - s.held.size());
      ssize_t n = ::recv(f.from, scratch.get(), room, 0);
      if (n > 0) {
        s.last_activity = std::chrono::steady_clock::now();
        s.held.append(scratch.get(), static_cast<size_t>(n));
        if (static_cast<size_t>(n) < room && !f.from_hung_up) {
          break;  // drained (see relay)
        }
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      }
      close(s);  // the client left (or failed) before its statements could run: drop them
      return;
    }
    size_t pass = s.gate.admit(s.held);
    if (pass > 0 && sendOrKeep(s, f, s.held.data(), pass)) {
      s.held.erase(0, pass);
    }
  }

  // Sends `n` bytes on along `f`, keeping in its pending buffer what `f.to` cannot take yet;
  // false if that failed and closed the session.
  bool sendOrKeep(Session& s, Flow& f, const char* data, size_t n) {
    ssize_t w = ::send(f.to, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        if (&f != &s.up || !moveToNextBackend(s, std::strerror(errno))) {
          close(s);
        }
        return false;
      }
      w = 0;
    }
    if (w > 0) {
      countBytes(s, f, static_cast<size_t>(w));
    }
    if (static_cast<size_t>(w) < n) {
      appendPending(f, data + w, n - static_cast<size_t>(w));
    }
    return true;
  }

  // Moves bytes along one direction until the source has nothing more or the destination is
  // full. Edge-triggered: we read until the socket is drained (EAGAIN or a short read) or stop
  // with data pending (EPOLLOUT on the destination resumes us).
  void relay(Session& s, Flow& f) {
    if (s.closed || f.ended) {
      return;
    }
    if (!flushPending(s, f)) {
      return;
    }
    if (f.pending_len > 0) {
      return;  // destination full; EPOLLOUT on it calls us again
    }
    for (;;) {
      ssize_t n = ::recv(f.from, scratch.get(), kScratchSize, 0);
      if (n > 0) {
        s.last_activity = std::chrono::steady_clock::now();
        if (&f == &s.down) {
          s.backend_heard = s.last_activity;
          if (s.replayable) {
            s.replayable = false;  // the backend answered: from here on nothing is resent
            std::string().swap(s.replay);
          }
        } else if (s.replayable) {
          if (s.replay.size() + static_cast<size_t>(n) > kReplayLimit) {
            s.replayable = false;
            std::string().swap(s.replay);
          } else {
            s.replay.append(scratch.get(), static_cast<size_t>(n));
          }
        }
        if (!sendOrKeep(s, f, scratch.get(), static_cast<size_t>(n))) {
          return;
        }
        if (f.pending_len > 0) {
          return;  // destination full; EPOLLOUT on it calls us again
        }
        if (static_cast<size_t>(n) < kScratchSize && !f.from_hung_up) {
          // A short read drained the socket: a later arrival raises a new edge, so skip the
          // recv that would only say EAGAIN. Not after a hang-up: its edge came already, and
          // only the next recv returns the EOF (a backend's answer and FIN in one batch).
          return;
        }
        continue;
      }
      if (n == 0) {
        if (&f == &s.down && moveToNextBackend(s, "closed before answering")) {
          return;
        }
        // EOF: pass the half-close on, keep the other direction open.
        f.ended = true;
        ::shutdown(f.to, SHUT_WR);
        if (s.up.ended && s.down.ended) {
          close(s);
        }
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      }
      if (errno == EINTR) {
        continue;
      }
      if (&f == &s.down && moveToNextBackend(s, std::strerror(errno))) {
        return;
      }
      close(s);
      return;
    }
  }

  // retry_unanswered: a session whose backend failed (closed, reset, or was cut as stalled)
  // before sending a single byte goes on with the next backend of its order, which gets the
  // client's bytes so far. Safe because a server that has sent nothing cannot have answered
  // anything the client saw; for TLS, nothing of the client's application data can have been
  // processed (it needs the server's handshake first). False (the caller closes) once the backend
  // has spoken, the client sent more than kReplayLimit or half-closed, or no backend is left.
  bool moveToNextBackend(Session& s, const std::string& why) {
    if (!s.replayable || s.up.ended || s.connecting || !s.chosen) {
      return false;
    }
    // Not a passive ejection: a server also closes on a client that sends it garbage, and that
    // must not take every backend out. The health check judges the server.
    log::get("lb")->debug("session moved on vs={} backend={} reason=\"{}\"", s.vs->name,
                          s.chosen->id, why);
    s.chosen->counters->active.fetch_sub(1, std::memory_order_relaxed);
    ::close(s.backend);  // also leaves epoll
    s.backend = -1;
    s.chosen = nullptr;
    s.up.to = -1;
    s.down.from = -1;
    s.up.pending.reset();  // a suffix of `replay`: resent with it
    s.up.pending_off = s.up.pending_len = 0;
    s.down = Flow{};
    s.vs->retried_connections->fetch_add(1, std::memory_order_relaxed);
    tryNextBackend(s);
    return true;  // moved, or closed by tryNextBackend when no backend is left
  }

  void onSideEvent(Session& s, bool is_backend, uint32_t events) {
    if (s.closed) {
      return;
    }
    if (is_backend && s.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s.backend, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        abandonConnect(s, std::strerror(err ? err : ECONNREFUSED));
        return;
      }
      if (events & EPOLLOUT) {
        onBackendConnected(s, events);
      }
      return;
    }
    if (s.connecting) {
      // The client's side while its session moves to another backend: its bytes wait in the
      // socket, and onBackendConnected reads them.
      if (events & kHungUp) {
        s.up.from_hung_up = true;
      }
      return;
    }
    // Readable (or EOF/error) on this side feeds the flow *from* it; writable drains the flow *to*
    // it. An error shows up as a failed recv/send, which closes the session.
    Flow& from_here = is_backend ? s.down : s.up;
    Flow& to_here = is_backend ? s.up : s.down;
    // Edge-triggered EPOLLOUT fires whenever the peer's ACKs free send space, mostly with
    // nothing waiting: only a flow holding pending bytes has work to do then.
    if ((events & EPOLLOUT) && to_here.pending_len > 0) {
      pump(s, to_here);
    }
    if (events & kHungUp) {
      from_here.from_hung_up = true;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      pump(s, from_here);
    }
  }

  void closeFds(Session& s) {
    if (s.client >= 0) {
      ::close(s.client);
      s.client = -1;
    }
    if (s.backend >= 0) {
      ::close(s.backend);
      s.backend = -1;
    }
  }

  void close(Session& s) {
    if (s.closed) {
      return;
    }
    s.closed = true;
    if (s.connecting) {
      connecting.remove(&s);
      s.connecting = false;
    } else if (s.chosen && s.up.from >= 0) {
      s.chosen->counters->active.fetch_sub(1, std::memory_order_relaxed);
    }
    closeFds(s);  // close() also removes the descriptors from epoll
    sessions.erase(&s);
    graveyard.push_back(&s);  // events of this batch may still point at it
  }

  void sweepIdle(TimePoint now) {
    std::vector<Session*> idle;
    for (auto* s : sessions) {
      bool waited_out = s->gated && now - s->gated_since > s->vs->promotion_wait;
      if (waited_out || (!s->connecting && now - s->last_activity > s->vs->idle_timeout)) {
        idle.push_back(s);
      }
    }
    for (auto* s : idle) {
      close(*s);
    }
  }
};

void Worker::Impl::Side::onEvent(uint32_t events) {
  session->worker->onSideEvent(*session, is_backend, events);
}

Worker::Worker(int index, ConnectFailed on_connect_failed) : impl_(std::make_shared<Impl>()) {
  impl_->index = index;
  impl_->on_connect_failed = std::move(on_connect_failed);
}

Worker::~Worker() { stop(); }

void Worker::start() {
  auto impl = impl_;
  thread_ = std::thread([impl] { impl->run(); });
}

void Worker::apply(SnapshotPtr snapshot) {
  auto* impl = impl_.get();
  impl_->post([impl, snapshot] { impl->apply(snapshot); });
}

Worker::Stats Worker::stats() const {
  return Stats{impl_->accept_errors.load(std::memory_order_relaxed),
               impl_->local_connect_errors.load(std::memory_order_relaxed)};
}

void Worker::stop() {
  if (!thread_.joinable()) {
    return;
  }
  auto* impl = impl_.get();
  impl_->post([impl] { impl->stopping = true; });
  thread_.join();
}

}  // namespace rampart::lb
