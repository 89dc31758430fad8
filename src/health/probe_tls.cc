// makeProbeTlsContext in a file of its own: the balancer's config loader calls it, and the fuzz
// build links that loader without the probes themselves (libpq, hiredis).

#include <boost/asio/ssl/context.hpp>

#include "health/probe.h"

namespace rampart::health {

Result<net::SslContextPtr> makeProbeTlsContext(const net::TlsFiles& files) {
  auto context = net::makeClientContext(files);
  if (!context) {
    return context;
  }
  if (files.ca.empty() && files.ca_pem.empty()) {
    // No CA given: the backend is not verified (like the plain https check, lvscare's default
    // --health-insecure-skip-verify); the client certificate is still presented.
    (*context)->set_verify_mode(boost::asio::ssl::verify_none);
  }
  return context;
}

}  // namespace rampart::health
