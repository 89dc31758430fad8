// A master's death through the API VIP (issue 15): one `rampart up` cluster (3 masters, 1
// worker), a client inside the worker asking the API every 10 ms on a new connection, and
// faults injected into one master per round:
//   kill       SIGKILL every process in the master's namespace and its pods; healed after the
//              window by `rampart up --dir D` (the master "returns")
//   freeze     SIGSTOP the same processes, 3 s, SIGCONT
//   partition  `ip -n <N>-lab link set v<ordinal> down`, 3 s, up
// Each round measures, in [fault - 0.5 s, heal + 2 s] (heal = fault + 3 s for every fault), the
// failed requests and the longest gap between two successful ones, and the controller handover
// (fault until a different holder has the Lease kube-system/rampart-controller, polled every
// 20 ms from the host through the kubectl gateway); then it waits until the cluster is healthy
// (the same check as `rampart status`) and the round's front is ready before the next round.
//
// The client can point at other fronts, in the SAME run, rounds alternating, everything else
// identical (the references):
//   rampart     the node's API VIP 10.103.97.2:6443 (`rampart lb`, checks every 200 ms, a
//               refused connect retried on the next server, passive ejection)
//   lvscare     lvscare's defaults (`--health-schem https --health-path /healthz --interval 5s
//               --health-timeout 10s`, no connect retry, no passive ejection) played by Debian's
//               HAProxy in the worker's namespace on 10.103.97.3:6443: `rampart lb` always
//               retries a refused connect on the next backend (src/lb/worker.cc), so it cannot
//               play lvscare; HAProxy can (`retries 0`, no `option redispatch`, `check inter 5s
//               fall 1 rise 1`, mode tcp, `check-ssl verify none`).
//   keepalived Debian's keepalived in each master's namespace (VRRP, advert_int 1, VIP
//               10.240.0.100 on the MASTER's eth0, priorities 150/100/50, nopreempt, a
//               track_script asking the local API server's /readyz every second); the client
//               connects to 10.240.0.100:6443 directly. `rampart server` binds the node's own
//               address only, so each master's namespace gets an nftables DNAT
//               10.240.0.100:6443 -> <node address>:6443 (what an API server bound to 0.0.0.0
//               would accept). The master faulted in a keepalived round is the VIP's holder
//               (the only one whose loss the client can see).
// The client (cluster::ApiProbe) verifies the servers' certificates with the name 10.103.97.2
// (in every master's certificate) whatever address it connects to.
//
// Also measured: `rampart up` (3 masters + 3 workers) until every node is Ready, and the memory
// of the whole cluster (RSS and PSS from /proc/<pid>/smaps_rollup of every process in every
// namespace of the cluster plus its pods).
//
//   cluster_failover [--rounds 10] [--faults kill,freeze,partition]
//                    [--reference lvscare,keepalived] [--up-runs 5] [--request-timeout-ms 2000]
//                    [--vip-on-down keep|close|close_stalled] [--trace]
//
// --trace: after a round with a failed request or a gap above 1 s, prints why: every failed or
// slow (> 200 ms) request with its start relative to the fault, and the lines the worker's VIP
// balancer and every master's API server logged in the round's window.
//
// The client gives up on a request after --request-timeout-ms (ApiProbe's 2 s by default). A
// request that reached a frozen or cut-off master before any front noticed waits that long
// behind the references; Rampart's VIPs cut it (on_down: close_stalled) once the master is Down
// and has been silent on it for 500 ms.
//
// Root only. Leaves nothing behind: the clusters are removed with `rampart down --purge`.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/runtime/node_cleanup.h"
#include "cluster/api_probe.h"
#include "cluster/credentials.h"
#include "cluster/http_call.h"
#include "cluster/lab_network.h"
#include "cluster/layout.h"
#include "cluster/state.h"
#include "cluster/status.h"
#include "runtime/process.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr const char* kLvscareFront = "10.103.97.3";
constexpr const char* kKeepalivedVip = "10.240.0.100";
constexpr Duration kHold = 3s;       // freeze / partition length; kill: the window's heal
constexpr Duration kBefore = 500ms;  // the window starts this long before the fault
constexpr Duration kAfterHeal = 2s;  // and ends this long after the heal
constexpr Duration kLeasePoll = 20ms;

std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop = true; }

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) {
      out.push_back(part);
    }
  }
  return out;
}

// CSV fields, empty ones kept (HAProxy's `show stat`).
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string part;
  while (std::getline(in, part, ',')) {
    out.push_back(part);
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

struct Stats {
  std::vector<double> values;
  void add(double v) { values.push_back(v); }
  double pct(double p) const {
    if (values.empty()) {
      return 0;
    }
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p / 100.0 * sorted.size()));
    return sorted[i];
  }
  double median() const {
    if (values.empty()) {
      return 0;
    }
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
  double max() const {
    return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
  }
  double sum() const {
    double s = 0;
    for (double v : values) {
      s += v;
    }
    return s;
  }
};

runtime::CommandResult rampartCmd(std::vector<std::string> args, Duration timeout = 180s) {
  args.insert(args.begin(), RAMPART_BINARY);
  return runtime::runCommand(std::move(args), timeout);
}

