#include "redis/client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "redis/reply_reader.h"

namespace rampart::redis {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// A socket timeout of what is left until `deadline`. At least 1us: a zero timeval means "no
// timeout" to SO_RCVTIMEO, the opposite of what a spent deadline needs (the caller checks
// for a spent deadline first).
timeval timevalFor(Duration left) {
  auto us = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::microseconds>(left + std::chrono::nanoseconds(999))
             .count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  return tv;
}

std::string millis(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

}  // namespace

std::string commandName(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return "(empty command)";
  }
  std::string name = upper(argv[0]);
  static constexpr const char* kContainers[] = {"CLIENT",  "CONFIG", "INFO",   "SENTINEL",
                                                "CLUSTER", "ACL",    "MEMORY", "OBJECT",
                                                "COMMAND", "SCRIPT", "DEBUG"};
  if (argv.size() > 1 && std::any_of(std::begin(kContainers), std::end(kContainers),
                                     [&](const char* c) { return name == c; })) {
    // A subcommand is a short word; anything else may be data, so it is left out.
    const std::string& sub = argv[1];
    bool word = !sub.empty() && sub.size() <= 32 &&
                std::all_of(sub.begin(), sub.end(), [](unsigned char c) {
                  return std::isalnum(c) || c == '-' || c == '_';
                });
    if (word) {
      name += " " + upper(sub);
    }
  }
  return name;
}

Client::Client(redisContext* context, net::Endpoint endpoint, const Clock& clock)
    : context_(context), endpoint_(std::move(endpoint)), clock_(&clock) {}

Client::Client(Client&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)),
      endpoint_(std::move(other.endpoint_)),
      clock_(other.clock_),
      broken_(other.broken_) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    context_ = std::exchange(other.context_, nullptr);
    endpoint_ = std::move(other.endpoint_);
    clock_ = other.clock_;
    broken_ = other.broken_;
  }
  return *this;
}

Client::~Client() { close(); }

void Client::close() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
}

Result<Client> Client::connect(const net::Endpoint& endpoint, Duration timeout,
                               const Clock& clock) {
  std::string where = "redis " + endpoint.hostPort();
  if (timeout <= Duration::zero()) {
    return fail(ErrorCode::InvalidArgument, where, ": connect timeout must be positive");
  }
  redisContext* ctx =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, timevalFor(timeout));
  int saved_errno = errno;
  if (ctx == nullptr) {
    return fail(ErrorCode::Internal, where, ": connect: out of memory");
  }
  if (ctx->err != 0) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    // hiredis reports its poll() running out as ETIMEDOUT ("Connection timed out").
    bool timed_out = saved_errno == ETIMEDOUT || why.find("timed out") != std::string::npos;
    if (timed_out) {
      return fail(ErrorCode::DeadlineExceeded, where, ": connect: timed out after ",
                  millis(timeout));
    }
    return fail(ErrorCode::Unavailable, where, ": connect: ", why);
  }
  return Client(ctx, endpoint, clock);
}

Result<Reply> Client::command(const std::vector<std::string>& argv, Duration timeout) {
  std::string where = "redis " + endpoint_.hostPort() + ": " + commandName(argv);
  if (context_ == nullptr || broken_) {
    return fail(ErrorCode::FailedPrecondition, where,
                ": connection broken by an earlier failure; connect again");
  }
  if (argv.empty()) {
    return fail(ErrorCode::InvalidArgument, where, ": no command");
  }
  TimePoint deadline = clock_->now() + timeout;

  // Every failure below leaves the stream out of step: the client is broken from then on.
  auto ioFailure = [&](int saved_errno) -> tl::unexpected<Error> {
    broken_ = true;
    std::string why = context_->errstr;
    bool spent = clock_->now() >= deadline;
    if (context_->err == REDIS_ERR_IO &&
        (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || spent)) {
      return fail(ErrorCode::DeadlineExceeded, where, ": timed out after ", millis(timeout));
    }
    if (context_->err == REDIS_ERR_PROTOCOL || context_->err == REDIS_ERR_OOM) {
      return fail(ErrorCode::Internal, where, ": ", why);
    }
    return fail(ErrorCode::Unavailable, where, ": ", why);
  };
  // Re-arms the socket timeout with what is left before the deadline.
  auto arm = [&]() -> Result<void> {
    Duration left = deadline - clock_->now();
    if (left <= Duration::zero()) {
      broken_ = true;
      return fail(ErrorCode::DeadlineExceeded, where, ": timed out after ", millis(timeout));
    }
    if (redisSetTimeout(context_, timevalFor(left)) != REDIS_OK) {
      return ioFailure(errno);
    }
    return ok();
  };

  std::vector<const char*> parts;
  std::vector<size_t> lengths;
  parts.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& arg : argv) {
    parts.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), parts.data(),
                             lengths.data()) != REDIS_OK) {
    broken_ = true;
    return fail(ErrorCode::Internal, where, ": cannot format the command: ", context_->errstr);
  }

  int done = 0;
  while (done == 0) {
    if (auto armed = arm(); !armed) {
      return fail(armed.error());
    }
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      return ioFailure(errno);
    }
  }
  void* raw = nullptr;
  for (;;) {
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      return ioFailure(errno);
    }
    if (raw != nullptr) {
      break;
    }
    if (auto armed = arm(); !armed) {
      return fail(armed.error());
    }
    if (redisBufferRead(context_) != REDIS_OK) {
      return ioFailure(errno);
    }
  }
  auto* reply = static_cast<redisReply*>(raw);
  auto converted = fromHiredis(reply);
  freeReplyObject(reply);
  if (!converted) {
    broken_ = true;
    return fail(ErrorCode::Internal, where, ": ", converted.error().message);
  }
  return converted;
}

}  // namespace rampart::redis
