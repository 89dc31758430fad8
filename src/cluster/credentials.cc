#include "cluster/credentials.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/rand.h>

#include "kube/kubeconfig.h"
#include "net/pki.h"
#include "runtime/secret_file.h"

namespace rampart::cluster {
namespace fs = std::filesystem;
namespace {

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::NotFound, "cannot read ", path);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> randomToken() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return fail(ErrorCode::Internal, "no random bytes for a token (OpenSSL RAND_bytes failed)");
  }
  static const char* hex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  return token;
}

// The token of `user` in a kube-apiserver token file ("token,user,uid,groups" lines).
std::string tokenOf(const std::string& csv, const std::string& user) {
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(',');
    if (first == std::string::npos) {
      continue;
    }
    auto second = line.find(',', first + 1);
    if (line.substr(first + 1, second - first - 1) == user) {
      return line.substr(0, first);
    }
  }
  return "";
}

constexpr const char* kAdminUser = "admin";
constexpr const char* kControllerUser = "system:kube-controller-manager";
constexpr const char* kNodeUser = "system:node-agent";

}  // namespace

std::string pkiDir(const std::string& dir) { return dir + "/pki"; }
std::string caFile(const std::string& dir) { return pkiDir(dir) + "/ca.pem"; }
std::string tokenFile(const std::string& dir) { return dir + "/tokens.csv"; }
std::string adminKubeconfig(const std::string& dir) { return dir + "/kubeconfig"; }
std::string nodeDir(const std::string& dir, const std::string& node) {
  return dir + "/nodes/" + node;
}
std::string serverCertFile(const std::string& dir, const std::string& node) {
  return pkiDir(dir) + "/apiserver-" + node + ".pem";
}
std::string serverKeyFile(const std::string& dir, const std::string& node) {
  return pkiDir(dir) + "/apiserver-" + node + "-key.pem";
}
std::string componentKubeconfig(const std::string& dir, const std::string& node,
                                const std::string& component) {
  return nodeDir(dir, node) + "/" + component + ".kubeconfig";
}

Result<Tokens> ensureClusterCredentials(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(pkiDir(dir), ec);
  ::chmod(pkiDir(dir).c_str(), 0700);
  if (!exists(caFile(dir))) {
    if (auto r = net::makeCa(pkiDir(dir), "rampart-cluster-ca"); !r) {
      return fail(r.error());
    }
  }
  if (!exists(tokenFile(dir))) {
    std::string csv;
    for (auto [user, uid, group] :
         {std::tuple{kAdminUser, "admin", "system:masters"},
          std::tuple{kControllerUser, "controller", "system:masters"},
          std::tuple{kNodeUser, "nodes", "system:nodes"}}) {
      auto token = randomToken();
      if (!token) {
        return fail(token.error());
      }
      csv += *token + "," + user + "," + uid + ",\"" + group + "\"\n";
    }
    if (auto r = runtime::writeSecretFile(tokenFile(dir), csv); !r) {
      return fail(r.error());
    }
  }
  return readTokens(dir);
}

Result<Tokens> readTokens(const std::string& dir) {
  auto csv = readText(tokenFile(dir));
  if (!csv) {
    return fail(csv.error());
  }
  Tokens tokens{tokenOf(*csv, kAdminUser), tokenOf(*csv, kControllerUser),
                tokenOf(*csv, kNodeUser)};
  if (tokens.admin.empty() || tokens.controller.empty() || tokens.node.empty()) {
    return fail(ErrorCode::InvalidArgument, tokenFile(dir), ": expected tokens for ", kAdminUser,
                ", ", kControllerUser, " and ", kNodeUser);
  }
  return tokens;
}

