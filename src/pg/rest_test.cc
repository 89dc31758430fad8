#include "pg/rest.h"

#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "net/http/client.h"
#include "net/pki.h"
#include "testing/run_loop.h"
#include "testing/test_files.h"

namespace rampart::pg {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(ParseLag, ReadsBytesWithOrWithoutAUnit) {
  EXPECT_EQ(parseLag("4096").value_or(-1), 4096);
  EXPECT_EQ(parseLag("16kB").value_or(-1), 16 << 10);
  EXPECT_EQ(parseLag("10MB").value_or(-1), 10 << 20);
  EXPECT_EQ(parseLag("1GB").value_or(-1), int64_t{1} << 30);
  EXPECT_FALSE(parseLag("1TB"));
  EXPECT_FALSE(parseLag("MB"));
}

// `GET /replica?lag=99999999999999999999` threw std::out_of_range out of the route handler.
TEST(ParseLag, ANumberTooLargeIsAnErrorNotAnException) {
  EXPECT_FALSE(parseLag("99999999999999999999"));
  EXPECT_FALSE(parseLag("9223372036854775807kB")) << "overflows once scaled";
  EXPECT_EQ(parseLag("9223372036854775807").value_or(-1), INT64_MAX);
}

// The member's REST routes over a fixed view, served on loopback by a real http::Server.
class RestRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    RestActions actions;
    actions.view = [this] { return view(); };
    // Not a coroutine lambda (its captures would have to outlive the call): a coroutine
    // function with its state in by-value parameters.
    actions.pause = [this](bool paused, TimePoint deadline) {
      return pauseWrite(this, paused, deadline);
    };
    actions.switchover = [this](std::string to, bool force, TimePoint) {
      return switchoverWrite(this, std::move(to), force);
    };
    actions.failsafe = [this](const std::string& leader, const std::string& proof,
                              const std::string&) {
      vouch_requests_.push_back(leader + " " + proof);
      return VouchDecision{proof == "good" ? VouchVerdict::Accept : VouchVerdict::Unauthenticated,
                           ""};
    };
    addRestRoutes(server_, kOperatorToken, 1 << 20, std::chrono::seconds(2), actions,
                  kMutationTimeout);
    auto bound = server_.listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port;
    loop_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    boost::asio::post(io_, [this] { server_.stop(); });
    work_.reset();
    if (loop_.joinable()) {
      loop_.join();
    } else {
      io_.run();  // SetUp failed before the loop started: run the stop here
    }
  }

  // The fake etcd write behind /pause and /resume: takes `write_delay_` (on the server's loop),
  // then fails with `write_error_` or records the write and returns it.
  static asio::awaitable<Result<Written>> pauseWrite(RestRoutes* self, bool paused,
                                                     TimePoint deadline) {
    self->deadlines_.push_back(deadline);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(self->write_delay_);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (self->write_error_) {
      co_return fail(*self->write_error_);
    }
    self->pauses_.push_back(paused);
    co_return Written{"/rampart/pg/demo/config", paused ? R"({"paused":true})" : "{}", 42};
  }
  static asio::awaitable<Result<Written>> switchoverWrite(RestRoutes* self, std::string to,
                                                          bool force) {
    if (self->write_error_) {
      co_return fail(*self->write_error_);
    }
    self->switchovers_.push_back(to + (force ? " force" : ""));
    co_return Written{"/rampart/pg/demo/switchover", R"({"to":")" + to + R"("})", 43};
  }

  // The view the routes answer from (read on the server's thread, set on the test's).
  MemberView view() {
    std::lock_guard lock(view_mutex_);
    return view_;
  }
  void setView(const MemberView& v) {
    std::lock_guard lock(view_mutex_);
    view_ = v;
  }

  // The status code of GET `target`.
  int statusOf(const std::string& target) {
    boost::asio::ip::tcp::iostream s("127.0.0.1", std::to_string(port_));
    s.expires_after(std::chrono::seconds(5));
    s << "GET " << target << " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" << std::flush;
    std::string version;
    int status = 0;
    s >> version >> status;
    return status;
  }

  // The status code of POST `target` with an Authorization header ("" none).
  int postStatus(const std::string& target, const std::string& authorization,
                 const std::string& body = "") {
    return post(target, authorization, body).first;
  }
  // The status code and body of POST `target`.
  std::pair<int, std::string> post(const std::string& target, const std::string& authorization,
                                   const std::string& body = "") {
    boost::asio::ip::tcp::iostream s("127.0.0.1", std::to_string(port_));
    s.expires_after(std::chrono::seconds(5));
    s << "POST " << target << " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!authorization.empty()) {
      s << "Authorization: " << authorization << "\r\n";
    }
    s << "Content-Length: " << body.size() << "\r\n\r\n" << body << std::flush;
    std::string version;
    int status = 0;
    s >> version >> status;
    std::string rest((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    auto blank = rest.find("\r\n\r\n");
    return {status, blank == std::string::npos ? "" : rest.substr(blank + 4)};
  }

  static constexpr const char* kOperatorToken = "operator-secret";
  static constexpr Duration kMutationTimeout = std::chrono::milliseconds(400);
  // Written on the server's thread, read after the call (or set before it).
  std::vector<bool> pauses_;
  std::vector<std::string> switchovers_;
  std::vector<TimePoint> deadlines_;
  Duration write_delay_{};
  std::optional<Error> write_error_;
  std::vector<std::string> vouch_requests_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  net::http::Server server_{io_.get_executor()};
  std::mutex view_mutex_;
  MemberView view_;
  uint16_t port_ = 0;
  std::thread loop_;
};

