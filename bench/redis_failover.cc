// Redis failover: `rampart redis` (lab: etcd x3, three members, the lb's write VIP) against
// Debian's Redis Sentinel 7.0 (three redis-servers, three sentinels, quorum 2) in the same run,
// rounds alternating between the two, each round on a fresh group.
//
//   redis_failover [--rounds N] [--scenarios crash,freeze,manager,switchover,partition]
//                  [--down-after MS]
//                  [--default-round] [--dir D]
//
// A writer sends `SET k<i> <i>` then `WAIT 1 100` every 5 ms on one connection. Rampart's
// writer reconnects to the fixed write VIP after an error; Sentinel's asks the sentinels for the
// master (SENTINEL get-master-addr-by-name) after every error and checks ROLE on the new
// connection, as a Sentinel-aware client does. Faults on the master: crash (SIGKILL of its
// redis-server), freeze (SIGSTOP for 5 s, then SIGCONT), manager (rampart: SIGKILL of the
// master member's `rampart redis`; Sentinel: SIGKILL of one sentinel, its control process),
// the planned switchover (rampart: `rampart redis switchover`; Sentinel: SENTINEL FAILOVER), and
// partition (root only: the master's processes — rampart: its member's manager and
// redis-server; Sentinel: its redis-server — cut off the network both ways for 5 s by
// chaos::Isolation, while everything stays on loopback; then healed and probed as for freeze).
// Per round:
//   gap      the longest time between two consecutive WAIT-acknowledged writes, the later one
//            after the fault (the writer's outage);
//   to_new   fault -> first acknowledged write on another server (the new master), if any;
//   lost     WAIT-acknowledged keys missing or wrong on the final master after the round;
//   lost_any SET-acknowledged keys (WAIT or not) missing or wrong there: a switchover must
//            lose none;
//   split    writes the old master acknowledged (WAIT >= 1) after the new one acknowledged its
//            first, from the writer's record and, for freeze, from a client that connects to the
//            thawed old master directly and writes there for 3 s; `accepted` counts the direct
//            SETs it took at all (WAIT-acknowledged or not).
// The writer runs from 2 s before the fault to 8 s after it (freeze: 12 s; Sentinel: at least
// down-after-milliseconds + 15 s, so its default 30 s still fails over inside the window): the
// counts of acknowledged writes therefore differ between the systems at the same write rate.
// Prints one Markdown table per scenario: medians (min-max) and the Sentinel/rampart ratio.
// Everything runs on loopback; every process it starts is stopped at the end of its round (the
// sentinel group by PID; the rampart lab by `rampart redis lab down`).

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "chaos/partition.h"
#include "net/endpoint.h"
#include "redis/client.h"
#include "runtime/process.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Clk = std::chrono::steady_clock;

constexpr const char* kMasterName = "bench";

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

net::Endpoint endpointOf(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  return net::Endpoint{host_port.substr(0, colon),
                       static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1)))};
}

// A loopback port free at the time of the call (bind to port 0, read it, close).
uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::optional<std::string> infoField(redis::Client& c, const std::string& section,
                                     const std::string& field) {
  auto info = c.command({"INFO", section}, 500ms);
  if (!info || info->isError()) {
    return std::nullopt;
  }
  auto at = info->str.find(field + ":");
  if (at == std::string::npos) {
    return std::nullopt;
  }
  at += field.size() + 1;
  return info->str.substr(at, info->str.find_first_of("\r\n", at) - at);
}

struct Write {
  int64_t i;
  TimePoint acked_at;
  bool acked;     // SET OK and WAIT >= 1
  bool set_ok;    // SET OK (whatever WAIT said)
  uint16_t port;  // the redis-server that took it (its tcp_port)
};

