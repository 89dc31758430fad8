// Election handover and store latency on a live 3-member etcd (loopback, lab timing).
//
//   election_bench [--rounds N] [--ttl S] [--ops N] [--dir D]
//
// 1. Handover: N rounds of SIGKILL of the leader and N of SIGTERM (resign), alternating, each
//    measured from the signal to the new leader's key creation as seen by a watcher.
// 2. Latency: put and txn (compare-and-swap) through Rampart's store client, against etcdctl
//    doing the same calls, in alternating batches in the same run. etcdctl starts a process per
//    call, as an operator's script or a shell-based manager would.
// Prints medians, p90/p99 and ratios as Markdown for docs/BENCHMARKS.md.

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "drill/election_drill.h"
#include "runtime/process.h"

namespace {

using namespace rampart;
using namespace std::chrono_literals;

struct Stats {
  std::vector<double> ms;
  void add(Duration d) { ms.push_back(toMillis(d)); }
  double pct(double p) const {
    if (ms.empty()) {
      return 0;
    }
    auto sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p / 100.0 * sorted.size()));
    return sorted[i];
  }
  double median() const { return pct(50); }
  double max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
};

Result<Duration> timeEtcdctl(const std::string& endpoints, std::vector<std::string> args,
                             const std::string& stdin_file, const std::string& log) {
  std::vector<std::string> argv = {"etcdctl", "--endpoints=" + endpoints,
                                   "--command-timeout=2s"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto start = std::chrono::steady_clock::now();
  auto pid = runtime::spawn(runtime::SpawnOptions{argv, log, stdin_file});
  if (!pid) {
    return fail(pid.error());
  }
  auto status = runtime::waitExit(*pid, 10s);
  auto took = std::chrono::steady_clock::now() - start;
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return fail(ErrorCode::Internal, "etcdctl failed; see ", log);
  }
  return took;
}