TEST_F(RestRoutes, APromotingStandbyAnswers202OnlyWhenAskedAndNever200) {
  MemberView standby;
  standby.running = true;
  standby.replica = true;
  standby.promoting = true;
  setView(standby);
  EXPECT_EQ(statusOf("/primary?promoting"), 202);
  EXPECT_EQ(statusOf("/primary"), 503) << "Patroni-style checks see a standby";
  EXPECT_EQ(statusOf("/primary?lag=1"), 503);
}

TEST_F(RestRoutes, TheLeaderHandingOverAnswers307OnlyWhenAsked) {
  MemberView leader;
  leader.running = true;
  leader.writable_leader = true;
  leader.draining = true;
  setView(leader);
  EXPECT_EQ(statusOf("/primary?promoting"), 307);
  EXPECT_EQ(statusOf("/primary"), 200) << "still the writable leader for Patroni-style checks";
}

// Found by fuzz/http_server_fuzz.cc: the error message quotes the lag text, and a JSON dump of
// bytes that are not UTF-8 threw out of the handler (a 500 and an error in the log).
TEST_F(RestRoutes, ALagThatIsNotUtf8IsA400NotAFailedHandler) {
  EXPECT_EQ(statusOf("/replica?lag=%ff%fe"), 400);
  EXPECT_EQ(statusOf("/replica?lag=\xff\xfe"), 400);
}

TEST_F(RestRoutes, TheWritableLeaderAnswers200WithOrWithoutTheQuestion) {
  MemberView leader;
  leader.running = true;
  leader.writable_leader = true;
  setView(leader);
  EXPECT_EQ(statusOf("/primary?promoting"), 200);
  EXPECT_EQ(statusOf("/primary"), 200);
  leader.writable_leader = false;  // e.g. fenced
  setView(leader);
  EXPECT_EQ(statusOf("/primary?promoting"), 503);
}

TEST_F(RestRoutes, OperatorCallsNeedTheOperatorCredential) {
  EXPECT_EQ(postStatus("/pause", ""), 401);
  EXPECT_EQ(postStatus("/pause", "Bearer wrong"), 401);
  EXPECT_EQ(postStatus("/pause", "Bearer operator-secre"), 401);
  EXPECT_EQ(postStatus("/pause", "Vouch good"), 401) << "the failsafe proof is no operator token";
  EXPECT_TRUE(pauses_.empty());
  EXPECT_EQ(postStatus("/pause", "Bearer operator-secret"), 200);
  EXPECT_EQ(pauses_.size(), 1u);
}

TEST_F(RestRoutes, TheFailsafeEndpointTakesOnlyTheMembersProofNotTheOperatorToken) {
  const std::string body = R"({"leader":"m1"})";
  EXPECT_EQ(postStatus("/failsafe", "Bearer operator-secret", body), 401);
  EXPECT_EQ(postStatus("/failsafe", "Vouch good", body), 200);
  EXPECT_EQ(postStatus("/failsafe", "Vouch good", ""), 400) << "names no leader";
  ASSERT_EQ(vouch_requests_.size(), 2u);
  EXPECT_EQ(vouch_requests_[0], "m1 ") << "a bearer token is never passed on as a proof";
  EXPECT_EQ(vouch_requests_[1], "m1 good");
}

TEST_F(RestRoutes, PauseAnswersOnlyAfterItsWriteWithWhatWasWritten) {
  write_delay_ = 150ms;
  auto sent = std::chrono::steady_clock::now();
  auto [status, body] = post("/pause", "Bearer operator-secret");
  auto took = std::chrono::steady_clock::now() - sent;
  ASSERT_EQ(status, 200) << body;
  EXPECT_GE(took, 150ms) << "answered before the write completed";
  ASSERT_EQ(pauses_, std::vector<bool>{true});
  auto j = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << body;
  EXPECT_EQ(j["key"], "/rampart/pg/demo/config");
  EXPECT_EQ(j["value"]["paused"], true);
  EXPECT_EQ(j["revision"], 42);
  ASSERT_EQ(deadlines_.size(), 1u);
  EXPECT_LE(deadlines_[0], sent + kMutationTimeout + 100ms) << "the write got its deadline";
  EXPECT_EQ(postStatus("/resume", "Bearer operator-secret"), 200);
  EXPECT_EQ(pauses_, (std::vector<bool>{true, false}));
}

