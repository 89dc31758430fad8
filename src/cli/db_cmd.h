#pragma once
// `rampart db`: declared apart from cli.h so that adding it recompiles only main.cc.

#include "cli/cli.h"

namespace rampart::cli {

void addDb(CLI::App& app, Action& action);  // create, list, describe, delete

}  // namespace rampart::cli