// One system under test: how the writer finds the master, and the faults.
class System {
 public:
  virtual ~System() = default;
  virtual std::string name() const = 0;
  virtual bool up(const std::string& dir) = 0;
  virtual void down() = 0;
  // Where the writer connects now (the VIP, or the master a sentinel names).
  virtual std::optional<net::Endpoint> writeEndpoint() = 0;
  virtual bool checkRole() const = 0;
  virtual uint16_t masterPort() = 0;
  // The manager fault: SIGKILL of the control process for `master_port`'s member.
  virtual bool killManager(uint16_t master_port) = 0;
  virtual Duration observeFor(const std::string& scenario) const = 0;
  // The planned switchover, asked of the system's own tool.
  virtual bool switchover() = 0;
  // The processes a partition of the master at `master_port` cuts off (with their children).
  virtual std::vector<pid_t> masterProcesses(uint16_t master_port) = 0;
};

class RampartSystem : public System {
 public:
  explicit RampartSystem(std::string binary) : binary_(std::move(binary)) {}
  std::string name() const override { return "rampart"; }
  bool up(const std::string& dir) override {
    dir_ = dir;
    auto r = runtime::runCommand(
        {binary_, "redis", "lab", "up", "--members", "3", "--dir", dir, "--json"}, 180s);
    if (r.exit_code != 0 || r.output.find('{') == std::string::npos) {
      std::fprintf(stderr, "rampart lab up failed: %s\n", r.output.c_str());
      return false;
    }
    lab_ = json::parse(r.output.substr(r.output.find('{')), nullptr, false);
    return lab_.is_object();
  }
  void down() override {
    if (!dir_.empty()) {
      runtime::runCommand({binary_, "redis", "lab", "down", "--dir", dir_}, 120s);
      dir_.clear();
    }
  }
  std::optional<net::Endpoint> writeEndpoint() override {
    return endpointOf(lab_["write_vip"].get<std::string>());
  }
  bool checkRole() const override { return false; }
  uint16_t masterPort() override {
    auto c = redis::Client::connect(*writeEndpoint(), 1s);
    if (!c) {
      return 0;
    }
    auto port = infoField(*c, "server", "tcp_port");
    return port ? static_cast<uint16_t>(std::stoi(*port)) : 0;
  }
  bool killManager(uint16_t master_port) override {
    auto pids = masterProcesses(master_port);
    return !pids.empty() && ::kill(pids[0], SIGKILL) == 0;
  }
  std::vector<pid_t> masterProcesses(uint16_t master_port) override {
    for (const auto& m : lab_["members"]) {
      if (m["port"].get<int>() == master_port) {
        return {m["manager_pid"].get<pid_t>()};  // its redis-server is its child
      }
    }
    return {};
  }
  Duration observeFor(const std::string& scenario) const override {
    return scenario == "freeze" || scenario == "partition" ? 12s : 8s;
  }
  bool switchover() override {
    auto r = runtime::runCommand(
        {binary_, "redis", "switchover", "--config", dir_ + "/m1/member.yaml", "--no-wait"}, 10s);
    if (r.exit_code != 0) {
      std::fprintf(stderr, "rampart redis switchover: %s\n", r.output.c_str());
    }
    return r.exit_code == 0;
  }

 private:
  std::string binary_;
  std::string dir_;
  json lab_;
};

