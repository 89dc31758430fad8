#include "net/http/client.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/http/fetch_once_tls.h"
#include "net/tls.h"

namespace rampart::net::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;
constexpr size_t kMaxIdlePerEndpoint = 16;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A plain or a TLS connection: `tls` takes over `stream` after the handshake. Every operation
// is bounded by the lowest layer's expiry, the TLS handshake included.
struct Connection {
  explicit Connection(asio::any_io_executor ex) : stream(ex) {}
  beast::tcp_stream stream;
  std::unique_ptr<TlsStream> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : stream; }
  void expiresAt(TimePoint deadline) { lowest().expires_at(deadline); }
};
using ConnectionPtr = std::unique_ptr<Connection>;

template <typename Message>
asio::awaitable<std::tuple<beast::error_code, size_t>> writeTo(Connection& c, Message& message) {
  if (c.tls) {
    co_return co_await bhttp::async_write(*c.tls, message, kTuple);
  }
  co_return co_await bhttp::async_write(c.stream, message, kTuple);
}

template <typename Parser>
asio::awaitable<std::tuple<beast::error_code, size_t>> readFrom(Connection& c, Parser& parser) {
  if (c.tls) {
    co_return co_await bhttp::async_read(*c.tls, c.buffer, parser, kTuple);
  }
  co_return co_await bhttp::async_read(c.stream, c.buffer, parser, kTuple);
}

template <typename Parser>
asio::awaitable<std::tuple<beast::error_code, size_t>> readHeaderFrom(Connection& c,
                                                                      Parser& parser) {
  if (c.tls) {
    co_return co_await bhttp::async_read_header(*c.tls, c.buffer, parser, kTuple);
  }
  co_return co_await bhttp::async_read_header(c.stream, c.buffer, parser, kTuple);
}

template <typename Parser>
asio::awaitable<std::tuple<beast::error_code, size_t>> readSomeFrom(Connection& c, Parser& parser) {
  if (c.tls) {
    co_return co_await bhttp::async_read_some(*c.tls, c.buffer, parser, kTuple);
  }
  co_return co_await bhttp::async_read_some(c.stream, c.buffer, parser, kTuple);
}

Error ioError(const Endpoint& endpoint, std::string_view what, const beast::error_code& ec) {
  std::string msg = std::string(what) + " " + endpoint.toString() + ": " + ec.message();
  if (ec == beast::error::timeout) {
    return Error{ErrorCode::DeadlineExceeded, msg};
  }
  if (ec == asio::error::operation_aborted) {
    return Error{ErrorCode::Cancelled, msg};
  }
  return Error{ErrorCode::Unavailable, msg};
}

asio::awaitable<Result<ConnectionPtr>> connect(asio::any_io_executor ex, Endpoint endpoint,
                                               TimePoint deadline) {
  auto conn = std::make_unique<Connection>(ex);
  conn->stream.expires_at(deadline);
  beast::error_code parse_ec;
  auto address = asio::ip::make_address(endpoint.host, parse_ec);
  if (!parse_ec) {
    auto [ec] = co_await conn->stream.async_connect(tcp::endpoint(address, endpoint.port), kTuple);
    if (ec) {
      co_return fail(ioError(endpoint, "connect", ec));
    }
  } else {
    tcp::resolver resolver(ex);
    auto [rec, results] =
        co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), kTuple);
    if (rec) {
      co_return fail(ioError(endpoint, "resolve", rec));
    }
    auto [ec, ignored] = co_await conn->stream.async_connect(results, kTuple);
    if (ec) {
      co_return fail(ioError(endpoint, "connect", ec));
    }
  }
  conn->stream.socket().set_option(tcp::no_delay(true));
  co_return conn;
}

// Connects and, for an https:// endpoint, completes a verified TLS handshake (CA, host name or
// IP address, optional client certificate) by `deadline`.
asio::awaitable<Result<ConnectionPtr>> open(asio::any_io_executor ex, Endpoint endpoint,
                                            TimePoint deadline, const TlsFiles& files,
                                            SslContextPtr context) {
  auto conn = co_await connect(ex, endpoint, deadline);
  if (!conn || !endpoint.tls) {
    co_return conn;
  }
  auto& c = **conn;
  c.tls = std::make_unique<TlsStream>(std::move(c.stream), *context);
  if (auto r = prepareClientConnection(c.tls->native_handle(), files, endpoint.host); !r) {
    co_return fail(r.error());
  }
  c.expiresAt(deadline);
  auto [ec] = co_await c.tls->async_handshake(asio::ssl::stream_base::client, kTuple);
  if (ec) {
    auto error = ioError(endpoint, "TLS handshake with", ec);
    if (error.code != ErrorCode::DeadlineExceeded &&
        ec.category() == asio::error::get_ssl_category()) {
      // A certificate the CA did not sign or that names another host: trying again will not
      // help, but another member might be configured right, so it stays Unavailable.
      error.message += " (check tls.ca / tls.server_name)";
    }
    co_return fail(std::move(error));
  }
  co_return conn;
}

