// `rampart chaos cluster`: one fault against a `rampart up` cluster (kill, freeze or partition a
// master, a worker or a zone; an etcd member; two masters), with an API client, the controllers'
// Lease and the pods watched meanwhile, healed afterwards, and the checkers' verdicts
// (chaos/cluster_run.h). Exit 0 when every applicable verdict passes, 1 otherwise, 2 on usage
// errors (flags, no cluster in --dir, a target of the wrong kind).
//
// `rampart chaos run`: writes through the cluster's VIP and straight to every member of a
// PostgreSQL or Redis lab while one fault (or a random series) hits the primary or etcd, then
// checks the history: no acknowledged write lost, no two primaries committing at once, how long
// writes were unavailable (chaos/scenario.h, chaos/checker.h). Exit 0 on PASS, 1 on FAIL or when
// the run cannot start, 2 on usage errors (flags, cluster file, unsupported scenario).

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>

#include <CLI/CLI.hpp>

#include "base/duration.h"
#include "chaos/cluster.h"
#include "chaos/cluster_fault.h"
#include "chaos/cluster_run.h"
#include "chaos/report.h"
#include "chaos/scenario.h"
#include "cli/cli.h"
#include "runtime/process.h"

namespace rampart::cli {
namespace {

struct ChaosFlags {
  std::string cluster_file;
  std::string scenario;
  double rate = 100;
  std::string before = "2s";
  std::string after = "6s";
  std::string freeze = "3s";
  std::string partition = "3s";
  std::string etcd_down = "10s";
  std::string recovery_timeout = "60s";
  uint64_t seed = 0;
  bool seed_given = false;
  int faults = 20;
  bool json = false;
  std::string history_file;
};

// Set by SIGINT/SIGTERM: the run stops early but still resumes what it stopped (a process left
// SIGSTOPped would outlive the harness).
std::atomic<bool> g_interrupted{false};

void onInterrupt(int) { g_interrupted = true; }

Result<Duration> durationFlag(const std::string& name, const std::string& text) {
  auto d = parseDuration(text);
  if (!d) {
    return fail(ErrorCode::InvalidArgument, "--", name, ": ", d.error().message);
  }
  if (d->count() < 0) {
    return fail(ErrorCode::InvalidArgument, "--", name, ": must not be negative");
  }
  return d;
}

// Parses each named duration flag into its slot; the first bad one is the error.
using DurationSlots = std::vector<std::pair<const char*, std::pair<const std::string*, Duration*>>>;
Result<void> parseDurations(const DurationSlots& slots) {
  for (const auto& [name, slot] : slots) {
    auto d = durationFlag(name, *slot.first);
    if (!d) {
      return fail(d.error());
    }
    *slot.second = *d;
  }
  return ok();
}

Result<chaos::ScenarioOptions> optionsFrom(const ChaosFlags& f) {
  chaos::ScenarioOptions o;
  o.scenario = f.scenario;
  if (!(f.rate > 0 && f.rate <= 10000)) {
    return fail(ErrorCode::InvalidArgument, "--rate: expected 0 < rate <= 10000 per second");
  }
  o.rate = f.rate;
  if (f.faults < 1 || f.faults > 10000) {
    return fail(ErrorCode::InvalidArgument, "--faults: expected 1-10000");
  }
  o.faults = f.faults;
  if (f.seed_given) {
    o.seed = f.seed;
  }
  DurationSlots durations = {
      {"before", {&f.before, &o.before}},
      {"after", {&f.after, &o.after}},
      {"freeze", {&f.freeze, &o.freeze}},
      {"partition", {&f.partition, &o.partition}},
      {"etcd-down", {&f.etcd_down, &o.etcd_down}},
      {"recovery-timeout", {&f.recovery_timeout, &o.recovery_timeout}},
  };
  if (auto r = parseDurations(durations); !r) {
    return fail(r.error());
  }
  o.cancel = &g_interrupted;
  return o;
}

int runChaos(const ChaosFlags& flags) {
  auto options = optionsFrom(flags);
  if (!options) {
    std::fprintf(stderr, "rampart chaos run: %s\n", options.error().message.c_str());
    return kUsageError;
  }
  auto cluster = chaos::loadCluster(flags.cluster_file);
  if (!cluster) {
    std::fprintf(stderr, "rampart chaos run: %s\n", cluster.error().message.c_str());
    return kUsageError;
  }
  if (auto valid = chaos::validateScenario(*cluster, *options); !valid) {
    std::fprintf(stderr, "rampart chaos run: %s\n", valid.error().message.c_str());
    return kUsageError;
  }
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  // A writer's connection reset must not kill the process.
  ::signal(SIGPIPE, SIG_IGN);

  auto report = chaos::runScenario(*cluster, *options);
  if (!report) {
    std::fprintf(stderr, "rampart chaos run: %s\n", report.error().message.c_str());
    return report.error().code == ErrorCode::InvalidArgument ? kUsageError : 1;
  }
  if (!flags.history_file.empty()) {
    std::ofstream out(flags.history_file, std::ios::trunc);
    out << chaos::historyJsonLines(*report);
    if (!out) {
      std::fprintf(stderr, "rampart chaos run: cannot write --history %s\n",
                   flags.history_file.c_str());
    }
  }
  if (flags.json) {
    std::printf("%s\n", chaos::reportJson(*report).c_str());
  } else {
    std::printf("%s", chaos::reportText(*report).c_str());
  }
  std::fflush(stdout);
  return report->passed() ? 0 : 1;
}

struct ClusterChaosFlags {
  std::string dir;
  std::string fault;
  std::string target;
  std::string before = "1s";
  std::string duration = "5s";
  std::string after = "2s";
  std::string heal_timeout = "60s";
  std::string statefulset_history;
  bool json = false;
};

int runClusterChaos(const ClusterChaosFlags& flags) {
  chaos::ClusterRunOptions o;
  o.dir = flags.dir;
  auto kind = chaos::parseFault(flags.fault);
  if (!kind) {
    std::fprintf(stderr, "rampart chaos cluster: --fault: %s\n", kind.error().message.c_str());
    return kUsageError;
  }
  o.kind = *kind;
  o.target = flags.target;
  DurationSlots durations = {
      {"before", {&flags.before, &o.before}},
      {"duration", {&flags.duration, &o.duration}},
      {"after", {&flags.after, &o.after}},
      {"heal-timeout", {&flags.heal_timeout, &o.heal_timeout}},
  };
  if (auto r = parseDurations(durations); !r) {
    std::fprintf(stderr, "rampart chaos cluster: %s\n", r.error().message.c_str());
    return kUsageError;
  }
  // Every wait of the run is bounded by these: keep them finite.
  for (const auto& [name, slot] : durations) {
    if (*slot.second > std::chrono::minutes(10)) {
      std::fprintf(stderr, "rampart chaos cluster: --%s: at most 10m\n", name);
      return kUsageError;
    }
  }
  o.binary = runtime::selfExecutable();
  o.statefulset_history = flags.statefulset_history;
  o.cancel = &g_interrupted;
  bool json = flags.json;
  o.progress = [json](const std::string& line) {
    // Progress goes to stderr with --json, so stdout holds only the verdict.
    std::fprintf(json ? stderr : stdout, "%s\n", line.c_str());
    std::fflush(json ? stderr : stdout);
  };
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto report = chaos::runClusterFault(o);
  if (!report) {
    std::fprintf(stderr, "rampart chaos cluster: %s\n", report.error().message.c_str());
    auto code = report.error().code;
    return code == ErrorCode::InvalidArgument || code == ErrorCode::NotFound ||
                   code == ErrorCode::FailedPrecondition
               ? kUsageError
               : 1;
  }
  if (!report->heal_error.empty()) {
    std::fprintf(stderr, "rampart chaos cluster: heal: %s\n", report->heal_error.c_str());
  }
  if (flags.json) {
    std::printf("%s\n", chaos::verdictJson(report->observations, report->verdict).c_str());
  } else {
    std::printf("%s", chaos::verdictTable(report->observations, report->verdict).c_str());
  }
  std::fflush(stdout);
  return report->verdict.passed() && report->heal_error.empty() ? 0 : 1;
}

}  // namespace

void addChaos(CLI::App& app, Action& action) {
  auto* chaos = app.add_subcommand(
      "chaos", "Fault injection with a history checker (lost writes, split brain, unavailability)");
  chaos->require_subcommand(1);

  auto flags = std::make_shared<ChaosFlags>();
  auto* run = chaos->add_subcommand(
      "run", "Write through the VIP and to every member while a fault hits, then check");
  run->add_option("--cluster", flags->cluster_file,
                  "cluster description JSON (written by `rampart pg lab up` or "
                  "`rampart redis lab up`)")
      ->required();
  run->add_option("--scenario", flags->scenario,
                  "kill-server (kill-postmaster), kill-manager, freeze, switchover, etcd-member, "
                  "etcd-all, partition or random")
      ->required();
  run->add_option(
         "--rate", flags->rate,
         "VIP writes per second (pinned writers: half; on Redis a second, plain VIP writer "
         "at the same rate)")
      ->capture_default_str();
  run->add_option("--before", flags->before, "writing before the fault")->capture_default_str();
  run->add_option("--after", flags->after, "writing after the fault ended")->capture_default_str();
  run->add_option("--freeze", flags->freeze, "how long `freeze` stops the primary")
      ->capture_default_str();
  run->add_option("--partition", flags->partition,
                  "how long `partition` cuts the primary off the network")
      ->capture_default_str();
  run->add_option("--etcd-down", flags->etcd_down, "how long etcd members are stopped")
      ->capture_default_str();
  run->add_option("--recovery-timeout", flags->recovery_timeout,
                  "bound on each wait for the cluster to heal (random), the old primary to "
                  "rejoin, and the final primary")
      ->capture_default_str();
  auto* seed =
      run->add_option("--seed", flags->seed, "seed for random choices (default: random, reported)");
  run->add_option("--faults", flags->faults, "random: number of faults in a row")
      ->capture_default_str();
  run->add_flag("--json", flags->json, "print one JSON object instead of the summary");
  run->add_option("--history", flags->history_file,
                  "write every write attempt to this file as JSON lines");
  run->callback([&action, flags, seed] {
    flags->seed_given = seed->count() > 0;
    action = [flags] { return runChaos(*flags); };
  });

  auto cflags = std::make_shared<ClusterChaosFlags>();
  auto* cl = chaos->add_subcommand(
      "cluster",
      "One fault against a `rampart up` cluster: API client, controller handover, pod "
      "replacement, static stability; healed afterwards");
  cl->add_option("--dir", cflags->dir, "the cluster's directory (rampart up --dir)")->required();
  std::string names;
  for (const auto& n : chaos::faultNames()) {
    names += (names.empty() ? "" : ", ") + n;
  }
  cl->add_option("--fault", cflags->fault, names)->required();
  cl->add_option("--target", cflags->target,
                 "the node (master/worker/etcd-member), the zone (zone faults) or the master "
                 "that stays (two-masters); default: the acting controller's master, the worker "
                 "with the most pods, its zone, the first master, the last master");
  cl->add_option("--before", cflags->before, "client running before the fault")
      ->capture_default_str();
  cl->add_option("--duration", cflags->duration,
                 "how long the fault lasts (longer while an expected handover or pod "
                 "replacement is awaited, up to its limit)")
      ->capture_default_str();
  cl->add_option("--after", cflags->after, "client running after the cluster is healthy again")
      ->capture_default_str();
  cl->add_option("--heal-timeout", cflags->heal_timeout,
                 "bound on `rampart up` after a kill and on the wait for healthy")
      ->capture_default_str();
  cl->add_option(
      "--statefulset-history", cflags->statefulset_history,
      "a StatefulSet pod's \"<uid> <ns>\" history file: check no two copies ran at once");
  cl->add_flag("--json", cflags->json, "print one JSON object instead of the table");
  cl->callback([&action, cflags] { action = [cflags] { return runClusterChaos(*cflags); }; });
}

}  // namespace rampart::cli
