#include "lab/etcd_cluster.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/log.h"
#include "net/http/client.h"
#include "runtime/process.h"

namespace rampart::lab {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

std::string url(const net::Endpoint& e) { return "http://" + e.toString(); }

int64_t millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string tail(const std::string& file, size_t max_bytes) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

}  // namespace

Result<void> EtcdCluster::waitHealthy(const net::Endpoint& client, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    asio::io_context io;
    net::http::Client http(io.get_executor());
    auto probe = [&]() -> asio::awaitable<Result<net::http::Response>> {
      // Bound to a local first: a braced temporary inside co_await is destroyed twice by g++ 12.
      net::http::Request request{"GET", "/health", {}, {}};
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
      co_return co_await http.fetch(client, std::move(request), deadline);
    };
    auto future = asio::co_spawn(io, probe(), asio::use_future);
    io.run();
    auto response = future.get();
    if (response && response->status == 200 &&
        response->body.find("\"true\"") != std::string::npos) {
      return ok();
    }
    last = response ? ("HTTP " + std::to_string(response->status) + " " + response->body)
                    : response.error().toString();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fail(ErrorCode::DeadlineExceeded, "etcd at ", client.toString(), " not healthy within ",
              formatDuration(timeout), ": ", last);
}

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::start(EtcdClusterOptions options) {
  if (options.dir.empty()) {
    return fail(ErrorCode::InvalidArgument, "etcd lab: a directory is required");
  }
  if (options.members < 1 || options.members > 9) {
    return fail(ErrorCode::InvalidArgument, "etcd lab: --members must be 1..9, got ",
                std::to_string(options.members));
  }
  if (options.election < options.heartbeat * 5) {
    return fail(ErrorCode::InvalidArgument,
                "etcd lab: election timeout must be at least 5 x heartbeat (etcd's rule)");
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    return fail(ErrorCode::Unavailable, "create ", options.dir, ": ", ec.message());
  }
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster(options));
  for (int i = 0; i < options.members; ++i) {
    EtcdMember m;
    m.name = "etcd" + std::to_string(i + 1);
    auto client_port = net::pickFreePort(options.host);
    auto peer_port = net::pickFreePort(options.host);
    if (!client_port || !peer_port) {
      return fail(client_port ? peer_port.error() : client_port.error());
    }
    m.client = {options.host, *client_port};
    m.peer = {options.host, *peer_port};
    m.data_dir = (fs::path(options.dir) / (m.name + ".data")).string();
    m.log_file = (fs::path(options.dir) / (m.name + ".log")).string();
    if (!cluster->initial_cluster_.empty()) {
      cluster->initial_cluster_ += ",";
    }
    cluster->initial_cluster_ += m.name + "=" + url(m.peer);
    cluster->members_.push_back(std::move(m));
  }
  for (size_t i = 0; i < cluster->members_.size(); ++i) {
    if (auto r = cluster->launch(i); !r) {
      return fail(r.error());
    }
  }
  for (const auto& m : cluster->members_) {
    if (auto r = waitHealthy(m.client, options.start_timeout); !r) {
      return fail(ErrorCode::Unavailable, "etcd member ", m.name, " did not start: ",
                  r.error().message, "\n--- ", m.log_file, " (tail) ---\n",
                  tail(m.log_file, 1500));
    }
  }
  log::get("lab")->info("etcd cluster up members={} endpoints={}", cluster->members_.size(),
                        cluster->endpointList());
  return cluster;
}

