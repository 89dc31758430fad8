#include "lb/worker.h"

#include <sys/socket.h>

#include <list>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/log.h"

namespace rampart::lb {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr size_t kBufferSize = 64 * 1024;
constexpr size_t kMaxPooledBuffers = 256;

// Buffers for data in flight, reused on this worker only.
class BufferPool {
 public:
  std::unique_ptr<char[]> take() {
    if (free_.empty()) {
      return std::make_unique<char[]>(kBufferSize);
    }
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(std::unique_ptr<char[]> b) {
    if (free_.size() < kMaxPooledBuffers) {
      free_.push_back(std::move(b));
    }
  }

 private:
  std::vector<std::unique_ptr<char[]>> free_;
};

struct Session {
  Session(tcp::socket c, asio::any_io_executor ex) : client(std::move(c)), backend(ex) {}
  void closeBoth() {
    boost::system::error_code ignored;
    client.close(ignored);
    backend.close(ignored);
  }
  tcp::socket client;
  tcp::socket backend;
  std::string vs;
  std::string backend_id;
  TimePoint last_activity = std::chrono::steady_clock::now();
  Duration idle_timeout{};
};

uint64_t sourceHash(const tcp::socket& s) {
  boost::system::error_code ec;
  auto remote = s.remote_endpoint(ec);
  if (ec) {
    return 0;
  }
  auto bytes = remote.address().to_string();
  return hashBytes(bytes);
}

}  // namespace

struct Worker::Impl : std::enable_shared_from_this<Worker::Impl> {
  int index;
  ConnectFailed on_connect_failed;
  // Sockets of a worker are only ever touched on its own thread, so the reactor needs no
  // per-descriptor locking; posts from the control thread still lock the scheduler.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  struct ServerState {
    std::shared_ptr<const VirtualServerSnapshot> snapshot;
    std::unique_ptr<tcp::acceptor> acceptor;
    int listen_fd = -1;
    uint64_t counter = 0;  // round-robin position on this worker
  };
  std::map<std::string, ServerState> servers;
  std::list<std::weak_ptr<Session>> sessions;
  BufferPool buffers;
  std::unique_ptr<asio::steady_timer> sweeper;
  bool stopping = false;

