// Services on every node (issue 14): a `rampart up` cluster (1 master, 2 workers) whose agents
// serve every Service's ClusterIP through their embedded balancer. Pods are test_backend HTTP
// servers answering with their pod name; a client inside a worker's namespace (a thread moved
// there) and pods themselves (kubectl exec) reach the Service. Each test makes its own cluster
// with a unique name and removes it (`rampart down --purge`) also when it fails. Root only.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster/lab_network.h"
#include "cluster/layout.h"
#include "cluster/state.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"
#include "cluster_fixture.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::eventually;

using testing::rampartCli;

struct Sample {
  TimePoint start;
  bool ok = false;
  std::string body;  // the pod that answered, or the error
};

// One HTTP GET on a new connection ("Connection: close"), bounded by `timeout` overall.
Sample httpGet(const std::string& ip, uint16_t port, Duration timeout) {
  Sample s;
  s.start = std::chrono::steady_clock::now();
  auto deadline = s.start + timeout;
  auto left_ms = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    return static_cast<int>(std::max<int64_t>(ms, 0));
  };
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  auto failed = [&](const std::string& why) {
    ::close(fd);
    s.body = why;
    return s;
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    return failed(std::string("connect: ") + std::strerror(errno));
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, left_ms()) != 1) {
    return failed("connect timed out");
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return failed(std::string("connect: ") + std::strerror(err));
  }
  std::string request = "GET / HTTP/1.1\r\nHost: " + ip + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return failed("send failed");
  }
  std::string response;
  while (true) {
    pollfd r{fd, POLLIN, 0};
    if (::poll(&r, 1, left_ms()) != 1) {
      return failed("read timed out after " + std::to_string(response.size()) + " bytes");
    }
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      return failed(std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) {
    s.body = "bad answer: \"" + response.substr(0, 40) + "\"";
    return s;
  }
  s.ok = true;
  s.body = response.substr(body + 4);
  return s;
}

// A client in a node's namespace (its own thread, moved there with setns) asking
// http://ip:port/ every `period`, each time on a new connection; records every answer.
class ServiceClient {
 public:
  ServiceClient(std::string netns, std::string ip, uint16_t port)
      : netns_(std::move(netns)), ip_(std::move(ip)), port_(port) {}
  ~ServiceClient() { stop(); }

  bool start() {
    thread_ = std::thread([this] {
      int fd = ::open(cluster::netnsPath(netns_).c_str(), O_RDONLY | O_CLOEXEC);
      bool in = fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
      if (fd >= 0) {
        ::close(fd);
      }
      entered_ = in ? 1 : -1;
      while (in && !stopping_) {
        auto sample = httpGet(ip_, port_, 3s);
        {
          std::lock_guard lock(mutex_);
          samples_.push_back(sample);
        }
        std::this_thread::sleep_for(20ms);
      }
    });
    eventually([&] { return entered_ != 0; }, 5s);
    return entered_ == 1;
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
  }

 private:
  std::string netns_;
  std::string ip_;
  uint16_t port_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> entered_{0};
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
};

// One GET from inside a node's namespace, on a short-lived thread.
Sample getFrom(const std::string& netns, const std::string& ip, uint16_t port) {
  Sample out;
  std::thread t([&] {
    int fd = ::open(cluster::netnsPath(netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      out.body = "cannot enter " + netns;
    } else {
      out = httpGet(ip, port, 3s);
    }
    if (fd >= 0) {
      ::close(fd);
    }
  });
  t.join();
  return out;
}

class ClusterServiceTest : public testing::ClusterTest {
 protected:
  ClusterServiceTest() : ClusterTest("cs") {}

  void up() { ClusterTest::up(1, 2); }

  // A Deployment of two test_backend HTTP servers (each answers with its pod name), ready once
  // they answer, and a Service of `type` in front of them: port 80 -> targetPort 8080 (and
  // `node_port`, when not 0: Rampart's API server keeps a given nodePort but allocates none).
  void deployWeb(const std::string& type, int node_port = 0) {
    std::string manifest = tmp_.path() + "/web.yaml";
    std::ofstream(manifest) << R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: test-backend
        command: ["sh", "-c", "exec )" TEST_BACKEND R"( --listen 0.0.0.0:8080 --name $HOSTNAME --mode http"]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: )" << type << R"(
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080)"
                        << (node_port ? ", nodePort: " + std::to_string(node_port) : "") << R"(}]
)";
    auto created = kubectl({"create", "-f", manifest});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    auto ip = kubectl({"get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"});
    ASSERT_EQ(ip.exit_code, 0) << ip.output;
    cluster_ip_ = ip.output;
    ASSERT_TRUE(eventually([&] { return readyPods().size() == 2; }, 60s, 200ms))
        << kubectl({"get", "pods", "-o", "wide"}).output;
  }

  // The ready addresses of the Service's Endpoints: pod IP -> pod name.
  std::map<std::string, std::string> readyPods() {
    std::map<std::string, std::string> out;
    auto r = kubectl({"get", "endpoints", "web", "-o", "json"});
    auto eps = json::parse(r.output, nullptr, false);
    if (r.exit_code != 0 || !eps.is_object()) {
      return out;
    }
    for (const auto& subset : eps.value("subsets", json::array())) {
      for (const auto& a : subset.value("addresses", json::array())) {
        out[a.value("ip", "")] = a.value("/targetRef/name"_json_pointer, std::string());
      }
    }
    return out;
  }

  std::string loopbackOf(const std::string& node) {
    return runtime::runCommand({"ip", "netns", "exec", node, "ip", "-o", "addr", "show", "dev",
                                "lo"},
                               10s)
        .output;
  }

  std::string cluster_ip_;
};