runtime::CommandResult sh(std::vector<std::string> argv, Duration timeout = 10s,
                          const std::string& input = "") {
  return runtime::runCommand(std::move(argv), timeout, input);
}

// RSS and PSS (kB) of a set of processes, from smaps_rollup.
struct Memory {
  long rss_kb = 0;
  long pss_kb = 0;
  int processes = 0;
};

Memory memoryOf(const std::set<pid_t>& pids) {
  Memory m;
  for (pid_t p : pids) {
    std::ifstream in("/proc/" + std::to_string(p) + "/smaps_rollup");
    std::string line;
    bool any = false;
    while (std::getline(in, line)) {
      long kb = 0;
      if (std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) {
        m.rss_kb += kb;
        any = true;
      } else if (std::sscanf(line.c_str(), "Pss: %ld kB", &kb) == 1) {
        m.pss_kb += kb;
      }
    }
    m.processes += any;
  }
  return m;
}

std::string comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string c;
  std::getline(in, c);
  return c;
}

// One `rampart up` cluster and what the bench asks it.
class Cluster {
 public:
  Cluster(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}
  ~Cluster() { down(); }

  bool up(int masters, int workers, std::string* output) {
    made_ = true;
    auto r = rampartCmd({"up", "--dir", dir_, "--name", name_, "--masters", std::to_string(masters),
                         "--workers", std::to_string(workers), "--zones", "a,b,c"});
    *output = r.output;
    return r.exit_code == 0 && reload();
  }
  bool reload() {
    auto s = cluster::loadState(dir_);
    auto t = cluster::readTokens(dir_);
    if (!s || !t) {
      return false;
    }
    state_ = *s;
    tokens_ = *t;
    return true;
  }
  void down() {
    if (made_) {
      rampartCmd({"down", "--dir", dir_, "--purge"}, 120s);
      made_ = false;
    }
  }

  json get(const std::string& path, Duration timeout = 1s) const {
    cluster::HttpCall call;
    call.path = path;
    call.tls.ca = cluster::caFile(dir_);
    call.bearer = tokens_.admin;
    call.timeout = timeout;
    auto r = cluster::httpCall({"127.0.0.1", state_.gateway_port, true}, call);
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }
  std::string leaseHolder(Duration timeout = 1s) const {
    auto lease = get(
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rampart-controller", timeout);
    return lease.is_object() && lease["spec"].is_object()
               ? lease["spec"].value("holderIdentity", "")
               : "";
  }
  bool allReady() const {
    auto nodes = get("/api/v1/nodes");
    if (!nodes.is_object() || nodes["items"].size() != state_.nodes.size()) {
      return false;
    }
    for (const auto& n : nodes["items"]) {
      bool ready = false;
      for (const auto& c : n["status"]["conditions"]) {
        ready = ready || (c["type"] == "Ready" && c["status"] == "True");
      }
      if (!ready) {
        return false;
      }
    }
    return true;
  }
  // `rampart status`'s check. collectStatus moves its calling thread into the hub's network
  // namespace for good (fine for the CLI), so it runs on a thread of its own here.
  bool healthy() const {
    bool ok = false;
    std::thread t([&] {
      auto report = cluster::collectStatus(dir_);
      ok = report && cluster::healthy(*report);
    });
    t.join();
    return ok;
  }
  // Every process of every namespace of the cluster (nodes and hub) and of its pods.
  std::set<pid_t> processes() const {
    std::set<pid_t> pids;
    for (const auto& n : state_.nodes) {
      for (pid_t p : cluster::netnsPids(n.spec.name)) {
        pids.insert(p);
      }
      for (pid_t p : agent::runtime::nodePodProcesses(n.spec.name)) {
        pids.insert(p);
      }
    }
    for (pid_t p : cluster::netnsPids(cluster::hubNamespace(name_))) {
      pids.insert(p);
    }
    return pids;
  }

  const std::string& dir() const { return dir_; }
  const std::string& name() const { return name_; }
  const cluster::ClusterState& state() const { return state_; }
  const cluster::Tokens& tokens() const { return tokens_; }

 private:
  std::string dir_;
  std::string name_;
  bool made_ = false;
  cluster::ClusterState state_;
  cluster::Tokens tokens_;
};

template <typename F>
bool waitFor(F condition, Duration timeout, Duration period = 50ms) {
  auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline && !g_stop) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(period);
  }
  return condition();
}

// lvscare's behaviour played by HAProxy in the worker's namespace.
class HaproxyFront {
 public:
  HaproxyFront(const Cluster& c, std::string worker) : c_(c), worker_(std::move(worker)) {}
  ~HaproxyFront() { stop(); }

