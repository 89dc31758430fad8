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
#include "net/pki.h"
#include "runtime/process.h"
#include "runtime/secret_file.h"

namespace rampart::lab {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

std::string url(const net::Endpoint& e) { return e.url(); }

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) {
      out.push_back(kAlphabet[(n >> shift) & 63]);
    }
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

// The first key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

// 32 random bytes as hex: a lab password.
Result<std::string> randomPassword() {
  std::ifstream random("/dev/urandom", std::ios::binary);
  unsigned char bytes[24];
  if (!random.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    return fail(ErrorCode::Internal, "cannot read /dev/urandom");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += {kHex[b >> 4], kHex[b & 15]};
  }
  return out;
}

// One blocking request to etcd's gateway.
Result<net::http::Response> fetchBlocking(const net::Endpoint& endpoint, net::http::Request request,
                                          const net::TlsFiles& tls, Duration timeout) {
  asio::io_context io;
  net::http::Client http(io.get_executor(), tls);
  auto call = [&]() -> asio::awaitable<Result<net::http::Response>> {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    co_return co_await http.fetch(endpoint, std::move(request), deadline);
  };
  auto future = asio::co_spawn(io, call(), asio::use_future);
  io.run();
  return future.get();
}

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

Result<void> EtcdCluster::waitHealthy(const net::Endpoint& client, Duration timeout,
                                      const net::TlsFiles& tls) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    asio::io_context io;
    net::http::Client http(io.get_executor(), tls);
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
  if (options.auth && !options.tls) {
    return fail(ErrorCode::InvalidArgument, "etcd lab: auth needs tls");
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
    m.client = {options.host, *client_port, options.tls};
    m.peer = {options.host, *peer_port, options.tls};
    m.data_dir = (fs::path(options.dir) / (m.name + ".data")).string();
    m.log_file = (fs::path(options.dir) / (m.name + ".log")).string();
    if (!cluster->initial_cluster_.empty()) {
      cluster->initial_cluster_ += ",";
    }
    cluster->initial_cluster_ += m.name + "=" + url(m.peer);
    cluster->members_.push_back(std::move(m));
  }
  if (options.tls) {
    if (auto r = cluster->makePki(); !r) {
      return fail(r.error());
    }
  }
  for (size_t i = 0; i < cluster->members_.size(); ++i) {
    if (auto r = cluster->launch(i); !r) {
      return fail(r.error());
    }
  }
  for (const auto& m : cluster->members_) {
    if (auto r = waitHealthy(m.client, options.start_timeout, cluster->client_tls_); !r) {
      return fail(ErrorCode::Unavailable, "etcd member ", m.name, " did not start: ",
                  r.error().message, "\n--- ", m.log_file, " (tail) ---\n",
                  tail(m.log_file, 1500));
    }
  }
  if (options.auth) {
    if (auto r = cluster->enableAuth(); !r) {
      return fail(r.error());
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
                // A member cut off from the others must not depose their leader when it comes
                // back (its campaigns raise no term): etcd 3.5's default, off in Debian's 3.4.
                "--pre-vote",
                // etcd checks a password with bcrypt at every authentication: at its default
                // cost (10) that took 0.2-0.6 s on this loaded 2-core lab host, longer than a
                // member's 500 ms request timeout, so a restarted manager could not
                // authenticate for up to a minute. The lab hashes with the lowest cost.
                "--bcrypt-cost", "4",
                "--log-level", "warn"};
  if (options_.tls) {
    std::string pki = pkiDir() + "/";
    for (const char* flag : {"--client-cert-auth", "--peer-client-cert-auth"}) {
      spawn.argv.push_back(flag);
    }
    for (auto [flag, file] : {std::pair{"--trusted-ca-file", pki + "ca.pem"},
                              std::pair{"--peer-trusted-ca-file", pki + "ca.pem"},
                              std::pair{"--cert-file", pki + m.name + ".pem"},
                              std::pair{"--key-file", pki + m.name + "-key.pem"},
                              std::pair{"--peer-cert-file", pki + m.name + ".pem"},
                              std::pair{"--peer-key-file", pki + m.name + "-key.pem"}}) {
      spawn.argv.push_back(flag);
      spawn.argv.push_back(file);
    }
  }
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
  return waitHealthy(members_[i].client, options_.start_timeout, client_tls_);
}

std::string EtcdCluster::pkiDir() const { return (fs::path(options_.dir) / "pki").string(); }

std::string EtcdCluster::rootPasswordFile() const { return pkiDir() + "/root.password"; }

