#include "store/etcd_store.h"

#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>
#include "base/backoff.h"
#include "base/duration.h"
#include "base/log.h"

#include "net/http/client.h"
#include "runtime/secret_file.h"
#include "store/etcd_codec.h"

namespace rampart::store {

// The etcd auth token shared by a store and its watches (one event loop).
struct EtcdAuthState {
  std::string token;  // "" until authenticated (or after etcd called it invalid)
};

namespace asio = boost::asio;
using net::http::Request;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Errors after which the same request may succeed on another member.
bool tryAnotherMember(const Error& e) {
  return e.code == ErrorCode::Unavailable || e.code == ErrorCode::DeadlineExceeded ||
         e.code == ErrorCode::Cancelled;
}

std::string joinEndpoints(const std::vector<net::Endpoint>& endpoints) {
  std::string out;
  for (const auto& e : endpoints) {
    if (!out.empty()) {
      out += ",";
    }
    out += e.toString();
  }
  return out;
}

Request post(std::string path, std::string body) {
  Request r;
  r.method = "POST";
  r.target = std::move(path);
  r.body = std::move(body);
  return r;
}

// Adds the token (when there is one) the way etcd's gateway expects it.
void authorize(Request& request, const EtcdAuthState& auth) {
  if (!auth.token.empty()) {
    request.headers.emplace_back("Authorization", auth.token);
  }
}

// Authenticates `options.user` at `endpoint` and keeps the token in `auth`.
asio::awaitable<Result<void>> authenticate(net::http::Client& client, const EtcdOptions& options,
                                           net::Endpoint endpoint, TimePoint deadline,
                                           EtcdAuthState& auth) {
  std::string password = options.password;
  if (password.empty() && !options.password_file.empty()) {
    auto read = runtime::readSecretFile(options.password_file);
    if (!read) {
      co_return fail(ErrorCode::FailedPrecondition, "etcd password_file: ", read.error().message);
    }
    password = std::move(*read);
  }
  nlohmann::json body = {{"name", options.user}, {"password", password}};
  Request request = post("/v3/auth/authenticate", body.dump());
  auto response = co_await client.fetch(endpoint, std::move(request), deadline);
  if (!response) {
    co_return fail(response.error());
  }
  if (response->status != 200) {
    auto error = etcd::decodeError(response->status, response->body);
    error.message = "etcd authentication as '" + options.user + "' at " + endpoint.toString() +
                    ": " + error.message;
    co_return fail(std::move(error));
  }
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("token") ||
      !answer["token"].is_string() || answer["token"].get<std::string>().empty()) {
    co_return fail(ErrorCode::Unavailable, "etcd authentication at ", endpoint.toString(),
                   ": no token in the answer");
  }
  auth.token = answer["token"].get<std::string>();
  co_return ok();
}

// State shared between an EtcdWatch handle and its reader coroutine. The reader owns the
// connection and pushes decoded batches; next() pops them. Both run on the same event loop.
struct WatchState {
  WatchState(asio::any_io_executor ex, EtcdOptions opts, WatchRequest req,
             std::shared_ptr<EtcdAuthState> auth_state)
      : executor(ex),
        options(std::move(opts)),
        request(std::move(req)),
        auth(std::move(auth_state)),
        client(ex, options.tls),
        wakeup(ex),
        retry_timer(ex) {
    resume_revision = request.start_revision;
  }

  void notify() { wakeup.cancel(); }

  asio::any_io_executor executor;
  EtcdOptions options;
  WatchRequest request;
  std::shared_ptr<EtcdAuthState> auth;
  net::http::Client client;
  asio::steady_timer wakeup;       // next() sleeps on it; cancel() wakes it
  asio::steady_timer retry_timer;  // reconnect backoff
  std::deque<WatchBatch> ready;
  std::unique_ptr<net::http::BodyStream> stream;
  Revision resume_revision = 0;  // 0 until known: the revision to resume from after a break
  size_t endpoint_index = 0;
  bool cancelled = false;
  bool finished = false;  // compacted: no more batches will come
  std::optional<Error> last_error;
};

