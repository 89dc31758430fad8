#include "redis/sentinel_server.h"

#include <array>
#include <list>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "redis/sentinel_pubsub.h"

namespace rampart::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One client connection. Lives on the loop thread only: its read coroutine, its write chain
// and the publisher touch it there, and nowhere else.
struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::string input;
  std::string output;    // queued, not yet handed to a write
  std::string inflight;  // the bytes of the write in progress
  bool writing = false;
  bool close_after_write = false;  // QUIT, a protocol error
  bool closed = false;
  SentinelSession session;
  Subscriptions subscriptions;

  void close() {
    if (!closed) {
      closed = true;
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    }
  }
};

struct SentinelServer::Impl {
  // Declared first, destroyed last: sockets must go before the io_context they belong to.
  asio::io_context io{1};
  SentinelServerOptions options;
  net::Endpoint bound;
  tcp::acceptor acceptor{io};
  SentinelSnapshot snapshot;                           // loop thread only
  std::list<std::shared_ptr<Connection>> connections;  // loop thread only
  int64_t next_id = 1;
  std::thread thread;

  void queue(const std::shared_ptr<Connection>& c, std::string bytes) {
    if (c->closed || bytes.empty()) {
      return;
    }
    c->output += bytes;
    // A client that stopped reading: its backlog is bounded, as Redis bounds a subscriber's.
    if (c->output.size() + c->inflight.size() > options.max_output_bytes) {
      c->close();
      return;
    }
    flush(c);
  }

  void flush(const std::shared_ptr<Connection>& c) {
    if (c->writing || c->closed) {
      return;
    }
    if (c->output.empty()) {
      if (c->close_after_write) {
        c->close();
      }
      return;
    }
    c->writing = true;
    c->inflight = std::move(c->output);
    c->output.clear();
    asio::async_write(c->socket, asio::buffer(c->inflight),
                      [this, c](const boost::system::error_code& ec, size_t) {
                        c->writing = false;
                        c->inflight.clear();
                        if (ec) {
                          c->close();
                          return;
                        }
                        flush(c);
                      });
  }

  // Answers every complete request in the input buffer; false when the connection must stop
  // reading (protocol error, QUIT).
  bool serve(const std::shared_ptr<Connection>& c) {
    size_t offset = 0;
    bool keep_reading = true;
    std::string replies;
    while (keep_reading) {
      auto parsed = parseRequest(std::string_view(c->input).substr(offset), options.limits);
      if (!parsed) {
        replies += protocolErrorReply(parsed.error());
        c->close_after_write = true;
        keep_reading = false;
        break;
      }
      if (!*parsed) {
        if (c->input.size() - offset > options.max_input_bytes) {
          replies += "-ERR Protocol error: too big request\r\n";
          c->close_after_write = true;
          keep_reading = false;
        }
        break;
      }
      offset += (*parsed)->consumed;
      const auto& argv = (*parsed)->argv;
      if (argv.empty()) {
        continue;
      }
      if (auto pubsub = answerPubSub(argv, c->subscriptions)) {
        replies += *pubsub;
        continue;
      }
      replies += answerSentinel(snapshot, argv, c->session);
      if (c->session.close) {
        c->close_after_write = true;
        keep_reading = false;
      }
    }
    c->input.erase(0, offset);
    queue(c, std::move(replies));
    if (c->close_after_write) {
      flush(c);
    }
    return keep_reading;
  }

  asio::awaitable<void> readLoop(std::shared_ptr<Connection> c) {
    std::array<char, 16 * 1024> buffer;
    for (;;) {
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buffer),
                                                        asio::as_tuple(asio::use_awaitable));
      if (ec || c->closed) {
        break;
      }
      c->input.append(buffer.data(), n);
      if (!serve(c)) {
        break;
      }
    }
    if (!c->close_after_write) {
      c->close();
    }
    connections.remove(c);
  }

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        co_return;
      }
      if (ec) {
        // EMFILE and kin: back off briefly instead of spinning on a listener that stays ready.
        asio::steady_timer pause(io, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      if (connections.size() >= options.max_clients) {
        boost::system::error_code ignored;
        asio::write(socket, asio::buffer(std::string("-ERR max number of clients reached\r\n")),
                    ignored);
        socket.close(ignored);
        continue;
      }
      auto c = std::make_shared<Connection>(std::move(socket));
      c->session.id = next_id++;
      connections.push_back(c);
      auto loop = readLoop(c);
      asio::co_spawn(io, std::move(loop), asio::detached);
    }
  }

  void setSnapshot(SentinelSnapshot next) {
    auto event = switchMasterEvent(snapshot, next);
    snapshot = std::move(next);
    if (!event) {
      return;
    }
    for (const auto& c : connections) {
      queue(c, deliver(c->subscriptions, kSwitchMasterChannel, *event));
    }
  }
};

Result<std::unique_ptr<SentinelServer>> SentinelServer::start(SentinelServerOptions options,
                                                              SentinelSnapshot initial) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->snapshot = std::move(initial);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl->options.listen.host, ec);
  if (ec) {
    return fail(ErrorCode::InvalidArgument, "sentinel listen address ",
                impl->options.listen.hostPort(), ": not an IP address");
  }
  tcp::endpoint where(address, impl->options.listen.port);
  impl->acceptor.open(where.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    impl->acceptor.bind(where, ec);
  }
  if (!ec) {
    impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return fail(ErrorCode::Unavailable, "sentinel listen ", impl->options.listen.hostPort(), ": ",
                ec.message());
  }
  impl->bound = net::Endpoint{impl->options.listen.host, impl->acceptor.local_endpoint().port()};
  auto accept = impl->acceptLoop();
  asio::co_spawn(impl->io, std::move(accept), asio::detached);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<SentinelServer>(new SentinelServer(std::move(impl)));
}

SentinelServer::SentinelServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SentinelServer::~SentinelServer() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    for (const auto& c : impl->connections) {
      c->close();
    }
  });
  // The coroutines end once their sockets are closed; stop() ends run() for whatever is left.
  asio::post(impl->io, [impl] { impl->io.stop(); });
  impl->thread.join();
  impl->connections.clear();
}

net::Endpoint SentinelServer::endpoint() const { return impl_->bound; }

void SentinelServer::update(SentinelSnapshot snapshot) {
  Impl* impl = impl_.get();
  asio::post(impl->io,
             [impl, s = std::move(snapshot)]() mutable { impl->setSnapshot(std::move(s)); });
}

}  // namespace rampart::redis