Result<void> EtcdCluster::makePki() {
  std::string pki = pkiDir();
  std::error_code ec;
  fs::create_directories(pki, ec);
  fs::permissions(pki, fs::perms::owner_all, ec);
  if (ec) {
    return fail(ErrorCode::Unavailable, "create ", pki, ": ", ec.message());
  }
  if (!fs::exists(pki + "/ca.pem")) {
    if (auto r = net::makeCa(pki, "Rampart lab etcd CA"); !r) {
      return r;
    }
  }
  for (const auto& m : members_) {
    net::CertificateSpec spec;
    spec.common_name = m.name;
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {options_.host};
    if (auto r = net::issueCertificate(pki, spec, pki + "/" + m.name + ".pem",
                                       pki + "/" + m.name + "-key.pem");
        !r) {
      return r;
    }
  }
  net::CertificateSpec client;  // no CN: see the header
  client.server_auth = false;
  if (auto r = net::issueCertificate(pki, client, pki + "/client.pem", pki + "/client-key.pem");
      !r) {
    return r;
  }
  net::CertificateSpec root;
  root.common_name = "root";
  root.server_auth = false;
  if (auto r = net::issueCertificate(pki, root, pki + "/root.pem", pki + "/root-key.pem"); !r) {
    return r;
  }
  client_tls_ = {pki + "/ca.pem", pki + "/client.pem", pki + "/client-key.pem", ""};
  return ok();
}

Result<std::string> EtcdCluster::adminCall(const std::string& path, const std::string& body) {
  std::string last;
  for (int attempt = 0; attempt < 50; ++attempt) {
    for (const auto& m : members_) {
      if (m.pid == 0) {
        continue;
      }
      net::http::Request request{"POST", path, {}, body};
      if (!root_token_.empty()) {
        request.headers.emplace_back("Authorization", root_token_);
      }
      auto response =
          fetchBlocking(m.client, std::move(request), client_tls_, std::chrono::seconds(2));
      if (response && response->status == 200) {
        return response->body;
      }
      last = response ? "HTTP " + std::to_string(response->status) + " " + response->body
                      : response.error().message;
      if (response && response->status < 500) {
        return fail(ErrorCode::FailedPrecondition, "etcd ", path, ": ", last);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail(ErrorCode::Unavailable, "etcd ", path, ": ", last);
}

Result<void> EtcdCluster::enableAuth() {
  auto password = randomPassword();
  if (!password) {
    return fail(password.error());
  }
  if (auto r = runtime::writeSecretFile(rootPasswordFile(), *password + "\n"); !r) {
    return r;
  }
  using nlohmann::json;
  for (auto [path, body] :
       {std::pair{"/v3/auth/user/add", json{{"name", "root"}, {"password", *password}}},
        std::pair{"/v3/auth/role/add", json{{"name", "root"}}},
        std::pair{"/v3/auth/user/grant", json{{"user", "root"}, {"role", "root"}}},
        std::pair{"/v3/auth/enable", json::object()}}) {
    if (auto r = adminCall(path, body.dump()); !r) {
      return fail(r.error());
    }
  }
  auto answer =
      adminCall("/v3/auth/authenticate", json{{"name", "root"}, {"password", *password}}.dump());
  if (!answer) {
    return fail(answer.error());
  }
  auto token = json::parse(*answer, nullptr, false);
  if (token.is_discarded() || !token.contains("token") || !token["token"].is_string()) {
    return fail(ErrorCode::Internal, "etcd lab: no root token in ", *answer);
  }
  root_token_ = token["token"].get<std::string>();
  return ok();
}

Result<void> EtcdCluster::addUser(const std::string& name, const std::string& password_file,
                                  const std::vector<EtcdPermission>& permissions) {
  if (!options_.auth) {
    return fail(ErrorCode::FailedPrecondition, "etcd lab: addUser needs auth");
  }
  auto password = randomPassword();
  if (!password) {
    return fail(password.error());
  }
  if (auto r = runtime::writeSecretFile(password_file, *password + "\n"); !r) {
    return r;
  }
  using nlohmann::json;
  std::vector<std::pair<std::string, json>> calls = {
      {"/v3/auth/user/add", {{"name", name}, {"password", *password}}},
      {"/v3/auth/role/add", {{"name", name}}},
  };
  for (const auto& p : permissions) {
    json perm = {{"permType", p.write ? "READWRITE" : "READ"},
                 {"key", base64(p.prefix)},
                 {"range_end", base64(prefixEnd(p.prefix))}};
    calls.push_back({"/v3/auth/role/grant", {{"name", name}, {"perm", perm}}});
  }
  calls.push_back({"/v3/auth/user/grant", {{"user", name}, {"role", name}}});
  for (const auto& [path, body] : calls) {
    if (auto r = adminCall(path, body.dump()); !r) {
      return fail(r.error());
    }
  }
  return ok();
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
  if (options_.tls) {
    state["tls"] = {{"ca", client_tls_.ca},
                    {"cert", client_tls_.cert},
                    {"key", client_tls_.key},
                    {"root_cert", pkiDir() + "/root.pem"},
                    {"root_key", pkiDir() + "/root-key.pem"}};
  }
  if (options_.auth) {
    state["root_password_file"] = rootPasswordFile();
  }
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
