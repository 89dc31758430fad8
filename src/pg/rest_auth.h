#pragma once
// The credentials of a member's REST API, kept apart by what they allow:
//   operator credential (rest.token / token_file): the mutating operator calls (/switchover,
//     /failover, /pause, /resume, /restart, /reinitialize), sent as `Authorization: Bearer <t>`.
//   member credential (rest.member_token / member_token_file): only POST /failsafe, and it never
//     travels: the leader sends a proof, HMAC-SHA256(member_token, leader, receiving member), so a
//     REST address read from etcd (which anyone who can write etcd may point anywhere) learns
//     nothing it could use elsewhere. A captured proof is valid only at the member it names and
//     only for the leader it names, and a member accepts it only under decideVouch's rule.
// Comparisons take the same time whatever the inputs (CRYPTO_memcmp over SHA-256 digests or
// equal-length MACs), so an attacker cannot learn a secret byte by byte from response times.
// The checks and answers every operator call of a member's REST API shares (PostgreSQL's and
// Redis's) are here too. Pure functions, thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include <functional>

#include "base/result.h"
#include "failover/vouch.h"
#include "net/http/types.h"

namespace rampart::pg {

// Whether `presented` equals `secret`, in time that does not depend on where they differ (nor
// on the secret's length). An empty secret matches nothing.
bool secretMatches(std::string_view secret, std::string_view presented);

// The bearer token in an `Authorization: Bearer <token>` header value ("" if it is not one).
std::string_view bearerToken(std::string_view authorization);

// The failsafe proof a leader sends to `member`: lower-case hex HMAC-SHA256 keyed with the
// member credential over ("rampart-failsafe-v1", leader, member).
std::string vouchProof(std::string_view member_token, std::string_view leader,
                       std::string_view member);
// Whether `presented` is the proof for (leader, member) under `member_token`; constant time.
// An empty member_token verifies nothing.
bool vouchProofValid(std::string_view member_token, std::string_view leader,
                     std::string_view member, std::string_view presented);

// Both ends of POST /failsafe, shared by PostgreSQL's and Redis's members:
// The request the leader sends to `member`: {"leader": leader} with `Authorization: Vouch <proof>`.
net::http::Request vouchRequest(std::string_view member_token, const std::string& leader,
                                const std::string& member);
// The member's answer: 200 when `judge` accepts, 401 unauthenticated, 409 any other refusal,
// 405/400 for a request that is no vouch. `judge` gets the leader named in the body, the proof
// and the verified client certificate's common name ("" none).
using VouchJudge = std::function<failover::VouchDecision(
    const std::string& leader, const std::string& proof, const std::string& peer_name)>;
net::http::Response answerVouch(const net::http::Request& request, const VouchJudge& judge);

// The value of the request's Authorization header ("" without one).
std::string_view authorization(const net::http::Request& request);

// The checks every operator call makes before it acts: POST (405), and the operator credential
// (401; an empty credential admits nobody). nullopt when the call may go on.
std::optional<net::http::Response> refuseOperatorCall(const net::http::Request& request,
                                                      const std::string& operator_token);

// The HTTP status for an error of a REST call: InvalidArgument 400, FailedPrecondition 409,
// DeadlineExceeded 504, anything else 503.
int restStatusOf(ErrorCode code);
// {"error": message} with restStatusOf(code); bytes of the message that are not UTF-8 are
// replaced (U+FFFD), since messages may quote what a client sent.
net::http::Response errorResponse(const Error& error);

}  // namespace rampart::pg
