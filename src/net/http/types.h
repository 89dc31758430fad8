#pragma once
// Plain HTTP request/response values shared by Rampart's HTTP client and server. No Beast here:
// Beast is included only in net/http/*.cc, because it costs ~40 s per translation unit.

#include <string>
#include <utility>
#include <vector>

namespace rampart::net::http {

struct Request {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Servers only: the common name of the client's verified TLS certificate (its identity, for
  // authorisation); empty over plain HTTP or when the server requires no client certificate.
  std::string client_identity;
};

struct Response {
  int status = 0;
  std::string content_type;
  std::string body;

  static Response text(int status, std::string body) {
    return Response{status, "text/plain; charset=utf-8", std::move(body)};
  }
  static Response json(int status, std::string body) {
    return Response{status, "application/json", std::move(body)};
  }
};

}  // namespace rampart::net::http
