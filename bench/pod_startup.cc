// Pod startup with real processes, and what the agent costs with a full node (issue 14): a lab of
// etcd ×3, one `rampart server`, one `rampart controller` and one real `rampart agent` (root).
// N pods are created at once (each a small HTTP server, tests' test_backend, with an httpGet
// readiness probe every 100 ms); the time from each pod's create call to the first poll that sees
// it Ready (every 10 ms, CLOCK_MONOTONIC) gives p50/p99. Then, with the pods running, the
// agent's CPU over 10 s and its RSS (and the shims' total RSS) are read from /proc.
//
//   pod_startup [--pods 110]
//
// Prints Markdown for docs/BENCHMARKS.md.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "agent_lab.h"
#include "net/endpoint.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;
using bench::readFile;
using bench::waitFor;

// utime + stime of a process, in clock ticks.
int64_t cpuTicks(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  int64_t utime = 0;
  int64_t stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) {
      utime = std::atoll(field.c_str());
    } else if (i == 15) {
      stime = std::atoll(field.c_str());
    }
  }
  return utime + stime;
}

int64_t rssKiB(pid_t pid) {
  std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::atoll(status.c_str() + at + 6);
}

// Proportional set size: shared pages (the rampart binary's and libraries' code, which every
// shim maps) divided among the processes sharing them — what a process really costs.
int64_t pssKiB(pid_t pid) {
  std::string rollup = readFile("/proc/" + std::to_string(pid) + "/smaps_rollup");
  auto at = rollup.find("\nPss:");
  return at == std::string::npos ? 0 : std::atoll(rollup.c_str() + at + 5);
}

// The agent's shims: processes whose command line is "<rampart> agent-shim ...".
std::vector<pid_t> shims() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) {
      continue;
    }
    pid_t pid = std::atoi(name.c_str());
    if (runtime::commandLine(pid).find(" agent-shim ") != std::string::npos) {
      out.push_back(pid);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int pods = 110;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--pods" && i + 1 < argc) {
      pods = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: pod_startup [--pods N]\n");
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "pod_startup runs a real agent: run it as root\n");
    return 2;
  }
  bench::AgentLab lab("pod-startup", 1, {});
  if (!lab.error().empty()) {
    std::fprintf(stderr, "%s\n", lab.error().c_str());
    return 1;
  }
  auto& api = lab.api();
  std::map<std::string, int64_t> created;  // pod → monotonic ns of its create call
  for (int i = 0; i < pods; ++i) {
    auto port = net::pickFreePort("127.0.0.1");
    if (!port) {
      std::fprintf(stderr, "no free port\n");
      return 1;
    }
    std::string name = "web-" + std::to_string(i);
    std::string listen = "127.0.0.1:" + std::to_string(*port);
    json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata",
         {{"name", name},
          {"namespace", "default"},
          {"labels", {{"app", "startup"}}},
          {"annotations", {{"rampart.io/probe-period-ms", "100"}}}}},
        {"spec",
         {{"terminationGracePeriodSeconds", 1},
          {"containers",
           json::array({{{"name", "http"},
                         {"image", "test-backend"},
                         {"command", json::array({TEST_BACKEND, "--listen", listen, "--name", name,
                                                  "--mode", "http"})},
                         {"readinessProbe",
                          {{"httpGet", {{"path", "/"}, {"port", *port}, {"host", "127.0.0.1"}}}}}}})}}}};
    int64_t at = monotonicNanos();
    if (api.call("POST", "/api/v1/namespaces/default/pods", pod.dump()).is_null()) {
      std::fprintf(stderr, "cannot create pod %s\n", name.c_str());
      return 1;
    }
    created[name] = at;
  }
  std::map<std::string, double> ready_ms;
  waitFor(
      [&] {
        int64_t now = monotonicNanos();
        json list = api.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dstartup");
        for (const auto& pod : list.value("items", json::array())) {
          std::string name = pod["metadata"].value("name", "");
          if (bench::podReady(pod) && ready_ms.count(name) == 0 && created.count(name) > 0) {
            ready_ms[name] = static_cast<double>(now - created[name]) / 1e6;
          }
        }
        return static_cast<int>(ready_ms.size()) == pods;
      },
      180s);
  if (static_cast<int>(ready_ms.size()) != pods) {
    std::fprintf(stderr, "only %zu of %d pods became Ready\n", ready_ms.size(), pods);
    return 1;
  }
  std::vector<double> ms;
  for (auto& [name, v] : ready_ms) {
    ms.push_back(v);
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p / 100.0 * ms.size()))];
  };
  // Steady state with every pod running and probed every 100 ms.
  pid_t agent = lab.agents().front().pid;
  std::this_thread::sleep_for(2s);
  int64_t ticks_before = cpuTicks(agent);
  auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(10s);
  int64_t ticks = cpuTicks(agent) - ticks_before;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  double cpu_percent = 100.0 * static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK)) / seconds;
  int64_t shim_rss = 0;
  int64_t shim_pss = 0;
  auto shim_pids = shims();
  for (pid_t pid : shim_pids) {
    shim_rss += rssKiB(pid);
    shim_pss += pssKiB(pid);
  }
  std::printf("| pods created at once | created → Ready p50 | p99 | max |\n| --- | --- | --- | --- |\n");
  std::printf("| %d | %.0f ms | %.0f ms | %.0f ms |\n\n", pods, pct(50), pct(99), ms.back());
  std::printf("| with %d pods running (readiness every 100 ms) | value |\n| --- | --- |\n", pods);
  std::printf("| agent CPU (10 s average) | %.1f %% of one core |\n", cpu_percent);
  std::printf("| agent RSS (PSS) | %.1f MiB (%.1f MiB) |\n", static_cast<double>(rssKiB(agent)) / 1024.0,
              static_cast<double>(pssKiB(agent)) / 1024.0);
  std::printf("| shims: count, total RSS (total PSS) | %zu, %.1f MiB (%.1f MiB) |\n",
              shim_pids.size(), static_cast<double>(shim_rss) / 1024.0,
              static_cast<double>(shim_pss) / 1024.0);
  return 0;
}
