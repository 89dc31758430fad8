// `rampart elect`: run a campaigner (see elect/campaigner.h).

#include <cstdio>

#include <CLI/CLI.hpp>

#include "base/duration.h"
#include "base/log.h"
#include "cli/cli.h"
#include "elect/campaigner.h"
#include "runtime/secret_file.h"
#include "store/etcd_store.h"

namespace rampart::cli {
namespace {

struct ElectFlags {
  std::string config_file;
  std::string endpoints;
  std::string key;
  std::string name;
  std::string ttl;
  std::string admin;
  std::string request_timeout;
  std::string cacert;  // etcd access, etcdctl's names
  std::string cert;
  std::string key_file;
  std::string user;
  std::string password_file;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart elect: %s\n", message.c_str());
  return kUsageError;
}

Result<elect::CampaignerConfig> loadConfig(const ElectFlags& flags) {
  elect::CampaignerConfig config;
  if (!flags.config_file.empty()) {
    auto root = config::loadFile(flags.config_file);
    if (!root) {
      return fail(root.error());
    }
    auto parsed = elect::parseCampaignerConfig(*root);
    if (!parsed) {
      return fail(parsed.error());
    }
    config = *parsed;
  }
  // Flags override the file.
  if (!flags.endpoints.empty()) {
    auto endpoints = store::parseEndpointList(flags.endpoints);
    if (!endpoints) {
      return fail(ErrorCode::InvalidArgument, "--endpoints: ", endpoints.error().message);
    }
    config.endpoints = *endpoints;
  }
  if (!flags.cacert.empty()) {
    config.tls.ca = flags.cacert;
  }
  if (!flags.cert.empty() || !flags.key_file.empty()) {
    if (flags.cert.empty() || flags.key_file.empty()) {
      return fail(ErrorCode::InvalidArgument, "--cert and --key-file must be given together");
    }
    config.tls.cert = flags.cert;
    config.tls.key = flags.key_file;
  }
  if (!flags.user.empty()) {
    config.user = flags.user;
    config.password_file = flags.password_file;
  }
  if (!flags.password_file.empty()) {
    if (auto r = runtime::checkSecretFilePermissions(flags.password_file); !r) {
      return fail(ErrorCode::InvalidArgument, "--password-file: ", r.error().message);
    }
  }
  if (!flags.key.empty()) {
    config.key = flags.key;
  }
  if (!flags.name.empty()) {
    config.name = flags.name;
  }
  if (!flags.ttl.empty()) {
    auto ttl = parseDuration(flags.ttl);
    if (!ttl || *ttl < std::chrono::seconds(1) ||
        *ttl % std::chrono::seconds(1) != Duration::zero()) {
      return fail(ErrorCode::InvalidArgument, "--ttl '", flags.ttl,
                  "': etcd leases are whole seconds, at least 1s");
    }
    config.ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  }
  if (!flags.request_timeout.empty()) {
    auto timeout = parseDuration(flags.request_timeout);
    if (!timeout) {
      return fail(ErrorCode::InvalidArgument, "--request-timeout: ", timeout.error().message);
    }
    config.request_timeout = *timeout;
  }
  if (!flags.admin.empty()) {
    auto admin = net::parseEndpoint(flags.admin);
    if (!admin) {
      return fail(ErrorCode::InvalidArgument, "--admin: ", admin.error().message);
    }
    config.admin = *admin;
  }
  if (auto valid = elect::validate(config); !valid) {
    return fail(valid.error());
  }
  return config;
}

int runElect(const ElectFlags& flags) {
  auto config = loadConfig(flags);
  if (!config) {
    return usage(config.error().message);
  }
  if (!config->log_level.empty()) {
    log::setLevel(*log::parseLevel(config->log_level));
  }
  runtime::Daemon daemon("elect");
  daemon.onReload([flags] {
    // Only the log level is applied live; everything else needs a restart. A bad file changes
    // nothing.
    auto reloaded = loadConfig(flags);
    if (!reloaded) {
      log::get("elect")->error("reload rejected, keeping the running config: {}",
                               reloaded.error().message);
      return;
    }
    if (!reloaded->log_level.empty()) {
      log::setLevel(*log::parseLevel(reloaded->log_level));
    }
    log::get("elect")->info("config reloaded file={}", flags.config_file);
  });
  return elect::runCampaigner(daemon, *config);
}

}  // namespace

void addElect(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ElectFlags>();
  auto* cmd = app.add_subcommand(
      "elect", "Campaign for leadership of an etcd key and hold it while alive");
  cmd->add_option("-c,--config", flags->config_file, "YAML config file (flags override it)");
  cmd->add_option("--endpoints", flags->endpoints,
                  "etcd endpoints, comma-separated (http://127.0.0.1:2379,...)");
  cmd->add_option("--key", flags->key, "election key (default /rampart/election/leader)");
  cmd->add_option("--cacert", flags->cacert, "etcd: verify members with this CA bundle");
  cmd->add_option("--cert", flags->cert, "etcd: client certificate (with --key-file)");
  cmd->add_option("--key-file", flags->key_file,
                  "etcd: client certificate's key (--key is the election key)");
  cmd->add_option("--user", flags->user, "etcd: authenticate as this user");
  cmd->add_option("--password-file", flags->password_file,
                  "etcd: the user's password (file mode 0600)");
  cmd->add_option("--name", flags->name, "this candidate's name, published as the key's value");
  cmd->add_option("--ttl", flags->ttl, "lease TTL, whole seconds (default 1s)");
  cmd->add_option("--request-timeout", flags->request_timeout,
                  "deadline of each etcd call (default 2s)");
  cmd->add_option("--admin", flags->admin,
                  "admin HTTP address for /metrics, /healthz, /readyz (default 127.0.0.1:0)");
  cmd->callback([&action, flags] { action = [flags] { return runElect(*flags); }; });
}

}  // namespace rampart::cli
