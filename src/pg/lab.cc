#include "pg/lab.h"

#include <signal.h>
#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "lab/etcd_cluster.h"
#include "lab/lab_files.h"
#include "net/endpoint.h"
#include "net/pki.h"
#include "pg/postgres.h"
#include "pq/conninfo.h"
#include "runtime/process.h"
#include "runtime/secret_file.h"

namespace rampart::pg {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// How the lab reaches the members' REST APIs: over verified HTTPS with the lab's client
// certificate (rest.tls with client_auth), or plain HTTP without TLS (--no-tls).
struct RestAccess {
  net::TlsFiles tls;  // {ca, cert, key}; empty: plain HTTP

  std::string url(const std::string& rest, const std::string& path) const {
    return (tls.ca.empty() ? "http://" : "https://") + rest + path;
  }
  // curl's arguments for a GET of `path` (after curl's own options).
  std::vector<std::string> curl(std::vector<std::string> args, const std::string& rest,
                                const std::string& path) const {
    if (!tls.ca.empty()) {
      args.insert(args.end(), {"--cacert", tls.ca, "--cert", tls.cert, "--key", tls.key});
    }
    args.push_back(url(rest, path));
    return args;
  }
};

// GET <rest><path> with a short deadline: the status code, or 0.
int restStatus(const RestAccess& access, const std::string& rest, const std::string& path) {
  auto r = runtime::runCommand(
      access.curl({"curl", "-s", "-o", "/dev/null", "-m", "1", "-w", "%{http_code}"}, rest, path),
      std::chrono::seconds(3));
  return r.exit_code == 0 ? std::atoi(r.output.c_str()) : 0;
}

}  // namespace

using lab::lastLines;
using lab::randomHex;
using lab::readState;
using lab::stopIfOurs;
using lab::writeText;

