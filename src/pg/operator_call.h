#pragma once
// How the operator commands (`rampart pg switchover|failover|pause|resume`) reach a cluster:
// through a member's REST API with the operator credential, never by writing etcd themselves (an
// operator would need etcd credentials, and whoever reaches etcd would run the cluster). The
// member that answers writes the request to etcd and answers after etcd acknowledged it
// (pg/rest.h). Like patronictl, which posts to the leader's REST API, the leader is asked first;
// unlike patronictl there is no fallback to writing etcd: when no member answers, nothing is
// written and the command says which member failed how.
//
// Where the operator token may go (issue 17: never to an address learned from etcd unless that
// peer's certificate is verified):
//   - the member whose own config file the operator gave, at the REST address in that file;
//   - with rest.tls, every member listed in etcd at its published https:// address: the
//     connection is made only once its certificate chains to rest.tls.ca and names that address.
// Without rest.tls an address read from etcd could be anyone's (whoever writes etcd picks it), so
// it is never asked.
//
// operatorTargets() and judgeAnswer() are pure (facts in, decision out); callMembers() is the one
// blocking call (its own event loop; every attempt bounded by its deadline on the monotonic
// clock). Thread-compatible: no shared state.

#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"
#include "net/tls.h"
#include "pg/state.h"

namespace rampart::pg {

// One member the request may be sent to, and where.
struct OperatorTarget {
  std::string member;
  net::Endpoint rest;
  bool from_config_file = false;  // the address came from the operator's file, not from etcd

  friend bool operator==(const OperatorTarget&, const OperatorTarget&) = default;
};

// Who the operator is and how the members are reached.
struct OperatorIdentity {
  std::string member;     // the member whose config file was given
  net::Endpoint rest;     // its REST address from that file (tls set with rest.tls)
  bool rest_tls = false;  // rest.tls: members' certificates are verified against its CA
};

// The members to ask, in order: the leader first, then the others by name. A member of the
// cluster view is listed only where the token may go (see above); the identity's own member is
// always listed, at the address from its file (also when etcd lists it elsewhere or not at all).
std::vector<OperatorTarget> operatorTargets(const OperatorIdentity& identity,
                                            const std::string& leader,
                                            const std::map<std::string, MemberStatus>& members);

// What one member's answer (or the failure to get one) means for the call.
struct AnswerVerdict {
  bool done = false;      // 200: the request was accepted (and written)
  bool try_next = false;  // this member could not take it; another one may
  std::string message;    // names the member and its address, and why
};
AnswerVerdict judgeAnswer(const OperatorTarget& target, const Result<net::http::Response>& answer);

struct OperatorRequest {
  std::string path;                               // /switchover, /failover, /pause, /resume
  std::string body;                               // JSON, or ""
  std::string token;                              // the operator credential
  net::TlsFiles tls;                              // {ca, cert, key} with rest.tls
  Duration per_member = std::chrono::seconds(6);  // one member's share of the deadline
};

// The accepting member's answer.
struct OperatorAnswer {
  std::string member;
  std::string body;
};

// Sends `request` to each target in turn until one accepts it or refuses it for good, each
// attempt ending by min(now + per_member, deadline). Errors: FailedPrecondition when a member
// refused it (wrong token, a precondition of the request), Unavailable / DeadlineExceeded when no
// member took it; the message names every member asked and what happened there.
Result<OperatorAnswer> callMembers(const std::vector<OperatorTarget>& targets,
                                   const OperatorRequest& request, TimePoint deadline);

}  // namespace rampart::pg