asio::awaitable<void> runWatch(std::shared_ptr<WatchState> s) {
  auto logger = log::get("store");
  Backoff backoff(std::chrono::milliseconds(20), std::chrono::seconds(1));
  while (!s->cancelled && !s->finished) {
    const auto& endpoint = s->options.endpoints[s->endpoint_index % s->options.endpoints.size()];
    WatchRequest create = s->request;
    create.start_revision = s->resume_revision;
    Request req = post("/v3/watch", etcd::encodeWatchCreate(create));
    // etcd cancels the watch when its member loses the leader (clientv3.WithRequireLeader).
    req.headers.emplace_back("Grpc-Metadata-hasleader", "true");
    auto open_deadline = std::chrono::steady_clock::now() + s->options.request_timeout;
    Result<std::unique_ptr<net::http::BodyStream>> opened =
        fail(ErrorCode::Unavailable, "not authenticated");
    if (!s->options.user.empty() && s->auth->token.empty()) {
      auto authed = co_await authenticate(s->client, s->options, endpoint, open_deadline, *s->auth);
      if (!authed) {
        opened = fail(authed.error());
      }
    }
    if (s->options.user.empty() || !s->auth->token.empty()) {
      authorize(req, *s->auth);
      opened = co_await s->client.stream(endpoint, std::move(req), open_deadline);
    }
    bool progressed = false;
    if (opened && (*opened)->status() != 200) {
      opened = fail(ErrorCode::Unavailable, "watch on ", endpoint.toString(), ": HTTP ",
                    std::to_string((*opened)->status()));
    }
    if (opened) {
      s->stream = std::move(*opened);
      std::string buffer;
      for (;;) {
        auto chunk =
            co_await s->stream->read(std::chrono::steady_clock::now() + s->options.watch_idle_timeout);
        if (!chunk) {
          s->last_error = chunk.error();
          break;
        }
        if (!*chunk) {
          s->last_error = Error{ErrorCode::Unavailable, "watch stream from " +
                                                            endpoint.toString() + " ended"};
          break;
        }
        buffer += **chunk;
        bool reconnect = false;
        size_t newline;
        while ((newline = buffer.find('\n')) != std::string::npos) {
          std::string line = buffer.substr(0, newline);
          buffer.erase(0, newline + 1);
          if (line.empty()) {
            continue;
          }
          auto msg = etcd::decodeWatchMessage(line);
          if (!msg) {
            s->last_error = msg.error();
            if (msg.error().code == ErrorCode::Unauthenticated) {
              s->auth->token.clear();
            }
            reconnect = true;
            break;
          }
          if (msg->created) {
            progressed = true;
            if (s->resume_revision == 0) {
              // start_revision 0 means "after the current revision": pin it, so a reconnect
              // neither skips nor repeats anything.
              s->resume_revision = msg->header_revision + 1;
            }
          }
          if (msg->canceled) {
            if (msg->compact_revision > 0) {
              WatchBatch batch;
              batch.header_revision = msg->header_revision;
              batch.compacted = true;
              batch.compact_revision = msg->compact_revision;
              s->ready.push_back(std::move(batch));
              s->finished = true;
              s->notify();
            } else {
              s->last_error = Error{ErrorCode::Unavailable,
                                    "watch cancelled by " + endpoint.toString() + ": " +
                                        msg->cancel_reason};
              if (msg->cancel_reason.find("auth token") != std::string::npos) {
                s->auth->token.clear();  // authenticate again before the next attempt
              }
            }
            reconnect = true;
            break;
          }
          if (!msg->events.empty()) {
            WatchBatch batch;
            batch.header_revision = msg->header_revision;
            batch.events = std::move(msg->events);
            s->resume_revision = batch.events.back().kv.mod_revision + 1;
            s->ready.push_back(std::move(batch));
            s->notify();
          }
        }
        if (reconnect) {
          break;
        }
      }
      if (s->stream) {
        s->stream->close();
        s->stream.reset();
      }
    } else {
      s->last_error = opened.error();
    }
    if (s->cancelled || s->finished) {
      break;
    }
    if (progressed) {
      backoff.reset();
    }
    logger->debug("watch reconnecting key={} from_revision={} reason={}", s->request.key,
                  s->resume_revision, s->last_error ? s->last_error->toString() : "");
    ++s->endpoint_index;
    s->retry_timer.expires_after(backoff.next());
    co_await s->retry_timer.async_wait(kTuple);
  }
}