int usage() {
  std::fprintf(stderr, "usage: election_bench [--rounds N] [--ttl S] [--ops N] [--dir D]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  int ttl = 1;
  int ops = 200;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      return usage();
    }
    if (a == "--rounds") {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--ttl") {
      ttl = std::atoi(argv[++i]);
    } else if (a == "--ops") {
      ops = std::atoi(argv[++i]);
    } else if (a == "--dir") {
      dir = argv[++i];
    } else {
      return usage();
    }
  }
  if (rounds < 1 || ttl < 1 || ops < 10) {
    return usage();
  }
  bool made_dir = dir.empty();
  if (made_dir) {
    char tmpl[] = "/tmp/rampart-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  drill::ElectionDrillOptions options;
  options.dir = dir;
  options.ttl = std::chrono::seconds(ttl);
  options.rampart_binary = RAMPART_BINARY;
  options.key = "/rampart/bench/leader";
  auto started = drill::ElectionDrill::start(options);
  if (!started) {
    std::fprintf(stderr, "election_bench: %s\n", started.error().message.c_str());
    return 1;
  }
  auto& d = **started;
  if (auto leader = d.waitForLeader(10s); !leader) {
    std::fprintf(stderr, "election_bench: %s\n", leader.error().message.c_str());
    return 1;
  }

  Stats kill_gone, kill_elected, resign_gone, resign_elected;
  for (int r = 0; r < rounds; ++r) {
    auto killed = d.signalLeader(SIGKILL, 10s);
    if (!killed || !d.waitForLeader(10s)) {
      std::fprintf(stderr, "election_bench: kill round %d failed\n", r);
      return 1;
    }
    kill_gone.add(killed->key_gone);
    kill_elected.add(killed->new_leader_elected);
    auto resigned = d.signalLeader(SIGTERM, 10s);
    if (!resigned || !d.waitForLeader(10s)) {
      std::fprintf(stderr, "election_bench: resign round %d failed\n", r);
      return 1;
    }
    resign_gone.add(resigned->key_gone);
    resign_elected.add(resigned->new_leader_elected);
    std::fprintf(stderr, "round %d: kill %.0f ms, resign %.1f ms\n", r + 1,
                 toMillis(killed->new_leader_elected), toMillis(resigned->new_leader_elected));
  }

  // Store latency, alternating batches of Rampart's client and etcdctl.
  Stats put_rampart, put_etcdctl, txn_rampart, txn_etcdctl;
  std::string endpoints = d.etcd().endpointList();
  std::string txn_file = dir + "/txn.txt";
  std::ofstream(txn_file) << "mod(\"/bench/cas\") > \"0\"\n\nput /bench/cas x\n\nput /bench/cas y\n\n";
  std::string log = dir + "/etcdctl.log";
  constexpr int kBatch = 10;
  for (int done = 0; done < ops; done += kBatch) {
    for (int i = 0; i < kBatch; ++i) {
      auto put = d.timeStoreCall([](store::Store& s) -> boost::asio::awaitable<Result<void>> {
        store::PutRequest put{.key = "/bench/put", .value = "x"};  // a local: g++ 12 rule
        auto r = co_await s.put(std::move(put));
        if (!r) {
          co_return fail(r.error());
        }
        co_return ok();
      });
      auto txn = d.timeStoreCall([](store::Store& s) -> boost::asio::awaitable<Result<void>> {
        store::TxnRequest t;
        t.compare.push_back(store::Compare::modRevision("/bench/cas", store::Compare::Op::Greater, 0));
        t.success.push_back(store::PutRequest{.key = "/bench/cas", .value = "x"});
        t.failure.push_back(store::PutRequest{.key = "/bench/cas", .value = "y"});
        auto r = co_await s.txn(std::move(t));
        if (!r) {
          co_return fail(r.error());
        }
        co_return ok();
      });
      if (!put || !txn) {
        std::fprintf(stderr, "election_bench: store call failed\n");
        return 1;
      }
      put_rampart.add(*put);
      txn_rampart.add(*txn);
    }
    for (int i = 0; i < kBatch; ++i) {
      auto put = timeEtcdctl(endpoints, {"put", "/bench/put", "x"}, "", log);
      auto txn = timeEtcdctl(endpoints, {"txn"}, txn_file, log);
      if (!put || !txn) {
        std::fprintf(stderr, "election_bench: %s\n",
                     (put ? txn.error() : put.error()).message.c_str());
        return 1;
      }
      put_etcdctl.add(*put);
      txn_etcdctl.add(*txn);
    }
  }

  std::printf("## Election handover (%d rounds each, lease TTL %ds, 3-member etcd, 3 candidates)\n\n",
              rounds, ttl);
  std::printf("| fault | key gone, median | new leader, median | p90 | max | target |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  std::printf("| SIGKILL of the leader | %.0f ms | %.0f ms | %.0f ms | %.0f ms | <= TTL + 600 ms = %d ms |\n",
              kill_gone.median(), kill_elected.median(), kill_elected.pct(90), kill_elected.max(),
              ttl * 1000 + 600);
  std::printf("| SIGTERM (resign) | %.1f ms | %.1f ms | %.1f ms | %.1f ms | <= 20 ms |\n\n",
              resign_gone.median(), resign_elected.median(), resign_elected.pct(90),
              resign_elected.max());
  std::printf("## Store call latency (%d calls each, alternating batches of %d)\n\n", ops, kBatch);
  std::printf("| call | Rampart p50 | Rampart p99 | etcdctl p50 | etcdctl p99 | ratio p50 (etcdctl / Rampart) |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  std::printf("| put | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.1fx |\n", put_rampart.median(),
              put_rampart.pct(99), put_etcdctl.median(), put_etcdctl.pct(99),
              put_etcdctl.median() / put_rampart.median());
  std::printf("| txn (CAS) | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.1fx |\n",
              txn_rampart.median(), txn_rampart.pct(99), txn_etcdctl.median(),
              txn_etcdctl.pct(99), txn_etcdctl.median() / txn_rampart.median());
  started->reset();
  if (made_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}
