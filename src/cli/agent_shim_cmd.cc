// `rampart agent-shim <dir> <sync-fd>`: hidden; the supervisor of one container, started by the
// agent's runtime (agent/runtime/shim.h). Not for people: no help entry.

#include <string>

#include <CLI/CLI.hpp>

#include "agent/runtime/shim.h"
#include "cli/cli.h"

namespace rampart::cli {

void addAgentShim(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("agent-shim", "");
  cmd->group("");  // hidden from --help
  auto dir = std::make_shared<std::string>();
  auto sync_fd = std::make_shared<int>(3);
  cmd->add_option("dir", *dir)->required();
  cmd->add_option("sync-fd", *sync_fd);
  cmd->callback([&action, dir, sync_fd] {
    action = [dir, sync_fd] { return agent::runtime::runShim(*dir, *sync_fd); };
  });
}

}  // namespace rampart::cli
