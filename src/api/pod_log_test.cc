#include "api/pod_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;

json pod(std::vector<std::string> containers, const std::string& node = "n1") {
  json p = {{"metadata", {{"name", "web"}, {"namespace", "prod"}}}, {"spec", json::object()}};
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
           {{"addresses",
             {{{"type", "Hostname"}, {"address", "n1"}},
              {{"type", "InternalIP"}, {"address", "10.0.0.7"}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", port}}}}}}}};
}

LogRequest request(std::map<std::string, std::string> query) {
  auto parsed = parseLogRequest(query);
  EXPECT_TRUE(parsed);
  EXPECT_TRUE(parsed->invalid.empty());
  return parsed->request;
}

TEST(PodLog, TargetsTheNodeAgentsContainerLogsWithTheAskedOptions) {
  auto target = logTargetOf(pod({"app"}), node(10250),
                            request({{"follow", "true"},
                                     {"tailLines", "10"},
                                     {"timestamps", "true"},
                                     {"previous", "false"},
                                     {"sinceSeconds", "60"}}));
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->host, "10.0.0.7");
  EXPECT_EQ(target->port, 10250);
  EXPECT_EQ(target->path,
            "/containerLogs/prod/web/app?follow=true&sinceSeconds=60&tailLines=10&timestamps=true");
  EXPECT_TRUE(target->follow);
  auto plain = logTargetOf(pod({"app"}), node(11250), request({}));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->path, "/containerLogs/prod/web/app");
  EXPECT_EQ(plain->port, 11250);
}

TEST(PodLog, PodSideProblemsAreKubernetesBadRequests) {
  auto unbound = logContainerOf(pod({"app"}, ""), request({}));
  ASSERT_FALSE(unbound);
  EXPECT_EQ(unbound.error().message, "pod web does not have a host assigned");
  auto ambiguous = logContainerOf(pod({"app", "sidecar"}), request({}));
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().message,
            "a container name must be specified for pod web, choose one of: [app sidecar]");
  auto chosen = logContainerOf(pod({"app", "sidecar"}), request({{"container", "sidecar"}}));
  ASSERT_TRUE(chosen);
  EXPECT_EQ(*chosen, "sidecar");
  auto unknown = logContainerOf(pod({"app"}), request({{"container", "db"}}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "container db is not valid for pod web");
}

TEST(PodLog, MalformedOrOutOfRangeOptionsAreRefused) {
  EXPECT_FALSE(parseLogRequest({{"tailLines", "ten"}}));
  EXPECT_FALSE(parseLogRequest({{"follow", "yes"}}));
  auto negative = parseLogRequest({{"tailLines", "-1"}, {"sinceSeconds", "0"}});
  ASSERT_TRUE(negative);
  ASSERT_EQ(negative->invalid.size(), 2u);
  EXPECT_EQ(negative->invalid[0].toString(),
            "tailLines: Invalid value: -1: must be greater than or equal to 0");
}

TEST(PodLog, NodeWithoutInternalIpCannotBeAsked) {
  json bare = node();
  bare["status"]["addresses"] = json::array({{{"type", "Hostname"}, {"address", "n1"}}});
  auto target = logTargetOf(pod({"app"}), bare, request({}));
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().code, ErrorCode::FailedPrecondition);
}

}  // namespace
}  // namespace rampart::api
