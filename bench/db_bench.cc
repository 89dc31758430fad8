// Databases on a `rampart up` cluster (issue 18), PostgreSQL and Redis in the same run,
// alternating, on one cluster (1 master, 3 workers in zones a, b, c; root):
//   create     per round `rampart db create <engine> <name> --members 3 --wait`, then from the
//              first worker's network namespace a write through the write Service (psql INSERT /
//              redis-cli SET) repeated every 100 ms until one commits. Timed on the monotonic
//              clock from just before the create; also when `--wait` returned (phase Running).
//   node-loss  per round a fresh 3-member cluster; a writer in the master's network namespace
//              (Debian's python3 with psycopg2 / redis-py: one write every 10 ms through the
//              write Service, 1 s timeouts, reconnecting after a failure) and then the node of
//              the primary killed (`rampart chaos cluster --fault kill-worker`, healed after).
//              The write outage is the longest gap between acknowledged writes that spans the
//              kill.
// Each round's cluster is deleted (and its objects gone) before the next.
//
//   db_bench [--rounds 5] [--scenarios create,node-loss]
//
// Prints Markdown for docs/BENCHMARKS.md.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
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

// The writer the node-loss scenario runs in the master's network namespace: one write every
// 10 ms for `seconds`, each acknowledged one's CLOCK_MONOTONIC time (the bench's steady_clock)
// printed, space-separated, at the end.
constexpr const char* kWriter = R"py(import sys, time
engine, target, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
acks, conn, i = [], None, 0
end = time.monotonic() + seconds
def connect():
    if engine == "redis":
        import redis
        host, port = target.rsplit(":", 1)
        return redis.Redis(host=host, port=int(port), socket_timeout=1, socket_connect_timeout=1)
    import psycopg2
    c = psycopg2.connect(target, connect_timeout=1, options="-c statement_timeout=1000")
    c.autocommit = True
    return c
while time.monotonic() < end:
    i += 1
    try:
        if conn is None:
            conn = connect()
        if engine == "redis":
            conn.set("w", i)
        else:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO w VALUES (%s)", (i,))
        acks.append(time.monotonic())
    except Exception:
        try:
            conn.close()
        except Exception:
            pass
        conn = None
    time.sleep(0.01)
print(" ".join("%.4f" % t for t in acks))
)py";

struct Round {
  double running_ms = 0;  // `create --wait` returned
  double write_ms = 0;    // the first write through the write Service committed
};

class Bench {
 public:
  Bench() : name_("dbc" + std::to_string(::getpid() % 10000)), dir_(tmp_.path() + "/cluster") {
    std::ofstream(tmp_.path() + "/writer.py") << kWriter;
  }
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

  // create: `rampart db create --wait`, then the first committed write.
  std::optional<Round> createRound(const std::string& engine, const std::string& name) {
    Round out;
    auto start = std::chrono::steady_clock::now();
    std::string write = create(engine, name);
    out.running_ms = msSince(start);
    bool wrote = !write.empty() && firstWrite(engine, write);
    out.write_ms = msSince(start);
    remove(name);
    return wrote ? std::optional<Round>(out) : std::nullopt;
  }

  // node-loss: the write outage (ms) when the primary's node is killed.
  std::optional<double> nodeLossRound(const std::string& engine, const std::string& name) {
    std::string write = create(engine, name);
    if (write.empty() || !firstWrite(engine, write)) {
      remove(name);
      return std::nullopt;
    }
    std::string kind = engine == "postgres" ? "pgc/" : "rdc/";
    std::string primary = kubectlGet(kind + name, "{.status.primary}");
    std::string node = kubectlGet("pod/" + primary, "{.spec.nodeName}");
    std::string target = engine == "postgres" ? write : write.substr(std::string("redis://").size());
    runtime::CommandResult writer;
    std::thread writing([&] {
      writer = runtime::runCommand({"ip", "netns", "exec", name_ + "-m1", "/usr/bin/python3",
                                    tmp_.path() + "/writer.py", engine, target, "12"},
                                   60s);
    });
    std::this_thread::sleep_for(3s);
    double fault_at = nowSeconds();
    auto fault = rampartCli({"chaos", "cluster", "--dir", dir_, "--fault", "kill-worker",
                             "--target", node, "--duration", "5s", "--json"},
                            180s);
    writing.join();
    remove(name);
    std::vector<double> acks;
    std::istringstream in(writer.output);
    for (double t = 0; in >> t;) {
      acks.push_back(t);
    }
    // The longest gap between acknowledged writes that spans the kill.
    double outage = -1;
    for (size_t i = 1; i < acks.size(); ++i) {
      if (acks[i] > fault_at && acks[i - 1] < fault_at + 5) {
        outage = std::max(outage, acks[i] - std::max(acks[i - 1], fault_at));
      }
    }
    bool after = !acks.empty() && acks.back() > fault_at;
    std::fprintf(stderr, "%s %s: primary %s on %s killed; %zu writes acknowledged; chaos exit %d\n",
                 engine.c_str(), name.c_str(), primary.c_str(), node.c_str(), acks.size(),
                 fault.exit_code);
    if (!after || outage < 0) {
      std::fprintf(stderr, "no write acknowledged after the kill\n%s\n",
                   writer.output.substr(0, 2000).c_str());
      return std::nullopt;
    }
    return outage * 1000;
  }