  std::string start() {
    std::string dir = c_.dir() + "/bench";
    socket_ = dir + "/haproxy.sock";
    std::string cfg = dir + "/haproxy.cfg";
    std::ofstream out(cfg);
    out << "# lvscare's defaults (--health-schem https --health-path /healthz --interval 5s\n"
           "# --health-timeout 10s): no connect retry, no redispatch, one failed check = down.\n"
           "global\n"
           "  stats socket "
        << socket_
        << " mode 600 level admin\n"
           "  maxconn 4096\n"
           "defaults\n"
           "  mode tcp\n"
           "  retries 0\n"
           "  timeout connect 10s\n"
           "  timeout check 10s\n"
           "  timeout client 1h\n"
           "  timeout server 1h\n"
           "frontend api\n"
           "  bind "
        << kLvscareFront << ":" << cluster::kApiPort
        << "\n"
           "  default_backend masters\n"
           "backend masters\n"
           "  balance roundrobin\n"
           "  option httpchk GET /healthz\n"
           "  default-server check check-ssl verify none inter 5s fall 1 rise 1\n";
    for (const auto* m : c_.state().masters()) {
      out << "  server " << m->spec.name << " " << cluster::nodeAddress(m->spec.ordinal) << ":"
          << cluster::kApiPort << "\n";
    }
    out.close();
    // lvscare puts its virtual IP on a dummy interface; the worker's loopback does the same job.
    auto a =
        sh({"ip", "-n", worker_, "addr", "add", std::string(kLvscareFront) + "/32", "dev", "lo"});
    if (a.exit_code != 0 && a.output.find("exists") == std::string::npos) {
      return "ip addr add " + std::string(kLvscareFront) + ": " + a.output;
    }
    auto pid = runtime::spawn(runtime::SpawnOptions{{"haproxy", "-db", "-f", cfg},
                                                    dir + "/haproxy.log",
                                                    "",
                                                    true,
                                                    false,
                                                    "",
                                                    cluster::netnsPath(worker_)});
    if (!pid) {
      return "haproxy: " + pid.error().message;
    }
    pid_ = *pid;
    if (!waitFor([&] { return allUp(); }, 20s, 100ms)) {
      return "haproxy did not see every master up (see " + dir + "/haproxy.log)";
    }
    return "";
  }
  void stop() {
    if (pid_ > 0) {
      runtime::terminate(pid_, 2s);
      pid_ = 0;
    }
  }
  pid_t pid() const { return pid_; }

  // Every master UP in HAProxy's own view (`show stat` on its socket).
  bool allUp() const {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string text;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const char cmd[] = "show stat\n";
      if (::write(fd, cmd, sizeof cmd - 1) == static_cast<ssize_t>(sizeof cmd - 1)) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) {
          text.append(buf, static_cast<size_t>(n));
        }
      }
    }
    ::close(fd);
    int up = 0;
    std::stringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto f = fields(line);
      // pxname,svname,...; status is the 18th field.
      if (f.size() > 17 && f[0] == "masters" && f[1] != "BACKEND" && f[17].rfind("UP", 0) == 0) {
        ++up;
      }
    }
    return up == static_cast<int>(c_.state().masters().size());
  }

 private:
  const Cluster& c_;
  std::string worker_;
  std::string socket_;
  pid_t pid_ = 0;
};

// keepalived (VRRP) in every master's namespace.
class KeepalivedFront {
 public:
  explicit KeepalivedFront(const Cluster& c) : c_(c) {}
  ~KeepalivedFront() { stop(); }

  std::string start() {
    for (const auto* m : c_.state().masters()) {
      std::string address = cluster::nodeAddress(m->spec.ordinal);
      // `rampart server` binds the node's address only: forward the VIP's port to it.
      std::string rules =
          "table ip cluster_failover {\n"
          "  chain prerouting {\n"
          "    type nat hook prerouting priority -100;\n"
          "    ip daddr " +
          std::string(kKeepalivedVip) + " tcp dport 6443 dnat to " + address +
          ":6443\n"
          "  }\n"
          "}\n";
      auto nft = sh({"ip", "netns", "exec", m->spec.name, "nft", "-f", "-"}, 10s, rules);
      if (nft.exit_code != 0) {
        return "nft in " + m->spec.name + ": " + nft.output;
      }
      if (auto e = startOne(*m); !e.empty()) {
        return e;
      }
    }
    if (!waitFor([&] { return ready(); }, 30s, 100ms)) {
      return "keepalived: no master took the VIP " + std::string(kKeepalivedVip) + " (see " +
             c_.dir() + "/bench/keepalived-*.log)";
    }
    return "";
  }