class EtcdWatch final : public Watch {
 public:
  explicit EtcdWatch(std::shared_ptr<WatchState> state) : state_(std::move(state)) {
    asio::co_spawn(state_->executor, runWatch(state_), asio::detached);
  }
  ~EtcdWatch() override { cancel(); }

  Async<WatchBatch> next(Duration max_wait) override {
    auto s = state_;
    if (s->ready.empty() && !s->cancelled && !s->finished) {
      s->wakeup.expires_after(max_wait);
      co_await s->wakeup.async_wait(kTuple);
    }
    if (!s->ready.empty()) {
      WatchBatch batch = std::move(s->ready.front());
      s->ready.pop_front();
      co_return batch;
    }
    if (s->cancelled) {
      co_return fail(ErrorCode::Cancelled, "watch cancelled");
    }
    if (s->finished) {
      co_return fail(ErrorCode::FailedPrecondition, "watch ended after compaction");
    }
    co_return WatchBatch{};
  }

  void cancel() override {
    auto& s = *state_;
    if (s.cancelled) {
      return;
    }
    s.cancelled = true;
    if (s.stream) {
      s.stream->close();
    }
    s.retry_timer.cancel();
    s.notify();
  }

 private:
  std::shared_ptr<WatchState> state_;
};

}  // namespace

Result<std::vector<net::Endpoint>> parseEndpointList(std::string_view text) {
  std::vector<net::Endpoint> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                     : comma - start);
    if (!item.empty()) {
      auto endpoint = net::parseEndpoint(item);
      if (!endpoint) {
        return fail(endpoint.error());
      }
      out.push_back(std::move(*endpoint));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  if (out.empty()) {
    return fail(ErrorCode::InvalidArgument, "no etcd endpoints given");
  }
  return out;
}

EtcdStore::EtcdStore(asio::any_io_executor executor, EtcdOptions options)
    : executor_(executor),
      options_(std::move(options)),
      client_(std::make_unique<net::http::Client>(executor, options_.tls)),
      auth_(std::make_shared<EtcdAuthState>()) {}

EtcdStore::~EtcdStore() = default;

Async<std::string> EtcdStore::call(std::string path, std::string body, Duration first_attempts) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + options_.request_timeout;
  const size_t n = options_.endpoints.size();
  // One member that hangs may take at most its share of the budget, so the others get a turn.
  const auto share = std::max<Duration>(options_.request_timeout / static_cast<int>(n),
                                        std::chrono::milliseconds(100));
  std::string tried;
  bool reauthenticated = false;
  asio::steady_timer pause(executor_);
  for (int round = 0;; ++round) {
    for (size_t i = 0; i < n; ++i) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        co_return fail(ErrorCode::Unavailable, "etcd unreachable at ",
                       joinEndpoints(options_.endpoints), " within ",
                       formatDuration(options_.request_timeout), " (", path, "; tried ", tried,
                       ")");
      }
      size_t index = (preferred_ + i) % n;
      const auto& endpoint = options_.endpoints[index];
      auto attempt_budget =
          round == 0 && first_attempts > Duration::zero() ? std::min(share, first_attempts) : share;
      auto attempt_deadline = std::min(deadline, now + attempt_budget);
      auto answer = co_await callOnce(endpoint, path, body, attempt_deadline, deadline);
      // A token etcd no longer knows (it expired, or the member restarted with simple tokens):
      // authenticate again and repeat the request, once per call.
      if (!answer && answer.error().code == ErrorCode::Unauthenticated && !options_.user.empty() &&
          !reauthenticated) {
        reauthenticated = true;
        auth_->token.clear();
        answer = co_await callOnce(endpoint, path, body, attempt_deadline, deadline);
      }
      if (answer) {
        preferred_ = index;
        co_return std::move(*answer);
      }
      Error error = answer.error();
      if (!tryAnotherMember(error)) {
        co_return fail(error);
      }
      if (tried.size() < 600) {
        tried += (tried.empty() ? "" : "; ") + endpoint.toString() + ": " + error.message;
      }
    }
    // Every member failed this round (e.g. an election in progress): pause briefly.
    pause.expires_after(std::chrono::milliseconds(std::min(20 * (round + 1), 200)));
    co_await pause.async_wait(kTuple);
  }
}