Result<void> ensureServerCertificate(const std::string& dir, const NodeSpec& node) {
  if (exists(serverCertFile(dir, node.name)) && exists(serverKeyFile(dir, node.name))) {
    return ok();
  }
  net::CertificateSpec spec;
  spec.common_name = node.name;
  spec.dns_names = {node.name, "localhost", "kubernetes", "kubernetes.default",
                    "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"};
  spec.ip_addresses = {nodeAddress(node.ordinal), kApiVip, "127.0.0.1", kKubernetesServiceIp};
  return net::issueCertificate(pkiDir(dir), spec, serverCertFile(dir, node.name),
                               serverKeyFile(dir, node.name));
}

std::string nodeCertFile(const std::string& dir, const std::string& node) {
  return pkiDir(dir) + "/node-" + node + ".pem";
}
std::string nodeKeyFile(const std::string& dir, const std::string& node) {
  return pkiDir(dir) + "/node-" + node + "-key.pem";
}

Result<void> ensureNodeCertificate(const std::string& dir, const NodeSpec& node) {
  if (exists(nodeCertFile(dir, node.name)) && exists(nodeKeyFile(dir, node.name))) {
    return ok();
  }
  net::CertificateSpec spec;
  spec.common_name = "system:node:" + node.name;
  spec.dns_names = {node.name};
  spec.ip_addresses = {nodeAddress(node.ordinal)};
  return net::issueCertificate(pkiDir(dir), spec, nodeCertFile(dir, node.name),
                               nodeKeyFile(dir, node.name));
}

std::string etcdCertFile(const std::string& dir, const std::string& node) {
  return pkiDir(dir) + "/etcd-" + node + ".pem";
}
std::string etcdKeyFile(const std::string& dir, const std::string& node) {
  return pkiDir(dir) + "/etcd-" + node + "-key.pem";
}

net::TlsFiles etcdClientTls(const std::string& dir) {
  net::TlsFiles tls;
  tls.ca = caFile(dir);
  tls.cert = pkiDir(dir) + "/etcd-client.pem";
  tls.key = pkiDir(dir) + "/etcd-client-key.pem";
  return tls;
}

Result<void> ensureEtcdCertificates(const std::string& dir, const NodeSpec& node) {
  if (!exists(etcdCertFile(dir, node.name)) || !exists(etcdKeyFile(dir, node.name))) {
    net::CertificateSpec spec;
    spec.common_name = node.name;
    spec.dns_names = {node.name, "localhost"};
    spec.ip_addresses = {nodeAddress(node.ordinal), "127.0.0.1"};
    if (auto r = net::issueCertificate(pkiDir(dir), spec, etcdCertFile(dir, node.name),
                                       etcdKeyFile(dir, node.name));
        !r) {
      return r;
    }
  }
  auto client = etcdClientTls(dir);
  if (!exists(client.cert) || !exists(client.key)) {
    net::CertificateSpec spec;  // no common name, no SANs: a client only
    spec.server_auth = false;
    return net::issueCertificate(pkiDir(dir), spec, client.cert, client.key);
  }
  return ok();
}

Result<void> writeKubeconfigs(const std::string& dir, const ClusterState& state,
                              const Tokens& tokens) {
  auto ca = readText(caFile(dir));
  if (!ca) {
    return fail(ca.error());
  }
  std::string gateway = "https://127.0.0.1:" + std::to_string(state.gateway_port);
  if (auto r = kube::writeKubeConfig(adminKubeconfig(dir), gateway, *ca, tokens.admin,
                                     state.name);
      !r) {
    return r;
  }
  std::string vip = "https://" + std::string(kApiVip) + ":" + std::to_string(kApiPort);
  for (const auto& n : state.nodes) {
    std::error_code ec;
    fs::create_directories(nodeDir(dir, n.spec.name), ec);
    if (auto r = kube::writeKubeConfig(componentKubeconfig(dir, n.spec.name, "agent"), vip, *ca,
                                       tokens.node, state.name);
        !r) {
      return r;
    }
    if (n.spec.role == Role::Master) {
      if (auto r = kube::writeKubeConfig(componentKubeconfig(dir, n.spec.name, "controller"), vip,
                                         *ca, tokens.controller, state.name);
          !r) {
        return r;
      }
    }
  }
  return ok();
}

}  // namespace rampart::cluster
