#pragma once
// The configuration of one PostgreSQL member manager (`rampart pg --config member.yaml`):
//
//   cluster: demo                          # members of one cluster share this name
//   name: m1                               # unique in the cluster; also the replication slot
//   etcd: { endpoints: [127.0.0.1:2379], prefix: /rampart/pg, request_timeout: 500ms,
//           tls: {ca: .., cert: .., key: ..}, user: .., password_file: .. }  (store/etcd_config.h)
//   postgres:
//     listen: 127.0.0.1:5433               # where clients and replicas connect
//     data_dir: /var/lib/rampart/m1/data
//     bin_dir: /usr/lib/postgresql/15/bin
//     parameters: { shared_buffers: 64MB } # extra postgresql.conf settings
//     pg_hba: ["hostssl all all 10.0.0.0/8 scram-sha-256"]  # written before Rampart's own lines
//     hba_networks: [0.0.0.0/0]            # where Rampart's own lines admit clients and replicas
//                                          # from (scram-sha-256); [] leaves that to pg_hba
//     tls: { cert: pg.pem, key: pg-key.pem, ca: ca.pem }  # ssl = on; replication lines hostssl
//     sslmode: verify-full                 # to the other members (replication, pg_basebackup,
//                                          # pg_rewind); default verify-full with tls.ca, else
//                                          # prefer
//   rest:
//     listen: 127.0.0.1:8008
//     token_file: /etc/rampart/operator.token  # or token: the operator credential (operator calls)
//     member_token_file: /etc/rampart/member.token  # or member_token: shared by the members, only
//                                          # for failsafe (ha.failsafe is off without it)
//     tls: { cert: rest.pem, key: rest-key.pem, ca: ca.pem, client_auth: true }
//                                          # HTTPS only (plain HTTP gets no answer); the members'
//                                          # calls to each other (failsafe) and `rampart pg
//                                          # restart|reinit` verify the server's certificate
//                                          # against ca and present cert as their client
//                                          # certificate; client_auth (needs ca): every client
//                                          # must present a certificate ca signed, and a vouch is
//                                          # accepted only from a certificate whose common name is
//                                          # the leader's (so give each member's certificate its
//                                          # name as CN, and its REST address as a SAN)
//   credentials:                           # or `credentials_file: secrets.yaml` (same keys)
//     superuser:   { user: postgres,   password: ... }
//     replication: { user: replicator, password: ... }
//   ha:
//     leader_timeout: 1s        # no heartbeat for this long: the leader is gone
//     heartbeat_interval: 100ms # the leader rewrites its key this often
//     fence_margin: 300ms       # the leader fences itself this long before others may take over
//     loop_interval: 100ms      # status refresh and reconciliation
//     synchronous_mode: true    # on by default; only members of the sync set may be promoted
//     synchronous_mode_strict: false
//     synchronous_node_count: 1
//     maximum_lag_on_failover: 1048576   # bytes (asynchronous mode)
//     failsafe: true            # etcd down: a primary that reaches every member keeps serving
//   tags: { nofailover: false, priority: 1 }
//
// Errors name file:line and the field. Passwords are never logged or printed.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "net/endpoint.h"
#include "pg/validate.h"
#include "store/etcd_store.h"

namespace rampart::pg {

struct Credential {
  std::string user;
  std::string password;
};

struct HaSettings {
  Duration leader_timeout = std::chrono::seconds(1);
  Duration heartbeat_interval = std::chrono::milliseconds(100);
  Duration fence_margin = std::chrono::milliseconds(300);
  Duration loop_interval = std::chrono::milliseconds(100);
  bool synchronous_mode = true;
  bool synchronous_mode_strict = false;
  int synchronous_node_count = 1;
  int64_t maximum_lag_on_failover = 1 << 20;
  bool failsafe = true;
};

// PostgreSQL's server certificate, its key and the CA: the server's ssl_ca_file and what this
// member verifies the other members' certificates against (sslrootcert).
struct PgTls {
  std::string cert;
  std::string key;
  std::string ca;
};

struct MemberConfig {
  std::string cluster;
  std::string name;
  std::vector<net::Endpoint> etcd_endpoints;
  std::string etcd_prefix = "/rampart/pg";
  Duration etcd_request_timeout = std::chrono::milliseconds(500);
  net::TlsFiles etcd_tls;          // etcd.tls
  std::string etcd_user;           // etcd.user (etcd auth; a role limited to keyPrefix())
  std::string etcd_password_file;  // etcd.password_file
  net::Endpoint listen;
  std::string data_dir;
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  std::map<std::string, std::string> parameters;
  std::vector<std::string> pg_hba;                     // the operator's lines, first
  std::vector<std::string> hba_networks{"0.0.0.0/0"};  // Rampart's own host lines
  PgTls tls;
  std::string sslmode = "prefer";  // for connections to the other members
  net::Endpoint rest{"127.0.0.1", 8008};
  std::string token;         // operator credential; empty: operator REST calls are refused
  std::string member_token;  // member credential (failsafe only); empty: failsafe is off
  // rest.tls: cert/key (set: the REST API is HTTPS only), ca (what the other members' REST
  // certificates are verified against). server_name is unused.
  net::TlsFiles rest_tls;
  bool rest_client_auth = false;  // rest.tls.client_auth: clients need a certificate ca signed
  Credential superuser{"postgres", ""};
  Credential replication{"replicator", ""};
  HaSettings ha;
  bool nofailover = false;
  int priority = 1;
  std::string os_user = "postgres";  // postgres runs as this user when the manager is root

  // Where this member's keys live: <prefix>/<cluster>/
  std::string keyPrefix() const { return etcd_prefix + "/" + cluster + "/"; }
  // Everything the store needs to reach etcd as this member.
  store::EtcdOptions etcdOptions() const;
  // The REST API's TLS (rest.tls): whether it serves HTTPS, what its server presents and
  // requires, and what a caller of a member's REST API (a member, the CLI) uses.
  bool restTls() const { return !rest_tls.cert.empty(); }
  net::TlsFiles restServerTls() const;  // {cert, key, ca only with client_auth}; {} without TLS
  net::TlsFiles restClientTls() const;  // {ca, cert, key}; {} without TLS
  // This member's REST address as published in etcd and called by others: "host:port", or
  // "https://host:port" with rest.tls; a REST API listening on every interface is published with
  // postgres.listen's host.
  std::string restAddress() const;
};

Result<MemberConfig> parseMemberConfig(const config::Section& root);
Result<MemberConfig> loadMemberConfig(const std::string& path);

}  // namespace rampart::pg