Async<std::string> EtcdStore::callOnce(net::Endpoint endpoint, std::string path, std::string body,
                                       TimePoint deadline, TimePoint auth_deadline) {
  if (!options_.user.empty() && auth_->token.empty()) {
    // etcd checks the password with bcrypt, which takes far longer than a read: authenticating
    // may use the whole call's budget, not just this member's share.
    auto authed = co_await authenticate(*client_, options_, endpoint, auth_deadline, *auth_);
    if (!authed) {
      if (tryAnotherMember(authed.error())) {
        client_->forget(endpoint);
      }
      co_return fail(authed.error());
    }
  }
  Request request = post(std::move(path), std::move(body));
  authorize(request, *auth_);
  auto response = co_await client_->fetch(endpoint, std::move(request), deadline);
  if (!response) {
    client_->forget(endpoint);
    co_return fail(response.error());
  }
  if (response->status != 200) {
    co_return fail(etcd::decodeError(response->status, response->body));
  }
  co_return std::move(response->body);
}

Async<RangeResponse> EtcdStore::range(RangeRequest request) {
  // A single key is read in a few milliseconds unless the member waits on a leader that is gone
  // (etcd 3.4 resends a lost ReadIndex only after 500 ms): the first round tries each member
  // briefly, so a read goes to one that answers instead of waiting out the stuck one.
  bool single = request.range_end.empty() && !request.serializable;
  auto body = co_await call("/v3/kv/range", etcd::encodeRange(request),
                            single ? options_.single_read_attempt : Duration::zero());
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodeRange(*body);
}

Async<PutResponse> EtcdStore::put(PutRequest request) {
  auto body = co_await call("/v3/kv/put", etcd::encodePut(request));
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodePut(*body);
}

Async<DeleteResponse> EtcdStore::deleteRange(DeleteRequest request) {
  auto body = co_await call("/v3/kv/deleterange", etcd::encodeDelete(request));
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodeDelete(*body);
}

Async<TxnResponse> EtcdStore::txn(TxnRequest request) {
  auto body = co_await call("/v3/kv/txn", etcd::encodeTxn(request));
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodeTxn(*body);
}

Async<void> EtcdStore::compact(Revision revision) {
  auto body = co_await call("/v3/kv/compaction", etcd::encodeCompact(revision));
  if (!body) {
    co_return fail(body.error());
  }
  co_return ok();
}

Async<LeaseGrantResponse> EtcdStore::leaseGrant(std::chrono::seconds ttl) {
  auto body = co_await call("/v3/lease/grant", etcd::encodeLeaseGrant(ttl));
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodeLeaseGrant(*body);
}

Async<void> EtcdStore::leaseRevoke(LeaseId id) {
  auto body = co_await call("/v3/lease/revoke", etcd::encodeLeaseId(id));
  if (!body) {
    co_return fail(body.error());
  }
  co_return ok();
}

Async<LeaseKeepAliveResponse> EtcdStore::leaseKeepAliveOnce(LeaseId id) {
  auto body = co_await call("/v3/lease/keepalive", etcd::encodeLeaseId(id));
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodeLeaseKeepAlive(*body);
}

Async<LeaseTimeToLiveResponse> EtcdStore::leaseTimeToLive(LeaseId id, bool with_keys) {
  auto body = co_await call("/v3/lease/timetolive", etcd::encodeLeaseTimeToLive(id, with_keys));
  if (!body) {
    co_return fail(body.error());
  }
  co_return etcd::decodeLeaseTimeToLive(*body);
}

WatchPtr EtcdStore::watch(WatchRequest request) {
  return std::make_unique<EtcdWatch>(
      std::make_shared<WatchState>(executor_, options_, std::move(request), auth_));
}

}  // namespace rampart::store