 private:
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }

  static double nowSeconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // `rampart db create --wait`; the write Service's connection string, "" on failure.
  std::string create(const std::string& engine, const std::string& name) {
    std::vector<std::string> args{"db",     "create",  engine,      name,   "--members",
                                  "3",      "--wait",  "--timeout", "180s", "--kubeconfig",
                                  kubeconfig()};
    if (engine == "postgres") {
      args.push_back("--show-password");
    }
    auto created = rampartCli(args);
    if (created.exit_code != 0) {
      std::fprintf(stderr, "%s %s: create failed:\n%s\n", engine.c_str(), name.c_str(),
                   created.output.c_str());
      return "";
    }
    return lineValue(created.output, "write: ");
  }

  // Retries a write through the write Service every 100 ms for up to 60 s.
  bool firstWrite(const std::string& engine, const std::string& write) {
    auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      if (engine == "postgres" ? psql(write) : redisSet(write)) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    std::fprintf(stderr, "no write through %s within 60 s\n", write.c_str());
    return false;
  }

  void remove(const std::string& name) {
    rampartCli({"db", "delete", name, "--kubeconfig", kubeconfig()}, 30s);
    auto gone_until = std::chrono::steady_clock::now() + 90s;
    while (std::chrono::steady_clock::now() < gone_until && !leftovers(name).empty()) {
      std::this_thread::sleep_for(250ms);
    }
  }

  std::vector<std::string> inWorker(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_ + "-w1"});
    return argv;
  }

  bool psql(const std::string& uri) const {
    auto r = runtime::runCommand(
        inWorker({"/usr/lib/postgresql/15/bin/psql", "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c",
                  "CREATE TABLE IF NOT EXISTS w (i int); INSERT INTO w VALUES (0)",
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

  std::string kubectlGet(const std::string& what, const std::string& jsonpath) const {
    auto r = runtime::runCommand(
        {"kubectl", "--kubeconfig", kubeconfig(), "get", what, "-o", "jsonpath=" + jsonpath}, 30s);
    return r.exit_code == 0 ? r.output : "";
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
  std::string scenarios = "create,node-loss";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--scenarios" && i + 1 < argc) {
      scenarios = argv[++i];
    } else {
      std::fprintf(stderr, "usage: db_bench [--rounds 5] [--scenarios create,node-loss]\n");
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "db_bench: rampart up needs root\n");
    return 2;
  }
  Bench bench;
  if (!bench.up()) {
    return 1;
  }
  int failed = 0;
  const std::vector<std::string> engines = {"postgres", "redis"};
  auto label = [](const std::string& engine, const char* what, int i) {
    return std::string(engine == "postgres" ? "pg" : "rd") + what + std::to_string(i);
  };
  if (scenarios.find("create") != std::string::npos) {
    std::map<std::string, std::vector<Round>> results;
    for (int i = 0; i < rounds; ++i) {
      for (const auto& engine : engines) {
        auto r = bench.createRound(engine, label(engine, "-c", i));
        if (r) {
          results[engine].push_back(*r);
          std::fprintf(stderr, "%s round %d: Running after %.0f ms, first write after %.0f ms\n",
                       engine.c_str(), i + 1, r->running_ms, r->write_ms);
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
  }
  if (scenarios.find("node-loss") != std::string::npos) {
    std::map<std::string, std::vector<double>> outages;
    for (int i = 0; i < rounds; ++i) {
      for (const auto& engine : engines) {
        auto r = bench.nodeLossRound(engine, label(engine, "-n", i));
        if (r) {
          outages[engine].push_back(*r);
          std::fprintf(stderr, "%s round %d: write outage %.0f ms\n", engine.c_str(), i + 1, *r);
        } else {
          ++failed;
        }
      }
    }
    std::printf("\n| engine | rounds | write outage, primary's node killed (median, min–max) "
                "|\n|---|---|---|\n");
    for (const auto& [engine, list] : outages) {
      std::printf("| %s | %zu | %.0f ms (%.0f–%.0f ms) |\n", engine.c_str(), list.size(),
                  median(list), *std::min_element(list.begin(), list.end()),
                  *std::max_element(list.begin(), list.end()));
    }
  }
  if (failed) {
    std::printf("\n%d round(s) failed (see stderr)\n", failed);
  }
  return failed ? 1 : 0;
}
