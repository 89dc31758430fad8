// `rampart demo`: the whole seed in one drill (drill/cluster_drill.h): a `rampart up` cluster,
// a web app under a steady client, the PostgreSQL drill, a master's death, a worker's death and
// a drain, each with a live timeline and a verdict.
// `rampart demo pg`: the PostgreSQL drill alone: a lab (etcd x3, three `rampart pg` members,
// the write VIP), a steady writer through the VIP, SIGKILL of the primary's postmaster, and a
// printed timeline (detected, promoted, first write accepted, old primary streaming again) with
// the history checker's verdict.
// `rampart demo web`: the demo's web server (what the web pods run).
// `rampart demo election`: the earlier drill of leader election alone (crash, resignation, loss of
// an etcd member).

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "chaos/cluster.h"
#include "chaos/report.h"
#include "chaos/scenario.h"
#include "cli/cli.h"
#include "drill/cluster_drill.h"
#include "drill/election_drill.h"
#include "net/http/server.h"
#include "pg/lab.h"
#include "runtime/process.h"

namespace rampart::cli {
namespace {

std::string fmtMillis(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+%.1f ms", toMillis(d));
  return buf;
}

struct DemoFlags {
  std::string dir;
  int ttl = 1;
  bool keep = false;
};

void printHandover(const char* title, const drill::Handover& h, const char* gone_reason) {
  std::printf("\n== %s ==\n", title);
  std::printf("  %9s  signal sent to %s\n", "+0.0 ms", h.old_leader.c_str());
  std::printf("  %9s  %s\n", fmtMillis(h.key_gone).c_str(), gone_reason);
  std::printf("  %9s  %s elected leader\n", fmtMillis(h.new_leader_elected).c_str(),
              h.new_leader.c_str());
}

// --dir, or a new temporary directory. World-traversable: the PostgreSQL lab's servers run as the
// postgres user and must reach their data directories below it.
std::optional<std::string> demoDir(const DemoFlags& flags) {
  if (!flags.dir.empty()) {
    return flags.dir;
  }
  char tmpl[] = "/tmp/rampart-demo-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::fprintf(stderr, "rampart demo: cannot create a temporary directory\n");
    return std::nullopt;
  }
  ::chmod(tmpl, 0755);
  return std::string(tmpl);
}

int runDemo(const DemoFlags& flags) {
  bool made_dir = flags.dir.empty();
  auto dir_made = demoDir(flags);
  if (!dir_made) {
    return 1;
  }
  std::string dir = *dir_made;
  std::printf("Rampart election drill: 3-member etcd on loopback, 3 candidates, lease TTL %ds\n",
              flags.ttl);
  std::printf("lab directory: %s\n", dir.c_str());
  drill::ElectionDrillOptions options;
  options.dir = dir;
  options.ttl = std::chrono::seconds(flags.ttl);
  options.key = "/rampart/demo/leader";
  auto drill = drill::ElectionDrill::start(options);
  if (!drill) {
    std::fprintf(stderr, "rampart demo: %s\n", drill.error().message.c_str());
    return 1;
  }
  auto& d = **drill;
  std::printf("etcd healthy: %s\n", d.etcd().endpointList().c_str());
  auto leader = d.waitForLeader(std::chrono::seconds(10));
  if (!leader) {
    std::fprintf(stderr, "rampart demo: %s\n", leader.error().message.c_str());
    return 1;
  }
  std::printf("leader: %s\n", leader->c_str());

  const auto timeout = std::chrono::seconds(10);
  auto crash = d.signalLeader(SIGKILL, timeout);
  if (!crash) {
    std::fprintf(stderr, "rampart demo: crash drill failed: %s\n", crash.error().message.c_str());
    return 1;
  }
  printHandover("Crash: SIGKILL of the leader", *crash,
                "its lease expired in etcd: leader key deleted");

  if (!d.waitForLeader(timeout)) {
    return 1;
  }
  auto resign = d.signalLeader(SIGTERM, timeout);
  if (!resign) {
    std::fprintf(stderr, "rampart demo: resign drill failed: %s\n", resign.error().message.c_str());
    return 1;
  }
  printHandover("Graceful: SIGTERM of the leader (it resigns)", *resign,
                "it resigned: leader key deleted");
  // One sample is at the mercy of a busy machine: four more resignations, judged by the median.
  std::vector<double> resign_ms{toMillis(resign->new_leader_elected)};
  for (int i = 0; i < 4; ++i) {
    if (!d.waitForLeader(timeout)) {
      return 1;
    }
    auto again = d.signalLeader(SIGTERM, timeout);
    if (!again) {
      std::fprintf(stderr, "rampart demo: resign drill failed: %s\n",
                   again.error().message.c_str());
      return 1;
    }
    resign_ms.push_back(toMillis(again->new_leader_elected));
  }
  std::printf("  five resignations: ");
  for (double ms : resign_ms) {
    std::printf("%.1f ms  ", ms);
  }
  std::printf("\n");
  std::sort(resign_ms.begin(), resign_ms.end());
  const double resign_median = resign_ms[resign_ms.size() / 2];

  std::printf("\n== etcd member loss: SIGKILL etcd1, then crash the leader again ==\n");
  if (auto r = d.etcd().signalMember(0, SIGKILL); !r) {
    std::fprintf(stderr, "rampart demo: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("  etcd1 killed; 2 of 3 members left (quorum holds)\n");
  auto second = d.signalLeader(SIGKILL, timeout);
  if (!second) {
    std::fprintf(stderr, "rampart demo: crash drill with an etcd member down failed: %s\n",
                 second.error().message.c_str());
    return 1;
  }
  printHandover("Crash with one etcd member down", *second,
                "its lease expired in etcd: leader key deleted");

  auto budget_crash = std::chrono::seconds(flags.ttl) + std::chrono::milliseconds(600);
  auto budget_resign = std::chrono::milliseconds(20);
  bool crash_ok =
      crash->new_leader_elected <= budget_crash && second->new_leader_elected <= budget_crash;
  bool resign_ok = resign_median <= toMillis(budget_resign);
  std::printf("\nVerdict:\n");
  std::printf(
      "  handover after crash:  %.0f ms and %.0f ms (target <= TTL + 600 ms = %.0f ms): %s\n",
      toMillis(crash->new_leader_elected), toMillis(second->new_leader_elected),
      toMillis(budget_crash), crash_ok ? "met" : "MISSED");
  std::printf("  handover after resign: %.1f ms median of 5 (target <= 20 ms): %s\n", resign_median,
              resign_ok ? "met" : "MISSED");
  std::printf("  exactly one leader at every step; no step needed an operator\n");
  drill->reset();
  if (made_dir && !flags.keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}

int64_t wallMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

int runPgDemo(const DemoFlags& flags) {
  auto dir_made = demoDir(flags);
  if (!dir_made) {
    return 1;
  }
  std::string dir = *dir_made;
  std::string lab_dir = dir + "/pg";
  std::printf("Starting a PostgreSQL lab in %s: etcd x3, three members, write VIP...\n",
              lab_dir.c_str());
  std::fflush(stdout);
  pg::LabOptions options;
  options.dir = lab_dir;
  auto lab = pg::labUp(options);
  struct Down {
    std::string dir;
    ~Down() { (void)pg::labDown(dir); }
  } down{lab_dir};
  if (!lab) {
    std::fprintf(stderr, "rampart demo: %s\n", lab.error().message.c_str());
    return 1;
  }
  for (const auto& m : (*lab)["members"]) {
    std::printf("  %s  postgres 127.0.0.1:%d  REST %s\n", m["name"].get<std::string>().c_str(),
                m["port"].get<int>(), m["rest"].get<std::string>().c_str());
  }
  std::printf("  write VIP %s\n\n", (*lab)["write_vip"].get<std::string>().c_str());
  auto cluster = chaos::loadCluster(lab_dir + "/cluster.json");
  if (!cluster) {
    std::fprintf(stderr, "rampart demo: %s\n", cluster.error().message.c_str());
    return 1;
  }
  chaos::ScenarioOptions scenario;
  scenario.scenario = "kill-postmaster";
  scenario.before = std::chrono::seconds(3);
  scenario.after = std::chrono::seconds(5);
  std::printf(
      "A writer commits a row every 10 ms through the write VIP (and one per member, "
      "straight to it, whenever it claims to be primary); after 3 s the primary's "
      "postmaster gets SIGKILL.\n");
  std::fflush(stdout);
  auto report = chaos::runScenario(*cluster, scenario);
  if (!report) {
    std::fprintf(stderr, "rampart demo: %s\n", report.error().message.c_str());
    return 1;
  }
  const auto& r = *report;
  if (r.faults.empty()) {
    std::fprintf(stderr, "rampart demo: no fault was injected\n");
    return 1;
  }
  const auto& fault = r.faults[0];
  auto fault_wall = r.start_wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                       fault.start - r.start);
  std::printf("\n== Timeline (from the SIGKILL) ==\n");
  std::printf("  %10s  SIGKILL: %s (primary %s)\n", "+0.0 ms", fault.target.c_str(),
              fault.old_primary.c_str());
  if (r.failover_json) {
    auto e = nlohmann::json::parse(*r.failover_json, nullptr, false);
    if (e.is_object() && e.value("kind", "") == "failover") {
      auto at = [&](const char* key) {
        return fmtMillis(std::chrono::milliseconds(e.value(key, int64_t{0}) - wallMs(fault_wall)));
      };
      std::printf("  %10s  %s detected it: %s\n", at("detected_at_ms").c_str(),
                  e.value("new_leader", "").c_str(), e.value("reason", "").c_str());
      std::printf("  %10s  %s decided to take over: %s\n", at("decided_at_ms").c_str(),
                  e.value("new_leader", "").c_str(), e.value("decision", "").c_str());
      std::printf("  %10s  %s promoted (writable)\n", at("promoted_at_ms").c_str(),
                  e.value("new_leader", "").c_str());
    }
  }
  const auto& unavailable =
      r.check.per_fault.empty() ? chaos::Unavailability{} : r.check.per_fault[0];
  // The end of the longest gap, not the first ack of a write sent after the SIGKILL: that one
  // can still be the dying primary's (a commit already on its way), which read as "+27 ms,
  // on m2" before the promotion.
  if (unavailable.recovered_after) {
    std::printf(
        "  %10s  first write accepted again through the write VIP (end of the longest "
        "gap; final primary %s)\n",
        fmtMillis(*unavailable.recovered_after).c_str(), r.final_primary.c_str());
  }
  if (fault.old_primary_streaming) {
    std::printf("  %10s  %s streaming again as a replica\n",
                fmtMillis(*fault.old_primary_streaming + (fault.end - fault.start)).c_str(),
                fault.old_primary.c_str());
  }
  std::printf("\n== Checker ==\n");
  std::printf("  writes acknowledged %lld (through the VIP %lld), failed %lld, unknown %lld\n",
              static_cast<long long>(r.check.acked), static_cast<long long>(r.check.vip_acked),
              static_cast<long long>(r.check.failed), static_cast<long long>(r.check.unknown));
  std::printf("  acknowledged writes lost: %zu\n", r.check.lost_ids.size());
  std::printf("  split brain (two primaries acknowledging at once): %zu\n",
              r.check.split_brains.size());
  std::printf("  longest gap between acknowledged writes: %.0f ms (target <= 500 ms)\n",
              toMillis(unavailable.longest_gap));
  std::printf("  verdict: %s\n", r.passed() ? "PASS" : "FAIL");
  for (const auto& p : r.problems) {
    std::printf("    %s\n", p.c_str());
  }
  if (flags.keep || !flags.dir.empty()) {
    std::printf("\nlogs kept in %s\n", lab_dir.c_str());
  } else {
    (void)pg::labDown(lab_dir);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return r.passed() ? 0 : 1;
}

// The web pods' server: every GET answers 200 with the pod's name.
int runWeb(int port) {
  boost::asio::io_context io;
  net::http::Server server(io.get_executor());
  const char* pod = std::getenv("POD_NAME");
  std::string name = pod ? pod : "web";
  server.fallback([name](const net::http::Request&, net::http::ResponseStream&)
                      -> boost::asio::awaitable<net::http::Response> {
    co_return net::http::Response::text(200, "hello from " + name + "\n");
  });
  auto bound = server.listen({"0.0.0.0", static_cast<uint16_t>(port)});
  if (!bound) {
    std::fprintf(stderr, "rampart demo web: %s\n", bound.error().message.c_str());
    return 1;
  }
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io.stop();
  });
  io.run();
  return 0;
}

int runSeedDemo(const DemoFlags& flags) {
  if (::geteuid() != 0) {
    std::fprintf(stderr,
                 "rampart demo: the cluster drill needs root (every node is a network "
                 "namespace); `rampart demo pg` runs the PostgreSQL drill alone\n");
    return kUsageError;
  }
  auto dir_made = demoDir(flags);
  if (!dir_made) {
    return 1;
  }
  std::string dir = *dir_made;
  std::printf("Rampart: the whole drill in %s\n\n== 1. A highly available cluster ==\n",
              dir.c_str());
  std::fflush(stdout);
  drill::ClusterDrillOptions options;
  options.dir = dir + "/cluster";
  options.binary = runtime::selfExecutable();
  drill::ClusterDrill cluster(options);
  if (flags.keep) {
    cluster.keep();
  }
  auto step = [](const char* title, Result<void> r) {
    if (!r) {
      std::fprintf(stderr, "rampart demo: %s: %s\n", title, r.error().message.c_str());
    }
    return r.has_value();
  };
  if (!step("up", cluster.up())) {
    return 1;
  }
  std::printf("\n== 2. A web app: 3 replicas over 3 zones, a disruption budget, a Service ==\n");
  if (!step("web app", cluster.deployWeb())) {
    return 1;
  }
  std::printf("\n== 3. HA PostgreSQL: the primary's postmaster killed under writes ==\n");
  std::fflush(stdout);
  DemoFlags pg_flags = flags;
  pg_flags.dir = dir + "/pg-drill";
  std::filesystem::create_directories(pg_flags.dir);
  ::chmod(pg_flags.dir.c_str(), 0755);
  bool pg_passed = runPgDemo(pg_flags) == 0;
  std::printf("\n== 4. A master dies: the one whose controller leads ==\n");
  bool ok = step("master", cluster.killMaster());
  std::printf("\n== 5. A worker dies ==\n");
  ok = step("worker", cluster.killWorker()) && ok;
  std::printf("\n== 6. Maintenance: a worker drained ==\n");
  ok = step("drain", cluster.drainWorker()) && ok;

  std::printf("\n== Verdict ==\n");
  std::printf("  %-55s %-14s %-26s %s\n", "check", "measured", "target", "");
  for (const auto& v : cluster.verdicts()) {
    std::printf("  %-55s %-14s %-26s %s\n", v.check.c_str(), v.figure.c_str(), v.target.c_str(),
                v.met ? "met" : "MISSED");
    ok = ok && v.met;
  }
  std::printf("  %-55s %-14s %-26s %s\n", "PostgreSQL: acknowledged writes lost, split brain",
              pg_passed ? "0, 0" : "see above", "0, 0", pg_passed ? "met" : "MISSED");
  if (flags.keep) {
    std::printf("\nkept: %s (rampart status --dir %s/cluster; rampart down --dir %s/cluster)\n",
                dir.c_str(), dir.c_str(), dir.c_str());
  }
  return ok && pg_passed ? 0 : 1;
}

}  // namespace

void addDemo(CLI::App& app, Action& action) {
  auto flags = std::make_shared<DemoFlags>();
  auto* cmd =
      app.add_subcommand("demo", "Run the live drill: an HA cluster, a web app, PostgreSQL, "
                                 "and faults, each with a timeline and a verdict");
  cmd->add_option("--dir", flags->dir, "lab directory (default: a new temporary directory)");
  cmd->add_flag("--keep", flags->keep, "keep the lab (cluster, logs) afterwards");
  cmd->require_subcommand(0, 1);
  cmd->callback([cmd, &action, flags] {
    if (cmd->get_subcommands().empty()) {
      action = [flags] { return runSeedDemo(*flags); };
    }
  });
  auto* pg = cmd->add_subcommand("pg", "the PostgreSQL failover drill alone (no root needed)");
  pg->callback([&action, flags] { action = [flags] { return runPgDemo(*flags); }; });
  auto port = std::make_shared<int>(8080);
  auto* web = cmd->add_subcommand("web", "the demo's web server (what its web pods run)");
  web->add_option("--port", *port, "port to serve on (all addresses)")->capture_default_str();
  web->callback([&action, port] { action = [port] { return runWeb(*port); }; });
  auto* election = cmd->add_subcommand("election", "the leader-election drill over etcd alone");
  election->add_option("--ttl", flags->ttl, "leader lease TTL in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 60));
  election->callback([&action, flags] { action = [flags] { return runDemo(*flags); }; });
}

}  // namespace rampart::cli
