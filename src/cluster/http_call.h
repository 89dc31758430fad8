#pragma once
// One blocking HTTP(S) request with a deadline, for the cluster commands (up, status, node add)
// that ask etcd, the API servers and the balancers how they are. Each call runs on a private
// event loop: fine for a CLI, never for a daemon's loop.

#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"
#include "net/tls.h"

namespace rampart::cluster {

struct HttpCall {
  std::string method = "GET";
  std::string path = "/";
  std::string body;
  std::string content_type = "application/json";  // of `body`
  std::string bearer;  // Authorization: Bearer <token>, when set
  net::TlsFiles tls;   // for https:// endpoints: the CA the server is verified against
  Duration timeout = std::chrono::seconds(2);
};

Result<net::http::Response> httpCall(const net::Endpoint& endpoint, const HttpCall& call);

}  // namespace rampart::cluster