bhttp::request<bhttp::string_body> toBeast(const Endpoint& endpoint, Request request) {
  bhttp::request<bhttp::string_body> req;
  req.method(bhttp::string_to_verb(request.method));
  req.target(request.target);
  req.version(11);
  req.set(bhttp::field::host, endpoint.hostPort());
  for (auto& [name, value] : request.headers) {
    req.set(name, value);
  }
  if (!request.body.empty() && req.find(bhttp::field::content_type) == req.end()) {
    req.set(bhttp::field::content_type, "application/json");
  }
  req.body() = std::move(request.body);
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

class BeastBodyStream final : public BodyStream {
 public:
  BeastBodyStream(ConnectionPtr conn, Endpoint endpoint)
      : conn_(std::move(conn)), endpoint_(std::move(endpoint)) {
    // The body goes to `pending_` chunk by chunk instead of into a body container.
    parser_.body_limit(boost::none);
    chunk_cb_ = [this](std::uint64_t, beast::string_view body, beast::error_code&) {
      pending_.append(body.data(), body.size());
      return body.size();
    };
    parser_.on_chunk_body(chunk_cb_);
  }

  asio::awaitable<Result<void>> readHeader(TimePoint deadline) {
    conn_->expiresAt(deadline);
    auto [ec, n] = co_await readHeaderFrom(*conn_, parser_);
    if (ec) {
      co_return fail(ioError(endpoint_, "read header from", ec));
    }
    co_return ok();
  }

  int status() const override { return parser_.get().result_int(); }

  asio::awaitable<Result<std::optional<std::string>>> read(TimePoint deadline) override {
    while (pending_.empty()) {
      if (parser_.is_done() || closed_) {
        co_return std::optional<std::string>();
      }
      conn_->expiresAt(deadline);
      auto [ec, n] = co_await readSomeFrom(*conn_, parser_);
      if (ec && pending_.empty()) {
        if (closed_) {
          co_return fail(ErrorCode::Cancelled, "stream from ", endpoint_.toString(), " closed");
        }
        co_return fail(ioError(endpoint_, "read stream from", ec));
      }
    }
    std::string out;
    out.swap(pending_);
    co_return std::optional<std::string>(std::move(out));
  }

  void close() override {
    closed_ = true;
    beast::error_code ignored;
    conn_->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn_->lowest().close();
  }

 private:
  ConnectionPtr conn_;
  Endpoint endpoint_;
  bhttp::response_parser<bhttp::empty_body> parser_;
  std::function<std::size_t(std::uint64_t, beast::string_view, beast::error_code&)> chunk_cb_;
  std::string pending_;
  bool closed_ = false;
};

}  // namespace

asio::awaitable<Result<Response>> fetchOnce(asio::any_io_executor executor, Endpoint endpoint,
                                            Request request, TimePoint deadline, bool tls) {
  if (tls) {
    // Unverified, as lvscare's checks (--health-insecure-skip-verify): the caller asked for
    // TLS, not for an identity.
    // (Named locals, not temporaries, in the co_await: GCC 12 destroys a temporary argument of
    // a coroutine call twice.)
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    context->set_verify_mode(asio::ssl::verify_none);
    TlsFiles unverified;
    auto answer = co_await fetchOnceTls(executor, std::move(endpoint), std::move(request),
                                        deadline, unverified, context);
    co_return answer;
  }
  request.headers.emplace_back("Connection", "close");
  Client client(executor);
  co_return co_await client.fetch(std::move(endpoint), std::move(request), deadline);
}

