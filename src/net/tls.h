#pragma once
// TLS contexts for Rampart's clients and servers, built from PEM files. The contexts are asio
// ssl::contexts (shared, immutable once built): a client context verifies the server against
// `ca` and checks its name (DNS name or IP address) per connection; a server context requires
// and verifies client certificates when `ca` is set. TLS 1.2 is the oldest version either side
// speaks. The asio/OpenSSL headers stay out of this header: include <boost/asio/ssl.hpp> in the
// .cc that uses the context.
// Building a context reads files (blocking); do it at start-up or on reload, not per request.

#include <memory>
#include <string>

#include "base/result.h"

namespace boost::asio::ssl {
class context;
}

namespace rampart::net {

// PEM files for one side of a TLS connection.
struct TlsFiles {
  std::string ca;    // client: CA bundle the server is verified against (verify_peer + host/IP
                     //   name check against the endpoint host or server_name);
                     // server: CA bundle client certificates are REQUIRED and verified against.
  std::string cert;  // own certificate chain (client: optional client certificate)
  std::string key;   // its private key
  std::string
      server_name;  // client only: name to verify and send as SNI; empty = the endpoint's host
  // Client only: the same as PEM text instead of files (a kubeconfig's *-data fields); used
  // where the matching path is empty.
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  bool empty() const {
    return ca.empty() && cert.empty() && key.empty() && server_name.empty() && ca_pem.empty() &&
           cert_pem.empty() && key_pem.empty();
  }
  friend bool operator==(const TlsFiles&, const TlsFiles&) = default;
};

using SslContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// Errors name the file and OpenSSL's reason (e.g. "tls.cert: /x/y.pem: no such file").
// A client context without `ca` verifies against the system's default CA paths.
Result<SslContextPtr> makeClientContext(const TlsFiles& files);
// `cert` and `key` are required; with `ca`, clients must present a certificate it signed.
Result<SslContextPtr> makeServerContext(const TlsFiles& files);

// The common name of the peer's verified certificate on an OpenSSL connection (`ssl` is an
// `SSL*`, e.g. beast::ssl_stream::native_handle()); "" when the peer sent none or it was not
// verified. Used as the client's identity on servers that require client certificates.
std::string peerCommonName(void* ssl);

// Prepares an OpenSSL client connection (`ssl` is an `SSL*`) to `host`: SNI (for DNS names) and
// the host-name or IP-address check during the handshake. `files.server_name` overrides `host`.
Result<void> prepareClientConnection(void* ssl, const TlsFiles& files, const std::string& host);

}  // namespace rampart::net