Result<void> EtcdCluster::launch(size_t i) {
  auto& m = members_[i];
  runtime::SpawnOptions spawn;
  spawn.argv = {options_.etcd_binary,
                "--name", m.name,
                "--data-dir", m.data_dir,
                "--listen-client-urls", url(m.client),
                "--advertise-client-urls", url(m.client),
                "--listen-peer-urls", url(m.peer),
                "--initial-advertise-peer-urls", url(m.peer),
                "--initial-cluster", initial_cluster_,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", "rampart-lab-" + std::to_string(members_[0].client.port),
                "--heartbeat-interval", std::to_string(millis(options_.heartbeat)),
                "--election-timeout", std::to_string(millis(options_.election)),
                "--snapshot-count", "10000",
                "--log-level", "warn"};
  spawn.log_file = m.log_file;
  spawn.die_with_parent = options_.die_with_parent;
  spawn.new_session = !options_.die_with_parent;
  auto pid = runtime::spawn(spawn);
  if (!pid) {
    return fail(pid.error());
  }
  m.pid = *pid;
  return ok();
}

EtcdCluster::~EtcdCluster() {
  if (!released_) {
    stop();
  }
}

std::vector<net::Endpoint> EtcdCluster::clientEndpoints() const {
  std::vector<net::Endpoint> out;
  for (const auto& m : members_) {
    out.push_back(m.client);
  }
  return out;
}

std::string EtcdCluster::endpointList() const {
  std::string out;
  for (const auto& m : members_) {
    if (!out.empty()) {
      out += ",";
    }
    out += url(m.client);
  }
  return out;
}

Result<void> EtcdCluster::signalMember(size_t i, int signal) {
  if (i >= members_.size() || members_[i].pid == 0) {
    return fail(ErrorCode::FailedPrecondition, "etcd member ", std::to_string(i),
                " is not running");
  }
  if (::kill(members_[i].pid, signal) != 0) {
    return fail(ErrorCode::Internal, "kill ", std::to_string(members_[i].pid), " failed");
  }
  if (signal == SIGKILL || signal == SIGTERM) {
    runtime::waitExit(members_[i].pid, std::chrono::seconds(10));
    members_[i].pid = 0;
  }
  return ok();
}

Result<void> EtcdCluster::restartMember(size_t i) {
  if (i >= members_.size() || members_[i].pid != 0) {
    return fail(ErrorCode::FailedPrecondition, "etcd member ", std::to_string(i),
                " is still running");
  }
  if (auto r = launch(i); !r) {
    return r;
  }
  return waitHealthy(members_[i].client, options_.start_timeout);
}

void EtcdCluster::stop() {
  for (auto& m : members_) {
    if (m.pid) {
      runtime::terminate(m.pid, std::chrono::seconds(5));
      m.pid = 0;
    }
  }
}

Result<void> EtcdCluster::writeStateFile() const {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : members_) {
    members.push_back({{"name", m.name},
                       {"pid", m.pid},
                       {"client_url", url(m.client)},
                       {"peer_url", url(m.peer)},
                       {"data_dir", m.data_dir},
                       {"log_file", m.log_file}});
  }
  nlohmann::json state = {{"endpoints", endpointList()}, {"members", members}};
  auto path = fs::path(options_.dir) / "cluster.json";
  std::ofstream out(path);
  out << state.dump(2) << "\n";
  if (!out) {
    return fail(ErrorCode::Unavailable, "write ", path.string(), " failed");
  }
  return ok();
}

Result<int> stopFromStateFile(const std::string& dir) {
  auto path = fs::path(dir) / "cluster.json";
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::NotFound, "no etcd lab in ", dir, " (", path.string(),
                " not found)");
  }
  auto state = nlohmann::json::parse(in, nullptr, false);
  if (state.is_discarded() || !state.contains("members")) {
    return fail(ErrorCode::InvalidArgument, path.string(), ": not a valid lab state file");
  }
  int stopped = 0;
  for (const auto& m : state["members"]) {
    pid_t pid = m.value("pid", 0);
    std::string data_dir = m.value("data_dir", "");
    if (pid <= 0 || !runtime::isAlive(pid)) {
      continue;
    }
    // Never signal a PID that now belongs to some other process.
    if (runtime::commandLine(pid).find(data_dir) == std::string::npos) {
      continue;
    }
    if (runtime::terminate(pid, std::chrono::seconds(5))) {
      ++stopped;
    }
  }
  return stopped;
}

}  // namespace rampart::lab