TEST_F(RestRoutes, AFailedWriteIsNever200AndItsStatusNamesTheFailure) {
  write_error_ = Error{ErrorCode::Unavailable, "etcd unreachable at 127.0.0.1:1"};
  auto [status, body] = post("/pause", "Bearer operator-secret");
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("etcd unreachable"), std::string::npos) << body;
  write_error_ = Error{ErrorCode::FailedPrecondition, "the leader changed"};
  EXPECT_EQ(postStatus("/switchover", "Bearer operator-secret", R"({"to":"m2"})"), 409);
  write_error_ = Error{ErrorCode::DeadlineExceeded, "etcd did not answer"};
  EXPECT_EQ(postStatus("/resume", "Bearer operator-secret"), 504);
  EXPECT_TRUE(pauses_.empty());
  EXPECT_TRUE(switchovers_.empty());
}

TEST_F(RestRoutes, AWriteThatOutlivesTheMutationTimeoutGets504InTime) {
  write_delay_ = 2s;
  auto sent = std::chrono::steady_clock::now();
  auto [status, body] = post("/pause", "Bearer operator-secret");
  auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(status, 504) << body;
  EXPECT_NE(body.find("outcome is unknown"), std::string::npos) << body;
  EXPECT_LT(took, 1500ms) << "the answer waited for the write, not for its deadline";
}

TEST_F(RestRoutes, SwitchoverAndFailoverWriteTheirRequestAndCheckTheBodyFirst) {
  auto [status, body] = post("/switchover", "Bearer operator-secret", R"({"to":"m2"})");
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find(R"("revision":43)"), std::string::npos) << body;
  EXPECT_EQ(postStatus("/failover", "Bearer operator-secret", ""), 400) << "needs a candidate";
  EXPECT_EQ(postStatus("/switchover", "Bearer operator-secret", "[1]"), 400);
  EXPECT_EQ(postStatus("/switchover", "Bearer wrong", R"({"to":"m2"})"), 401);
  EXPECT_EQ(postStatus("/failover", "Bearer operator-secret", R"({"to":"m3"})"), 200);
  EXPECT_EQ(switchovers_, (std::vector<std::string>{"m2", "m3 force"}));
}

TEST_F(RestRoutes, OperatorWritesRefuseGet) {
  EXPECT_EQ(statusOf("/pause"), 405);
  EXPECT_EQ(statusOf("/switchover"), 405);
  EXPECT_TRUE(pauses_.empty());
}

// Over rest.tls with client_auth, the failsafe vouch is judged with the name in the caller's
// verified certificate (decideVouch requires it to be the leader's).
TEST(RestRoutesOverTls, TheFailsafeVouchSeesTheVerifiedClientCertificatesName) {
  testing::TempDir dir;
  std::string pki = dir.path();
  ASSERT_TRUE(net::makeCa(pki, "rest test CA"));
  net::CertificateSpec server_cert;
  server_cert.common_name = "m2";
  server_cert.ip_addresses = {"127.0.0.1"};
  ASSERT_TRUE(net::issueCertificate(pki, server_cert, pki + "/m2.pem", pki + "/m2-key.pem"));
  net::CertificateSpec client_cert;
  client_cert.common_name = "m1";
  ASSERT_TRUE(net::issueCertificate(pki, client_cert, pki + "/m1.pem", pki + "/m1-key.pem"));

  asio::io_context io;
  net::http::Server server(io.get_executor());
  std::vector<std::string> peers;
  RestActions actions;
  actions.view = [] { return MemberView{}; };
  actions.failsafe = [&peers](const std::string&, const std::string&, const std::string& peer) {
    peers.push_back(peer);
    return VouchDecision{VouchVerdict::Accept, ""};
  };
  addRestRoutes(server, "operator-secret", 1 << 20, std::chrono::seconds(2), actions);
  auto tls =
      server.useTls({.ca = pki + "/ca.pem", .cert = pki + "/m2.pem", .key = pki + "/m2-key.pem"});
  ASSERT_TRUE(tls) << tls.error().message;
  auto bound = server.listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound) << bound.error().message;
  net::Endpoint endpoint{"127.0.0.1", bound->port, true};

  net::http::Client client(
      io.get_executor(),
      {.ca = pki + "/ca.pem", .cert = pki + "/m1.pem", .key = pki + "/m1-key.pem"});
  auto work = [&]() -> asio::awaitable<Result<net::http::Response>> {
    net::http::Request request{"POST", "/failsafe", {}, R"({"leader":"m1"})"};
    co_return co_await client.fetch(endpoint, std::move(request),
                                    std::chrono::steady_clock::now() + 5s,
                                    net::http::Client::Replay::Never);
  };
  auto response = testing::runLoop(io, work());
  server.stop();
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(peers, std::vector<std::string>{"m1"});
}

}  // namespace
}  // namespace rampart::pg
