// `rampart db create` to the first committed write through the write Service (issue 18), for
// PostgreSQL and Redis in the same run, alternating: one `rampart up` cluster (1 master, 3
// workers in zones a, b, c; root), then per round `rampart db create <engine> <name> --members 3
// --wait`, and from the first worker's network namespace a write through the write Service
// (psql INSERT / redis-cli SET) repeated every 100 ms until one commits. Timed on the monotonic
// clock from just before the create; also when `--wait` returned (phase Running). The cluster is
// deleted (and its objects gone) before the next round.
//
//   db_create [--rounds 5]
//
// Prints Markdown for docs/BENCHMARKS.md.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/process.h"
#include "testing/test_files.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;

runtime::CommandResult rampartCli(std::vector<std::string> args, Duration timeout = 240s) {
  args.insert(args.begin(), RAMPART_BINARY);
  return runtime::runCommand(std::move(args), timeout);
}

double msSince(TimePoint start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The value after `label` on its line of `text`, "" if absent.
std::string lineValue(const std::string& text, const std::string& label) {
  size_t at = text.find(label);
  if (at == std::string::npos) {
    return "";
  }
  at += label.size();
  return text.substr(at, text.find('\n', at) - at);
}

struct Round {
  double running_ms = 0;  // `create --wait` returned
  double write_ms = 0;    // the first write through the write Service committed
};

class Bench {
 public:
  Bench() : name_("dbc" + std::to_string(::getpid() % 10000)), dir_(tmp_.path() + "/cluster") {}
  ~Bench() {
    if (made_) {
      rampartCli({"down", "--dir", dir_, "--purge"}, 90s);
    }
  }

  bool up() {
    made_ = true;
    auto r = rampartCli({"up", "--dir", dir_, "--name", name_, "--masters", "1", "--workers", "3",
                         "--zones", "a,b,c"});
    if (r.exit_code != 0) {
      std::fprintf(stderr, "rampart up failed:\n%s\n", r.output.c_str());
    }
    return r.exit_code == 0;
  }

  std::optional<Round> round(const std::string& engine, const std::string& name) {
    Round out;
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> args{"db",     "create",  engine,  name,          "--members",
                                  "3",      "--wait",  "--timeout", "180s", "--kubeconfig",
                                  kubeconfig()};
    if (engine == "postgres") {
      args.push_back("--show-password");
    }
    auto created = rampartCli(args);
    out.running_ms = msSince(start);
    if (created.exit_code != 0) {
      std::fprintf(stderr, "%s %s: create failed:\n%s\n", engine.c_str(), name.c_str(),
                   created.output.c_str());
      return std::nullopt;
    }
    std::string write = lineValue(created.output, "write: ");
    auto until = std::chrono::steady_clock::now() + 60s;
    bool wrote = false;
    while (!wrote && std::chrono::steady_clock::now() < until) {
      wrote = engine == "postgres" ? psql(write) : redisSet(write);
      if (!wrote) {
        std::this_thread::sleep_for(100ms);
      }
    }
    out.write_ms = msSince(start);
    if (!wrote) {
      std::fprintf(stderr, "%s %s: no write through %s within 60 s\n", engine.c_str(),
                   name.c_str(), write.c_str());
    }
    rampartCli({"db", "delete", name, "--kubeconfig", kubeconfig()}, 30s);
    auto gone_until = std::chrono::steady_clock::now() + 90s;
    while (std::chrono::steady_clock::now() < gone_until && !leftovers(name).empty()) {
      std::this_thread::sleep_for(250ms);
    }
    return wrote ? std::optional<Round>(out) : std::nullopt;
  }

 private:
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }

  std::vector<std::string> inWorker(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_ + "-w1"});
    return argv;
  }

  bool psql(const std::string& uri) const {
    auto r = runtime::runCommand(
        inWorker({"/usr/lib/postgresql/15/bin/psql", "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c",
                  "CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1)",
                  uri + "?connect_timeout=2"}),
        10s);
    return r.exit_code == 0;
  }

  // `write` is redis://host:port.
  bool redisSet(const std::string& write) const {
    std::string host_port = write.substr(std::string("redis://").size());
    size_t colon = host_port.rfind(':');
    auto r = runtime::runCommand(inWorker({"redis-cli", "-e", "-h", host_port.substr(0, colon),
                                           "-p", host_port.substr(colon + 1), "SET", "k", "v"}),
                                 10s);
    return r.exit_code == 0 && r.output == "OK";
  }

  std::string leftovers(const std::string& cluster) const {
    auto r = runtime::runCommand({"kubectl", "--kubeconfig", kubeconfig(), "get",
                                  "pods,services,secrets,configmaps", "-l",
                                  "rampart.io/cluster=" + cluster, "-o", "name"},
                                 30s);
    return r.exit_code == 0 ? r.output : "error";
  }

  testing::TempDir tmp_;
  std::string name_;
  std::string dir_;
  bool made_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: db_create [--rounds 5]\n");
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "db_create: rampart up needs root\n");
    return 2;
  }
  Bench bench;
  if (!bench.up()) {
    return 1;
  }
  std::map<std::string, std::vector<Round>> results;
  int failed = 0;
  for (int i = 0; i < rounds; ++i) {
    for (const char* engine : {"postgres", "redis"}) {
      std::string name = std::string(engine == std::string("postgres") ? "pg" : "rd") + "-" +
                         std::to_string(i);
      auto r = bench.round(engine, name);
      if (r) {
        results[engine].push_back(*r);
        std::fprintf(stderr, "%s round %d: Running after %.0f ms, first write after %.0f ms\n",
                     engine, i + 1, r->running_ms, r->write_ms);
      } else {
        ++failed;
      }
    }
  }
  std::printf("| engine | rounds | create → Running (median) | create → first committed write "
              "(median, min–max) |\n|---|---|---|---|\n");
  for (const auto& [engine, list] : results) {
    std::vector<double> running;
    std::vector<double> writes;
    for (const auto& r : list) {
      running.push_back(r.running_ms);
      writes.push_back(r.write_ms);
    }
    std::printf("| %s | %zu | %.1f s | %.1f s (%.1f–%.1f s) |\n", engine.c_str(), list.size(),
                median(running) / 1000, median(writes) / 1000,
                *std::min_element(writes.begin(), writes.end()) / 1000,
                *std::max_element(writes.begin(), writes.end()) / 1000);
  }
  if (failed) {
    std::printf("\n%d round(s) failed (see stderr)\n", failed);
  }
  return failed ? 1 : 0;
}
