#pragma once
// The load balancer's configuration: virtual servers, each a listen address spreading TCP
// connections over backends, with its health check. Read from YAML (errors name file:line and the
// field) or built from lvscare-compatible flags. A config is validated as a whole before it is
// used, so a reload with a bad file changes nothing.
//
//   mode: user                       # | kernel: nftables DNAT instead of relaying (root)
//   admin: { listen: 127.0.0.1:9090 }
//   workers: 2                       # data-path threads; default: one per core
//   virtual_servers:
//     - name: api
//       listen: 127.0.0.100:6443
//       vip_interface: rampart0      # optional, root: add the listen IP to this (dummy) interface
//       policy: round-robin          # | least-connections | source-hash
//       connect_timeout: 1s
//       idle_timeout: 1h
//       on_down: keep                # | close: cut established connections of a Down backend
//                                    # | close_stalled: cut those the Down backend has sent
//                                    #   nothing on for `stalled_after` (a frozen or cut-off
//                                    #   server), keep the ones it still serves
//       stalled_after: 500ms         # close_stalled: silence that counts as stalled
//       retry_unanswered: false      # true: a connection whose backend fails (closes, resets,
//                                    # is cut as stalled) before sending its first byte moves
//                                    # to the next backend with the client's bytes so far (TLS)
//       passive_ejection: true       # a failed client connect marks the backend Down at once
//                                    # (with health type none: for health.interval)
//       protocol: tcp                # | postgres: may connect clients early to a promoting member
//       promotion_wait: 3s           # postgres: longest a client's statements wait for it
//       health:
//         type: http                 # | https | tcp | postgres | redis | none
//         role: primary              # postgres: pass only as primary (or replica);
//                                    # redis: master (default) or replica, by ROLE
//         tls: { ca: ca.pem, cert: lb.pem, key: lb-key.pem, server_name: m1 }
//                                    # https only, every key optional: cert/key are presented as
//                                    # the client certificate (a backend that requires one, e.g.
//                                    # a pg REST API with rest.tls.client_auth); with ca the
//                                    # backend's certificate is verified (name: server_name, else
//                                    # its address), without it not (lvscare's default)
//         path: /healthz
//         status: 200-399            # accepted status range
//         extra_statuses: [401]      # lvscare's --health-status
//         promoting_status: 202      # http, protocol postgres: the member is being promoted
//         draining_status: 307       # http: up for open connections only (a leader handing over)
//         interval: 1s
//         outage_interval: 1s        # while no backend is up: find the next one sooner
//         timeout: 1s
//         rise: 1
//         fall: 2
//         initial_state: unknown     # | down: no traffic until the first check passes
//       backends:
//         - { address: 127.0.0.11:6443, weight: 1, max_connections: 0, check_port: 0 }
//       # or, instead of `backends`, follow an etcd prefix (one key per backend):
//       # backends_from: { etcd: { endpoints: [http://127.0.0.1:2379], prefix: /rampart/lb/api/ } }

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "health/probe.h"
#include "lb/picker.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::lb {

enum class OnDown { Keep, Close, CloseStalled };

struct HealthConfig {
  bool enabled = true;
  health::ProbeSpec probe;
  Duration interval = std::chrono::seconds(1);
  // While no backend of the virtual server is up (an outage, e.g. the write VIP between the old
  // primary's demotion and the new one's promotion), every backend is checked at this shorter
  // interval: the checks cost little and last only as long as the outage, and each one sooner
  // shortens it. Defaults to `interval`.
  Duration outage_interval = std::chrono::seconds(1);
  int rise = 1;
  int fall = 2;
  // Down: backends take no connection until their first check passes (role checks: a member
  // must be confirmed primary first). Unknown: they take traffic from the start (lvscare).
  bool start_down = false;
};

struct BackendConfig {
  net::Endpoint address;
  uint32_t weight = 1;
  int64_t max_connections = 0;
  // Health checks go to this port of the backend's host instead of its traffic port (HAProxy's
  // `check port`): e.g. traffic to PostgreSQL's 5432, the role check to the manager's REST API.
  uint16_t check_port = 0;  // 0: the traffic port
};

