// Operations kubectl runs against the API beyond plain objects: drain (evictions against a
// PodDisruptionBudget), cordon/uncordon, Service cluster IPs (expose, create service), and
// `auth whoami`. Two `rampart server`s over a 3-member etcd (kubectl_fixture.h); no controller
// runs: the test plays the disruption controller by writing the budget's status itself.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "kubectl_fixture.h"

namespace rampart {
namespace {
using testing::KubectlTest;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Node n1 with pods a and b on it (Running, Ready, owned by a ReplicaSet so drain needs no
// --force), and a budget over them.
constexpr const char* kDrainManifest = R"(apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: 6d1c5e7a-0000-4000-8000-000000000001, controller: true}
spec:
  nodeName: n1
  containers: [{name: app, image: nginx:1.25}]
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: 6d1c5e7a-0000-4000-8000-000000000001, controller: true}
spec:
  nodeName: n1
  containers: [{name: app, image: nginx:1.25}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: web}
)";

class KubectlOpsTest : public KubectlTest {
 protected:
  // What the disruption controller would write.
  void setBudget(int allowed) {
    std::string status = R"({"status":{"observedGeneration":1,"currentHealthy":2,)"
                         R"("desiredHealthy":2,"expectedPods":2,"disruptionsAllowed":)" +
                         std::to_string(allowed) + "}}";
    auto r = kubectl({"patch", "pdb", "web", "--subresource=status", "--type=merge", "-p", status});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  void markRunningAndReady(const std::string& pod) {
    auto r = kubectl({"patch", "pod", pod, "--subresource=status", "--type=merge", "-p",
                      R"({"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}})"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // Whether `pid` (our child) has exited; its exit code then goes to `code`.
  static bool exited(pid_t pid, int& code) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) {
      return false;
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return true;
  }
};

TEST_F(KubectlOpsTest, DrainWaitsForTheDisruptionBudgetThenEvictsAndUncordonRestoresTheNode) {
  auto applied = kubectl({"apply", "-f", writeFile("drain.yaml", kDrainManifest)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  markRunningAndReady("a");
  markRunningAndReady("b");
  setBudget(0);

  std::string log = dir_.path() + "/drain.log";
  auto drain = runtime::spawn(runtime::SpawnOptions{
      {"kubectl", "--kubeconfig", servers_[0].kubeconfig, "--cache-dir", dir_.path() + "/kc-drain",
       "drain", "n1", "--ignore-daemonsets", "--grace-period=0", "--timeout=90s"},
      log});
  ASSERT_TRUE(drain);
  // Blocked: every eviction is refused with 429 and kubectl retries.
  bool refused = testing::eventually(
      [&] {
        return contains(testing::readWholeFile(log),
                        "Cannot evict pod as it would violate the pod's disruption budget");
      },
      std::chrono::seconds(20), std::chrono::milliseconds(100));
  int code = -1;
  if (!refused) {
    runtime::terminate(*drain, std::chrono::seconds(1));
  }
  ASSERT_TRUE(refused) << testing::readWholeFile(log);
  EXPECT_FALSE(exited(*drain, code)) << testing::readWholeFile(log);
  EXPECT_EQ(kubectl({"get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}"}).output, "true");
  EXPECT_EQ(kubectl({"get", "pods", "-o", "name"}).output, "pod/a\npod/b");

  // The controller (the test, through the other server) allows two disruptions: both go.
  auto raised = kubectl(servers_[1].kubeconfig,
                        {"patch", "pdb", "web", "--subresource=status", "--type=merge", "-p",
                         R"({"status":{"disruptionsAllowed":2}})"});
  ASSERT_EQ(raised.exit_code, 0) << raised.output;
  bool done = testing::eventually([&] { return exited(*drain, code); }, std::chrono::seconds(30),
                                  std::chrono::milliseconds(100));
  if (!done) {
    runtime::terminate(*drain, std::chrono::seconds(1));
  }
  ASSERT_TRUE(done) << testing::readWholeFile(log);
  std::string out = testing::readWholeFile(log);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "pod/a evicted")) << out;
  EXPECT_TRUE(contains(out, "pod/b evicted")) << out;
  EXPECT_TRUE(contains(out, "node/n1 drained")) << out;
  EXPECT_EQ(kubectl({"get", "pods", "-o", "name"}).output, "");
  // Each eviction took one disruption and recorded its pod for the controller.
  auto pdb = nlohmann::json::parse(kubectl({"get", "pdb", "web", "-o", "json"}).output);
  EXPECT_EQ(pdb["status"]["disruptionsAllowed"], 0);
  EXPECT_TRUE(pdb["status"]["disruptedPods"].contains("a")) << pdb.dump();
  EXPECT_TRUE(pdb["status"]["disruptedPods"].contains("b")) << pdb.dump();

  auto uncordoned = kubectl({"uncordon", "n1"});
  EXPECT_EQ(uncordoned.exit_code, 0) << uncordoned.output;
  EXPECT_TRUE(contains(uncordoned.output, "node/n1 uncordoned")) << uncordoned.output;
  EXPECT_EQ(kubectl({"get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}"}).output, "");
  auto cordoned = kubectl(servers_[1].kubeconfig, {"cordon", "n1"});
  EXPECT_TRUE(contains(cordoned.output, "node/n1 cordoned")) << cordoned.output;
  EXPECT_EQ(kubectl({"get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}"}).output, "true");
}

TEST_F(KubectlOpsTest, ServicesGetDistinctClusterIpsFromBothServers) {
  auto deployment = kubectl({"create", "deployment", "web", "--image=nginx:1.25"});
  ASSERT_EQ(deployment.exit_code, 0) << deployment.output;
  auto exposed = kubectl({"expose", "deployment", "web", "--port", "80"});
  ASSERT_EQ(exposed.exit_code, 0) << exposed.output;
  std::set<std::string> ips;
  std::string web = kubectl({"get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"}).output;
  EXPECT_TRUE(web.starts_with("10.9") || web.starts_with("10.10") || web.starts_with("10.11"))
      << web;
  ips.insert(web);
  for (int i = 0; i < 6; ++i) {
    const auto& server = servers_[i % 2];
    std::string name = "svc" + std::to_string(i);
    auto made = kubectl(server.kubeconfig, {"create", "service", "clusterip", name, "--tcp=80:8080"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::string ip = kubectl({"get", "svc", name, "-o", "jsonpath={.spec.clusterIP}"}).output;
    EXPECT_FALSE(ip.empty());
    EXPECT_TRUE(ips.insert(ip).second) << "duplicate " << ip;
  }
  auto table = kubectl({"get", "svc", "web"});
  EXPECT_TRUE(contains(table.output, web)) << table.output;

  auto dns = kubectl({"create", "service", "clusterip", "dns", "--clusterip=10.96.0.10",
                      "--tcp=53:53"});
  ASSERT_EQ(dns.exit_code, 0) << dns.output;
  auto twice = kubectl(servers_[1].kubeconfig, {"create", "service", "clusterip", "dns2",
                                                "--clusterip=10.96.0.10", "--tcp=53:53"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_TRUE(contains(twice.output, "provided IP is already allocated")) << twice.output;
  auto outside = kubectl({"create", "service", "clusterip", "far", "--clusterip=192.168.0.10",
                          "--tcp=53:53"});
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_TRUE(contains(outside.output, "The range of valid IPs is 10.96.0.0/12")) << outside.output;
  auto headless = kubectl({"create", "service", "clusterip", "db", "--clusterip=None",
                           "--tcp=5432:5432"});
  ASSERT_EQ(headless.exit_code, 0) << headless.output;
  EXPECT_EQ(kubectl({"get", "svc", "db", "-o", "jsonpath={.spec.clusterIP}"}).output, "None");

  // Deleting releases the IP: it can be requested again.
  ASSERT_EQ(kubectl({"delete", "svc", "dns"}).exit_code, 0);
  auto reused = kubectl(servers_[1].kubeconfig, {"create", "service", "clusterip", "dns2",
                                                 "--clusterip=10.96.0.10", "--tcp=53:53"});
  EXPECT_EQ(reused.exit_code, 0) << reused.output;
}

// A node agent's log endpoint on 127.0.0.1 (plain HTTP, as the server uses on loopback):
// /containerLogs/default/web/app answers two lines; with follow=true one line, then a second
// once release() is called, then the end; pod "bad" gets the agent's 400.
class FakeAgent {
 public:
  FakeAgent() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAgent() {
    stop_ = true;
    released_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  uint16_t port() const { return port_; }
  void release() { released_ = true; }
  std::vector<std::string> targets() {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) {
        continue;
      }
      answer(client);
      ::close(client);
    }
  }

  void answer(int client) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) {
        return;
      }
      ssize_t n = ::read(client, buffer, sizeof buffer);
      if (n <= 0) {
        return;
      }
      request.append(buffer, static_cast<size_t>(n));
    }
    std::string target = request.substr(4, request.find(' ', 4) - 4);  // after "GET "
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(target);
    }
    auto send = [&](const std::string& text) {
      ::send(client, text.data(), text.size(), MSG_NOSIGNAL);
    };
    if (target.starts_with("/containerLogs/default/bad/")) {
      std::string body = "container \"app\" in pod \"bad\" is waiting to start: ContainerCreating";
      send("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
      return;
    }
    if (target.find("follow=true") != std::string::npos) {
      // Chunked, as a Go server streams a flushed body of unknown length.
      send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
      send("7\r\nline 1\n\r\n");
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!released_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      send("7\r\nline 2\n\r\n0\r\n\r\n");
      return;
    }
    std::string body = "hello from app\nsecond line\n";
    send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> released_{false};
  std::mutex mutex_;
  std::vector<std::string> targets_;
};

TEST_F(KubectlOpsTest, LogsAreProxiedFromTheNodeAgentAndFollowStreams) {
  FakeAgent agent;
  ASSERT_NE(agent.port(), 0);
  std::string manifest = R"(apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: n1
  containers: [{name: app, image: nginx:1.25}]
---
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  nodeName: n1
  containers: [{name: app, image: nginx:1.25}]
---
apiVersion: v1
kind: Pod
metadata: {name: pending}
spec:
  containers: [{name: app, image: nginx:1.25}]
)";
  ASSERT_EQ(kubectl({"apply", "-f", writeFile("logs.yaml", manifest)}).exit_code, 0);
  auto status = kubectl({"patch", "node", "n1", "--subresource=status", "--type=merge", "-p",
                         R"({"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],)"
                         R"("daemonEndpoints":{"kubeletEndpoint":{"Port":)" +
                             std::to_string(agent.port()) + "}}}}"});
  ASSERT_EQ(status.exit_code, 0) << status.output;

  auto logs = kubectl({"logs", "web"});
  EXPECT_EQ(logs.exit_code, 0) << logs.output;
  EXPECT_EQ(logs.output, "hello from app\nsecond line");
  auto tail = kubectl(servers_[1].kubeconfig, {"logs", "web", "--tail=5", "--timestamps"});
  EXPECT_EQ(tail.exit_code, 0) << tail.output;
  auto targets = agent.targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], "/containerLogs/default/web/app");
  EXPECT_EQ(targets[1], "/containerLogs/default/web/app?tailLines=5&timestamps=true");

  auto unbound = kubectl({"logs", "pending"});
  EXPECT_NE(unbound.exit_code, 0);
  EXPECT_TRUE(contains(unbound.output, "pod pending does not have a host assigned"))
      << unbound.output;
  auto waiting = kubectl({"logs", "bad"});
  EXPECT_NE(waiting.exit_code, 0);
  EXPECT_TRUE(contains(waiting.output,
                       "(BadRequest): container \"app\" in pod \"bad\" is waiting to start"))
      << waiting.output;
  auto wrong = kubectl({"logs", "web", "-c", "db"});
  EXPECT_TRUE(contains(wrong.output, "container db is not valid for pod web")) << wrong.output;

  std::string log = dir_.path() + "/follow.log";
  auto follow = runtime::spawn(runtime::SpawnOptions{
      {"kubectl", "--kubeconfig", servers_[0].kubeconfig, "--cache-dir", dir_.path() + "/kc-logs",
       "logs", "-f", "web"},
      log});
  ASSERT_TRUE(follow);
  bool first = testing::eventually([&] { return contains(testing::readWholeFile(log), "line 1"); },
                                   std::chrono::seconds(15), std::chrono::milliseconds(50));
  int code = -1;
  EXPECT_TRUE(first) << testing::readWholeFile(log);
  EXPECT_FALSE(contains(testing::readWholeFile(log), "line 2"));
  EXPECT_FALSE(exited(*follow, code));
  agent.release();
  bool ended = testing::eventually([&] { return exited(*follow, code); }, std::chrono::seconds(15),
                                   std::chrono::milliseconds(50));
  if (!ended) {
    runtime::terminate(*follow, std::chrono::seconds(1));
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(testing::readWholeFile(log), "line 1\nline 2\n");
}

