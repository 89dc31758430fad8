#include "kube/kubeconfig.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "runtime/secret_file.h"
#include "store/etcd_codec.h"

namespace rampart::kube {
namespace {

Result<std::string> readText(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::InvalidArgument, what, ": cannot read ", path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string str(const YAML::Node& node, const char* key) {
  auto value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

// The entry of `list` (clusters, users, contexts) named `name`.
YAML::Node named(const YAML::Node& list, const std::string& name) {
  if (list && list.IsSequence()) {
    for (const auto& item : list) {
      if (item.IsMap() && str(item, "name") == name) {
        return item;
      }
    }
  }
  return YAML::Node();
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return path;
  }
  return base_dir + "/" + path;
}

}  // namespace

Result<KubeConfig> parseKubeConfig(const std::string& text, const std::string& origin,
                                   const std::string& base_dir, const std::string& context) {
  auto error = [&](const std::string& where, const std::string& what) {
    return fail(ErrorCode::InvalidArgument, "kubeconfig: ", origin, ": ", where, ": ", what);
  };
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::InvalidArgument, "kubeconfig: ", origin, ":",
                std::to_string(e.mark.line + 1), ":", std::to_string(e.mark.column + 1), ": ",
                e.msg);
  }
  if (!root.IsMap()) {
    return error("(top)", "not a kubeconfig (expected a mapping)");
  }
  std::string context_name = context.empty() ? str(root, "current-context") : context;
  if (context_name.empty()) {
    return error("current-context", "not set and no context given");
  }
  YAML::Node ctx = named(root["contexts"], context_name);
  if (!ctx || !ctx["context"].IsMap()) {
    return error("contexts", "no context named \"" + context_name + "\"");
  }
  std::string cluster_name = str(ctx["context"], "cluster");
  std::string user_name = str(ctx["context"], "user");
  KubeConfig config;
  if (auto ns = str(ctx["context"], "namespace"); !ns.empty()) {
    config.ns = ns;
  }
  YAML::Node cluster = named(root["clusters"], cluster_name);
  if (!cluster || !cluster["cluster"].IsMap()) {
    return error("clusters", "no cluster named \"" + cluster_name + "\"");
  }
  const YAML::Node c = cluster["cluster"];
  std::string where = "clusters[" + cluster_name + "].cluster";
  config.server = str(c, "server");
  std::string rest;
  if (config.server.starts_with("https://")) {
    rest = config.server.substr(8);
  } else if (config.server.starts_with("http://")) {
    config.https = false;
    rest = config.server.substr(7);
  } else {
    return error(where + ".server", "\"" + config.server + "\" is not an http(s):// URL");
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.find(':') == std::string::npos) {
    rest += config.https ? ":443" : ":80";
  }
  auto endpoint = net::parseEndpoint(rest);
  if (!endpoint) {
    return error(where + ".server", endpoint.error().message);
  }
  config.endpoint = *endpoint;
  config.endpoint.tls = config.https;
  config.tls.ca = resolve(base_dir, str(c, "certificate-authority"));
  if (auto data = str(c, "certificate-authority-data"); !data.empty() && config.tls.ca.empty()) {
    auto pem = store::etcd::base64Decode(data);
    if (!pem) {
      return error(where + ".certificate-authority-data", "not base64");
    }
    config.tls.ca_pem = *pem;
  }
  config.tls.server_name = str(c, "tls-server-name");
  if (str(c, "insecure-skip-tls-verify") == "true") {
    return error(where + ".insecure-skip-tls-verify",
                 "not supported: give the cluster's CA (certificate-authority[-data])");
  }
  YAML::Node user = named(root["users"], user_name);
  if (!user || !user["user"].IsMap()) {
    return error("users", "no user named \"" + user_name + "\"");
  }
  const YAML::Node u = user["user"];
  where = "users[" + user_name + "].user";
  config.token = str(u, "token");
  if (auto file = str(u, "tokenFile"); config.token.empty() && !file.empty()) {
    auto token = readText(resolve(base_dir, file), where + ".tokenFile");
    if (!token) {
      return fail(token.error());
    }
    config.token = *token;
    while (!config.token.empty() && (config.token.back() == '\n' || config.token.back() == ' ')) {
      config.token.pop_back();
    }
  }
  config.tls.cert = resolve(base_dir, str(u, "client-certificate"));
  config.tls.key = resolve(base_dir, str(u, "client-key"));
  for (auto [field, target] : {std::pair{"client-certificate-data", &config.tls.cert_pem},
                               std::pair{"client-key-data", &config.tls.key_pem}}) {
    if (auto data = str(u, field); !data.empty()) {
      auto pem = store::etcd::base64Decode(data);
      if (!pem) {
        return error(where + "." + field, "not base64");
      }
      *target = *pem;
    }
  }
  bool has_cert = !config.tls.cert.empty() || !config.tls.cert_pem.empty();
  if (config.token.empty() && !has_cert) {
    return error(where, "no token, tokenFile or client certificate");
  }
  return config;
}

Result<KubeConfig> loadKubeConfig(const std::string& path, const std::string& context) {
  auto text = readText(path, "kubeconfig");
  if (!text) {
    return fail(text.error());
  }
  std::string base = std::filesystem::path(path).parent_path().string();
  return parseKubeConfig(*text, path, base.empty() ? "." : base, context);
}

Result<void> writeKubeConfig(const std::string& path, const std::string& server,
                             const std::string& ca_pem, const std::string& token,
                             const std::string& name) {
  std::string text = "apiVersion: v1\nkind: Config\nclusters:\n- name: " + name +
                     "\n  cluster:\n    server: " + server +
                     "\n    certificate-authority-data: " + store::etcd::base64Encode(ca_pem) +
                     "\nusers:\n- name: " + name + "-admin\n  user:\n    token: " + token +
                     "\ncontexts:\n- name: " + name + "\n  context:\n    cluster: " + name +
                     "\n    user: " + name + "-admin\ncurrent-context: " + name + "\n";
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return runtime::writeSecretFile(path, text);
}

}  // namespace rampart::kube
