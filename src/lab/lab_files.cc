#include "lab/lab_files.h"

#include <signal.h>
#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "lab/etcd_cluster.h"
#include "runtime/process.h"

namespace rampart::lab {
namespace fs = std::filesystem;
using nlohmann::json;

Result<std::string> makeLabDir(const std::string& dir_in, int members, const std::string& command,
                               mode_t mode) {
  if (dir_in.empty()) {
    return fail(ErrorCode::InvalidArgument, "--dir is required");
  }
  if (members < 1 || members > 9) {
    return fail(ErrorCode::InvalidArgument, "--members must be 1..9");
  }
  std::string dir = fs::absolute(dir_in).lexically_normal().string();
  if (fs::exists(fs::path(dir) / "cluster.json")) {
    return fail(ErrorCode::FailedPrecondition, "a lab already runs in ", dir, " (", command,
                " down --dir ", dir, ")");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail(ErrorCode::Internal, "creating ", dir, ": ", ec.message());
  }
  ::chmod(dir.c_str(), mode);
  return dir;
}

std::string lastLines(const std::string& path, size_t count) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > count) {
      lines.pop_front();
    }
  }
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  return text;
}

std::string randomHex(size_t bytes) {
  std::random_device rd;
  std::string out;
  const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

Result<void> writeText(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) {
    return fail(ErrorCode::Internal, "cannot write ", path);
  }
  ::chmod(path.c_str(), mode);
  return ok();
}

int restStatus(const std::string& rest, const std::string& path) {
  auto r = runtime::runCommand(
      {"curl", "-s", "-o", "/dev/null", "-m", "1", "-w", "%{http_code}", "http://" + rest + path},
      std::chrono::seconds(3));
  return r.exit_code == 0 ? std::atoi(r.output.c_str()) : 0;
}

json readState(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "cluster.json");
  if (!in) {
    return json();
  }
  auto j = json::parse(in, nullptr, false);
  return j.is_discarded() ? json() : j;
}

bool stopIfOurs(pid_t pid, const std::string& marker, int signal, Duration grace) {
  if (pid <= 0 || !runtime::isAlive(pid) ||
      runtime::commandLine(pid).find(marker) == std::string::npos) {
    return false;
  }
  ::kill(pid, signal);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline && runtime::isAlive(pid) &&
         runtime::commandLine(pid).find(marker) != std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (runtime::isAlive(pid) && runtime::commandLine(pid).find(marker) != std::string::npos) {
    ::kill(pid, SIGKILL);
  }
  return true;
}

Result<LabEtcd> startLabEtcd(const std::string& dir, bool tls, json& state) {
  EtcdClusterOptions options;
  options.members = 3;
  options.dir = dir + "/etcd";
  options.die_with_parent = false;
  options.tls = tls;
  options.auth = tls;
  auto etcd = EtcdCluster::start(options);
  if (!etcd) {
    return fail(etcd.error());
  }
  if (auto w = (*etcd)->writeStateFile(); !w) {
    return fail(w.error());
  }
  (*etcd)->release();
  state["etcd"] = json::array();
  for (const auto& m : (*etcd)->members()) {
    state["etcd"].push_back({{"name", m.name}, {"pid", m.pid}, {"client", m.client.toString()}});
  }
  if (tls) {
    const net::TlsFiles& files = (*etcd)->clientTls();
    state["etcd_tls"] = {{"ca", files.ca}, {"cert", files.cert}, {"key", files.key}};
  }
  LabEtcd out;
  for (const auto& ep : (*etcd)->clientEndpoints()) {
    out.endpoints += (out.endpoints.empty() ? "" : ", ") + ep.toString();
  }
  out.cluster = std::move(*etcd);
  return out;
}

Result<json> startLabMember(const std::string& binary, const std::string& role,
                            const std::string& name, const std::string& member_dir, uint16_t port,
                            uint16_t rest_port, const std::string& config_file) {
  std::vector<std::string> start = {binary, role, "--config", config_file};
  std::string log_file = member_dir + "/manager.log";
  auto pid = runtime::spawn(runtime::SpawnOptions{start, log_file, "", false, true, ""});
  if (!pid) {
    return fail(pid.error());
  }
  return json{{"name", name},           {"host", "127.0.0.1"},
              {"port", port},           {"data_dir", member_dir + "/data"},
              {"manager_pid", *pid},    {"rest", "127.0.0.1:" + std::to_string(rest_port)},
              {"start_command", start}, {"log_file", log_file},
              {"config", config_file}};
}

std::string labVipYaml(const LabVip& vip, const std::string& backends) {
  std::ostringstream v;
  v << "  - name: " << vip.name << "\n"
    << "    listen: 127.0.0.1:" << vip.port << "\n"
    << "    policy: " << (vip.write ? "round-robin" : "least-connections") << "\n"
    << "    connect_timeout: 500ms\n"
    << "    on_down: close\n"
    << (vip.protocol.empty() ? "" : "    protocol: " + vip.protocol + "\n")
    << "    health: { type: " << vip.health_type << ", path: \"" << vip.health_path << "\""
    << vip.statuses
    << ", interval: 50ms, outage_interval: " << (vip.write ? "10ms" : "50ms")
    << ", timeout: 300ms, rise: 1, fall: 1, initial_state: down }\n"
    << "    backends:\n"
    << backends;
  return v.str();
}

std::string labBackendYaml(uint16_t port, uint16_t rest_port) {
  return "      - { address: 127.0.0.1:" + std::to_string(port) +
         ", check_port: " + std::to_string(rest_port) + " }\n";
}

int stopBalancerAndManagers(const std::string& dir, const json& state) {
  int stopped = 0;
  if (!state.is_object()) {
    return 0;
  }
  if (state.contains("lb_pid")) {
    stopped += stopIfOurs(state["lb_pid"].get<pid_t>(), dir + "/lb.yaml", SIGTERM,
                          std::chrono::seconds(5));
  }
  for (const auto& m : state.value("members", json::array())) {
    auto config = m.value("config", std::string());
    // A graceful stop: the manager shuts its server down and leaves the cluster.
    stopped += stopIfOurs(m.value("manager_pid", 0), config, SIGTERM, std::chrono::seconds(20));
  }
  return stopped;
}

int stopEtcdAndRetire(const std::string& dir) {
  int stopped = 0;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "etcd" / "cluster.json")) {
    if (auto etcd = stopFromStateFile(dir + "/etcd")) {
      stopped += *etcd;
    }
    fs::rename(fs::path(dir) / "etcd" / "cluster.json",
               fs::path(dir) / "etcd" / "cluster.json.down", ec);
  }
  if (fs::exists(fs::path(dir) / "cluster.json")) {
    fs::rename(fs::path(dir) / "cluster.json", fs::path(dir) / "cluster.json.down", ec);
  }
  return stopped;
}

}  // namespace rampart::lab
