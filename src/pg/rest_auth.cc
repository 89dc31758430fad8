#include "pg/rest_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <strings.h>

#include <array>

#include <nlohmann/json.hpp>

namespace rampart::pg {
namespace {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest sha256(std::string_view data) {
  Digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

bool secretMatches(std::string_view secret, std::string_view presented) {
  if (secret.empty()) {
    return false;
  }
  // Digests first: equal lengths, so the comparison's time says nothing about either length.
  auto a = sha256(secret);
  auto b = sha256(presented);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size()) {
    return {};
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if ((c | 0x20) != (kScheme[i] | 0x20)) {  // the scheme is case-insensitive (RFC 7235)
      return {};
    }
  }
  return authorization.substr(kScheme.size());
}

std::string vouchProof(std::string_view member_token, std::string_view leader,
                       std::string_view member) {
  // Length-prefixed fields, so that no two (leader, member) pairs share a message.
  std::string message = "rampart-failsafe-v1";
  for (auto field : {leader, member}) {
    message += '\n';
    message += std::to_string(field.size());
    message += ':';
    message.append(field);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), member_token.data(), static_cast<int>(member_token.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &size);
  return hex(mac.data(), size);
}

bool vouchProofValid(std::string_view member_token, std::string_view leader,
                     std::string_view member, std::string_view presented) {
  if (member_token.empty()) {
    return false;
  }
  auto expected = vouchProof(member_token, leader, member);
  if (presented.size() != expected.size()) {
    return false;  // the length of a MAC is public
  }
  return CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

std::string_view authorization(const net::http::Request& request) {
  for (const auto& [name, value] : request.headers) {
    if (name.size() == 13 && ::strncasecmp(name.c_str(), "authorization", 13) == 0) {
      return value;
    }
  }
  return {};
}

std::optional<net::http::Response> refuseOperatorCall(const net::http::Request& request,
                                                      const std::string& operator_token) {
  if (request.method != "POST") {
    return net::http::Response::json(405, R"({"error":"use POST"})");
  }
  if (!secretMatches(operator_token, bearerToken(authorization(request)))) {
    return net::http::Response::json(
        401, R"J({"error":"missing or wrong token (Authorization: Bearer <token>)"})J");
  }
  return std::nullopt;
}

int restStatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return 400;
    case ErrorCode::FailedPrecondition:
      return 409;
    case ErrorCode::DeadlineExceeded:
      return 504;
    default:
      return 503;
  }
}

net::http::Response errorResponse(const Error& error) {
  // The message may quote the client's bytes (a query parameter, a body field): invalid UTF-8 is
  // replaced, not thrown on (dump() throws by default, and the handler would fail with a 500).
  return net::http::Response::json(
      restStatusOf(error.code),
      nlohmann::json{{"error", error.message}}.dump(-1, ' ', false,
                                                    nlohmann::json::error_handler_t::replace));
}

net::http::Request vouchRequest(std::string_view member_token, const std::string& leader,
                                const std::string& member) {
  net::http::Request request;
  request.method = "POST";
  request.target = "/failsafe";
  // A proof, never the credential itself: the member's address comes from etcd (see above).
  request.headers.emplace_back("Authorization",
                               "Vouch " + vouchProof(member_token, leader, member));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = nlohmann::json{{"leader", leader}}.dump();
  return request;
}

net::http::Response answerVouch(const net::http::Request& request, const VouchJudge& judge) {
  if (request.method != "POST") {
    return net::http::Response::json(405, R"({"error":"use POST"})");
  }
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  auto leader = body.is_object() ? body.find("leader") : body.end();
  if (!body.is_object() || leader == body.end() || !leader->is_string() ||
      leader->get_ref<const std::string&>().empty()) {
    return net::http::Response::json(400, R"({"error":"need {\"leader\": name}"})");
  }
  std::string proof;
  auto value = authorization(request);
  constexpr std::string_view kScheme = "Vouch ";
  if (value.size() >= kScheme.size() &&
      ::strncasecmp(value.data(), kScheme.data(), kScheme.size()) == 0) {
    proof = std::string(value.substr(kScheme.size()));
  }
  auto decision = judge(leader->get<std::string>(), proof, request.client_identity);
  int status = decision.verdict == failover::VouchVerdict::Accept            ? 200
               : decision.verdict == failover::VouchVerdict::Unauthenticated ? 401
                                                                             : 409;
  // The reason may quote the leader's name, which the client chose: never invalid UTF-8.
  return net::http::Response::json(
      status, nlohmann::json{{"accepted", status == 200}, {"reason", decision.reason}}
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace rampart::pg
