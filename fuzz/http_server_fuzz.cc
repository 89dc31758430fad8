// Fuzzes the HTTP server's request parser, limits and router (net::http::Server through
// processForTesting: one connection's raw bytes in, the raw answer out) with a PostgreSQL
// member's REST routes installed (pg/rest.h: query parameters, the lag syntax, bearer tokens,
// JSON bodies). Anything a client sends must get an answer or a closed connection, never a
// crash, an exception or undefined behaviour.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "net/http/server.h"
#include "pg/rest.h"

using namespace rampart;

namespace {

// The etcd writes behind /switchover and /pause, answered at once.
boost::asio::awaitable<Result<pg::Written>> fuzzSwitchover(std::string to) {
  if (to == "m2") {
    co_return pg::Written{"/switchover", R"({"to":"m2"})", 1};
  }
  co_return fail(ErrorCode::InvalidArgument, "no member ", to);
}
boost::asio::awaitable<Result<pg::Written>> fuzzPause(bool paused) {
  co_return pg::Written{"/config", paused ? R"({"paused":true})" : "{}", 2};
}

net::http::Server& server() {
  static boost::asio::io_context io;
  static std::unique_ptr<net::http::Server> s = [] {
    // Small limits, so that the fuzzer reaches them with short inputs.
    net::http::ServerOptions options;
    options.header_limit = 512;
    options.body_limit = 1024;
    auto out = std::make_unique<net::http::Server>(io.get_executor(), options);
    pg::RestActions actions;
    actions.view = [] {
      pg::MemberView v;
      v.self.name = "m1";
      v.replica = true;
      v.running = true;
      v.leader_lsn = 1000;
      return v;
    };
    actions.cluster_json = [] { return std::string(R"({"members":[]})"); };
    actions.history_json = [] { return std::string("[]"); };
    actions.failsafe = [](const std::string& leader, const std::string& proof, const std::string&) {
      return pg::VouchDecision{leader == "m1" && proof == "p" ? pg::VouchVerdict::Accept
                                                              : pg::VouchVerdict::Unauthenticated,
                               "fuzz"};
    };
    actions.switchover = [](std::string to, bool, TimePoint) { return fuzzSwitchover(to); };
    actions.pause = [](bool paused, TimePoint) { return fuzzPause(paused); };
    actions.restart = []() -> Result<void> { return ok(); };
    actions.reinitialize = []() -> Result<void> {
      return fail(ErrorCode::FailedPrecondition, "leader");
    };
    pg::addRestRoutes(*out, "s3cret", 1 << 20, std::chrono::seconds(2), actions);
    return out;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)server().processForTesting(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
