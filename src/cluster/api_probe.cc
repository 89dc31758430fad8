#include "cluster/api_probe.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "cluster/http_call.h"
#include "cluster/lab_network.h"

namespace rampart::cluster {

ProbeSummary summarize(const std::vector<ProbeSample>& samples) {
  ProbeSummary s;
  s.requests = samples.size();
  std::optional<TimePoint> last_ok;
  for (const auto& p : samples) {
    if (!p.ok) {
      ++s.failed;
      s.in_flight += brokenInFlight(p.error) ? 1 : 0;
      if (s.first_error.empty()) {
        s.first_error = p.error;
      }
      continue;
    }
    if (last_ok) {
      s.longest_gap = std::max(s.longest_gap, p.start - *last_ok);
    }
    last_ok = p.start;
  }
  return s;
}

bool brokenInFlight(const std::string& error) {
  for (const char* sign : {"stream truncated", "reset by peer", "end of stream", "short read"}) {
    if (error.find(sign) != std::string::npos) {
      return true;
    }
  }
  return false;
}

ApiProbe::ApiProbe(ApiProbeOptions options) : options_(std::move(options)) {}

ApiProbe::~ApiProbe() { stop(); }

Result<void> ApiProbe::start() {
  thread_ = std::thread([this] { run(); });
  for (int i = 0; i < 500 && entered_.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (entered_.load() != 1) {
    stop();
    return fail(ErrorCode::Unavailable, "the API probe cannot enter network namespace ",
                options_.netns);
  }
  return ok();
}

void ApiProbe::stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::vector<ProbeSample> ApiProbe::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::vector<ProbeSample> ApiProbe::between(TimePoint from, TimePoint to) const {
  std::lock_guard lock(mutex_);
  std::vector<ProbeSample> out;
  for (const auto& s : samples_) {
    if (s.start >= from && s.start < to) {
      out.push_back(s);
    }
  }
  return out;
}

void ApiProbe::run() {
  if (!options_.netns.empty()) {
    // setns changes only this thread's namespace: the rest of the process stays where it is.
    int fd = ::open(netnsPath(options_.netns).c_str(), O_RDONLY | O_CLOEXEC);
    bool entered = fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) {
      ::close(fd);
    }
    if (!entered) {
      entered_ = -1;
      return;
    }
  }
  entered_ = 1;
  HttpCall call;
  call.path = options_.path;
  call.tls.ca = options_.ca_file;
  call.tls.server_name = options_.tls_server_name;
  call.bearer = options_.token;
  call.timeout = options_.timeout;
  net::Endpoint endpoint{options_.host, options_.port, !options_.ca_file.empty()};
  auto next = std::chrono::steady_clock::now();
  while (!stopping_) {
    ProbeSample sample;
    sample.start = std::chrono::steady_clock::now();
    auto r = httpCall(endpoint, call);  // a new client, so a new connection, every time
    sample.latency = std::chrono::steady_clock::now() - sample.start;
    sample.ok = r && r->status == 200;
    if (!sample.ok) {
      sample.error = r ? "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200)
                       : r.error().message;
    }
    {
      std::lock_guard lock(mutex_);
      samples_.push_back(std::move(sample));
    }
    next += options_.period;
    auto now = std::chrono::steady_clock::now();
    if (next > now) {
      std::this_thread::sleep_until(next);
    } else {
      next = now;  // a slow answer does not make the next ones burst
    }
  }
}

}  // namespace rampart::cluster
