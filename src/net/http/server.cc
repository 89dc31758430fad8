#include "net/http/server.h"

#include <array>
#include <exception>
#include <list>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "base/log.h"
#include "net/http/upgrade.h"
#include "net/resource_errors.h"

namespace rampart::net::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// The answer to a request that could not be read, or 0 to just close (the client left, timed
// out, or the transport failed: nobody would read an answer).
int statusForReadError(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return 431;
  }
  if (ec == bhttp::error::body_limit) {
    return 413;
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) {
    return 0;
  }
  if (ec.category() == beast::error_code(bhttp::error::bad_target).category()) {
    return 400;  // every other parse error: bad method, target, version, header, chunk, ...
  }
  return 0;
}

const char* reasonBody(int status) {
  switch (status) {
    case 400:
      return "bad request\n";
    case 413:
      return "request body too large\n";
    case 431:
      return "request header fields too large\n";
    default:
      return "error\n";
  }
}

// Streams with a deadline (tcp_stream, possibly under TLS) get the idle timeout; the in-memory
// test stream has none.
template <class Stream>
void armTimeout(Stream& stream, Duration timeout) {
  if constexpr (requires { beast::get_lowest_layer(stream).expires_after(timeout); }) {
    beast::get_lowest_layer(stream).expires_after(timeout);
  }
}

template <class Stream>
void disarmTimeout(Stream& stream) {
  if constexpr (requires { beast::get_lowest_layer(stream).expires_never(); }) {
    beast::get_lowest_layer(stream).expires_never();
  }
}

// Kept for one streamed answer: writes the head and chunks with a deadline each, and watches the
// connection's read side so that a client that hangs up is noticed while nothing is written.
// A streamed answer always ends its connection (the reader owns the read side meanwhile).
template <class Stream>
class StreamWriter final : public ResponseStream {
 public:
  StreamWriter(std::shared_ptr<Stream> stream, Duration write_timeout,
               beast::flat_buffer* read_buffer)
      : stream_(std::move(stream)), write_timeout_(write_timeout), read_buffer_(read_buffer) {}

  asio::awaitable<bool> begin(int status, std::string content_type,
                              std::vector<std::pair<std::string, std::string>> headers) override {
    if (begun_ || !*open_) {
      co_return false;
    }
    begun_ = true;
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(status), 11};
    head.set(bhttp::field::server, "rampart");
    if (!content_type.empty()) {
      head.set(bhttp::field::content_type, content_type);
    }
    for (auto& [name, value] : headers) {
      head.insert(name, value);
    }
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    armTimeout(*stream_, write_timeout_);
    auto [ec, n] = co_await bhttp::async_write_header(*stream_, serializer, kTuple);
    disarmTimeout(*stream_);
    if (ec) {
      *open_ = false;
      co_return false;
    }
    watchReadSide();
    co_return true;
  }

  asio::awaitable<bool> write(std::string data) override {
    if (!begun_ || !*open_) {
      co_return false;
    }
    if (data.empty()) {
      co_return true;  // an empty chunk would end the body
    }
    armTimeout(*stream_, write_timeout_);
    auto [ec, n] = co_await asio::async_write(*stream_, bhttp::make_chunk(asio::buffer(data)), kTuple);
    disarmTimeout(*stream_);
    if (ec) {
      *open_ = false;
      co_return false;
    }
    co_return true;
  }

  bool open() const override { return *open_; }
  bool begun() const { return begun_; }
  bool upgraded() const { return upgraded_; }

  std::shared_ptr<UpgradedConnection> takeConnection() override {
    if (begun_ || upgraded_) {
      return nullptr;
    }
    auto taken = std::make_shared<UpgradedConnection>();
    if constexpr (std::is_same_v<Stream, PlainStream> || std::is_same_v<Stream, TlsStream>) {
      taken->stream = stream_;
    } else {
      return nullptr;  // the in-memory test stream
    }
    taken->leftover = beast::buffers_to_string(read_buffer_->data());
    read_buffer_->consume(read_buffer_->size());
    upgraded_ = true;
    return taken;
  }

  asio::awaitable<void> end() {
    if (*open_) {
      armTimeout(*stream_, write_timeout_);
      co_await asio::async_write(*stream_, bhttp::make_chunk_last(), kTuple);
      disarmTimeout(*stream_);
    }
  }

 private:
  void watchReadSide() {
    asio::co_spawn(stream_->get_executor(), drainUntilClosed(stream_, open_), asio::detached);
  }

  // Reads (and drops) whatever the client sends until it closes, then clears `open`. A coroutine
  // with its state in its (by-value) parameters: it may outlive the writer.
  static asio::awaitable<void> drainUntilClosed(std::shared_ptr<Stream> stream,
                                                std::shared_ptr<bool> open) {
    std::array<char, 512> sink;
    for (;;) {
      auto [ec, n] = co_await stream->async_read_some(asio::buffer(sink), kTuple);
      if (ec) {
        *open = false;
        co_return;
      }
    }
  }

  std::shared_ptr<Stream> stream_;
  Duration write_timeout_;
  beast::flat_buffer* read_buffer_;  // serve()'s, which outlives the writer
  bool begun_ = false;
  bool upgraded_ = false;  // the handler took the connection: hands off
  std::shared_ptr<bool> open_ = std::make_shared<bool>(true);
};

