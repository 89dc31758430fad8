#include "drill/election_drill.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "base/log.h"
#include "runtime/process.h"

namespace rampart::drill {
namespace asio = boost::asio;

struct ElectionDrill::Loop {
  asio::io_context io;
  std::unique_ptr<store::EtcdStore> store;

  // Runs a coroutine to completion on this loop.
  template <typename T>
  T run(asio::awaitable<T> work) {
    io.restart();
    auto future = asio::co_spawn(io, std::move(work), asio::use_future);
    io.run();
    return future.get();
  }
};

ElectionDrill::ElectionDrill(ElectionDrillOptions options)
    : options_(std::move(options)), loop_(std::make_unique<Loop>()) {}

ElectionDrill::~ElectionDrill() {
  for (auto& c : candidates_) {
    if (c.pid) {
      runtime::terminate(c.pid, std::chrono::seconds(3));
    }
  }
  loop_->store.reset();
}

Result<std::unique_ptr<ElectionDrill>> ElectionDrill::start(ElectionDrillOptions options) {
  if (options.rampart_binary.empty()) {
    options.rampart_binary = runtime::selfExecutable();
  }
  std::unique_ptr<ElectionDrill> drill(new ElectionDrill(options));
  lab::EtcdClusterOptions etcd_options;
  etcd_options.members = options.etcd_members;
  etcd_options.dir = options.dir + "/etcd";
  auto etcd = lab::EtcdCluster::start(etcd_options);
  if (!etcd) {
    return fail(etcd.error());
  }
  drill->etcd_ = std::move(*etcd);
  drill->loop_->store = std::make_unique<store::EtcdStore>(
      drill->loop_->io.get_executor(),
      store::EtcdOptions{drill->etcd_->clientEndpoints(), std::chrono::seconds(2)});
  for (int i = 0; i < options.candidates; ++i) {
    Candidate c;
    c.name = "candidate-" + std::to_string(i + 1);
    c.log_file = options.dir + "/" + c.name + ".log";
    drill->candidates_.push_back(c);
  }
  for (auto& c : drill->candidates_) {
    if (auto r = drill->spawnCandidate(c); !r) {
      return fail(r.error());
    }
  }
  for (auto& c : drill->candidates_) {
    if (auto r = drill->waitUntilCampaigning(c, std::chrono::seconds(10)); !r) {
      return fail(r.error());
    }
  }
  return drill;
}

Result<void> ElectionDrill::spawnCandidate(Candidate& c) {
  runtime::SpawnOptions spawn;
  spawn.argv = {options_.rampart_binary, "--log-level", "info", "elect",
                "--endpoints", etcd_->endpointList(),
                "--key", options_.key,
                "--name", c.name,
                "--ttl", std::to_string(options_.ttl.count()) + "s"};
  spawn.log_file = c.log_file;
  auto pid = runtime::spawn(spawn);
  if (!pid) {
    return fail(pid.error());
  }
  c.pid = *pid;
  return ok();
}

Result<void> ElectionDrill::waitUntilCampaigning(const Candidate& c, Duration timeout) {
  // A candidate prints its "started" event once its loop runs; a short settle after that lets it
  // reach its first campaign, so the next measurement does not include a process start-up.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(c.log_file);
    std::stringstream text;
    text << in.rdbuf();
    // The log is appended to by every incarnation: look for this process's own event.
    if (text.str().find("\"pid\":" + std::to_string(c.pid) + "}") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail(ErrorCode::DeadlineExceeded, "candidate ", c.name, " did not start; see ",
              c.log_file);
}

ElectionDrill::Candidate* ElectionDrill::findCandidate(const std::string& name) {
  for (auto& c : candidates_) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

Result<std::string> ElectionDrill::waitForLeader(Duration timeout) {
  auto& store = *loop_->store;
  auto key = options_.key;
  auto work = [&store, key, timeout]() -> asio::awaitable<Result<std::string>> {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto read = store::RangeRequest::single(key);
    auto current = co_await store.range(std::move(read));
    if (!current) {
      co_return fail(current.error());
    }
    if (!current->kvs.empty()) {
      co_return current->kvs.front().value;
    }
    auto watch = store.watch(store::WatchRequest{.key = key,
                                                 .start_revision = current->revision + 1});
    while (std::chrono::steady_clock::now() < deadline) {
      auto batch = co_await watch->next(deadline - std::chrono::steady_clock::now());
      if (!batch) {
        co_return fail(batch.error());
      }
      for (const auto& e : batch->events) {
        if (e.type == store::WatchEvent::Type::Put) {
          co_return e.kv.value;
        }
      }
    }
    co_return fail(ErrorCode::DeadlineExceeded, "no leader elected for ", key);
  };
  return loop_->run(work());
}

Result<Handover> ElectionDrill::signalLeader(int signal, Duration timeout) {
  auto& store = *loop_->store;
  auto key = options_.key;
  auto* self = this;
  auto work = [&store, key, timeout, signal, self]() -> asio::awaitable<Result<Handover>> {
    auto read = store::RangeRequest::single(key);
    auto current = co_await store.range(std::move(read));
    if (!current) {
      co_return fail(current.error());
    }
    if (current->kvs.empty()) {
      co_return fail(ErrorCode::FailedPrecondition, "no leader to signal");
    }
    Handover h;
    h.old_leader = current->kvs.front().value;
    auto* victim = self->findCandidate(h.old_leader);
    if (!victim || !victim->pid) {
      co_return fail(ErrorCode::FailedPrecondition, "leader ", h.old_leader,
                     " is not a candidate of this drill");
    }
    // Watch from just after the read, so nothing between the read and the signal is missed.
    auto watch = store.watch(store::WatchRequest{.key = key,
                                                 .start_revision = current->revision + 1});
    auto sent = std::chrono::steady_clock::now();
    ::kill(victim->pid, signal);
    auto deadline = sent + timeout;
    bool gone = false;
    while (std::chrono::steady_clock::now() < deadline) {
      auto batch = co_await watch->next(deadline - std::chrono::steady_clock::now());
      if (!batch) {
        co_return fail(batch.error());
      }
      auto seen = std::chrono::steady_clock::now();
      for (const auto& e : batch->events) {
        if (e.type == store::WatchEvent::Type::Delete && !gone) {
          gone = true;
          h.key_gone = seen - sent;
        } else if (e.type == store::WatchEvent::Type::Put && gone && e.kv.version == 1) {
          h.new_leader = e.kv.value;
          h.new_leader_elected = seen - sent;
          co_return h;
        }
      }
    }
    co_return fail(ErrorCode::DeadlineExceeded, "no new leader within the timeout after signal ",
                   std::to_string(signal), " to ", h.old_leader);
  };
  auto result = loop_->run(work());
  // Bring the signalled candidate back so the next round starts with the full set.
  if (result) {
    if (auto* victim = findCandidate(result->old_leader)) {
      runtime::terminate(victim->pid, std::chrono::seconds(3));
      victim->pid = 0;
      if (auto r = spawnCandidate(*victim); !r) {
        return fail(r.error());
      }
      if (auto r = waitUntilCampaigning(*victim, std::chrono::seconds(10)); !r) {
        return fail(r.error());
      }
    }
  }
  return result;
}

Result<Duration> ElectionDrill::timeStoreCall(
    std::function<asio::awaitable<Result<void>>(store::Store&)> body) {
  auto& store = *loop_->store;
  auto work = [&store, body]() -> asio::awaitable<Result<Duration>> {
    auto start = std::chrono::steady_clock::now();
    auto r = co_await body(store);
    if (!r) {
      co_return fail(r.error());
    }
    co_return std::chrono::steady_clock::now() - start;
  };
  return loop_->run(work());
}

}  // namespace rampart::drill