Result<json> labUp(const LabOptions& options) {
  // The postgres user must reach its data directory below, but no one else may list what is in
  // here (cluster.json and the member configs hold the password and the REST token).
  auto made = lab::makeLabDir(options.dir, options.members, "rampart pg lab", 0711);
  if (!made) {
    return fail(made.error());
  }
  const std::string& dir = *made;
  std::string binary = options.binary.empty() ? runtime::selfExecutable() : options.binary;
  std::error_code ec;

  json state;
  auto started = lab::startLabEtcd(dir, options.tls, state);
  if (!started) {
    return fail(started.error());
  }
  auto& etcd = started->cluster;
  std::string password = randomHex(12);
  std::string token = randomHex(16);
  std::string member_token = randomHex(16);  // failsafe only (pg/rest_auth.h)
  std::string cluster_name = "lab";

  state["kind"] = "rampart";
  state["dir"] = dir;
  state["user"] = "postgres";
  state["password"] = password;
  state["database"] = "postgres";
  state["token"] = token;
  const net::TlsFiles& etcd_tls = etcd->clientTls();
  const std::string& endpoints = started->endpoints;
  // Written early so that `lab down` can clean up a lab whose start failed half-way.
  // cluster.json holds the password and the token: created 0600, never readable by others.
  auto save = [&]() {
    return runtime::writeSecretFile(dir + "/cluster.json", state.dump(2) + "\n");
  };
  // PostgreSQL's TLS: a lab CA, and for each member a certificate for 127.0.0.1 (CN = its
  // name), so that replication runs with sslmode=verify-full. With tls the same certificate
  // serves the member's REST API (HTTPS only, client certificates required: rest.tls with
  // client_auth), and its CN is the identity a failsafe vouch must come from; everything else
  // that calls the REST APIs (the lb's checks, `rampart chaos`, this command) presents the lab's
  // client certificate (CN rampart-lab-client), written into cluster.json as rest_tls.
  std::string pg_ca = dir + "/pg-ca";
  fs::create_directories(pg_ca, ec);
  ::chmod(pg_ca.c_str(), 0700);
  if (auto ca = net::makeCa(pg_ca, "rampart pg lab CA"); !ca) {
    return fail(ca.error());
  }
  RestAccess rest_access;
  if (options.tls) {
    net::CertificateSpec client;
    client.common_name = "rampart-lab-client";
    client.server_auth = false;
    rest_access.tls = {pg_ca + "/ca.pem", dir + "/rest-client.pem", dir + "/rest-client-key.pem"};
    if (auto issued =
            net::issueCertificate(pg_ca, client, rest_access.tls.cert, rest_access.tls.key);
        !issued) {
      return fail(issued.error());
    }
    state["rest_tls"] = {
        {"ca", rest_access.tls.ca}, {"cert", rest_access.tls.cert}, {"key", rest_access.tls.key}};
  }
  state["members"] = json::array();
  std::string first_rest;  // m1's REST address, asked for /cluster once the lab runs
  std::string lb_write_backends;
  std::string lb_read_backends;
  for (int i = 1; i <= options.members; ++i) {
    std::string name = "m" + std::to_string(i);
    std::string mdir = dir + "/" + name;
    fs::create_directories(mdir, ec);
    ::chmod(mdir.c_str(), 0711);
    auto pg_port = net::pickFreePort("127.0.0.1");
    auto rest_port = net::pickFreePort("127.0.0.1");
    if (!pg_port || !rest_port) {
      return fail(ErrorCode::Unavailable, "no free port");
    }
    std::string cert = mdir + "/pg.pem";
    std::string key = mdir + "/pg-key.pem";
    net::CertificateSpec spec;
    spec.common_name = name;
    spec.ip_addresses = {"127.0.0.1"};
    if (auto issued = net::issueCertificate(pg_ca, spec, cert, key); !issued) {
      return fail(issued.error());
    }
    std::string config_file = mdir + "/member.yaml";
    std::string etcd_access;
    if (options.tls) {
      // Least privilege: this member's etcd user may use only its cluster's keys.
      std::string user = "pg-" + cluster_name + "-" + name;
      std::string password_file = mdir + "/etcd.password";
      if (auto r =
              etcd->addUser(user, password_file, {{"/rampart/pg/" + cluster_name + "/", true}});
          !r) {
        return fail(r.error());
      }
      etcd_access = ", tls: { ca: " + etcd_tls.ca + ", cert: " + etcd_tls.cert +
                    ", key: " + etcd_tls.key + " }, user: " + user +
                    ", password_file: " + password_file;
    }
    std::string rest_tls;
    if (options.tls) {
      rest_tls = ", tls: { cert: " + cert + ", key: " + key + ", ca: " + pg_ca +
                 "/ca.pem, client_auth: true }";
    }
    std::ostringstream yaml;
    yaml << "cluster: " << cluster_name << "\n"
         << "name: " << name << "\n"
         << "etcd: { endpoints: [" << endpoints << "]" << etcd_access << " }\n"
         << "postgres:\n"
         << "  listen: 127.0.0.1:" << *pg_port << "\n"
         << "  data_dir: " << mdir << "/data\n"
         << "  parameters: { shared_buffers: 32MB, max_connections: '50' }\n"
         << "  tls: { cert: " << cert << ", key: " << key << ", ca: " << pg_ca << "/ca.pem }\n"
         << "  sslmode: verify-full\n"
         << "rest: { listen: 127.0.0.1:" << *rest_port << ", token: " << token
         << ", member_token: " << member_token << rest_tls << " }\n"
         << "credentials:\n"
         << "  superuser: { user: postgres, password: '" << password << "' }\n"
         << "  replication: { user: replicator, password: '" << password << "' }\n";
    if (auto w = runtime::writeSecretFile(config_file, yaml.str()); !w) {
      return fail(w.error());
    }
    auto member = lab::startLabMember(binary, "pg", name, mdir, *pg_port, *rest_port, config_file);
    if (!member) {
      return fail(member.error());
    }
    std::string rest = (*member)["rest"];  // host:port
    if (i == 1) {
      first_rest = rest;
    }
    if (options.tls) {
      (*member)["rest"] = "https://" + rest;
    }
    std::string log_file = (*member)["log_file"];
    state["members"].push_back(std::move(*member));
    std::string backend = lab::labBackendYaml(*pg_port, *rest_port);
    lb_write_backends += backend;
    lb_read_backends += backend;
    (void)save();
    // Start the first member alone, so it bootstraps, then the others clone from it.
    if (i == 1) {
      auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
      while (restStatus(rest_access, rest, "/primary") != 200) {
        if (std::chrono::steady_clock::now() > deadline) {
          return fail(ErrorCode::DeadlineExceeded, "member m1 did not bootstrap; see ", log_file);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  auto write_port = net::pickFreePort("127.0.0.1");
  auto read_port = net::pickFreePort("127.0.0.1");
  if (!write_port || !read_port) {
    return fail(ErrorCode::Unavailable, "no free port");
  }
  // Health checks every 50 ms on the members' REST API, every 10 ms while the write VIP has no
  // member up (a failover): /primary answers 200 only on the writable leader before its fencing
  // deadline, so the write VIP never routes a statement to anything else. The write VIP speaks
  // postgres: a member being promoted answers 202 and takes new clients at once, their
  // statements held until its 200; a leader handing over answers 307 and keeps its open sessions
  // but gets no new client (lb/config.h).
  std::string check_tls;
  if (options.tls) {
    check_tls = ", tls: { ca: " + rest_access.tls.ca + ", cert: " + rest_access.tls.cert +
                ", key: " + rest_access.tls.key + " }";
  }
  auto vs = [&check_tls, scheme = options.tls ? "https" : "http"](
                const char* name, uint16_t port, const char* path, const std::string& backends) {
    bool write = std::string(name) == "write";
    return lab::labVipYaml(
        {name, port, path, write, write ? "postgres" : "",
         std::string(write ? ", status: 200, promoting_status: 202, draining_status: 307" : "") +
             check_tls,
         scheme},
        backends);
  };
  std::string lb_yaml = "virtual_servers:\n" +
                        vs("write", *write_port, "/primary?promoting", lb_write_backends) +
                        vs("read", *read_port, "/replica", lb_read_backends);
  std::string lb_file = dir + "/lb.yaml";
  if (auto w = writeText(lb_file, lb_yaml, 0644); !w) {
    return fail(w.error());
  }
  auto lb_pid = runtime::spawn(runtime::SpawnOptions{
      {binary, "lb", "--config", lb_file}, dir + "/lb.log", "", false, true, ""});
  if (!lb_pid) {
    return fail(lb_pid.error());
  }
  state["lb_pid"] = *lb_pid;
  state["write_vip"] = "127.0.0.1:" + std::to_string(*write_port);
  state["read_vip"] = "127.0.0.1:" + std::to_string(*read_port);
  state["switchover_command"] = {binary,
                                 "pg",
                                 "switchover",
                                 "--config",
                                 state["members"][0]["config"].get<std::string>(),
                                 "--to",
                                 "{candidate}"};
  (void)save();

  // Ready: a write through the write VIP works, and every replica streams in the sync set.
  auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
  std::string last = "not checked";
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!runtime::isAlive(*lb_pid)) {
      return fail(ErrorCode::Unavailable, "the lab's load balancer exited; ", dir,
                  "/lb.log ends with:\n", lastLines(dir + "/lb.log", 10));
    }
    auto conninfo = pq::Conninfo()
                        .set("host", "127.0.0.1")
                        .set("port", *write_port)
                        .set("user", "postgres")
                        .set("dbname", "postgres")
                        .set("password", password)
                        .raw("connect_timeout=2")
                        .str();
    if (!conninfo) {
      return fail(conninfo.error());
    }
    auto conn = PgConn::connect(*conninfo, std::chrono::seconds(2));
    if (!conn) {
      last = "write VIP: " + conn.error().message;
      continue;
    }
    auto rows = conn->query("SELECT pg_is_in_recovery()", std::chrono::seconds(2));
    if (!rows || rows->empty() || (*rows)[0][0].value_or("") != "f") {
      last = "write VIP does not reach a primary";
      continue;
    }
    auto cluster =
        runtime::runCommand(rest_access.curl({"curl", "-s", "-m", "1"}, first_rest, "/cluster"),
                            std::chrono::seconds(3));
    auto j = json::parse(cluster.output, nullptr, false);
    if (j.is_discarded() || !j.contains("members")) {
      last = "no /cluster answer";
      continue;
    }
    int streaming = 0;
    int in_sync = 0;
    for (const auto& m : j["members"]) {
      streaming += m.value("state", "") == "streaming";
      in_sync += m.value("sync", false);
    }
    if (streaming == options.members - 1 && in_sync == options.members - 1) {
      if (auto w = save(); !w) {
        return fail(w.error());
      }
      return state;
    }
    last = std::to_string(streaming) + " of " + std::to_string(options.members - 1) +
           " replicas streaming, " + std::to_string(in_sync) + " in the synchronous set";
  }
  return fail(ErrorCode::DeadlineExceeded, "the lab in ", dir, " did not become ready: ", last,
              " (logs in ", dir, "/m*/manager.log and ", dir, "/lb.log)");
}

Result<int> labDown(const std::string& dir_in) {
  std::string dir = fs::absolute(dir_in).lexically_normal().string();
  auto state = readState(dir);
  int stopped = lab::stopBalancerAndManagers(dir, state);
  if (state.is_object()) {
    for (const auto& m : state.value("members", json::array())) {
      // A postgres left by a killed manager (it dies with its manager; this is belt and braces).
      auto data_dir = m.value("data_dir", std::string());
      std::ifstream pidfile(data_dir + "/postmaster.pid");
      pid_t pid = 0;
      if (pidfile >> pid) {
        stopped += stopIfOurs(pid, data_dir, SIGQUIT, std::chrono::seconds(5));
      }
    }
  }
  return stopped + lab::stopEtcdAndRetire(dir);
}

}  // namespace rampart::pg
