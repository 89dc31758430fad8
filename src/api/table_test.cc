#include "api/table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::api {
namespace {
using json = nlohmann::json;
using namespace std::chrono_literals;

WallTime at(const char* text) { return *parseRfc3339(text); }

json tableOf(const char* plural, const char* group, const json& object, const char* now) {
  const ResourceInfo* r = findResource(group, "v1", plural);
  EXPECT_NE(r, nullptr);
  return makeTable(*r, {object}, json{{"resourceVersion", "42"}}, at(now));
}

std::vector<std::string> columnNames(const json& table) {
  std::vector<std::string> out;
  for (const auto& c : table["columnDefinitions"]) {
    if (c["priority"] == 0) {
      out.push_back(c["name"]);
    }
  }
  return out;
}

TEST(Rfc3339, ParsesUtcFractionsAndOffsetsAndRejectsGarbage) {
  EXPECT_EQ(formatRfc3339(at("2026-12-06T02:50:10Z")), "2026-12-06T02:50:10Z");
  EXPECT_EQ(at("2026-12-06T03:50:10+01:00"), at("2026-12-06T02:50:10Z"));
  EXPECT_EQ(at("2026-12-06T02:50:10.5Z") - at("2026-12-06T02:50:10Z"), 500ms);
  for (const char* bad :
       {"", "2026-12-06", "2026-13-06T02:50:10Z", "2026-02-30T00:00:00Z", "2026-12-06T02:50:10",
        "2026-12-06T02:50:10Zjunk", "2026-12-06 02:50:10Z"}) {
    EXPECT_FALSE(parseRfc3339(bad)) << bad;
  }
}

TEST(HumanDuration, MatchesKubernetesAges) {
  EXPECT_EQ(humanDuration(45s), "45s");
  EXPECT_EQ(humanDuration(119s), "119s");
  EXPECT_EQ(humanDuration(200s), "3m20s");
  EXPECT_EQ(humanDuration(12min), "12m");
  EXPECT_EQ(humanDuration(5h + 3min), "5h3m");
  EXPECT_EQ(humanDuration(30h), "30h");
  EXPECT_EQ(humanDuration(76h), "3d4h");
  EXPECT_EQ(humanDuration(std::chrono::hours(24 * 400)), "400d");
  EXPECT_EQ(humanDuration(std::chrono::hours(24 * (365 * 2 + 30))), "2y30d");
  EXPECT_EQ(humanDuration(-5s), "<invalid>");
}

TEST(PodTable, RunningPodShowsReadyRestartsIpAndNode) {
  json pod = json::parse(R"({"metadata":{"name":"web-1","namespace":"default",
      "creationTimestamp":"2026-12-06T02:00:00Z"},
    "spec":{"nodeName":"w1","containers":[{"name":"a"},{"name":"b"}]},
    "status":{"phase":"Running","podIP":"10.1.0.5","containerStatuses":[
      {"name":"a","ready":true,"restartCount":2,"state":{"running":{}},
       "lastState":{"terminated":{"finishedAt":"2026-12-06T02:55:00Z"}}},
      {"name":"b","ready":false,"restartCount":0,"state":{"running":{}}}]}})");
  json t = tableOf("pods", "", pod, "2026-12-06T03:00:00Z");
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(columnNames(t),
            (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age"}));
  EXPECT_EQ(
      t["rows"][0]["cells"],
      json::parse(
          R"J(["web-1","1/2","Running","2 (5m ago)","60m","10.1.0.5","w1","<none>","<none>"])J"));
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["namespace"], "default");
}

TEST(PodTable, StatusReasonsFollowTheContainers) {
  auto status_of = [](const char* pod) {
    return tableOf("pods", "", json::parse(pod), "2026-12-06T03:00:00Z")["rows"][0]["cells"][2];
  };
  EXPECT_EQ(status_of(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"}]},
      "status":{"phase":"Running","containerStatuses":[{"name":"a","state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})"),
            "CrashLoopBackOff");
  EXPECT_EQ(status_of(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"}]},
      "status":{"phase":"Failed","containerStatuses":[{"name":"a","state":{"terminated":{"exitCode":137,"reason":"OOMKilled"}}}]}})"),
            "OOMKilled");
  EXPECT_EQ(status_of(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"}]},
      "status":{"phase":"Failed","containerStatuses":[{"name":"a","state":{"terminated":{"exitCode":3}}}]}})"),
            "ExitCode:3");
  EXPECT_EQ(
      status_of(
          R"({"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"i"},{"name":"j"}],"containers":[{"name":"a"}]},
      "status":{"phase":"Pending","initContainerStatuses":[{"name":"i","state":{"terminated":{"exitCode":0}}},{"name":"j","state":{"running":{}}}]}})"),
      "Init:1/2");
  EXPECT_EQ(status_of(R"({"metadata":{"name":"p","deletionTimestamp":"2026-12-06T02:59:00Z"},
      "spec":{"containers":[{"name":"a"}]},"status":{"phase":"Running"}})"),
            "Terminating");
  EXPECT_EQ(
      status_of(
          R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Pending"}})"),
      "Pending");
}

