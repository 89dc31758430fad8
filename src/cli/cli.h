#pragma once
// The `rampart` command line: each file in cli/ adds one subcommand to the CLI11 app and, when
// that subcommand is chosen, leaves its action in `action`. main() only parses and runs it.
// Conventions for every subcommand: --help at every level; errors in flags or config print one
// line naming the problem and exit with code 2; long-running roles log to stderr and print
// machine-readable events (JSON lines) to stdout.

#include <functional>

namespace CLI {
class App;
}

namespace rampart::cli {

using Action = std::function<int()>;
inline constexpr int kUsageError = 2;

void addVersion(CLI::App& app, Action& action);
void addEtcd(CLI::App& app, Action& action);
void addElect(CLI::App& app, Action& action);
void addDemo(CLI::App& app, Action& action);
void addLb(CLI::App& app, Action& action);
void addPg(CLI::App& app, Action& action);
void addRedis(CLI::App& app, Action& action);
void addChaos(CLI::App& app, Action& action);
void addServer(CLI::App& app, Action& action);
void addController(CLI::App& app, Action& action);
void addAgent(CLI::App& app, Action& action);
void addCluster(CLI::App& app, Action& action);  // up, down, status
void addAgentShim(CLI::App& app, Action& action);  // hidden: the container runtime's shim

}  // namespace rampart::cli