TEST_F(ClusterServiceTest, AClusterIpAnswersFromNodesAndPodsSpreadsOverPodsSurvivesAPodsDeathAndLeavesWithTheService) {
  up();
  deployWeb("ClusterIP");
  const std::string w1 = name_ + "-w1";
  const std::string w2 = name_ + "-w2";
  auto pods = readyPods();
  std::set<std::string> pod_names;
  for (const auto& [ip, pod] : pods) {
    pod_names.insert(pod);
  }

  // (1) From a worker's namespace: the ClusterIP is on every node's loopback and answers.
  for (const auto& node : {w1, w2, name_ + "-m1"}) {
    EXPECT_TRUE(eventually([&] { return loopbackOf(node).find(cluster_ip_ + "/32") !=
                                        std::string::npos; },
                           10s, 100ms))
        << node << ": " << loopbackOf(node);
  }
  Sample first;
  ASSERT_TRUE(eventually([&] { return (first = getFrom(w1, cluster_ip_, 80)).ok; }, 10s, 100ms))
      << first.body;
  EXPECT_TRUE(pod_names.count(first.body)) << first.body;
  auto from_ns = runtime::runCommand(
      {"ip", "netns", "exec", w2, "curl", "-s", "-m", "5", "http://" + cluster_ip_ + "/"}, 15s);
  EXPECT_EQ(from_ns.exit_code, 0) << from_ns.output;
  EXPECT_TRUE(pod_names.count(from_ns.output)) << from_ns.output;

  // ... and from inside a pod (its own network namespace, through its node).
  std::string some_pod = *pod_names.begin();
  auto from_pod = kubectl(
      {"exec", some_pod, "--", "curl", "-s", "-m", "5", "http://" + cluster_ip_ + "/"}, 20s);
  EXPECT_EQ(from_pod.exit_code, 0) << from_pod.output;
  EXPECT_TRUE(pod_names.count(from_pod.output)) << from_pod.output;

  // (2) Requests are spread over both pods (round-robin per node): 20 in a row, each pod
  // answering at least 5. (The node may need a moment: its route to the other worker's pods
  // comes with the Nodes, checked every second.)
  std::map<std::string, int> answered;
  auto spread = [&] {
    answered.clear();
    for (int i = 0; i < 20; ++i) {
      auto s = getFrom(w1, cluster_ip_, 80);
      if (!s.ok) {
        return false;
      }
      ++answered[s.body];
    }
    return answered.size() == 2 && std::all_of(answered.begin(), answered.end(),
                                                [](auto& a) { return a.second >= 5; });
  };
  ASSERT_TRUE(eventually(spread, 10s, 200ms))
      << answered.size() << " pods answered: " << answered.begin()->first << " "
      << answered.begin()->second;

  // (3) A pod is deleted while a client asks every 20 ms: the Service keeps answering; once
  // the Endpoints dropped it no request fails, and its replacement joins once Ready.
  ServiceClient client(w1, cluster_ip_, 80);
  ASSERT_TRUE(client.start());
  std::this_thread::sleep_for(1s);
  std::string victim = answered.begin()->first;
  auto deleted = kubectl({"delete", "pod", victim, "--wait=false"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  auto victim_gone = [&] {
    auto now = readyPods();
    return std::none_of(now.begin(), now.end(), [&](auto& p) { return p.second == victim; });
  };
  ASSERT_TRUE(eventually(victim_gone, 30s, 50ms));
  TimePoint endpoints_updated = std::chrono::steady_clock::now();
  std::string replacement;
  ASSERT_TRUE(eventually(
      [&] {
        auto now = readyPods();
        for (const auto& [ip, pod] : now) {
          if (!pod_names.count(pod)) {
            replacement = pod;
          }
        }
        return now.size() == 2 && !replacement.empty();
      },
      60s, 200ms))
      << kubectl({"get", "pods", "-o", "wide"}).output;
  TimePoint replacement_ready = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  client.stop();
  auto samples = client.samples();
  size_t failed = 0;
  size_t failed_after_update = 0;
  size_t from_replacement = 0;
  std::string first_error;
  // The nodes apply the new Endpoints within a watch event and the 50 ms debounce; a margin
  // of 500 ms covers a loaded machine.
  for (const auto& s : samples) {
    if (!s.ok) {
      ++failed;
      if (first_error.empty()) {
        first_error = s.body;
      }
      failed_after_update += s.start > endpoints_updated + 500ms;
    } else {
      from_replacement += s.body == replacement && s.start > replacement_ready;
      EXPECT_FALSE(s.ok && s.body == victim && s.start > endpoints_updated + 500ms)
          << "the deleted pod answered after the Endpoints dropped it";
    }
  }
  std::printf("pod %s deleted: %zu requests, %zu failed (%s), %zu failed after the Endpoints "
              "update, replacement %s answered %zu\n",
              victim.c_str(), samples.size(), failed, first_error.c_str(), failed_after_update,
              replacement.c_str(), from_replacement);
  EXPECT_GT(samples.size(), 50u);
  EXPECT_EQ(failed_after_update, 0u) << first_error;
  EXPECT_GT(from_replacement, 0u) << "the replacement joined the Service once Ready";

  // (4) Deleting the Service takes its ClusterIP off every node's loopback.
  auto gone = kubectl({"delete", "service", "web"});
  ASSERT_EQ(gone.exit_code, 0) << gone.output;
  for (const auto& node : {w1, w2, name_ + "-m1"}) {
    EXPECT_TRUE(eventually([&] { return loopbackOf(node).find(cluster_ip_ + "/") ==
                                        std::string::npos; },
                           10s, 100ms))
        << node << ": " << loopbackOf(node);
  }
  auto after = getFrom(w1, cluster_ip_, 80);
  EXPECT_FALSE(after.ok) << "answered by " << after.body;
}

TEST_F(ClusterServiceTest, AnAgentKilledWhileItsServiceIsDeletedTakesTheAddressOffWhenItReturns) {
  up();
  deployWeb("ClusterIP");
  const std::string w1 = name_ + "-w1";
  const std::string w2 = name_ + "-w2";
  for (const auto& node : {w1, w2}) {
    ASSERT_TRUE(eventually([&] { return loopbackOf(node).find(cluster_ip_ + "/32") !=
                                        std::string::npos; },
                           10s, 100ms))
        << node << ": " << loopbackOf(node);
  }
  auto state = cluster::loadState(dir_);
  ASSERT_TRUE(state) << state.error().message;
  pid_t agent = 0;
  for (const auto& n : state->nodes) {
    if (n.spec.name == w1 && n.pids.count("agent")) {
      agent = n.pids.at("agent");
    }
  }
  ASSERT_GT(agent, 0);
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return ::kill(agent, 0) != 0; }, 10s));
  EXPECT_NE(loopbackOf(w1).find(cluster_ip_ + "/32"), std::string::npos)
      << "a killed agent releases nothing";
  auto gone = kubectl({"delete", "service", "web"});
  ASSERT_EQ(gone.exit_code, 0) << gone.output;
  EXPECT_TRUE(eventually([&] { return loopbackOf(w2).find(cluster_ip_ + "/") ==
                                      std::string::npos; },
                         10s, 100ms))
      << "the live agent took it off at once";
  // `rampart up` on the directory starts the agent again: it takes off what it had put up.
  auto again = rampartCli({"up", "--dir", dir_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(eventually([&] { return loopbackOf(w1).find(cluster_ip_ + "/") ==
                                      std::string::npos; },
                         20s, 100ms))
      << loopbackOf(w1);
}

TEST_F(ClusterServiceTest, ANodePortAnswersOnEveryNodesAddress) {
  up();
  // In the NodePort range, different per run (clusters of parallel runs have their own nodes'
  // addresses anyway).
  deployWeb("NodePort", 30000 + ::getpid() % 2700);
  auto port = kubectl({"get", "service", "web", "-o", "jsonpath={.spec.ports[0].nodePort}"});
  ASSERT_EQ(port.exit_code, 0) << port.output;
  int node_port = std::atoi(port.output.c_str());
  ASSERT_EQ(node_port, 30000 + ::getpid() % 2700) << port.output;
  auto pods = readyPods();
  std::set<std::string> pod_names;
  for (const auto& [ip, pod] : pods) {
    pod_names.insert(pod);
  }
  auto state = cluster::loadState(dir_);
  ASSERT_TRUE(state) << state.error().message;
  // From the first worker to every node's InternalIP (the second worker's too: across the lab
  // network), and the ClusterIP still answers as well.
  for (const auto& node : state->nodes) {
    std::string address = cluster::nodeAddress(node.spec.ordinal);
    Sample s;
    EXPECT_TRUE(eventually(
        [&] { return (s = getFrom(name_ + "-w1", address, static_cast<uint16_t>(node_port))).ok; },
        10s, 100ms))
        << node.spec.name << " " << address << ":" << node_port << ": " << s.body;
    EXPECT_TRUE(pod_names.count(s.body)) << s.body;
  }
  auto cluster_ip = getFrom(name_ + "-w2", cluster_ip_, 80);
  EXPECT_TRUE(cluster_ip.ok) << cluster_ip.body;
}

}  // namespace
}  // namespace rampart