class SentinelSystem : public System {
 public:
  explicit SentinelSystem(int down_after_ms) : down_after_ms_(down_after_ms) {}
  std::string name() const override {
    return down_after_ms_ == 30000 ? "sentinel (defaults)" : "sentinel";
  }
  bool up(const std::string& dir) override {
    std::filesystem::create_directories(dir);
    ports_.clear();
    sentinel_ports_.clear();
    for (int n = 0; n < 3; ++n) {
      ports_.push_back(freePort());
    }
    for (int n = 0; n < 3; ++n) {
      std::string data = dir + "/r" + std::to_string(n);
      std::filesystem::create_directories(data);
      std::vector<std::string> argv = {"redis-server", "--port", std::to_string(ports_[n]),
                                       "--bind", "127.0.0.1", "--dir", data, "--save", "",
                                       "--appendonly", "no", "--daemonize", "no"};
      if (n > 0) {
        argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(ports_[0])});
      }
      if (!start(argv, data + "/log")) {
        return false;
      }
    }
    for (int n = 0; n < 3; ++n) {
      uint16_t port = freePort();
      sentinel_ports_.push_back(port);
      std::string conf = dir + "/sentinel" + std::to_string(n) + ".conf";
      std::ofstream out(conf);
      out << "port " << port << "\nbind 127.0.0.1\ndaemonize no\n"
          << "dir " << dir << "\n"
          << "sentinel monitor " << kMasterName << " 127.0.0.1 " << ports_[0] << " 2\n"
          << "sentinel down-after-milliseconds " << kMasterName << " " << down_after_ms_ << "\n"
          << "sentinel failover-timeout " << kMasterName << " 10000\n"
          << "sentinel parallel-syncs " << kMasterName << " 1\n";
      out.close();
      if (!start({"redis-server", conf, "--sentinel"}, conf + ".log")) {
        return false;
      }
    }
    // Ready: both replicas in sync (WAIT 2) and every sentinel knows the other two and both
    // replicas (hello messages every 2 s).
    auto deadline = Clk::now() + 60s;
    while (Clk::now() < deadline) {
      if (ready()) {
        return true;
      }
      std::this_thread::sleep_for(200ms);
    }
    std::fprintf(stderr, "sentinel group not ready in 60 s\n");
    return false;
  }
  void down() override {
    for (pid_t pid : pids_) {
      runtime::terminate(pid, 2s);
    }
    pids_.clear();
    sentinel_pids_.clear();
    server_pids_.clear();
  }
  std::optional<net::Endpoint> writeEndpoint() override {
    for (uint16_t port : sentinel_ports_) {
      auto s = redis::Client::connect(net::Endpoint{"127.0.0.1", port}, 200ms);
      if (!s) {
        continue;
      }
      auto addr = s->command({"SENTINEL", "get-master-addr-by-name", kMasterName}, 200ms);
      if (addr && addr->type == redis::Reply::Type::Array && addr->elements.size() == 2) {
        return net::Endpoint{addr->elements[0].str,
                             static_cast<uint16_t>(std::stoi(addr->elements[1].str))};
      }
    }
    return std::nullopt;
  }
  bool checkRole() const override { return true; }
  uint16_t masterPort() override {
    auto e = writeEndpoint();
    return e ? e->port : 0;
  }
  bool killManager(uint16_t) override {
    // One sentinel of three: the other two still make the quorum.
    return ::kill(sentinel_pids_.at(0), SIGKILL) == 0;
  }
  std::vector<pid_t> masterProcesses(uint16_t master_port) override {
    for (size_t n = 0; n < ports_.size() && n < server_pids_.size(); ++n) {
      if (ports_[n] == master_port) {
        return {server_pids_[n]};
      }
    }
    return {};
  }
  Duration observeFor(const std::string& scenario) const override {
    Duration base = scenario == "freeze" || scenario == "partition" ? 12s : 8s;
    if (scenario == "switchover") {
      // No failure to detect: SENTINEL FAILOVER starts at once, but its clients reach the new
      // master only once it has a replica again (WAIT 1), which took more than 8 s here.
      return 20s;
    }
    return std::max(base, Duration(std::chrono::milliseconds(down_after_ms_) + 15s));
  }
  bool switchover() override {
    auto s = redis::Client::connect(net::Endpoint{"127.0.0.1", sentinel_ports_.at(0)}, 1s);
    if (!s) {
      return false;
    }
    auto r = s->command({"SENTINEL", "FAILOVER", kMasterName}, 2s);
    if (!r || r->isError()) {
      std::fprintf(stderr, "SENTINEL FAILOVER: %s\n", r ? r->str.c_str() : r.error().message.c_str());
      return false;
    }
    return true;
  }

 private:
  bool start(const std::vector<std::string>& argv, const std::string& log) {
    runtime::SpawnOptions o;
    o.argv = argv;
    o.log_file = log;
    auto pid = runtime::spawn(o);
    if (!pid) {
      std::fprintf(stderr, "spawn %s: %s\n", argv[0].c_str(), pid.error().message.c_str());
      return false;
    }
    pids_.push_back(*pid);
    (argv.back() == "--sentinel" ? sentinel_pids_ : server_pids_).push_back(*pid);
    return true;
  }
  bool ready() {
    auto m = redis::Client::connect(net::Endpoint{"127.0.0.1", ports_[0]}, 500ms);
    if (!m) {
      return false;
    }
    auto set = m->command({"SET", "ready", "1"}, 500ms);
    auto wait = m->command({"WAIT", "2", "500"}, 1s);
    if (!set || !wait || wait->integer < 2) {
      return false;
    }
    for (uint16_t port : sentinel_ports_) {
      auto s = redis::Client::connect(net::Endpoint{"127.0.0.1", port}, 500ms);
      if (!s) {
        return false;
      }
      auto master = s->command({"SENTINEL", "master", kMasterName}, 500ms);
      if (!master || master->type != redis::Reply::Type::Array) {
        return false;
      }
      std::map<std::string, std::string> fields;
      for (size_t k = 0; k + 1 < master->elements.size(); k += 2) {
        fields[master->elements[k].str] = master->elements[k + 1].str;
      }
      if (fields["num-other-sentinels"] != "2" || fields["num-slaves"] != "2") {
        return false;
      }
    }
    return true;
  }

  int down_after_ms_;
  std::vector<uint16_t> ports_;
  std::vector<uint16_t> sentinel_ports_;
  std::vector<pid_t> pids_;
  std::vector<pid_t> sentinel_pids_;
  std::vector<pid_t> server_pids_;
};

