#pragma once
// What net::http::Server hands to a handler that takes a connection over after a request asking
// to Upgrade (ResponseStream::takeConnection): the connection's stream, plain or TLS, and the
// bytes the client sent after the request's headers (a WebSocket client sends none before the
// 101, but a pipelining one could). Includes Beast: only for the few translation units that speak
// the upgraded protocol (a WebSocket endpoint, a proxy splicing bytes). The owner of the
// shared_ptr owns the connection; Server::stop() still closes its TCP layer. Use on the server's
// event loop only.

#include <memory>
#include <string>
#include <variant>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace rampart::net::http {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct UpgradedConnection {
  std::variant<std::shared_ptr<PlainStream>, std::shared_ptr<TlsStream>> stream;
  std::string leftover;  // read past the request's headers, not yet seen by anyone
};

}  // namespace rampart::net::http
