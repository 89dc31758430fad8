// rampart: one binary, many roles. Dispatch only: each subcommand lives in cli/.

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/db_cmd.h"
#include "runtime/limits.h"

int main(int argc, char** argv) {
  using namespace rampart;
  CLI::App app{"Rampart: high availability and automatic failover by default", "rampart"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->envname("RAMPART_LOG_LEVEL");
  app.add_option("--log-format", log_format, "text or json")
      ->capture_default_str()
      ->envname("RAMPART_LOG_FORMAT");

  cli::Action action;
  cli::addVersion(app, action);
  cli::addEtcd(app, action);
  cli::addElect(app, action);
  cli::addLb(app, action);
  cli::addPg(app, action);
  cli::addRedis(app, action);
  cli::addChaos(app, action);
  cli::addServer(app, action);
  cli::addController(app, action);
  cli::addAgent(app, action);
  cli::addAgentShim(app, action);
  cli::addCluster(app, action);
  cli::addDb(app, action);
  cli::addDemo(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : cli::kUsageError;
  }
  auto level = log::parseLevel(log_level);
  auto format = log::parseFormat(log_format);
  if (!level || !format) {
    std::fprintf(stderr, "rampart: %s\n", (level ? format.error() : level.error()).message.c_str());
    return cli::kUsageError;
  }
  log::init(log::Options{*format, *level});
  // Every role holds descriptors per connection or member: allow what the host allows.
  if (auto limit = runtime::raiseFileLimit(); !limit) {
    log::get("rampart")->warn("cannot raise the open-file limit: {}", limit.error().message);
  } else {
    log::get("rampart")->debug("open-file limit={}", *limit);
  }
  return action ? action() : 0;
}