// The writer: one connection, SET then WAIT 1 100, every 5 ms; reconnects after an error.
// `set_timeout`: 200 ms, as before; 2 s for a switchover, which holds writes (CLIENT PAUSE
// WRITE) rather than refusing them.
std::vector<Write> runWriter(System& system, std::atomic<bool>& stop, Duration set_timeout) {
  std::vector<Write> writes;
  std::optional<redis::Client> conn;
  uint16_t port = 0;
  int64_t i = 0;
  while (!stop.load()) {
    if (!conn || conn->broken()) {
      conn.reset();
      auto endpoint = system.writeEndpoint();
      if (!endpoint) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      auto c = redis::Client::connect(*endpoint, 200ms);
      if (!c) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      if (system.checkRole()) {
        auto role = c->command({"ROLE"}, 200ms);
        if (!role || role->type != redis::Reply::Type::Array || role->elements.empty() ||
            role->elements[0].str != "master") {
          std::this_thread::sleep_for(5ms);
          continue;
        }
      }
      auto p = infoField(*c, "server", "tcp_port");
      if (!p) {
        continue;
      }
      port = static_cast<uint16_t>(std::stoi(*p));
      conn = std::move(*c);
    }
    ++i;
    auto set = conn->command({"SET", "k" + std::to_string(i), std::to_string(i)}, set_timeout);
    bool ok = set && !set->isError();
    bool set_ok = ok;
    if (ok) {
      auto wait = conn->command({"WAIT", "1", "100"}, 300ms);
      ok = wait && wait->type == redis::Reply::Type::Integer && wait->integer >= 1;
    }
    if (set && set->isError()) {
      // READONLY or similar: a demoted master; reconnect as a client would after an error.
      conn.reset();
    }
    writes.push_back(Write{i, Clk::now(), ok, set_ok, port});
    std::this_thread::sleep_for(5ms);
  }
  return writes;
}

struct Round {
  double gap_ms = 0;
  std::optional<double> to_new_ms;
  int acked = 0;
  int lost = 0;
  int lost_any = 0;  // SET-acknowledged (WAIT or not) and missing
  int split = 0;     // WAIT-acknowledged by the old master after the new one's first
  int accepted = 0;  // direct SETs the thawed old master took after the new one's first
  bool ok = false;
};

