#pragma once
// A cluster's credentials, made once by `rampart up` and kept in its directory:
//   pki/ca.pem, pki/ca-key.pem          the cluster CA (OpenSSL, net/pki.h)
//   pki/apiserver-<node>.pem (+ -key)   each master's serving certificate; SANs: the node's
//                                         address, the API VIP, 127.0.0.1 (the kubectl gateway),
//                                         the `kubernetes` Service's IP and DNS names
//   pki/node-<node>.pem (+ -key)        each agent's node API certificate (SANs: its address
//                                         and name); the API servers verify it and present
//                                         their own as client certificates to it
//   pki/etcd-<node>.pem (+ -key)        each master's etcd member: server and peer certificate
//                                         (SANs: its address); members require client
//                                         certificates from clients and peers alike
//   pki/etcd-client.pem (+ -key)        what the API servers and the cluster commands present
//                                         to etcd (no common name: etcd's JSON gateway refuses
//                                         a named one once auth is on)
//   tokens.csv                          kube-apiserver's token file: the admin (system:masters),
//                                         the controllers and the node agents
//   kubeconfig                          the admin's, through the gateway on the host's loopback
//   nodes/<node>/{agent,controller}.kubeconfig   components' own, through the node's API VIP
// Secrets are written 0600. What exists is kept (a restart reuses the same CA and tokens).
// Blocking file I/O.

#include <string>

#include "base/result.h"
#include "cluster/state.h"
#include "net/tls.h"

namespace rampart::cluster {

struct Tokens {
  std::string admin;
  std::string controller;
  std::string node;
};

std::string pkiDir(const std::string& dir);
std::string caFile(const std::string& dir);
std::string tokenFile(const std::string& dir);
std::string adminKubeconfig(const std::string& dir);
std::string nodeDir(const std::string& dir, const std::string& node);
std::string serverCertFile(const std::string& dir, const std::string& node);
std::string serverKeyFile(const std::string& dir, const std::string& node);
std::string componentKubeconfig(const std::string& dir, const std::string& node,
                                const std::string& component);  // "agent" | "controller"

// The CA and tokens.csv, made if missing; the tokens read back from the file.
Result<Tokens> ensureClusterCredentials(const std::string& dir);
// The tokens of an existing cluster's tokens.csv.
Result<Tokens> readTokens(const std::string& dir);
// The master's serving certificate, made if missing.
Result<void> ensureServerCertificate(const std::string& dir, const NodeSpec& node);
// The node API's certificate of every node's agent, made if missing.
Result<void> ensureNodeCertificate(const std::string& dir, const NodeSpec& node);
std::string nodeCertFile(const std::string& dir, const std::string& node);
std::string nodeKeyFile(const std::string& dir, const std::string& node);
// The etcd member's certificate of a master, and the shared etcd client certificate, made if
// missing.
Result<void> ensureEtcdCertificates(const std::string& dir, const NodeSpec& node);
std::string etcdCertFile(const std::string& dir, const std::string& node);
std::string etcdKeyFile(const std::string& dir, const std::string& node);
// What a client presents to the cluster's etcd (CA, client certificate and key).
net::TlsFiles etcdClientTls(const std::string& dir);
// The admin kubeconfig (for the gateway port) and every node's component kubeconfigs.
Result<void> writeKubeconfigs(const std::string& dir, const ClusterState& state,
                              const Tokens& tokens);

}  // namespace rampart::cluster
