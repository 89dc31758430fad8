#pragma once
// A kubeconfig file as kubectl reads it: the current context's cluster (server URL, CA as a
// file or inline data, tls-server-name) and user (bearer token, token file, client certificate
// and key as files or inline data), and the context's namespace. Relative paths are relative to
// the kubeconfig's directory. Errors name the file and the field
// ("kubeconfig: /x/admin.conf: users[admin].user: no token or client certificate").
// Blocking (reads files): call at start-up.

#include <string>

#include "base/result.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::kube {

struct KubeConfig {
  std::string server;  // "https://127.0.0.1:6443"
  net::Endpoint endpoint;
  bool https = true;
  net::TlsFiles tls;  // CA (file or PEM), client certificate, server name
  std::string token;  // bearer token (also from tokenFile)
  std::string ns = "default";
};

// `context` empty: the file's current-context.
Result<KubeConfig> loadKubeConfig(const std::string& path, const std::string& context = "");
Result<KubeConfig> parseKubeConfig(const std::string& text, const std::string& origin,
                                   const std::string& base_dir, const std::string& context = "");

// Writes a kubeconfig with one cluster (`server`, the CA's PEM inline), one user (a bearer
// token) and one context, current, named `name`; 0600, created afresh (the token is a secret).
Result<void> writeKubeConfig(const std::string& path, const std::string& server,
                             const std::string& ca_pem, const std::string& token,
                             const std::string& name = "rampart");

}  // namespace rampart::kube