asio::awaitable<Result<Response>> fetchOnceTls(asio::any_io_executor executor, Endpoint endpoint,
                                               Request request, TimePoint deadline, TlsFiles files,
                                               SslContextPtr context) {
  endpoint.tls = true;
  auto conn = co_await open(executor, endpoint, deadline, files, std::move(context));
  if (!conn) {
    co_return fail(conn.error());
  }
  auto& c = **conn;
  auto req = toBeast(endpoint, std::move(request));
  req.keep_alive(false);
  c.expiresAt(deadline);
  auto [wec, written] = co_await writeTo(c, req);
  if (wec) {
    co_return fail(ioError(endpoint, "write to", wec));
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  auto [rec, read] = co_await readFrom(c, parser);
  if (rec) {
    // A server that refuses the client's certificate says so in an alert after the handshake
    // (TLS 1.3): it arrives here, as OpenSSL's reason.
    co_return fail(ioError(endpoint, "read from", rec));
  }
  Response response;
  response.status = parser.get().result_int();
  response.body = std::move(parser.get().body());
  beast::error_code ignored;
  c.lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return response;
}

namespace {

// Whether a pooled connection still looks open: nothing to read on an idle connection
// (no EOF, no TLS close_notify, no stray bytes). A peer that closed it while it sat idle is
// found here, before a request that may not be replayed is written to it.
bool stillOpen(Connection& conn) {
  char byte;
  ssize_t n = ::recv(conn.lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// A fetch waiting for a connection to an endpoint at its cap. Whoever hands one back fills
// `conn` (a live keep-alive connection) or sets `slot` (room to open one), then cancels the
// timer; the waiter checks those before the timer's outcome, so a grant that races the deadline
// is still taken (and so never leaks a slot).
struct Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  ConnectionPtr conn;
  bool slot = false;
};

// One endpoint's fetch connections. Invariant: open == (connections in use by a fetch) +
// idle.size(), and open <= cap. A slot is taken (open + 1) before a connection is opened and
// given back (open − 1) when one is closed or fails to open, unless it passes straight to a
// waiter, which then owns it: the count never moves in that hand-over.
struct Host {
  size_t open = 0;
  std::vector<ConnectionPtr> idle;
  std::deque<Waiter*> waiters;  // arrival order
};
using HostPtr = std::shared_ptr<Host>;

// Takes a waiter off its queue whatever way its wait ends (grant, deadline, destruction).
struct WaiterGuard {
  HostPtr host;
  Waiter* waiter;
  ~WaiterGuard() {
    auto& q = host->waiters;
    q.erase(std::remove(q.begin(), q.end(), waiter), q.end());
  }
};

// The connection a fetch got: pooled or handed over (`conn` set), or a slot to open one.
struct Lease {
  ConnectionPtr conn;
  bool reused = false;
};

}  // namespace

struct Client::Impl {
  asio::any_io_executor executor;
  TlsFiles tls;
  ClientOptions options;
  SslContextPtr context;                 // built on the first https:// connection
  std::map<std::string, HostPtr> hosts;  // by Endpoint::toString()

  HostPtr host(const Endpoint& endpoint) {
    auto& h = hosts[endpoint.toString()];
    if (!h) {
      h = std::make_shared<Host>();
    }
    return h;
  }

  // A connection or a slot for one, by `deadline`.
  asio::awaitable<Result<Lease>> acquire(HostPtr h, Endpoint endpoint, TimePoint deadline) {
    while (!h->idle.empty()) {
      ConnectionPtr conn = std::move(h->idle.back());
      h->idle.pop_back();
      if (stillOpen(*conn)) {
        co_return Lease{std::move(conn), true};
      }
      h->open -= 1;  // closed by the peer while idle
    }
    size_t cap = std::max<size_t>(1, options.max_connections_per_host);
    if (h->open < cap) {
      h->open += 1;
      co_return Lease{};
    }
    Waiter waiter(executor);
    waiter.timer.expires_at(deadline);
    h->waiters.push_back(&waiter);
    WaiterGuard guard{h, &waiter};
    auto [ec] = co_await waiter.timer.async_wait(kTuple);
    if (waiter.conn) {
      co_return Lease{std::move(waiter.conn), true};
    }
    if (waiter.slot) {
      co_return Lease{};
    }
    if (ec == asio::error::operation_aborted) {
      co_return fail(ErrorCode::Cancelled, "waiting for a connection to ", endpoint.toString(),
                     ": cancelled");
    }
    co_return fail(ErrorCode::DeadlineExceeded, "waiting for a connection to ", endpoint.toString(),
                   ": all ", std::to_string(cap), " in use");
  }

  // Hands back a fetch's connection: to the first waiter or the idle pool when it can carry
  // another request, else it is closed and its slot goes to the first waiter or is freed.
  void release(const HostPtr& h, ConnectionPtr conn) {
    if (conn && !h->waiters.empty()) {
      Waiter* next = h->waiters.front();
      h->waiters.pop_front();
      next->conn = std::move(conn);
      next->timer.cancel();
      return;
    }
    if (conn && h->idle.size() < kMaxIdlePerEndpoint) {
      h->idle.push_back(std::move(conn));
      return;
    }
    conn.reset();  // closes it
    if (!h->waiters.empty()) {
      Waiter* next = h->waiters.front();
      h->waiters.pop_front();
      next->slot = true;
      next->timer.cancel();
      return;
    }
    h->open -= 1;
  }

  asio::awaitable<Result<ConnectionPtr>> openTo(const Endpoint& endpoint, TimePoint deadline) {
    if (endpoint.tls && !context) {
      auto made = makeClientContext(tls);
      if (!made) {
        co_return fail(made.error());
      }
      context = std::move(*made);
    }
    co_return co_await open(executor, endpoint, deadline, tls, context);
  }
};

Client::Client(asio::any_io_executor executor, TlsFiles tls, ClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->executor = std::move(executor);
  impl_->tls = std::move(tls);
  impl_->options = options;
}

Client::~Client() = default;

void Client::forget(const Endpoint& endpoint) {
  auto it = impl_->hosts.find(endpoint.toString());
  if (it != impl_->hosts.end()) {
    it->second->open -= it->second->idle.size();
    it->second->idle.clear();
  }
}

asio::awaitable<Result<Response>> Client::fetch(Endpoint endpoint, Request request,
                                                TimePoint deadline, Replay replay) {
  bool replayable = replay == Replay::Allowed;
  auto req = toBeast(endpoint, std::move(request));
  // A pooled connection may have been closed by the server while idle. Such a failure happens
  // before any response byte arrives; only then is the request tried once more on a fresh
  // connection.
  HostPtr host = impl_->host(endpoint);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto lease = co_await impl_->acquire(host, endpoint, deadline);
    if (!lease) {
      co_return fail(lease.error());
    }
    ConnectionPtr conn = std::move(lease->conn);
    bool reused = lease->reused;
    if (!conn) {
      auto fresh = co_await impl_->openTo(endpoint, deadline);
      if (!fresh) {
        impl_->release(host, nullptr);
        co_return fail(fresh.error());
      }
      conn = std::move(*fresh);
    }
    conn->expiresAt(deadline);
    auto [wec, written] = co_await writeTo(*conn, req);
    if (wec) {
      impl_->release(host, nullptr);
      if (reused && wec != beast::error::timeout) {
        continue;
      }
      co_return fail(ioError(endpoint, "write to", wec));
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    auto [rec, read] = co_await readFrom(*conn, parser);
    if (rec) {
      impl_->release(host, nullptr);
      bool stale = reused && read == 0 &&
                   (rec == bhttp::error::end_of_stream || rec == asio::error::connection_reset ||
                    rec == asio::error::eof || rec == asio::ssl::error::stream_truncated);
      if (stale && replayable) {
        continue;
      }
      auto error = ioError(endpoint, "read from", rec);
      if (!endpoint.tls && !reused && read == 0 && rec == bhttp::error::end_of_stream) {
        // What a TLS-only server (etcd with --client-cert-auth) does to a plain request.
        error.message += " (closed without an answer: does it serve https:// only?)";
      }
      co_return fail(std::move(error));
    }
    auto msg = parser.release();
    Response response;
    response.status = msg.result_int();
    if (auto it = msg.find(bhttp::field::content_type); it != msg.end()) {
      response.content_type = std::string(it->value());
    }
    response.body = std::move(msg.body());
    impl_->release(host, msg.keep_alive() ? std::move(conn) : nullptr);
    co_return response;
  }
  co_return fail(ErrorCode::Unavailable, "connection to ", endpoint.toString(),
                 " closed before answering");
}

asio::awaitable<Result<std::unique_ptr<BodyStream>>> Client::stream(Endpoint endpoint,
                                                                    Request request,
                                                                    TimePoint deadline) {
  auto conn = co_await impl_->openTo(endpoint, deadline);
  if (!conn) {
    co_return fail(conn.error());
  }
  auto req = toBeast(endpoint, std::move(request));
  (*conn)->expiresAt(deadline);
  auto [wec, written] = co_await writeTo(**conn, req);
  if (wec) {
    co_return fail(ioError(endpoint, "write to", wec));
  }
  auto body = std::make_unique<BeastBodyStream>(std::move(*conn), endpoint);
  auto header = co_await body->readHeader(deadline);
  if (!header) {
    co_return fail(header.error());
  }
  co_return std::unique_ptr<BodyStream>(std::move(body));
}

}  // namespace rampart::net::http