template <class Stream>
void finish(Stream& stream) {
  beast::error_code ignored;
  if constexpr (requires { beast::get_lowest_layer(stream).socket(); }) {
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    stream.close();
  }
}

// After a refusal the client may still be sending (the rest of a huge header or body). Closing
// with unread bytes makes the kernel send a RST, which can destroy the answer before the client
// reads it; so stop sending, then read and drop what comes for a moment (bounded: drain_limit
// bytes, 1 s).
template <class Stream>
asio::awaitable<void> linger(Stream& stream, size_t drain_limit) {
  if constexpr (requires { beast::get_lowest_layer(stream).socket(); }) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.expires_after(std::chrono::seconds(1));
    std::array<char, 4096> sink;
    size_t total = 0;
    while (total < drain_limit) {
      auto [ec, n] = co_await lowest.async_read_some(asio::buffer(sink), kTuple);
      if (ec) {
        break;
      }
      total += n;
    }
  }
  co_return;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::any_io_executor executor;
  ServerOptions options;
  SslContextPtr tls;  // set: HTTPS only
  std::map<std::string, Handler> routes;
  AsyncHandler fallback;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::list<std::weak_ptr<beast::tcp_stream>> connections;
  bool stopped = false;
  ServerStats stats;
  ExhaustionEpisode exhaustion;

  // The answer of the exact route, or of the fallback (which may stream through `writer`).
  template <class Stream>
  asio::awaitable<Response> dispatch(const Request& request, StreamWriter<Stream>& writer) {
    std::string path = request.target.substr(0, request.target.find('?'));
    auto it = routes.find(path);
    if (it == routes.end() && !fallback) {
      co_return Response::text(404, "not found: " + path + "\n");
    }
    // A handler's library exception (a JSON parse, a bad_alloc) fails this request only.
    Response response;
    try {
      if (it != routes.end()) {
        response = it->second(request);
      } else {
        response = co_await fallback(request, writer);
      }
    } catch (const std::exception& e) {
      log::get("http")->error("handler failed path={} error=\"{}\"", path, e.what());
      response = Response::text(500, "internal error\n");
    }
    co_return response;
  }

  // One connection's requests, in order, until the client closes, a request cannot be read, or
  // a response says close. Shared by real sockets and processForTesting().
  template <class Stream>
  asio::awaitable<void> serve(std::shared_ptr<Stream> stream, std::string client_identity) {
    auto self = shared_from_this();
    // Holds at most one request's line and headers (the body goes into the parser's string):
    // a client that never ends its headers gets 431, not an ever-growing buffer.
    beast::flat_buffer buffer(options.header_limit + 4096);
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options.header_limit));
      parser.body_limit(options.body_limit);
      armTimeout(*stream, options.idle_timeout);
      auto [ec, n] = co_await bhttp::async_read(*stream, buffer, parser, kTuple);
      if (ec) {
        if (int status = statusForReadError(ec); status != 0) {
          ++stats.bad_requests;
          bhttp::response<bhttp::string_body> refused{static_cast<bhttp::status>(status), 11};
          refused.set(bhttp::field::server, "rampart");
          refused.set(bhttp::field::content_type, "text/plain; charset=utf-8");
          refused.keep_alive(false);
          refused.body() = reasonBody(status);
          if (options.refusal) {
            Response shaped = options.refusal(status);
            refused.set(bhttp::field::content_type, shaped.content_type);
            refused.body() = std::move(shaped.body);
          }
          refused.prepare_payload();
          co_await bhttp::async_write(*stream, refused, kTuple);
          // Read (and drop) what the client is still sending, within the 1 s bound, so that it
          // reads our answer instead of a reset: a body refused for its size may be a few times
          // the limit (an API object of 4 MiB against 3 MiB), anything else is small.
          co_await linger(*stream, std::max<size_t>(256 * 1024, 2 * options.body_limit));
        }
        break;
      }
      auto& msg = parser.get();
      Request request;
      request.method = std::string(msg.method_string());
      request.target = std::string(msg.target());
      for (auto& field : msg) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      request.body = std::move(msg.body());
      request.client_identity = client_identity;
      // The handler may take its time (etcd); the idle timeout is for reading requests only.
      disarmTimeout(*stream);
      StreamWriter<Stream> writer(stream, options.write_timeout, &buffer);
      Response response = co_await dispatch(request, writer);
      if (writer.upgraded()) {
        co_return;  // the handler owns the connection now (stop() still closes it)
      }
      if (writer.begun()) {
        co_await writer.end();
        break;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
      res.set(bhttp::field::server, "rampart");
      if (!response.content_type.empty()) {
        res.set(bhttp::field::content_type, response.content_type);
      }
      for (auto& [name, value] : response.headers) {
        res.insert(name, value);
      }
      res.keep_alive(msg.keep_alive());
      res.body() = std::move(response.body);
      res.prepare_payload();
      armTimeout(*stream, options.write_timeout);
      auto [wec, written] = co_await bhttp::async_write(*stream, res, kTuple);
      if (wec || !res.keep_alive()) {
        break;
      }
    }
    finish(*stream);
  }

  // An accepted connection, counted while it lives.
  asio::awaitable<void> connection(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    ++stats.active_connections;
    struct Uncount {
      ServerStats& stats;
      ~Uncount() { --stats.active_connections; }
    } uncount{stats};
    co_await serve(stream, std::string());
  }

  // An accepted HTTPS connection: the handshake (bounded), then the same serve() as plain HTTP,
  // with the verified client certificate's common name as the requests' identity.
  asio::awaitable<void> tlsConnection(std::shared_ptr<TlsStream> stream) {
    auto self = shared_from_this();
    ++stats.active_connections;
    struct Uncount {
      ServerStats& stats;
      ~Uncount() { --stats.active_connections; }
    } uncount{stats};
    beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(10));
    auto [ec] = co_await stream->async_handshake(asio::ssl::stream_base::server, kTuple);
    if (ec) {
      ++stats.tls_handshake_failures;
      log::get("http")->debug("TLS handshake failed error=\"{}\"", ec.message());
      beast::get_lowest_layer(*stream).close();
      co_return;
    }
    co_await serve(stream, peerCommonName(stream->native_handle()));
  }

  asio::awaitable<void> acceptLoop() {
    auto self = shared_from_this();
    asio::steady_timer pause(executor);
    while (!stopped) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) {
          break;
        }
        if (ec.category() == boost::system::system_category() && isLocalResourceError(ec.value())) {
          // Retrying at once would spin: the pending connection stays queued and the listener
          // stays readable until a descriptor is free.
          ++stats.accept_errors;
          if (exhaustion.onError()) {
            log::get("http")->warn(
                "accept failing, backing off until it succeeds error=\"{}\" active={}",
                ec.message(), stats.active_connections);
          }
          pause.expires_after(exhaustion.nextWait());
          co_await pause.async_wait(kTuple);
        }
        continue;
      }
      if (exhaustion.onSuccess()) {
        log::get("http")->info("accept works again");
      }
      if (stats.active_connections >= options.max_connections) {
        ++stats.rejected_connections;
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      connections.remove_if([](auto& w) { return w.expired(); });
      // TCP_NODELAY, as Go's net/http sets it: a response written in pieces (watch events,
      // streamed bodies) must not hold a small piece back until the client's delayed ACK
      // (up to 40 ms on Linux) for the one before it.
      beast::error_code nodelay_ignored;
      socket.set_option(tcp::no_delay(true), nodelay_ignored);
      if (tls) {
        auto stream = std::make_shared<TlsStream>(std::move(socket), *tls);
        // stop() closes the TCP layer; the alias keeps the whole TLS stream alive meanwhile.
        connections.push_back(std::shared_ptr<beast::tcp_stream>(stream, &stream->next_layer()));
        asio::co_spawn(executor, tlsConnection(stream), asio::detached);
      } else {
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        connections.push_back(stream);
        asio::co_spawn(executor, connection(stream), asio::detached);
      }
    }
  }
};