// Reads every acknowledged key back from the final master: missing or wrong is lost. Counts
// the WAIT-acknowledged ones and, in `lost_any`, every SET-acknowledged one; -1: no master.
int countLost(System& system, const std::vector<Write>& writes, int& lost_any) {
  std::optional<redis::Client> c;
  auto deadline = Clk::now() + 30s;
  while (Clk::now() < deadline) {
    auto e = system.writeEndpoint();
    if (e) {
      auto conn = redis::Client::connect(*e, 500ms);
      if (conn) {
        auto role = conn->command({"ROLE"}, 500ms);
        if (role && role->type == redis::Reply::Type::Array && !role->elements.empty() &&
            role->elements[0].str == "master") {
          c = std::move(*conn);
          break;
        }
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  if (!c) {
    return -1;
  }
  std::vector<const Write*> acked;
  for (const auto& w : writes) {
    if (w.set_ok) {
      acked.push_back(&w);
    }
  }
  int lost = 0;
  lost_any = 0;
  for (size_t at = 0; at < acked.size(); at += 500) {
    std::vector<std::string> argv = {"MGET"};
    size_t end = std::min(acked.size(), at + 500);
    for (size_t k = at; k < end; ++k) {
      argv.push_back("k" + std::to_string(acked[k]->i));
    }
    auto r = c->command(argv, 5s);
    if (!r || r->type != redis::Reply::Type::Array || r->elements.size() != end - at) {
      return -1;
    }
    for (size_t k = at; k < end; ++k) {
      const auto& v = r->elements[k - at];
      if (v.type != redis::Reply::Type::String || v.str != std::to_string(acked[k]->i)) {
        lost += acked[k]->acked ? 1 : 0;
        ++lost_any;
      }
    }
  }
  return lost;
}

// Writes straight to the thawed old master for `span`: (accepted SETs, WAIT-acknowledged).
std::pair<std::vector<TimePoint>, std::vector<TimePoint>> probeOldMaster(uint16_t port,
                                                                         Duration span) {
  std::vector<TimePoint> accepted, acked;
  auto end = Clk::now() + span;
  std::optional<redis::Client> c;
  int n = 0;
  while (Clk::now() < end) {
    if (!c || c->broken()) {
      auto conn = redis::Client::connect(net::Endpoint{"127.0.0.1", port}, 200ms);
      if (!conn) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      c = std::move(*conn);
    }
    auto set = c->command({"SET", "sb" + std::to_string(++n), "1"}, 200ms);
    if (set && !set->isError()) {
      accepted.push_back(Clk::now());
      auto wait = c->command({"WAIT", "1", "100"}, 300ms);
      if (wait && wait->type == redis::Reply::Type::Integer && wait->integer >= 1) {
        acked.push_back(Clk::now());
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  return {accepted, acked};
}

std::optional<pid_t> serverPid(uint16_t port) {
  auto c = redis::Client::connect(net::Endpoint{"127.0.0.1", port}, 1s);
  if (!c) {
    return std::nullopt;
  }
  auto pid = infoField(*c, "server", "process_id");
  if (!pid) {
    return std::nullopt;
  }
  return static_cast<pid_t>(std::stoi(*pid));
}

Round runRound(System& system, const std::string& scenario, const std::string& dir) {
  Round round;
  if (!system.up(dir)) {
    system.down();
    return round;
  }
  uint16_t old_port = system.masterPort();
  auto old_pid = old_port ? serverPid(old_port) : std::nullopt;
  if (!old_pid) {
    std::fprintf(stderr, "%s: no master found\n", system.name().c_str());
    system.down();
    return round;
  }
  std::atomic<bool> stop{false};
  std::vector<Write> writes;
  Duration set_timeout = scenario == "switchover" ? Duration(2s) : Duration(200ms);
  std::thread writer([&] { writes = runWriter(system, stop, set_timeout); });
  std::this_thread::sleep_for(2s);

  TimePoint fault = Clk::now();
  std::vector<TimePoint> probe_accepted, probe_acked;
  if (scenario == "crash") {
    ::kill(*old_pid, SIGKILL);
  } else if (scenario == "freeze") {
    ::kill(*old_pid, SIGSTOP);
    std::this_thread::sleep_for(5s);
    ::kill(*old_pid, SIGCONT);
    std::tie(probe_accepted, probe_acked) = probeOldMaster(old_port, 3s);
  } else if (scenario == "partition") {
    auto cut = chaos::Isolation::start(system.masterProcesses(old_port));
    if (!cut) {
      std::fprintf(stderr, "partition: %s\n", cut.error().message.c_str());
    } else {
      std::this_thread::sleep_for(5s);
      (*cut)->heal();
      std::tie(probe_accepted, probe_acked) = probeOldMaster(old_port, 3s);
    }
  } else if (scenario == "manager") {
    system.killManager(old_port);
  } else if (scenario == "switchover") {
    if (!system.switchover()) {
      stop = true;
      writer.join();
      system.down();
      return round;
    }
  }
  auto observe_until = fault + system.observeFor(scenario);
  while (Clk::now() < observe_until) {
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  writer.join();

  // The gap: consecutive acknowledged writes, the later one after the fault.
  std::optional<TimePoint> last_before;
  std::optional<TimePoint> new_first;
  double gap = 0;
  for (const auto& w : writes) {
    if (!w.acked) {
      continue;
    }
    if (w.acked_at > fault) {
      TimePoint from = last_before.value_or(fault);
      gap = std::max(gap, ms(w.acked_at - from));
      if (w.port != old_port && !new_first) {
        new_first = w.acked_at;
        round.to_new_ms = ms(w.acked_at - fault);
      }
    }
    last_before = w.acked_at;
  }
  if (last_before && *last_before > fault) {
    gap = std::max(gap, ms(writes.back().acked_at - *last_before));
  } else {
    gap = ms(Clk::now() - fault);  // no acknowledged write after the fault at all
  }
  round.gap_ms = gap;
  for (const auto& w : writes) {
    round.acked += w.acked ? 1 : 0;
    if (new_first && w.acked && w.port == old_port && w.acked_at > *new_first) {
      ++round.split;
    }
  }
  if (new_first) {
    for (auto t : probe_acked) {
      round.split += t > *new_first ? 1 : 0;
    }
    for (auto t : probe_accepted) {
      round.accepted += t > *new_first ? 1 : 0;
    }
  }
  round.lost = countLost(system, writes, round.lost_any);
  round.ok = round.lost >= 0;
  // Stops every process of the round: rampart's members with their redis-servers (lab down),
  // Sentinel's servers and sentinels by PID (a thawed old master among them).
  system.down();
  return round;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) {
    return 0;
  }
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string stat(const std::vector<double>& v) {
  if (v.empty()) {
    return "—";
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.0f (%.0f–%.0f)", median(v), *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()));
  return buf;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    auto next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) {
      break;
    }
    at = next + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  int down_after = 1500;
  bool default_round = false;
  std::string scenarios_arg = "crash,freeze,manager";
  std::string dir;
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    if (arg == "--rounds" && a + 1 < argc) {
      rounds = std::atoi(argv[++a]);
    } else if (arg == "--scenarios" && a + 1 < argc) {
      scenarios_arg = argv[++a];
    } else if (arg == "--down-after" && a + 1 < argc) {
      down_after = std::atoi(argv[++a]);
    } else if (arg == "--default-round") {
      default_round = true;
    } else if (arg == "--dir" && a + 1 < argc) {
      dir = argv[++a];
    } else {
      std::fprintf(stderr,
                   "usage: redis_failover [--rounds N] "
                   "[--scenarios crash,freeze,manager,switchover,partition] "
                   "[--down-after MS] [--default-round] [--dir D]\n");
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/redis_failover.XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    dir = made != nullptr ? made : "";
  }
  std::error_code ec;
  if (dir.empty()) {
    std::perror("redis_failover: mkdtemp");
    return 2;
  }
  std::filesystem::create_directories(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms(0755), ec);
  if (ec) {
    std::fprintf(stderr, "redis_failover: --dir %s: %s\n", dir.c_str(), ec.message().c_str());
    return 2;
  }
  RampartSystem rampart_system(RAMPART_BINARY);
  SentinelSystem sentinel_system(down_after);
  std::vector<System*> systems = {&rampart_system, &sentinel_system};

  std::map<std::string, std::map<std::string, std::vector<Round>>> results;
  int seq = 0;
  auto scenarios = split(scenarios_arg, ',');
  if (std::find(scenarios.begin(), scenarios.end(), "partition") != scenarios.end()) {
    if (auto supported = chaos::isolationSupported(); !supported) {
      std::fprintf(stderr, "partition needs root, the net_cls cgroup and nft: %s\n",
                   supported.error().message.c_str());
      return 2;
    }
  }
  for (const auto& scenario : scenarios) {
    for (int r = 0; r < rounds; ++r) {
      // Alternate which system goes first, so neither always runs on the warmer machine.
      std::vector<System*> order = systems;
      if (r % 2) {
        std::reverse(order.begin(), order.end());
      }
      for (System* s : order) {
        std::string round_dir = dir + "/" + std::to_string(++seq);
        Round round = runRound(*s, scenario, round_dir);
        std::fprintf(stderr,
                     "%s %s round %d: gap %.0f ms, to new %s ms, acked %d, lost %d (any: %d), "
                     "split %d, old master accepted %d\n",
                     scenario.c_str(), s->name().c_str(), r + 1, round.gap_ms,
                     round.to_new_ms ? std::to_string(static_cast<int>(*round.to_new_ms)).c_str()
                                     : "-",
                     round.acked, round.lost, round.lost_any, round.split, round.accepted);
        results[scenario][s->name()].push_back(round);
      }
    }
  }
  if (default_round) {
    SentinelSystem defaults(30000);
    Round round = runRound(defaults, "crash", dir + "/" + std::to_string(++seq));
    std::fprintf(stderr, "crash sentinel (defaults) round 1: gap %.0f ms, lost %d\n",
                 round.gap_ms, round.lost);
    results["crash"][defaults.name()].push_back(round);
  }

  for (const auto& scenario : scenarios) {
    std::printf("\n### %s\n\n", scenario.c_str());
    std::printf(
        "| system | rounds | write gap ms, median (min–max) | fault → first ack on new master, "
        "ms | WAIT-acked writes | lost | SET-acked lost (WAIT or not) | old master acked after "
        "promotion | old master accepted SETs after promotion |\n"
        "|---|---|---|---|---|---|---|---|---|\n");
    std::map<std::string, double> gap_median;
    for (const auto& [name, rs] : results[scenario]) {
      std::vector<double> gaps, to_new, acked;
      int lost = 0, lost_any = 0, split_total = 0, accepted = 0, failed = 0;
      for (const auto& r : rs) {
        if (!r.ok) {
          ++failed;
          continue;
        }
        gaps.push_back(r.gap_ms);
        if (r.to_new_ms) {
          to_new.push_back(*r.to_new_ms);
        }
        acked.push_back(r.acked);
        lost += r.lost;
        lost_any += r.lost_any;
        split_total += r.split;
        accepted += r.accepted;
      }
      gap_median[name] = median(gaps);
      std::printf("| %s | %zu%s | %s | %s (%zu rounds) | %s | %d | %d | %d | %d |\n",
                  name.c_str(), rs.size(),
                  failed ? (" (" + std::to_string(failed) + " failed)").c_str() : "",
                  stat(gaps).c_str(), stat(to_new).c_str(), to_new.size(), stat(acked).c_str(),
                  lost, lost_any, split_total, accepted);
    }
    if (gap_median["rampart"] > 0 && gap_median.count("sentinel")) {
      // Above 1: rampart's outage is the shorter; below 1 (a sentinel's death costs Sentinel's
      // clients nothing), two decimals so the figure is not printed as 0.
      std::printf("\nMedian write gap, Sentinel / rampart: %.2f×\n",
                  gap_median["sentinel"] / gap_median["rampart"]);
    }
  }
  if (own_dir) {
    std::filesystem::remove_all(dir);
  }
  return 0;
}
