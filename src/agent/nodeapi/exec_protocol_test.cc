#include "agent/nodeapi/exec_protocol.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::agent::nodeapi {
namespace {

TEST(ExecFrames, ChannelByteThenData) {
  std::string frame = encodeFrame(kStderr, "oops");
  EXPECT_EQ(frame, std::string("\x02oops"));
  auto decoded = decodeFrame(frame);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->channel, kStderr);
  EXPECT_EQ(decoded->data, "oops");
}

TEST(ExecFrames, V5CloseNamesTheChannel) {
  const std::string message("\xff\x00", 2);  // the frame's data is a view into it
  auto decoded = decodeFrame(message);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->channel, kCloseChannel);
  ASSERT_EQ(decoded->data.size(), 1u);
  EXPECT_EQ(decoded->data[0], kStdin);
}

TEST(ExecFrames, EmptyMessageIsAnError) { EXPECT_FALSE(decodeFrame("")); }

TEST(ExecSubprotocol, PrefersV5ThenV4) {
  EXPECT_EQ(chooseSubprotocol("v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io"),
            "v5.channel.k8s.io");
  EXPECT_EQ(chooseSubprotocol("v4.channel.k8s.io,v5.channel.k8s.io"), "v5.channel.k8s.io");
  EXPECT_EQ(chooseSubprotocol("v3.channel.k8s.io, v4.channel.k8s.io"), "v4.channel.k8s.io");
  EXPECT_EQ(chooseSubprotocol("channel.k8s.io"), "");
  EXPECT_EQ(chooseSubprotocol(""), "");
}

TEST(ExecResize, WidthAndHeight) {
  auto size = parseResize(R"({"Width":120,"Height":40})");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 120);
  EXPECT_EQ(size->height, 40);
  EXPECT_FALSE(parseResize("nope"));
  EXPECT_FALSE(parseResize(R"({"Width":-1,"Height":40})"));
}

TEST(ExecQuery, RepeatedCommandsInOrderAndStreams) {
  auto request = parseExecQuery(
      "command=sh&command=-c&command=exit%203&container=app&stdin=true&"
      "stdout=true&stderr=false&tty=true");
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->command, (std::vector<std::string>{"sh", "-c", "exit 3"}));
  EXPECT_EQ(request->container, "app");
  EXPECT_TRUE(request->stdin_stream);
  EXPECT_TRUE(request->stdout_stream);
  EXPECT_FALSE(request->stderr_stream);
  EXPECT_TRUE(request->tty);
}

TEST(ExecQuery, KubernetesMessagesForWhatIsMissing) {
  auto no_command = parseExecQuery("stdout=true");
  ASSERT_FALSE(no_command);
  EXPECT_EQ(no_command.error().message, "you must specify at least one command for the container");
  auto no_stream = parseExecQuery("command=ls");
  ASSERT_FALSE(no_stream);
  EXPECT_EQ(no_stream.error().message, "you must specify at least 1 of stdin, stdout, stderr");
  EXPECT_FALSE(parseExecQuery("command=ls&stdout=yes"));
  EXPECT_FALSE(parseExecQuery("command=%zz&stdout=true"));
}

TEST(ExecStatus, SuccessForZero) {
  auto status = nlohmann::json::parse(exitStatusJson(0, {"true"}));
  EXPECT_EQ(status["status"], "Success");
}

TEST(ExecStatus, NonZeroExitCodeCarriesTheCodeAsACause) {
  auto status = nlohmann::json::parse(exitStatusJson(3, {"sh", "-c", "exit 3"}));
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "NonZeroExitCode");
  ASSERT_EQ(status["details"]["causes"].size(), 1u);
  EXPECT_EQ(status["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");
  EXPECT_NE(status["message"].get<std::string>().find("[sh -c exit 3]"), std::string::npos);
}

TEST(ExecStatus, ErrorIsAnInternalErrorFailure) {
  auto status = nlohmann::json::parse(errorStatusJson("no such file"));
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "InternalError");
  EXPECT_EQ(status["message"], "no such file");
}

}  // namespace
}  // namespace rampart::agent::nodeapi