Server::Server(asio::any_io_executor executor, ServerOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->executor = std::move(executor);
  impl_->options = options;
}

Server::~Server() { stop(); }

void Server::route(std::string path, Handler handler) {
  impl_->routes[std::move(path)] = std::move(handler);
}

void Server::fallback(AsyncHandler handler) { impl_->fallback = std::move(handler); }

void Server::setOptions(const ServerOptions& options) { impl_->options = options; }

Result<void> Server::useTls(const TlsFiles& files) {
  auto context = makeServerContext(files);
  if (!context) {
    return fail(context.error());
  }
  impl_->tls = *context;
  return ok();
}

ServerStats Server::stats() const { return impl_->stats; }

Result<Endpoint> Server::listen(const Endpoint& where) {
  beast::error_code ec;
  auto address = asio::ip::make_address(where.host, ec);
  if (ec) {
    return fail(ErrorCode::InvalidArgument, "listen address '", where.host,
                "' is not an IP address");
  }
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->executor);
  tcp::endpoint endpoint(address, where.port);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return fail(ErrorCode::Unavailable, "listen on ", where.toString(), ": ", ec.message());
  }
  Endpoint bound{where.host, acceptor->local_endpoint().port()};
  impl_->acceptor = std::move(acceptor);
  impl_->stopped = false;
  asio::co_spawn(impl_->executor, impl_->acceptLoop(), asio::detached);
  return bound;
}

void Server::stop() {
  impl_->stopped = true;
  if (impl_->acceptor) {
    beast::error_code ignored;
    impl_->acceptor->close(ignored);
  }
  for (auto& weak : impl_->connections) {
    if (auto stream = weak.lock()) {
      stream->close();
    }
  }
  impl_->connections.clear();
}

std::string Server::processForTesting(std::string_view raw_request_bytes) {
  asio::io_context io;
  auto server_side = std::make_shared<beast::test::stream>(io);
  beast::test::stream client_side(io);
  server_side->connect(client_side);
  server_side->append(raw_request_bytes);
  server_side->close_remote();  // the server reads the bytes, then end of stream
  asio::co_spawn(io, impl_->serve(server_side, std::string()), asio::detached);
  io.run();
  return std::string(client_side.str());
}

}  // namespace rampart::net::http
