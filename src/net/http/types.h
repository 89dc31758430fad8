#pragma once
// Plain HTTP request/response values shared by Rampart's HTTP client and server. No Beast here:
// Beast is included only in net/http/*.cc, because it costs ~40 s per translation unit.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
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

  // The value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() == name.size() &&
          std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return value;
      }
    }
    return {};
  }
};

struct Response {
  int status = 0;
  std::string content_type;
  std::string body;
  // Extra header fields (Warning, Retry-After, ...); Content-Type and Content-Length are set from
  // the fields above.
  std::vector<std::pair<std::string, std::string>> headers;

  static Response text(int status, std::string body) {
    return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
  }
  static Response json(int status, std::string body) {
    return Response{status, "application/json", std::move(body), {}};
  }
};

}  // namespace rampart::net::http