// Backends followed from an etcd prefix instead of listed in the file (see etcd_source.h).
struct EtcdBackendSource {
  std::vector<net::Endpoint> endpoints;
  std::string prefix;
  Duration request_timeout = std::chrono::seconds(2);
  net::TlsFiles tls;          // etcd.tls
  std::string user;           // etcd.user: a role that may only read `prefix`
  std::string password_file;  // etcd.password_file
};

struct VirtualServerConfig {
  std::string name;
  net::Endpoint listen;
  Policy policy = Policy::RoundRobin;
  Duration connect_timeout = std::chrono::seconds(1);
  Duration idle_timeout = std::chrono::hours(1);
  OnDown on_down = OnDown::Keep;
  // on_down: close_stalled. A connection to a Down backend is cut once the backend has sent
  // nothing on it for this long: a frozen or cut-off server answers nothing, and a client (an
  // HTTP/2 client multiplexes every request on one connection) would otherwise wait for its own
  // timeout — kubectl's default has none. One the backend still answers on (a watch, a long
  // answer) is left to finish, so a flapping check cannot cut live traffic.
  Duration stalled_after = std::chrono::milliseconds(500);
  // A connection whose backend fails before sending a single byte (killed: closed or reset;
  // frozen or cut off: cut as stalled) goes on with the next backend, which is sent the client's
  // bytes so far (at most 16 KiB; beyond that, or once the backend has answered, it is closed as
  // before). For TLS services this loses nothing: a server that has sent nothing has not even
  // answered the ClientHello, so it cannot have processed a request. Not for plain protocols
  // where a server may act on a request before answering (an HTTP POST): it could run twice.
  bool retry_unanswered = false;
  bool passive_ejection = true;
  HealthConfig health;
  std::vector<BackendConfig> backends;
  std::optional<EtcdBackendSource> backends_from;  // when set, `backends` come from etcd
  std::string vip_interface;  // non-empty: put the listen address on this interface (root)
  // protocol: postgres. While no backend is up but one answers its check with
  // `health.promoting_status` (a member being promoted), a new client is connected to that one
  // at once: its connection and authentication overlap the promotion, and its statements are
  // held (PgStartupGate) until the member passes its check as primary, for at most
  // `promotion_wait`. A held client whose member stops promoting without becoming primary is
  // disconnected; none of its statements reached the server.
  bool postgres = false;
  Duration promotion_wait = std::chrono::seconds(3);
};

// user: a user-space proxy (workers relay bytes). kernel: nftables DNAT (see nft.h).
enum class Mode { User, Kernel };

struct LbConfig {
  Mode mode = Mode::User;
  net::Endpoint admin{"127.0.0.1", 0};
  net::TlsFiles admin_tls;  // admin.tls: HTTPS for the admin server (see runtime/daemon.h)
  int workers = 0;  // 0: one per core
  std::vector<VirtualServerConfig> virtual_servers;
};

Result<LbConfig> parseLbConfig(const config::Section& root);
Result<LbConfig> loadLbConfigFile(const std::string& path);
// Whole-config checks: unique names and listen addresses, at least one backend each.
Result<void> validate(const LbConfig& config);

// lvscare's flags: --vs, --rs (repeatable), --health-path, --health-schem, --health-status,
// --health-timeout, --interval, --scheduler, --iface.
struct LvscareFlags {
  std::string vs;
  std::vector<std::string> rs;
  std::string health_path = "/healthz";
  std::string health_scheme = "https";  // lvscare's default
  std::vector<int> health_status;
  std::string health_timeout = "1s";
  std::string interval = "1s";
  std::string scheduler = "rr";
  std::string admin = "127.0.0.1:0";
  std::string iface;  // lvscare's --iface: put the VIP on this (dummy) interface
  std::string mode = "user";
};
Result<LbConfig> fromLvscareFlags(const LvscareFlags& flags);

}  // namespace rampart::lb
