#include "api/pod_exec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;

json pod(std::vector<std::string> containers, const std::string& node = "n1",
         const std::string& phase = "Running") {
  json p = {{"metadata", {{"name", "web"}, {"namespace", "prod"}}},
            {"spec", json::object()},
            {"status", {{"phase", phase}}}};
  for (const auto& c : containers) {
    p["spec"]["containers"].push_back({{"name", c}, {"image", "x"}});
  }
  if (!node.empty()) {
    p["spec"]["nodeName"] = node;
  }
  return p;
}

json node(int port = 10250) {
  return {{"metadata", {{"name", "n1"}}},
          {"status",
           {{"addresses", {{{"type", "InternalIP"}, {"address", "10.0.0.7"}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", port}}}}}}}};
}

TEST(PodExec, TargetsTheNodeAgentsExecWithTheClientsQuery) {
  std::string query = "command=sh&command=-c&command=exit+3&stdout=true&stderr=true";
  auto target = execTargetOf(pod({"app"}), node(11250), query);
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->host, "10.0.0.7");
  EXPECT_EQ(target->port, 11250);
  EXPECT_EQ(target->path, "/exec/prod/web/app?" + query);
  auto chosen = execTargetOf(pod({"app", "side"}), node(), "command=ls&container=side&stdout=1");
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->path, "/exec/prod/web/side?command=ls&container=side&stdout=1");
}

TEST(PodExec, RefusalsCarryKubernetesMessages) {
  auto no_command = execTargetOf(pod({"app"}), node(), "stdout=true");
  ASSERT_FALSE(no_command);
  EXPECT_EQ(no_command.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(no_command.error().message, "you must specify at least one command for the container");
  auto ambiguous = execTargetOf(pod({"app", "side"}), node(), "command=ls");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().message,
            "a container name must be specified for pod web, choose one of: [app side]");
  auto unknown = execTargetOf(pod({"app"}), node(), "command=ls&container=db");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "container db is not valid for pod web");
  auto unbound = execTargetOf(pod({"app"}, ""), json::object(), "command=ls");
  ASSERT_FALSE(unbound);
  EXPECT_EQ(unbound.error().message, "pod web does not have a host assigned");
  auto done = execTargetOf(pod({"app"}, "n1", "Succeeded"), node(), "command=ls");
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message,
            "cannot exec into a container in a completed pod; current phase is Succeeded");
}

TEST(PodExec, NodeWithoutAddressIsNowhereToConnect) {
  json bare = {{"metadata", {{"name", "n1"}}}};
  auto target = execTargetOf(pod({"app"}), bare, "command=ls");
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().code, ErrorCode::FailedPrecondition);
}

}  // namespace
}  // namespace rampart::api