  void applyOnLoop(SnapshotPtr snapshot) {
    std::map<std::string, std::shared_ptr<const VirtualServerSnapshot>> next;
    for (const auto& vs : *snapshot) {
      next[vs->name] = vs;
    }
    // Servers that are gone: stop accepting (established connections stay).
    for (auto it = servers.begin(); it != servers.end();) {
      if (!next.count(it->first)) {
        boost::system::error_code ignored;
        it->second.acceptor->close(ignored);
        it = servers.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [name, vs] : next) {
      auto& state = servers[name];
      int fd = vs->listen_fds.at(static_cast<size_t>(index));
      if (state.listen_fd != fd) {
        if (state.acceptor) {
          boost::system::error_code ignored;
          state.acceptor->close(ignored);
        }
        state.acceptor = std::make_unique<tcp::acceptor>(io);
        boost::system::error_code ec;
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        state.acceptor->assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
        state.listen_fd = fd;
        asio::co_spawn(io, acceptLoop(shared_from_this(), name, state.acceptor.get()),
                       asio::detached);
      }
      auto previous = state.snapshot;
      state.snapshot = vs;
      if (previous && vs->on_down == OnDown::Close) {
        closeSessionsOfNewlyDownBackends(*previous, *vs);
      }
    }
  }

  void closeSessionsOfNewlyDownBackends(const VirtualServerSnapshot& before,
                                        const VirtualServerSnapshot& after) {
    std::vector<std::string> down;
    for (const auto& b : after.backends) {
      bool was_usable = false;
      for (const auto& p : before.backends) {
        if (p.id == b.id) {
          was_usable = p.usable;
        }
      }
      if (was_usable && !b.usable) {
        down.push_back(b.id);
      }
    }
    if (down.empty()) {
      return;
    }
    for (auto& weak : sessions) {
      if (auto s = weak.lock()) {
        if (s->vs == after.name &&
            std::find(down.begin(), down.end(), s->backend_id) != down.end()) {
          s->closeBoth();
        }
      }
    }
  }

  static asio::awaitable<void> acceptLoop(std::shared_ptr<Impl> self, std::string vs,
                                          tcp::acceptor* acceptor) {
    asio::steady_timer backoff(self->io);
    while (acceptor->is_open()) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) {
          break;
        }
        // EMFILE and the like: do not spin.
        backoff.expires_after(std::chrono::milliseconds(10));
        co_await backoff.async_wait(kTuple);
        continue;
      }
      asio::co_spawn(self->io, serve(self, vs, std::move(socket)), asio::detached);
    }
  }

  // Connects to one backend within the virtual server's connect timeout.
  static asio::awaitable<boost::system::error_code> connect(tcp::socket& socket,
                                                            tcp::endpoint target,
                                                            Duration timeout) {
    asio::steady_timer timer(socket.get_executor());
    bool timed_out = false;
    timer.expires_after(timeout);
    timer.async_wait([&socket, &timed_out](const boost::system::error_code& ec) {
      if (!ec) {
        timed_out = true;
        boost::system::error_code ignored;
        socket.close(ignored);
      }
    });
    auto [ec] = co_await socket.async_connect(target, kTuple);
    timer.cancel();
    if (timed_out) {
      co_return asio::error::timed_out;
    }
    co_return ec;
  }

  static asio::awaitable<void> serve(std::shared_ptr<Impl> self, std::string vs_name,
                                     tcp::socket client) {
    auto it = self->servers.find(vs_name);
    if (it == self->servers.end()) {
      co_return;
    }
    auto vs = it->second.snapshot;  // this connection keeps the picture it started with
    uint64_t counter = it->second.counter++;
    auto session = std::make_shared<Session>(std::move(client), self->io.get_executor());
    session->vs = vs_name;
    session->idle_timeout = vs->idle_timeout;
    session->client.set_option(tcp::no_delay(true));

    std::vector<BackendView> views;
    views.reserve(vs->backends.size());
    for (const auto& b : vs->backends) {
      views.push_back(BackendView{b.id_hash, b.weight, b.counters->active.load(),
                                  b.max_connections, b.usable});
    }
    uint64_t source = vs->policy == Policy::SourceHash ? sourceHash(session->client) : 0;
    const BackendSlot* chosen = nullptr;
    for (size_t i : connectOrder(vs->policy, views, counter, source)) {
      const auto& b = vs->backends[i];
      auto ec = co_await connect(session->backend, b.address, vs->connect_timeout);
      if (!ec) {
        chosen = &b;
        break;
      }
      b.counters->connect_failures.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      session->backend.close(ignored);
      if (vs->passive_ejection && self->on_connect_failed) {
        self->on_connect_failed(vs_name, b.id,
                                ec == asio::error::timed_out ? "connect timed out" : ec.message());
      }
    }
    if (!chosen) {
      vs->failed_connections->fetch_add(1, std::memory_order_relaxed);
      session->closeBoth();
      co_return;
    }
    session->backend_id = chosen->id;
    session->backend.set_option(tcp::no_delay(true));
    session->client.non_blocking(true);
    session->backend.non_blocking(true);
    auto counters = chosen->counters;  // outlives a reload that drops the backend
    counters->active.fetch_add(1, std::memory_order_relaxed);
    counters->connections.fetch_add(1, std::memory_order_relaxed);
    self->sessions.push_back(session);
    co_await (pump(self, session, true, counters) && pump(self, session, false, counters));
    session->closeBoth();
    counters->active.fetch_sub(1, std::memory_order_relaxed);
  }

  // Relays one direction until EOF (then half-closes the other side) or an error (then closes
  // both, which also ends the opposite pump).
  static asio::awaitable<void> pump(std::shared_ptr<Impl> self, std::shared_ptr<Session> s,
                                    bool to_backend, std::shared_ptr<BackendCounters> counters) {
    tcp::socket& from = to_backend ? s->client : s->backend;
    tcp::socket& to = to_backend ? s->backend : s->client;
    auto& bytes = to_backend ? counters->bytes_to_backend : counters->bytes_to_client;
    for (;;) {
      auto [wait_ec] = co_await from.async_wait(tcp::socket::wait_read, kTuple);
      if (wait_ec) {
        s->closeBoth();
        co_return;
      }
      auto buffer = self->buffers.take();
      boost::system::error_code ec;
      size_t n = from.read_some(asio::buffer(buffer.get(), kBufferSize), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        self->buffers.give(std::move(buffer));
        continue;
      }
      if (ec == asio::error::eof) {
        self->buffers.give(std::move(buffer));
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
      if (ec) {
        self->buffers.give(std::move(buffer));
        s->closeBoth();
        co_return;
      }
      s->last_activity = std::chrono::steady_clock::now();
      auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.get(), n), kTuple);
      self->buffers.give(std::move(buffer));
      if (write_ec) {
        s->closeBoth();
        co_return;
      }
      bytes.fetch_add(written, std::memory_order_relaxed);
    }
  }

  static asio::awaitable<void> sweep(std::shared_ptr<Impl> self) {
    while (!self->stopping) {
      self->sweeper->expires_after(std::chrono::seconds(1));
      co_await self->sweeper->async_wait(kTuple);
      auto now = std::chrono::steady_clock::now();
      for (auto it = self->sessions.begin(); it != self->sessions.end();) {
        auto s = it->lock();
        if (!s) {
          it = self->sessions.erase(it);
          continue;
        }
        if (now - s->last_activity > s->idle_timeout) {
          s->closeBoth();
        }
        ++it;
      }
    }
  }
};

Worker::Worker(int index, ConnectFailed on_connect_failed) : impl_(std::make_shared<Impl>()) {
  impl_->index = index;
  impl_->on_connect_failed = std::move(on_connect_failed);
  impl_->guard = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
      impl_->io.get_executor());
  impl_->sweeper = std::make_unique<asio::steady_timer>(impl_->io);
}

Worker::~Worker() { stop(); }

void Worker::start() {
  auto impl = impl_;
  asio::co_spawn(impl->io, Impl::sweep(impl), asio::detached);
  thread_ = std::thread([impl] { impl->io.run(); });
}

void Worker::apply(SnapshotPtr snapshot) {
  auto impl = impl_;
  asio::post(impl->io, [impl, snapshot] { impl->applyOnLoop(snapshot); });
}

void Worker::stop() {
  if (!thread_.joinable()) {
    return;
  }
  auto impl = impl_;
  asio::post(impl->io, [impl] {
    impl->stopping = true;
    for (auto& [name, state] : impl->servers) {
      boost::system::error_code ignored;
      state.acceptor->close(ignored);
    }
    for (auto& weak : impl->sessions) {
      if (auto s = weak.lock()) {
        s->closeBoth();
      }
    }
    impl->sweeper->cancel();
    impl->guard.reset();
    impl->io.stop();
  });
  thread_.join();
}

}  // namespace rampart::lb
