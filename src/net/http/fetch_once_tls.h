#pragma once
// One HTTPS request on a fresh connection that is closed afterwards, with a client TLS context
// the caller built once (net::makeClientContext, or a health check's, see health/probe.h): the
// context decides whether the server's certificate is verified and which client certificate is
// presented; `files.server_name` (else the endpoint's host) is the name sent as SNI and checked
// when the context verifies. A health check of a backend that requires client certificates (a pg
// REST API with rest.tls.client_auth) uses it. Everything, the handshake included, ends by
// `deadline`; errors name the endpoint (Unavailable, DeadlineExceeded), and a server that
// rejects the client certificate shows as OpenSSL's alert (e.g. "certificate required").
// Implemented in client.cc beside the pooled client's connection code; a header of its own so
// that the many users of client.h do not recompile for it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"
#include "net/tls.h"

namespace rampart::net::http {

// `context` must be a client context (not null). `endpoint.tls` is ignored: always TLS.
boost::asio::awaitable<Result<Response>> fetchOnceTls(boost::asio::any_io_executor executor,
                                                      Endpoint endpoint, Request request,
                                                      TimePoint deadline, TlsFiles files,
                                                      SslContextPtr context);

}  // namespace rampart::net::http
