#pragma once
// EtcdCluster: real etcd members (Debian's etcd-server) on loopback for tests, benchmarks, drills
// and `rampart etcd up`. Members get free ports, their own data dirs under `dir`, and lab timing:
// heartbeat 10 ms, election 100 ms by default. etcd raises any lease TTL to at least
// 1.5 × the election timeout and rounds up to whole seconds, and it collects expired leases every
// 500 ms, so with these settings a 1 s lease is gone 1-1.5 s after its last renewal.
//
// With `tls`, start() first makes a lab PKI in <dir>/pki (store/../net/pki.h): a CA, a server and
// peer certificate per member (SANs: its IP address and localhost), `client.pem` (no common
// name: what Rampart presents to etcd's JSON gateway, which refuses client certificates with a
// CN once auth is on) and `root.pem` (CN root: for etcdctl, which etcd maps to the root user).
// Members then serve https:// client and peer URLs with --client-cert-auth. With `auth` too,
// enableAuth() creates the root user (password in pki/root.password, 0600) and turns etcd auth
// on; addUser() makes least-privilege users for components.
//
// start() blocks until every member reports healthy (or fails, naming the member and its log).
// The destructor stops every member it started. Not thread-safe.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::lab {

struct EtcdClusterOptions {
  int members = 3;
  std::string dir;                  // required: data dirs, logs and cluster.json go here
  std::string host = "127.0.0.1";
  Duration heartbeat = std::chrono::milliseconds(10);
  Duration election = std::chrono::milliseconds(100);
  bool die_with_parent = true;      // false for `rampart etcd up`, which outlives the command
  Duration start_timeout = std::chrono::seconds(30);
  std::string etcd_binary = "etcd";
  bool tls = false;   // https:// with client certificates (a lab PKI in <dir>/pki)
  bool auth = false;  // etcd users and roles (needs tls); root's password in pki/root.password
};

// One key range a user's role may use: every key under `prefix`.
struct EtcdPermission {
  std::string prefix;
  bool write = false;  // false: read only
};

struct EtcdMember {
  std::string name;
  net::Endpoint client;
  net::Endpoint peer;
  std::string data_dir;
  std::string log_file;
  pid_t pid = 0;  // 0 while stopped
};

class EtcdCluster {
 public:
  static Result<std::unique_ptr<EtcdCluster>> start(EtcdClusterOptions options);
  ~EtcdCluster();

  const std::vector<EtcdMember>& members() const { return members_; }
  std::vector<net::Endpoint> clientEndpoints() const;
  std::string endpointList() const;  // "http://127.0.0.1:p1,http://127.0.0.1:p2,..." (https://)

  // With tls: the CA and the CN-less client certificate Rampart's components use.
  const net::TlsFiles& clientTls() const { return client_tls_; }
  // With tls: <dir>/pki.
  std::string pkiDir() const;
  // With auth: the root user's password file.
  std::string rootPasswordFile() const;
  // With auth: a user `name` whose password goes to `password_file` (0600) and whose role (also
  // `name`) may use exactly `permissions`. Blocking.
  Result<void> addUser(const std::string& name, const std::string& password_file,
                       const std::vector<EtcdPermission>& permissions);

  // Sends `signal` to member i (SIGKILL: the process is reaped and marked stopped).
  Result<void> signalMember(size_t i, int signal);
  // Starts a stopped member again with its data and waits until it is healthy.
  Result<void> restartMember(size_t i);
  // Stops every member (SIGTERM, then SIGKILL).
  void stop();
  // Leaves the members running when this object goes (for `rampart etcd up`).
  void release() { released_ = true; }

  // cluster.json in the lab dir, read by `rampart etcd down` and `status`.
  Result<void> writeStateFile() const;

  // Waits until the member answers GET /health with {"health":"true"} or `timeout` passes.
  static Result<void> waitHealthy(const net::Endpoint& client, Duration timeout,
                                  const net::TlsFiles& tls = {});

 private:
  explicit EtcdCluster(EtcdClusterOptions options) : options_(std::move(options)) {}
  Result<void> launch(size_t i);
  Result<void> makePki();
  Result<void> enableAuth();
  // POSTs a JSON body to etcd's gateway at the first member (as root once auth is on).
  Result<std::string> adminCall(const std::string& path, const std::string& body);

  EtcdClusterOptions options_;
  std::vector<EtcdMember> members_;
  std::string initial_cluster_;
  bool released_ = false;
  net::TlsFiles client_tls_;
  std::string root_token_;
};

// Stops the members recorded in `dir`/cluster.json (only processes whose command line names that
// dir, so a recycled PID is never signalled). Returns how many were stopped.
Result<int> stopFromStateFile(const std::string& dir);

}  // namespace rampart::lab
