#pragma once
// A small HTTP/1.1 server on the caller's asio executor for Rampart's admin and REST endpoints
// (/metrics, /healthz, /readyz, later the roles' APIs). Handlers are plain synchronous functions
// run on the event loop: they must not block. Routes match the path exactly (the query string is
// passed along in Request::target). Not thread-safe: configure before listen(), from the loop's
// thread.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"

namespace rampart::net::http {

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;

  explicit Server(boost::asio::any_io_executor executor);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void route(std::string path, Handler handler);
  // Binds and starts accepting; port 0 picks a free port. Returns the bound endpoint.
  Result<Endpoint> listen(const Endpoint& where);
  // Stops accepting and closes open connections.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rampart::net::http
