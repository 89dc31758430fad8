#include "pg/operator_call.h"

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "net/http/client.h"
#include "testing/run_loop.h"

namespace rampart::pg {
namespace asio = boost::asio;

namespace {

std::string describe(const OperatorTarget& target) {
  return target.member + " (" + target.rest.url() + ")";
}

// The member's own explanation: the "error" field of a JSON body, else the body itself.
std::string reasonIn(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto it = j.find("error");
    if (it != j.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return body.size() > 200 ? body.substr(0, 200) + "..." : body;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

std::vector<OperatorTarget> operatorTargets(const OperatorIdentity& identity,
                                            const std::string& leader,
                                            const std::map<std::string, MemberStatus>& members) {
  std::vector<OperatorTarget> out;
  for (const auto& [name, status] : members) {
    if (name == identity.member || !identity.rest_tls) {
      continue;  // the own member comes from its file; without TLS nothing comes from etcd
    }
    auto rest = net::parseEndpoint(status.rest);
    if (!rest || !rest->tls) {
      continue;  // a plain-HTTP address from etcd would get the token unverified
    }
    out.push_back(OperatorTarget{name, *rest, false});
  }
  out.push_back(OperatorTarget{identity.member, identity.rest, true});
  // The leader first (its own write needs no detour), then by name: stable, and the same order
  // for every operator. Sorting the already name-ordered list by "is the leader" keeps both.
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return (a.member == leader) > (b.member == leader) ||
           ((a.member == leader) == (b.member == leader) && a.member < b.member);
  });
  return out;
}

AnswerVerdict judgeAnswer(const OperatorTarget& target, const Result<net::http::Response>& answer) {
  std::string who = describe(target);
  if (!answer) {
    const auto& e = answer.error();
    std::string kind;
    if (e.code == ErrorCode::DeadlineExceeded) {
      kind = "no answer in time";
    } else if (contains(e.message, "TLS handshake") || contains(e.message, " alert ") ||
               contains(e.message, "certificate")) {
      // A server that wants a client certificate rejects a missing or untrusted one after the
      // TLS 1.3 handshake: the client sees it as an alert on its first read.
      kind = "TLS failure";
    } else if (contains(e.message, "refused")) {
      kind = "connection refused";
    } else {
      kind = "unreachable";
    }
    return AnswerVerdict{false, true, who + ": " + kind + " (" + e.message + ")"};
  }
  int status = answer->status;
  std::string code = "HTTP " + std::to_string(status);
  if (status == 200) {
    return AnswerVerdict{true, false, who + ": " + answer->body};
  }
  if (status == 401 || status == 403) {
    // The same wrong token would go to the next member: stop here.
    return AnswerVerdict{false, false,
                         who + " refused the operator credential (" + code +
                             "): wrong or missing token (rest.token / token_file in the "
                             "config, or --token-file)"};
  }
  if (status == 503 || status == 504) {
    // 503: its etcd write was not acknowledged (nothing written); 504: no acknowledgement in
    // time (outcome unknown). Another member may reach etcd; asking it writes the same request.
    return AnswerVerdict{false, true,
                         who + ": " + code + " " + reasonIn(answer->body) +
                             (status == 504 ? " (the outcome is unknown)" : "")};
  }
  // 400, 409 and the rest: the request itself was refused; another member would refuse it too.
  return AnswerVerdict{false, false,
                       who + " refused the request (" + code + "): " + reasonIn(answer->body)};
}

Result<OperatorAnswer> callMembers(const std::vector<OperatorTarget>& targets,
                                   const OperatorRequest& request, TimePoint deadline) {
  std::vector<std::string> failures;
  bool refused = false;
  bool timed_out = false;
  for (const auto& target : targets) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      failures.push_back(describe(target) + ": not asked (the command's deadline passed)");
      timed_out = true;
      continue;
    }
    auto attempt_deadline = std::min(deadline, now + request.per_member);
    asio::io_context io;
    net::http::Client client(io.get_executor(), request.tls);
    net::http::Request http_request{
        "POST", request.path, {{"Authorization", "Bearer " + request.token}}, request.body};
    auto work = [&]() -> asio::awaitable<Result<net::http::Response>> {
      // Never replayed by the client on a fresh connection: the verdict decides what happens
      // next.
      co_return co_await client.fetch(target.rest, std::move(http_request), attempt_deadline,
                                      net::http::Client::Replay::Never);
    };
    auto answer = testing::runLoop(io, work());
    auto verdict = judgeAnswer(target, answer);
    if (verdict.done) {
      return OperatorAnswer{target.member, answer->body};
    }
    failures.push_back(verdict.message);
    if (!answer && answer.error().code == ErrorCode::DeadlineExceeded) {
      timed_out = true;
    }
    if (!verdict.try_next) {
      refused = true;
      break;
    }
  }
  std::string message;
  for (const auto& f : failures) {
    message += (message.empty() ? "" : "; ") + f;
  }
  if (refused) {
    return fail(ErrorCode::FailedPrecondition, message);
  }
  if (targets.empty()) {
    message = "no member to ask";
  }
  return fail(timed_out ? ErrorCode::DeadlineExceeded : ErrorCode::Unavailable,
              "no member took the request: ", message);
}

}  // namespace rampart::pg