  std::string startOne(const cluster::NodeState& m) {
    std::string dir = c_.dir() + "/bench";
    std::string base = dir + "/keepalived-" + m.spec.name;
    std::string address = cluster::nodeAddress(m.spec.ordinal);
    int priority = 150 - 50 * static_cast<int>(index(m.spec.name));
    std::ofstream out(base + ".conf");
    out << "global_defs {\n"
           "  router_id "
        << m.spec.name
        << "\n"
           "  script_user root\n"
           "  enable_script_security\n"
           "}\n"
           "vrrp_script api {\n"
           "  script \"/usr/bin/curl -skf --max-time 1 -o /dev/null https://"
        << address
        << ":6443/readyz\"\n"
           "  interval 1\n"
           "  timeout 2\n"
           "  fall 1\n"
           "  rise 1\n"
           "}\n"
           "vrrp_instance api {\n"
           "  state BACKUP\n"
           "  nopreempt\n"
           "  interface eth0\n"
           "  virtual_router_id 51\n"
           "  priority "
        << priority
        << "\n"
           "  advert_int 1\n"
           "  virtual_ipaddress {\n"
           "    "
        << kKeepalivedVip
        << "/24 dev eth0\n"
           "  }\n"
           "  track_script {\n"
           "    api\n"
           "  }\n"
           "}\n";
    out.close();
    // `ip netns exec` (not a bare setns): keepalived reads the namespace's own /sys.
    auto pid = runtime::spawn(
        runtime::SpawnOptions{{"ip", "netns", "exec", m.spec.name, "keepalived", "--dont-fork",
                               "--log-console", "--vrrp", "-f", base + ".conf", "-p", base + ".pid",
                               "-r", base + "-vrrp.pid", "-c", base + "-checkers.pid"},
                              base + ".log"});
    if (!pid) {
      return "keepalived: " + pid.error().message;
    }
    pids_[m.spec.name] = *pid;
    return "";
  }

  // After a kill: the dead master's namespace still has the VIP on eth0 (nobody removed it); a
  // rebooted machine would not, so it goes before keepalived starts again.
  std::string restart(const cluster::NodeState& m) {
    if (holds(m.spec.name) && holders().size() > 1) {
      sh({"ip", "-n", m.spec.name, "addr", "del", std::string(kKeepalivedVip) + "/24", "dev",
          "eth0"});
    }
    if (auto it = pids_.find(m.spec.name); it != pids_.end()) {
      runtime::waitExit(it->second, 1s);  // reaps the killed one
    }
    return startOne(m);
  }

  void stop() {
    for (auto& [node, pid] : pids_) {
      runtime::terminate(pid, 2s);
    }
    pids_.clear();
  }

  bool holds(const std::string& node) const {
    auto r = sh({"ip", "-n", node, "-o", "addr", "show", "dev", "eth0"}, 5s);
    return r.output.find(std::string(kKeepalivedVip) + "/") != std::string::npos;
  }
  std::vector<std::string> holders() const {
    std::vector<std::string> out;
    for (const auto* m : c_.state().masters()) {
      if (holds(m->spec.name)) {
        out.push_back(m->spec.name);
      }
    }
    return out;
  }
  // Exactly one master holds the VIP and every keepalived runs.
  bool ready() const {
    for (const auto& [node, pid] : pids_) {
      if (!runtime::isAlive(pid)) {
        return false;
      }
    }
    return holders().size() == 1;
  }
  std::set<pid_t> processes() const {
    std::set<pid_t> out;
    for (const auto* m : c_.state().masters()) {
      for (pid_t p : cluster::netnsPids(m->spec.name)) {
        if (comm(p) == "keepalived") {
          out.insert(p);
        }
      }
    }
    return out;
  }

 private:
  size_t index(const std::string& node) const {
    auto masters = c_.state().masters();
    for (size_t i = 0; i < masters.size(); ++i) {
      if (masters[i]->spec.name == node) {
        return i;
      }
    }
    return 0;
  }

  const Cluster& c_;
  std::map<std::string, pid_t> pids_;
};

// The longest time between two successful answers' arrivals (cluster::summarize measures between
// their starts, so a request sent into a frozen server that answers when it thaws counts from
// its start): what a client waiting on the API experiences.
double answerGapMs(const std::vector<cluster::ProbeSample>& samples) {
  std::vector<TimePoint> ends;
  for (const auto& s : samples) {
    if (s.ok) {
      ends.push_back(s.start + s.latency);
    }
  }
  std::sort(ends.begin(), ends.end());
  Duration gap{};
  for (size_t i = 1; i < ends.size(); ++i) {
    gap = std::max(gap, ends[i] - ends[i - 1]);
  }
  return toMillis(gap);
}

// Experiment (--vip-on-down keep|close): every node's VIP balancer treats the established
// connections of a master its checks mark Down another way than `rampart up`'s close_stalled
// (src/lb/config.h): keep them all, or cut them all at once. The bench rewrites the on_down line
// of every node's vip.yaml and reloads the balancers (SIGHUP); again after each `rampart up
// --dir` that brings a killed master back. Returns "" or what failed.
std::string vipOnDown(const Cluster& c, const std::string& mode) {
  for (const auto& n : c.state().nodes) {
    std::string file = cluster::nodeDir(c.dir(), n.spec.name) + "/vip.yaml";
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    auto at = yaml.find("    on_down: ");
    if (at == std::string::npos) {
      return file + " has no on_down line";
    }
    auto end = yaml.find('\n', at);
    yaml.replace(at, end - at, "    on_down: " + mode);
    std::ofstream(file, std::ios::trunc) << yaml;
    auto pid = n.pids.find("vip");
    if (pid == n.pids.end() || ::kill(pid->second, SIGHUP) != 0) {
      return "cannot reload the VIP balancer of " + n.spec.name;
    }
  }
  return "";
}

