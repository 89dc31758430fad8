// `rampart controller` handover time on a live lab: etcd x3, one `rampart server`, two
// controllers (default timing: lease 800 ms, renew deadline 600 ms, retry 100 ms).
//
//   controller_handover [--rounds N] [--dir D]
//
// Each round SIGKILLs the acting controller, measures from the signal to the other one's
// {"event":"acting"} line (it has taken the Lease over and relisted its informers, so it is
// ready to write), then starts a fresh standby. Times are CLOCK_MONOTONIC, comparable across
// processes. Prints the median, p90 and max as Markdown for docs/BENCHMARKS.md.

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "lab/etcd_cluster.h"
#include "runtime/process.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The JSON event lines of a log with this "event".
std::vector<json> events(const std::string& log, const std::string& event) {
  std::vector<json> out;
  std::istringstream lines(readFile(log));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("{\"event\":\"" + event + "\"", 0) == 0) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) {
        out.push_back(j);
      }
    }
  }
  return out;
}

template <typename Pred>
bool waitFor(Pred pred, Duration limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

struct Controller {
  pid_t pid = 0;
  std::string log;
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 10;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: controller_handover [--rounds N] [--dir D]\n");
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/rampart-handover-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  lab::EtcdClusterOptions options;
  options.members = 3;
  options.dir = dir + "/etcd";
  auto etcd = lab::EtcdCluster::start(options);
  if (!etcd) {
    std::fprintf(stderr, "etcd: %s\n", etcd.error().message.c_str());
    return 1;
  }
  std::ofstream(dir + "/tokens.csv") << "bench-token,admin,admin-uid,\"system:masters\"\n";
  std::string kubeconfig = dir + "/kubeconfig";
  std::string server_log = dir + "/server.log";
  auto server = runtime::spawn(runtime::SpawnOptions{
      {RAMPART_BINARY, "server", "--etcd-servers", (*etcd)->endpointList(), "--bind-address",
       "127.0.0.1", "--secure-port", "0", "--token-auth-file", dir + "/tokens.csv", "--cert-dir",
       dir + "/pki", "--write-kubeconfig", kubeconfig},
      server_log});
  if (!server || !waitFor([&] { return !events(server_log, "serving").empty(); }, 15s)) {
    std::fprintf(stderr, "rampart server did not start: %s\n", readFile(server_log).c_str());
    return 1;
  }
  int next_id = 0;
  auto start = [&]() {
    Controller c;
    c.log = dir + "/controller-" + std::to_string(next_id++) + ".log";
    auto pid = runtime::spawn(
        runtime::SpawnOptions{{RAMPART_BINARY, "controller", "--kubeconfig", kubeconfig}, c.log});
    c.pid = pid ? *pid : 0;
    return c;
  };
  std::vector<Controller> controllers = {start(), start()};
  std::vector<double> ms;
  for (int round = 0; round < rounds; ++round) {
    // The acting one: the controller whose log has more "acting" than "standby" lines.
    Controller* leader = nullptr;
    waitFor(
        [&] {
          for (auto& c : controllers) {
            if (events(c.log, "acting").size() > events(c.log, "standby").size()) {
              leader = &c;
              return true;
            }
          }
          return false;
        },
        10s);
    if (!leader) {
      std::fprintf(stderr, "round %d: no controller acts\n", round);
      break;
    }
    std::this_thread::sleep_for(300ms);  // a settled leader, renewing
    Controller* other = leader == &controllers[0] ? &controllers[1] : &controllers[0];
    size_t before = events(other->log, "acting").size();
    int64_t killed = monotonicNanos();
    ::kill(leader->pid, SIGKILL);
    runtime::waitExit(leader->pid, 2s);
    bool acted = waitFor([&] { return events(other->log, "acting").size() > before; }, 10s);
    if (!acted) {
      std::fprintf(stderr, "round %d: no handover within 10 s\n", round);
      break;
    }
    int64_t acting = events(other->log, "acting").back()["monotonic_ns"].get<int64_t>();
    ms.push_back(static_cast<double>(acting - killed) / 1e6);
    std::fprintf(stderr, "round %d: %.0f ms\n", round, ms.back());
    *leader = start();  // a fresh standby
    waitFor([&] { return !events(leader->log, "started").empty(); }, 10s);
  }
  for (auto& c : controllers) {
    runtime::terminate(c.pid, 2s);
  }
  runtime::terminate(*server, 2s);
  etcd->reset();
  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (ms.empty()) {
    return 1;
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p / 100.0 * ms.size()))];
  };
  std::printf("| controller handover (SIGKILL → new leader acting) | rounds | median | p90 | max |\n");
  std::printf("| --- | --- | --- | --- | --- |\n");
  std::printf("| lease 800 ms, renew deadline 600 ms, retry 100 ms | %zu | %.0f ms | %.0f ms | "
              "%.0f ms |\n",
              ms.size(), pct(50), pct(90), ms.back());
  return 0;
}
