#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace rampart::cli {

void addVersion(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("version", "Print Rampart's version");
  cmd->callback([&action] {
    action = [] {
      std::printf("rampart %s\n", RAMPART_VERSION);
      return 0;
    };
  });
}

}  // namespace rampart::cli
