// `rampart controller` against real etcd x3 and two real `rampart server`s, driven by kubectl:
// a ReplicaSet gets its pods, and SIGKILLing the leader in the middle of a scale-up hands over
// to the other controller within about a second without ever exceeding the replica count
// (checked from the watch history of every pod event).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "controller_fixture.h"
#include "kube/http_client.h"
#include "testing/run_loop.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string replicaSetYaml(int replicas) {
  return "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web\nspec:\n  replicas: " +
         std::to_string(replicas) +
         "\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n"
         "      labels:\n        app: web\n    spec:\n      containers:\n      - name: c\n"
         "        image: nginx\n";
}

class ControllerIntegrationTest : public testing::ControllerTest {
 protected:
  json podsOf(const std::string& app) {
    auto got = kubectl({"get", "pods", "-l", "app=" + app, "-o", "json"});
    auto parsed = json::parse(got.output, nullptr, false);
    return parsed.is_discarded() ? json::object() : parsed;
  }
  size_t podCount(const std::string& app) {
    json list = podsOf(app);
    return list.contains("items") ? list["items"].size() : 0;
  }
};

TEST_F(ControllerIntegrationTest, AReplicaSetAppliedWithKubectlGetsItsPodsAndEvents) {
  startController("ctrl-a", 0);
  startController("ctrl-b", 1);
  ASSERT_TRUE(testing::eventually([&] { return !leaseHolder().empty(); }, seconds(10)))
      << testing::readWholeFile(controllers_["ctrl-a"].log);
  auto applied = kubectl({"apply", "-f", writeFile("rs.yaml", replicaSetYaml(3))});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(testing::eventually([&] { return podCount("web") == 3; }, seconds(10)));
  json pods = podsOf("web");
  for (const auto& pod : pods["items"]) {
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["controller"], true);
  }
  ASSERT_TRUE(testing::eventually(
      [&] {
        return kubectl({"get", "rs", "web", "-o", "jsonpath={.status.replicas}"}).output == "3";
      },
      seconds(10)));
  ASSERT_TRUE(testing::eventually(
      [&] {
        return kubectl({"describe", "rs", "web"}).output.find("SuccessfulCreate") !=
               std::string::npos;
      },
      seconds(10)));
  // Exactly one controller leads; the Lease says which and carries the real duration.
  auto lease = json::parse(
      kubectl({"get", "lease", "-n", "kube-system", "rampart-controller", "-o", "json"}).output,
      nullptr, false);
  ASSERT_FALSE(lease.is_discarded());
  EXPECT_EQ(lease["metadata"]["annotations"]["rampart.io/lease-duration-ms"], "800");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 1);
  std::string holder = lease["spec"]["holderIdentity"];
  std::string other = holder == "ctrl-a" ? "ctrl-b" : "ctrl-a";
  EXPECT_TRUE(eventTime(holder, "acting"));
  EXPECT_FALSE(eventTime(other, "acting"));
  // Scaling down deletes the excess (the pods are not bound: they go at once).
  ASSERT_EQ(kubectl({"scale", "rs", "web", "--replicas=1"}).exit_code, 0);
  ASSERT_TRUE(testing::eventually([&] { return podCount("web") == 1; }, seconds(10)));
}