TEST(DeploymentTable, ReadyUpToDateAvailable) {
  json d = json::parse(R"({"metadata":{"name":"web","creationTimestamp":"2026-12-06T02:59:00Z"},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
            "template":{"spec":{"containers":[{"name":"app","image":"nginx"}]}}},
    "status":{"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}})");
  json t = tableOf("deployments", "apps", d, "2026-12-06T03:00:00Z");
  EXPECT_EQ(columnNames(t),
            (std::vector<std::string>{"Name", "Ready", "Up-to-date", "Available", "Age"}));
  EXPECT_EQ(t["rows"][0]["cells"],
            json::parse(R"(["web","2/3",3,2,"60s","app","nginx","app=web"])"));
}

TEST(NodeTable, StatusRolesAndCordon) {
  json n = json::parse(R"({"metadata":{"name":"m1","creationTimestamp":"2026-12-06T02:00:00Z",
      "labels":{"node-role.kubernetes.io/control-plane":"","topology.kubernetes.io/zone":"a"}},
    "spec":{"unschedulable":true},
    "status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}],
              "addresses":[{"type":"InternalIP","address":"10.0.0.1"}],
              "nodeInfo":{"kubeletVersion":"v1.32.0-rampart"}}})");
  json cells = tableOf("nodes", "", n, "2026-12-06T03:00:00Z")["rows"][0]["cells"];
  EXPECT_EQ(cells[1], "Ready,SchedulingDisabled");
  EXPECT_EQ(cells[2], "control-plane");
  EXPECT_EQ(cells[4], "v1.32.0-rampart");
  EXPECT_EQ(cells[5], "10.0.0.1");
  n["status"]["conditions"][1]["status"] = "Unknown";
  n["spec"].erase("unschedulable");
  EXPECT_EQ(tableOf("nodes", "", n, "2026-12-06T03:00:00Z")["rows"][0]["cells"][1], "NotReady");
}

TEST(ServiceAndEndpointsTables, PortsSelectorAndEndpointList) {
  json s =
      json::parse(R"({"metadata":{"name":"web"},"spec":{"type":"NodePort","clusterIP":"10.96.0.10",
      "ports":[{"port":80,"nodePort":30080,"protocol":"TCP"},{"port":53,"protocol":"UDP"}],
      "selector":{"app":"web"}}})");
  json cells = tableOf("services", "", s, "2026-12-06T03:00:00Z")["rows"][0]["cells"];
  EXPECT_EQ(cells[1], "NodePort");
  EXPECT_EQ(cells[3], "<none>");
  EXPECT_EQ(cells[4], "80:30080/TCP,53/UDP");
  EXPECT_EQ(cells[6], "app=web");
  json e = json::parse(R"({"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.1.0.1"},
      {"ip":"10.1.0.2"},{"ip":"10.1.0.3"},{"ip":"10.1.0.4"}],"ports":[{"port":8080}]}]})");
  EXPECT_EQ(tableOf("endpoints", "", e, "2026-12-06T03:00:00Z")["rows"][0]["cells"][1],
            "10.1.0.1:8080,10.1.0.2:8080,10.1.0.3:8080 + 1 more...");
}

TEST(EventTable, ObjectIsKindSlashName) {
  json ev = json::parse(R"({"metadata":{"name":"web.1"},"type":"Normal","reason":"Scheduled",
      "message":"Successfully assigned default/web-1 to w1","count":1,
      "involvedObject":{"kind":"Pod","name":"web-1"},"lastTimestamp":"2026-12-06T02:59:30Z",
      "source":{"component":"rampart-scheduler"}})");
  json cells = tableOf("events", "", ev, "2026-12-06T03:00:00Z")["rows"][0]["cells"];
  EXPECT_EQ(cells[0], "30s");
  EXPECT_EQ(cells[3], "pod/web-1");
  EXPECT_EQ(cells[6], "Successfully assigned default/web-1 to w1");
}

}  // namespace
}  // namespace rampart::api