struct RoundResult {
  std::string fault, front, master;
  bool leader = false;
  size_t requests = 0, failed = 0;
  double gap_ms = 0;
  double answer_gap_ms = 0;
  std::optional<double> handover_ms;
  int polls = 0, polls_ok = 0;  // Lease reads while the handover was awaited
  std::string first_error;
  double heal_s = 0;
  double latency_ms = 0;  // the median request's
};

std::set<pid_t> nodeProcesses(const std::string& node) {
  std::set<pid_t> pids;
  for (pid_t p : cluster::netnsPids(node)) {
    pids.insert(p);
  }
  for (pid_t p : agent::runtime::nodePodProcesses(node)) {
    pids.insert(p);
  }
  return pids;
}

std::string pickMaster(const Cluster& c, const std::string& fault, const std::string& front, int k,
                       const std::string& leader, const KeepalivedFront* keepalived) {
  if (front == "keepalived" && keepalived) {
    auto h = keepalived->holders();
    if (h.size() == 1) {
      return h[0];
    }
  }
  if (fault == "kill" || k % 2 == 0) {
    if (!leader.empty()) {
      return leader;
    }
  }
  std::vector<std::string> others;
  for (const auto* m : c.state().masters()) {
    if (m->spec.name != leader) {
      others.push_back(m->spec.name);
    }
  }
  return others[static_cast<size_t>(k / 2) % others.size()];
}

}  // namespace

// UTC wall time as the processes' logs write it (base/log.cc): ISO 8601 with milliseconds, so
// log lines compare with it as strings.
std::string isoUtc(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ms));
  return buf;
}

// --trace: what explains a bad round (see the header).
void traceRound(const Cluster& c, const std::string& worker,
                const std::vector<cluster::ProbeSample>& window, TimePoint fault_at,
                std::chrono::system_clock::time_point wall_fault, Duration span) {
  std::printf("    trace: fault at %s\n", isoUtc(wall_fault).c_str());
  for (const auto& s : window) {
    if (!s.ok || s.latency > 200ms) {
      std::printf("    request at %+6.0f ms  took %5.0f ms  %s\n", toMillis(s.start - fault_at),
                  toMillis(s.latency), s.ok ? "ok" : s.error.substr(0, 100).c_str());
    }
  }
  auto from = isoUtc(wall_fault - kBefore);
  auto to = isoUtc(wall_fault + span);
  std::vector<std::string> logs = {c.dir() + "/nodes/" + worker + "/vip.log"};
  for (const auto* m : c.state().masters()) {
    logs.push_back(c.dir() + "/nodes/" + m->spec.name + "/server.log");
  }
  for (const auto& file : logs) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() >= 24 && line.substr(0, 24) >= from && line.substr(0, 24) <= to) {
        std::printf("    %s: %s\n", std::filesystem::path(file).parent_path().filename().c_str(),
                    line.substr(0, 200).c_str());
      }
    }
  }
}