TEST_F(KubectlOpsTest, WatchDeletedEventCarriesTheRevisionOfTheDelete) {
  ASSERT_EQ(kubectl({"create", "configmap", "c", "--from-literal=a=b"}).exit_code, 0);
  std::string before =
      kubectl({"get", "configmap", "c", "-o", "jsonpath={.metadata.resourceVersion}"}).output;
  std::string log = dir_.path() + "/watch.log";
  auto watcher = runtime::spawn(runtime::SpawnOptions{
      {"kubectl", "--kubeconfig", servers_[1].kubeconfig, "--cache-dir", dir_.path() + "/kc-w",
       "get", "configmap", "c", "-w", "--output-watch-events", "-o", "json"},
      log});
  ASSERT_TRUE(watcher);
  ASSERT_TRUE(testing::eventually([&] { return contains(testing::readWholeFile(log), "ADDED"); },
                                  std::chrono::seconds(10)))
      << testing::readWholeFile(log);
  ASSERT_EQ(kubectl({"delete", "configmap", "c"}).exit_code, 0);
  // Nothing else writes: the list's revision right after is the delete's.
  auto listed = nlohmann::json::parse(
      kubectl({"get", "--raw", "/api/v1/namespaces/default/configmaps"}).output, nullptr, false);
  ASSERT_FALSE(listed.is_discarded());
  std::string after = listed["metadata"].value("resourceVersion", "");
  bool seen = testing::eventually(
      [&] { return contains(testing::readWholeFile(log), "DELETED"); }, std::chrono::seconds(10));
  runtime::terminate(*watcher, std::chrono::seconds(1));
  ASSERT_TRUE(seen) << testing::readWholeFile(log);
  std::string out = testing::readWholeFile(log);
  // One JSON event per line: {"type":"DELETED","object":{...}}.
  std::string line = out.substr(out.rfind('\n', out.find("\"DELETED\"")) + 1);
  line = line.substr(0, line.find('\n'));
  auto event = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << out;
  std::string rv = event.value("/object/metadata/resourceVersion"_json_pointer, std::string());
  EXPECT_EQ(rv, after) << out;
  EXPECT_NE(rv, before);
}

TEST_F(KubectlOpsTest, AnOversizedBodyIs413WithKubernetesMessage) {
  std::string big(4 * 1024 * 1024, 'x');
  std::string path = writeFile("big.txt", big);
  auto refused = kubectl({"create", "configmap", "big", "--from-file=" + path});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "Request entity too large: limit is 3145728"))
      << refused.output.substr(0, 2000);
  EXPECT_TRUE(contains(kubectl({"get", "configmap", "big"}).output, "not found"));
}

TEST_F(KubectlOpsTest, AuthWhoamiPrintsTheTokensUser) {
  auto whoami = kubectl({"auth", "whoami"});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.output;
  EXPECT_TRUE(contains(whoami.output, "Username")) << whoami.output;
  EXPECT_TRUE(contains(whoami.output, "admin")) << whoami.output;
  EXPECT_TRUE(contains(whoami.output, "system:masters")) << whoami.output;
  auto as_json = kubectl({"auth", "whoami", "-o", "json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.output;
  auto review = nlohmann::json::parse(as_json.output, nullptr, false);
  ASSERT_FALSE(review.is_discarded()) << as_json.output;
  EXPECT_EQ(review["status"]["userInfo"]["uid"], "admin-uid");
}

}  // namespace
}  // namespace rampart