TEST_F(ControllerIntegrationTest, KillingTheLeaderMidScaleHandsOverWithinASecondNeverOverReplicas) {
  // Only the ReplicaSet controller: without nodes the scheduler would write a FailedScheduling
  // status and event for each of the 400 pods, which is not what this test measures.
  startController("ctrl-a", 0, {"--controllers", "replicaset-controller"});
  ASSERT_TRUE(testing::eventually([&] { return leaseHolder() == "ctrl-a"; }, seconds(10)));
  startController("ctrl-b", 1, {"--controllers", "replicaset-controller"});
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("rs.yaml", replicaSetYaml(1))}).exit_code, 0);
  ASSERT_TRUE(testing::eventually([&] { return podCount("web") == 1; }, seconds(10)));
  // The API's own list (kubectl get -o json prints a client-side List without one).
  auto listed = json::parse(
      kubectl({"get", "--raw", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb"})
          .output,
      nullptr, false);
  ASSERT_FALSE(listed.is_discarded());
  std::string from_rv = listed["metadata"]["resourceVersion"];
  ASSERT_FALSE(from_rv.empty());

  constexpr int kReplicas = 400;
  ASSERT_EQ(kubectl({"scale", "rs", "web", "--replicas=" + std::to_string(kReplicas)}).exit_code,
            0);
  // Mid-scale: once some pods exist but not all.
  size_t seen = 0;
  ASSERT_TRUE(testing::eventually(
      [&] {
        seen = podCount("web");
        return seen > 1;
      },
      seconds(10), milliseconds(5)));
  int64_t killed_at = monotonicNanos();
  ASSERT_EQ(::kill(controllers_["ctrl-a"].pid, SIGKILL), 0);
  runtime::waitExit(controllers_["ctrl-a"].pid, seconds(2));
  ASSERT_TRUE(testing::eventually([&] { return eventTime("ctrl-b", "acting").has_value(); },
                                  seconds(5)))
      << testing::readWholeFile(controllers_["ctrl-b"].log);
  double handover_ms = static_cast<double>(*eventTime("ctrl-b", "acting") - killed_at) / 1e6;
  std::printf("pods when killed: %zu of %d; handover: %.0f ms\n", seen, kReplicas, handover_ms);
  EXPECT_LT(handover_ms, 1500) << "a new leader acts about 1 s after the old one dies";
  ASSERT_TRUE(testing::eventually([&] { return podCount("web") == kReplicas; }, seconds(30)));

  // Replay every pod event since before the scale: the live count never exceeds the replicas.
  boost::asio::io_context io;
  auto config = kube::loadKubeConfig(servers_[1].kubeconfig);
  ASSERT_TRUE(config);
  auto client = kube::HttpClient::make(io.get_executor(), *config);
  ASSERT_TRUE(client);
  auto stream = testing::runLoop(
      io, (*client)->watch("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&"
                           "resourceVersion=" + from_rv));
  ASSERT_TRUE(stream) << stream.error().message;
  int64_t live = 1;
  int64_t most = live;
  int added = 0;
  for (int quiet = 0; quiet < 5;) {
    auto event = testing::runLoop(io, (*stream)->next(milliseconds(200)));
    ASSERT_TRUE(event) << event.error().message;
    if (!*event) {
      ++quiet;
      continue;
    }
    quiet = 0;
    std::string type = (**event)["type"];
    if (type == "ADDED") {
      ++added;
      most = std::max(most, ++live);
    } else if (type == "DELETED") {
      --live;
    }
  }
  (*stream)->cancel();
  EXPECT_EQ(most, kReplicas);
  EXPECT_EQ(added, kReplicas - 1) << "no pod created twice";
  EXPECT_EQ(leaseHolder(), "ctrl-b");
}

TEST_F(ControllerIntegrationTest, ADeploymentCreatedWithKubectlGetsPodsScheduledOntoANode) {
  // The node is written by the test, which renews no Lease: a long grace keeps it Ready.
  startController("ctrl-a", 0, {"--node-monitor-grace-period", "60s"});
  std::string node_yaml =
      "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels:\n"
      "    kubernetes.io/hostname: node-1\n    topology.kubernetes.io/zone: z1\n";
  auto created = kubectl({"create", "-f", writeFile("node.yaml", node_yaml)});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto status = kubectl({"patch", "node", "node-1", "--subresource=status", "--type=merge", "-p",
                         R"({"status":{"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},)"
                         R"("capacity":{"cpu":"4","memory":"8Gi","pods":"110"},)"
                         R"("conditions":[{"type":"Ready","status":"True"}]}})"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  auto made = kubectl({"create", "deployment", "shop", "--image=nginx", "--replicas=2"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ASSERT_TRUE(testing::eventually(
      [&] {
        json pods = podsOf("shop");
        if (!pods.contains("items") || pods["items"].size() != 2) {
          return false;
        }
        for (const auto& pod : pods["items"]) {
          if (pod.value("/spec/nodeName"_json_pointer, std::string()) != "node-1") {
            return false;
          }
        }
        return true;
      },
      seconds(15)))
      << podsOf("shop").dump();
  auto sets = json::parse(kubectl({"get", "rs", "-l", "app=shop", "-o", "json"}).output, nullptr,
                          false);
  ASSERT_FALSE(sets.is_discarded());
  ASSERT_EQ(sets["items"].size(), 1u);
  EXPECT_EQ(sets["items"][0]["metadata"]["name"].get<std::string>().rfind("shop-", 0), 0u);
  ASSERT_TRUE(testing::eventually(
      [&] {
        return kubectl({"get", "events", "--field-selector", "reason=Scheduled", "-o", "name"})
                   .output.find("shop-") != std::string::npos;
      },
      seconds(10)));
  ASSERT_TRUE(testing::eventually(
      [&] {
        return kubectl({"get", "deployment", "shop", "-o", "jsonpath={.status.replicas}"})
                   .output == "2";
      },
      seconds(10)));
}

TEST_F(ControllerIntegrationTest, BadFlagsAreRefusedWithAClearError) {
  auto no_kubeconfig = runtime::runCommand({RAMPART_BINARY, "controller"}, seconds(10));
  EXPECT_EQ(no_kubeconfig.exit_code, 2);
  EXPECT_NE(no_kubeconfig.output.find("--kubeconfig"), std::string::npos) << no_kubeconfig.output;
  auto missing = runtime::runCommand(
      {RAMPART_BINARY, "controller", "--kubeconfig", dir_.path() + "/nope"}, seconds(10));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find(dir_.path() + "/nope"), std::string::npos) << missing.output;
  auto order = runtime::runCommand({RAMPART_BINARY, "controller", "--kubeconfig",
                                    servers_[0].kubeconfig, "--leader-elect-lease-duration",
                                    "500ms", "--leader-elect-renew-deadline", "600ms"},
                                   seconds(10));
  EXPECT_EQ(order.exit_code, 2);
  EXPECT_NE(order.output.find("must be greater than --leader-elect-renew-deadline"),
            std::string::npos)
      << order.output;
  auto unknown = runtime::runCommand({RAMPART_BINARY, "controller", "--kubeconfig",
                                      servers_[0].kubeconfig, "--controllers", "*,-bogus"},
                                     seconds(10));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("unknown controller \"bogus\""), std::string::npos)
      << unknown.output;
  auto bad_duration = runtime::runCommand({RAMPART_BINARY, "controller", "--kubeconfig",
                                           servers_[0].kubeconfig,
                                           "--node-monitor-grace-period", "soon"},
                                          seconds(10));
  EXPECT_EQ(bad_duration.exit_code, 2);
  EXPECT_NE(bad_duration.output.find("--node-monitor-grace-period"), std::string::npos)
      << bad_duration.output;
}

}  // namespace
}  // namespace rampart