int main(int argc, char** argv) {
  int rounds = 10;
  int up_runs = 5;
  int timeout_ms = 2000;
  std::string faults_flag = "kill,freeze,partition";
  std::string refs_flag = "lvscare,keepalived";
  std::string vip_on_down;  // empty: as `rampart up` writes it (close_stalled)
  bool trace = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--rounds") {
      rounds = std::atoi(value().c_str());
    } else if (arg == "--faults") {
      faults_flag = value();
    } else if (arg == "--reference") {
      refs_flag = value();
    } else if (arg == "--request-timeout-ms") {
      timeout_ms = std::atoi(value().c_str());
    } else if (arg == "--vip-on-down") {
      std::string v = value();
      if (v != "close" && v != "keep" && v != "close_stalled") {
        std::fprintf(stderr, "--vip-on-down: keep | close | close_stalled\n");
        return 2;
      }
      vip_on_down = v == "close_stalled" ? "" : v;
    } else if (arg == "--up-runs") {
      up_runs = std::atoi(value().c_str());
    } else if (arg == "--trace") {
      trace = true;
    } else {
      std::fprintf(stderr,
                   "usage: cluster_failover [--rounds N] [--faults kill,freeze,partition] "
                   "[--reference lvscare,keepalived] [--up-runs N] [--request-timeout-ms 2000] "
                   "[--vip-on-down keep|close|close_stalled] [--trace]\n");
      return 2;
    }
  }
  auto faults = split(faults_flag);
  auto refs = split(refs_flag);
  for (const auto& f : faults) {
    if (f != "kill" && f != "freeze" && f != "partition") {
      std::fprintf(stderr, "unknown fault %s (kill, freeze, partition)\n", f.c_str());
      return 2;
    }
  }
  for (const auto& r : refs) {
    if (r != "lvscare" && r != "keepalived") {
      std::fprintf(stderr, "unknown reference %s (lvscare, keepalived)\n", r.c_str());
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "cluster_failover makes network namespaces: run it as root\n");
    return 2;
  }
  ::signal(SIGINT, onSignal);
  ::signal(SIGTERM, onSignal);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  auto bench_start = Steady::now();
  std::string uname = trim(sh({"uname", "-sr"}).output);
  std::string cpu =
      trim(sh({"sh", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"}).output);
  std::replace(cpu.begin(), cpu.end(), '\n', ' ');
  std::printf("# cluster_failover: %s, cores + CPU: %s\n", uname.c_str(), cpu.c_str());
  std::printf("load at start: %s\n", trim(sh({"uptime"}).output).c_str());

  std::string root = "/tmp/cluster-failover-" + std::to_string(::getpid());
  std::filesystem::create_directories(root);
  ::chmod(root.c_str(), 0755);
  std::string tag = "cf" + std::to_string(::getpid() % 100000);

  // --- `rampart up` to every node Ready, 3 masters + 3 workers -----------------------------
  Stats up_exit, up_ready, up_rss, up_pss, up_procs;
  for (int run = 0; run < up_runs && !g_stop; ++run) {
    Cluster c(root + "/up" + std::to_string(run), tag + "u" + std::to_string(run));
    auto start = Steady::now();
    std::string output;
    if (!c.up(3, 3, &output)) {
      std::fprintf(stderr, "rampart up failed:\n%s\n", output.c_str());
      return 1;
    }
    auto exited = Steady::now();
    if (!waitFor([&] { return c.allReady(); }, 60s, 20ms)) {
      std::fprintf(stderr, "not every node Ready after 60 s\n");
      return 1;
    }
    auto ready = Steady::now();
    // Memory once the cluster has settled (every node Ready, agents' first syncs done).
    std::this_thread::sleep_for(3s);
    auto mem = memoryOf(c.processes());
    up_exit.add(toMillis(exited - start));
    up_ready.add(toMillis(ready - start));
    up_rss.add(mem.rss_kb / 1024.0);
    up_pss.add(mem.pss_kb / 1024.0);
    up_procs.add(mem.processes);
    std::printf(
        "up run %d (3 masters + 3 workers): `rampart up` returned after %.0f ms, every "
        "node Ready after %.0f ms; %d processes, RSS %.1f MiB, PSS %.1f MiB\n",
        run + 1, toMillis(exited - start), toMillis(ready - start), mem.processes,
        mem.rss_kb / 1024.0, mem.pss_kb / 1024.0);
    c.down();
  }

  // --- the failover cluster: 3 masters, 1 worker --------------------------------------------
  Cluster c(root + "/cluster", tag);
  std::string output;
  if (!c.up(3, 1, &output)) {
    std::fprintf(stderr, "rampart up failed:\n%s\n", output.c_str());
    return 1;
  }
  std::filesystem::create_directories(c.dir() + "/bench");
  if (!vip_on_down.empty()) {
    if (auto e = vipOnDown(c, vip_on_down); !e.empty()) {
      std::fprintf(stderr, "%s\n", e.c_str());
      return 1;
    }
    std::printf("experiment: every node's VIP balancer with on_down: %s\n", vip_on_down.c_str());
  }
  std::string worker = tag + "-w1";
  if (!waitFor([&] { return c.healthy(); }, 60s, 200ms)) {
    std::fprintf(stderr, "the cluster is not healthy after 60 s\n");
    return 1;
  }
  std::this_thread::sleep_for(2s);
  auto cluster_mem = memoryOf(c.processes());
  std::printf("cluster 3 masters + 1 worker: %d processes, RSS %.1f MiB, PSS %.1f MiB\n",
              cluster_mem.processes, cluster_mem.rss_kb / 1024.0, cluster_mem.pss_kb / 1024.0);

  std::vector<std::string> fronts = {"rampart"};
  std::optional<HaproxyFront> haproxy;
  std::optional<KeepalivedFront> keepalived;
  for (const auto& r : refs) {
    if (r == "lvscare") {
      haproxy.emplace(c, worker);
      if (auto e = haproxy->start(); !e.empty()) {
        std::fprintf(stderr, "lvscare reference (HAProxy) cannot run: %s\n", e.c_str());
        return 1;
      }
      fronts.push_back("lvscare");
      std::printf(
          "lvscare reference: HAProxy %s in %s on %s:6443 (rampart lb cannot turn off "
          "its connect retry)\n",
          trim(sh({"sh", "-c", "haproxy -v | head -1 | cut -d' ' -f3"}).output).c_str(),
          worker.c_str(), kLvscareFront);
    } else {
      keepalived.emplace(c);
      if (auto e = keepalived->start(); !e.empty()) {
        std::fprintf(stderr, "keepalived reference cannot run: %s\n", e.c_str());
        return 1;
      }
      fronts.push_back("keepalived");
      std::printf(
          "keepalived reference: %s, VRRP multicast on the lab bridge, VIP %s held by "
          "%s\n",
          trim(sh({"sh", "-c", "keepalived -v 2>&1 | head -1"}).output).c_str(), kKeepalivedVip,
          keepalived->holders().front().c_str());
    }
  }
  if (haproxy || keepalived) {
    std::set<pid_t> ref;
    if (haproxy) {
      ref.insert(haproxy->pid());
    }
    if (keepalived) {
      auto k = keepalived->processes();
      ref.insert(k.begin(), k.end());
    }
    auto m = memoryOf(ref);
    std::printf("references' processes: %d, RSS %.1f MiB, PSS %.1f MiB\n", m.processes,
                m.rss_kb / 1024.0, m.pss_kb / 1024.0);
  }

  auto frontReady = [&](const std::string& front) {
    if (front == "lvscare") {
      return haproxy->allUp();
    }
    if (front == "keepalived") {
      return keepalived->ready();
    }
    return true;
  };
  auto frontAddress = [&](const std::string& front) -> std::string {
    if (front == "lvscare") {
      return kLvscareFront;
    }
    if (front == "keepalived") {
      return kKeepalivedVip;
    }
    return cluster::kApiVip;
  };

  std::vector<RoundResult> results;
  std::string abort_reason;
  for (const auto& fault : faults) {
    for (int k = 0; k < rounds && abort_reason.empty() && !g_stop; ++k) {
      for (const auto& front : fronts) {
        if (g_stop) {
          break;
        }
        // Healthy before each round: the cluster as `rampart status` sees it, and the front.
        if (!waitFor([&] { return c.healthy() && frontReady(front); }, 60s, 100ms)) {
          abort_reason = "not healthy (or " + front + " not ready) 60 s after the last round";
          break;
        }
        std::string leader = c.leaseHolder();
        RoundResult r;
        r.fault = fault;
        r.front = front;
        r.master = pickMaster(c, fault, front, k, leader, keepalived ? &*keepalived : nullptr);
        r.leader = r.master == leader;
        const auto* node = c.state().find(r.master);

        cluster::ApiProbeOptions probe_options;
        probe_options.netns = worker;
        probe_options.host = frontAddress(front);
        probe_options.ca_file = cluster::caFile(c.dir());
        probe_options.token = c.tokens().admin;
        probe_options.tls_server_name = cluster::kApiVip;  // in every master's certificate
        probe_options.timeout = std::chrono::milliseconds(timeout_ms);
        cluster::ApiProbe probe(probe_options);
        if (!probe.start()) {
          abort_reason = "the probe cannot enter " + worker;
          break;
        }
        std::this_thread::sleep_for(1s);

        std::atomic<bool> poll_stop{false};
        std::optional<TimePoint> handed_over;
        std::string new_holder;
        auto fault_at = Steady::now();
        auto wall_fault = std::chrono::system_clock::now();
        std::thread poller([&] {
          while (!poll_stop) {
            auto next = Steady::now() + kLeasePoll;
            auto h = c.leaseHolder(300ms);
            ++r.polls;
            r.polls_ok += !h.empty();
            if (!h.empty() && h != leader) {
              handed_over = Steady::now();
              new_holder = h;
              return;
            }
            std::this_thread::sleep_until(next);
          }
        });
        std::set<pid_t> pids;
        if (fault == "kill" || fault == "freeze") {
          pids = nodeProcesses(r.master);
          int sig = fault == "kill" ? SIGKILL : SIGSTOP;
          for (pid_t p : pids) {
            ::kill(p, sig);
          }
          agent::runtime::signalNodePods(r.master, sig);
        } else {
          sh({"ip", "-n", cluster::hubNamespace(c.name()), "link", "set",
              cluster::hubLinkName(node->spec.ordinal), "down"});
        }
        std::this_thread::sleep_until(fault_at + kHold);
        if (fault == "freeze") {
          for (pid_t p : pids) {
            ::kill(p, SIGCONT);
          }
          agent::runtime::signalNodePods(r.master, SIGCONT);
        } else if (fault == "partition") {
          sh({"ip", "-n", cluster::hubNamespace(c.name()), "link", "set",
              cluster::hubLinkName(node->spec.ordinal), "up"});
        }
        auto healed_at = fault == "kill" ? fault_at + kHold : Steady::now();
        std::this_thread::sleep_until(healed_at + kAfterHeal);
        poll_stop = true;
        poller.join();
        probe.stop();
        auto window = probe.between(fault_at - kBefore, healed_at + kAfterHeal);
        auto summary = cluster::summarize(window);
        Stats latency;
        for (const auto& s : window) {
          latency.add(toMillis(s.latency));
        }
        r.latency_ms = latency.median();
        r.requests = summary.requests;
        r.failed = summary.failed;
        r.gap_ms = toMillis(summary.longest_gap);
        r.answer_gap_ms = answerGapMs(window);
        r.first_error = summary.first_error;
        if (handed_over && r.leader) {
          r.handover_ms = toMillis(*handed_over - fault_at);
        }
        auto heal_start = Steady::now();
        if (fault == "kill") {
          auto again = rampartCmd({"up", "--dir", c.dir()});
          if (again.exit_code != 0) {
            abort_reason = "rampart up --dir failed: " + again.output;
          } else if (!vip_on_down.empty()) {
            // The master's new processes have new PIDs, and vip.yaml was written again.
            if (!c.reload()) {
              abort_reason = "cannot read " + c.dir() + " again";
            } else if (auto e = vipOnDown(c, vip_on_down); !e.empty()) {
              abort_reason = e;
            }
          }
          if (keepalived) {
            if (auto e = keepalived->restart(*node); !e.empty()) {
              abort_reason = e;
            }
          }
        }
        r.heal_s = toMillis(Steady::now() - heal_start) / 1000.0;
        std::printf(
            "%-9s %-10s round %2d  %-10s%s  requests %4zu (median %3.0f ms)  failed %3zu  "
            "longest gap %6.0f ms (answers %6.0f ms)  controller %s%s\n",
            fault.c_str(), front.c_str(), k + 1, r.master.c_str(),
            r.leader ? " (leader)" : "         ", r.requests, r.latency_ms, r.failed, r.gap_ms,
            r.answer_gap_ms,
            r.handover_ms ? (std::to_string(static_cast<int>(*r.handover_ms)) + " ms").c_str()
                          : (r.leader ? ("not moved (Lease read in " + std::to_string(r.polls_ok) +
                                         " of " + std::to_string(r.polls) + " polls)")
                                            .c_str()
                                      : "-"),
            r.failed ? ("  first error: " + r.first_error.substr(0, 80)).c_str() : "");
        if (trace && (r.failed > 0 || r.gap_ms > 1000)) {
          traceRound(c, worker, window, fault_at, wall_fault, healed_at + kAfterHeal - fault_at);
        }
        results.push_back(r);
        if (!abort_reason.empty()) {
          break;
        }
      }
    }
  }
  if (!abort_reason.empty()) {
    std::printf("ABORTED: %s\n", abort_reason.c_str());
  }

  // --- summary ---------------------------------------------------------------------------------
  std::printf("\nload at end: %s\n", trim(sh({"uptime"}).output).c_str());
  std::printf("run time: %.0f s\n\n", toMillis(Steady::now() - bench_start) / 1000.0);
  if (up_runs > 0 && !up_ready.values.empty()) {
    std::printf("| `rampart up`, 3 masters + 3 workers (%zu runs) | median | max |\n",
                up_ready.values.size());
    std::printf("|---|---|---|\n");
    std::printf("| `rampart up` returns | %.0f ms | %.0f ms |\n", up_exit.median(), up_exit.max());
    std::printf("| every node Ready | %.0f ms | %.0f ms |\n", up_ready.median(), up_ready.max());
    std::printf("| memory, %0.f processes: sum of RSS | %.0f MiB | %.0f MiB |\n", up_procs.median(),
                up_rss.median(), up_rss.max());
    std::printf("| memory: sum of PSS | %.0f MiB | %.0f MiB |\n\n", up_pss.median(), up_pss.max());
  }
  std::printf(
      "| fault | front | rounds | failed requests: total / median / max | longest gap: "
      "median / p90 / max | between answers: median / max | controller acting again: median / "
      "p90 / max (rounds where the faulted master led) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::map<std::pair<std::string, std::string>, Stats> gaps;
  for (const auto& fault : faults) {
    for (const auto& front : fronts) {
      Stats failed, gap, answer_gap, handover;
      int leader_rounds = 0;
      for (const auto& r : results) {
        if (r.fault == fault && r.front == front) {
          failed.add(static_cast<double>(r.failed));
          gap.add(r.gap_ms);
          answer_gap.add(r.answer_gap_ms);
          if (r.handover_ms) {
            handover.add(*r.handover_ms);
          }
          leader_rounds += r.leader;
        }
      }
      if (gap.values.empty()) {
        continue;
      }
      gaps[{fault, front}] = gap;
      char ho[128] = "-";
      if (handover.values.empty() && leader_rounds > 0) {
        std::snprintf(ho, sizeof ho, "not moved (0 of %d)", leader_rounds);
      } else if (!handover.values.empty()) {
        std::snprintf(ho, sizeof ho, "%.0f / %.0f / %.0f ms (moved in %zu of %d)",
                      handover.median(), handover.pct(90), handover.max(), handover.values.size(),
                      leader_rounds);
      }
      std::printf(
          "| %s | %s | %zu | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f ms | %.0f / %.0f ms | "
          "%s |\n",
          fault.c_str(), front.c_str(), gap.values.size(), failed.sum(), failed.median(),
          failed.max(), gap.median(), gap.pct(90), gap.max(), answer_gap.median(), answer_gap.max(),
          ho);
    }
  }
  std::printf("\n| fault | longest gap, median: reference / Rampart |\n|---|---|\n");
  for (const auto& fault : faults) {
    auto own = gaps.find({fault, "rampart"});
    if (own == gaps.end()) {
      continue;
    }
    for (const auto& front : fronts) {
      auto g = gaps.find({fault, front});
      if (front == "rampart" || g == gaps.end()) {
        continue;
      }
      std::printf("| %s | %s: %.0f ms / %.0f ms = %.1fx |\n", fault.c_str(), front.c_str(),
                  g->second.median(), own->second.median(),
                  g->second.median() / std::max(1.0, own->second.median()));
    }
  }

  if (haproxy) {
    haproxy->stop();
  }
  if (keepalived) {
    keepalived->stop();
  }
  c.down();
  if (abort_reason.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  return abort_reason.empty() ? 0 : 1;
}
