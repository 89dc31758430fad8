#pragma once
// The `etcd:` block every role's YAML config has, read by one parser so that the keys and their
// checks are the same everywhere:
//   etcd:
//     endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]
//     prefix: /rampart/pg              # only for roles that have one
//     request_timeout: 500ms
//     tls: { ca: /etc/rampart/etcd-ca.pem, cert: member.pem, key: member-key.pem }
//     user: pg-main-a                  # etcd auth (the role decides what it may touch)
//     password_file: /etc/rampart/etcd-password   # mode 0600, owned by the service user
// Errors name file:line:col and the field. Blocking (stats files); call at start-up or reload.

#include <string>

#include "config/config.h"
#include "store/etcd_store.h"

namespace rampart::store {

struct EtcdSection {
  EtcdOptions options;
  std::string prefix;
};

// Reads `etcd` (the section itself) on top of `defaults`. `with_prefix`: the `prefix` key is
// allowed (and must start with '/'). Endpoints may be absent (callers that require them say so).
Result<EtcdSection> parseEtcdSection(const config::Section& etcd, EtcdSection defaults,
                                     bool with_prefix);

}  // namespace rampart::store
