#pragma once
// The campaigner role (`rampart elect`): a process that competes for leadership of one key and
// holds it while alive. It is the smallest complete user of the store layer (lease keep-alive,
// election, watch, endpoint failover) and the subject of the election drill and benchmark.
//
// Lifecycle: grant a lease (TTL `ttl`) and keep it alive; campaign; when elected, print an
// `elected` event and serve /readyz 200; if the lease is lost (etcd unreachable past the
// deadline), print `lost` and campaign again with a new lease. SIGTERM resigns (deleting the key
// at once, so a successor takes over within milliseconds) and revokes the lease.
// Events go to stdout as JSON lines with CLOCK_MONOTONIC timestamps (mono_ns).

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "net/endpoint.h"
#include "net/tls.h"
#include "runtime/daemon.h"

namespace rampart::elect {

struct CampaignerConfig {
  std::vector<net::Endpoint> endpoints;
  Duration request_timeout = std::chrono::seconds(2);
  net::TlsFiles tls;          // etcd.tls
  std::string user;           // etcd.user
  std::string password_file;  // etcd.password_file
  std::string key = "/rampart/election/leader";
  std::string name;
  std::chrono::seconds ttl{1};
  net::Endpoint admin{"127.0.0.1", 0};
  net::TlsFiles admin_tls;  // admin.tls: HTTPS for the admin server
  std::string log_level;  // empty: keep the command line's
};

// Reads a campaigner config file:
//   etcd:     { endpoints: [..], request_timeout: 2s, tls: {..}, user: .., password_file: .. }
//   election: { key: /x, name: a, ttl: 1s }
//   admin:    { listen: 127.0.0.1:0 }
//   log:      { level: info }
Result<CampaignerConfig> parseCampaignerConfig(const config::Section& root);
// Checks what a config must have once flags and file are merged.
Result<void> validate(const CampaignerConfig& config);

// Runs the campaigner on `daemon` until SIGTERM/SIGINT; returns the exit code.
int runCampaigner(runtime::Daemon& daemon, CampaignerConfig config);

}  // namespace rampart::elect
