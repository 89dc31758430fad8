#include "pg/rest.h"

#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace rampart::pg {
namespace {

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
    actions.pause = [this](bool paused) -> Result<void> {
      pauses_.push_back(paused);
      return ok();
    };
    actions.failsafe = [this](const std::string& leader, const std::string& proof,
                              const std::string&) {
      vouch_requests_.push_back(leader + " " + proof);
      return VouchDecision{proof == "good" ? VouchVerdict::Accept : VouchVerdict::Unauthenticated,
                           ""};
    };
    addRestRoutes(server_, kOperatorToken, 1 << 20, std::chrono::seconds(2), actions);
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
    return status;
  }

  static constexpr const char* kOperatorToken = "operator-secret";
  std::vector<bool> pauses_;  // written on the server's thread, read after the call
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

}  // namespace
}  // namespace rampart::pg
