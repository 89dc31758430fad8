#include "agent/nodeapi/node_api_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "agent/nodeapi/cri_log.h"
#include "agent/nodeapi/exec_protocol.h"
#include "api/request_info.h"
#include "base/log.h"
#include "net/http/server.h"
#include "net/http/upgrade.h"

namespace rampart::agent::nodeapi {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace http = net::http;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr size_t kReadChunk = 32 * 1024;
constexpr size_t kOutboxLimit = 1024 * 1024;  // output waiting for the client, per session

// A descriptor closed when it goes (the child's ends, /dev/null).
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd = std::exchange(o.fd, -1);
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) {
      ::close(fd);
    }
    fd = -1;
  }
  int release() { return std::exchange(fd, -1); }
};

Result<std::pair<Fd, Fd>> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(ErrorCode::Unavailable, "pipe: ", std::strerror(errno));
  }
  return std::pair<Fd, Fd>{Fd(fds[0]), Fd(fds[1])};
}

// A pty pair: (master, slave).
Result<std::pair<Fd, Fd>> makePty() {
  Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (master.fd < 0 || ::grantpt(master.fd) != 0 || ::unlockpt(master.fd) != 0) {
    return fail(ErrorCode::Unavailable, "pty: ", std::strerror(errno));
  }
  char name[128];
  if (::ptsname_r(master.fd, name, sizeof name) != 0) {
    return fail(ErrorCode::Unavailable, "ptsname: ", std::strerror(errno));
  }
  Fd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (slave.fd < 0) {
    return fail(ErrorCode::Unavailable, "open ", name, ": ", std::strerror(errno));
  }
  return std::pair<Fd, Fd>{std::move(master), std::move(slave)};
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    if (slash != 0) {
      parts.emplace_back(path.substr(0, slash));
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// kubelet answers errors as plain text.
http::Response textError(int status, std::string message) {
  return http::Response::text(status, std::move(message) + "\n");
}

std::string notFoundMessage(const std::string& pod, const std::string& container) {
  return "container \"" + container + "\" not found in pod \"" + pod + "\"";
}

// A file read to its end, with its identity (rotation renames it; a new file gets a new inode).
struct FollowedFile {
  std::string path;
  Fd fd;
  ino_t inode = 0;
};

Result<FollowedFile> openLog(const std::string& path) {
  FollowedFile file;
  file.path = path;
  file.fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (file.fd.fd < 0 || ::fstat(file.fd.fd, &st) != 0) {
    return fail(ErrorCode::NotFound, "open ", path, ": ", std::strerror(errno));
  }
  file.inode = st.st_ino;
  return file;
}

// What is in `fd` from its offset to its end now (blocking on a local file: short).
std::string readAvailable(int fd) {
  std::string out;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// The process group when the process leads one (spawnLocal makes a session), else the process.
void killProcess(pid_t pid) {
  if (pid <= 0) {
    return;
  }
  if (::getpgid(pid) == pid) {
    ::kill(-pid, SIGKILL);
  }
  ::kill(pid, SIGKILL);
}

// One exec session on a WebSocket over `Next` (plain or TLS). Its coroutines share it through
// shared_ptrs; the session coroutine waits for all of them before it returns, so `ws` (which
// refers to the connection) never outlives the connection.
template <class Next>
struct Session : std::enable_shared_from_this<Session<Next>> {
  explicit Session(std::shared_ptr<Next> connection)
      : connection(std::move(connection)), ws(*this->connection) {}

  std::shared_ptr<Next> connection;
  websocket::stream<Next&> ws;
  // Each waiting coroutine's timer, cancelled whenever something below changes: a condition
  // variable (one timer per waiter: re-arming a shared one would cancel the others' waits).
  std::vector<asio::steady_timer*> waiters;
  std::deque<std::string> outbox;
  size_t outbox_bytes = 0;
  bool closing = false;      // the writer ends once the outbox is empty
  bool client_gone = false;  // a read or write on the WebSocket failed
  int tasks = 0;             // coroutines still running (pumps, reader, writer)
  int pumps = 0;             // output pumps still running
  bool writer_done = false;
  bool v5 = false;
  pid_t pid = 0;
  std::optional<asio::posix::stream_descriptor> stdin_pipe;
  int pty_master = -1;  // for TIOCSWINSZ (owned by the stdout pump's descriptor)

  void notify() {
    for (auto* waiter : waiters) {
      waiter->cancel();
    }
  }

  // Until notify() or `limit`.
  asio::awaitable<void> waitChange(Duration limit = std::chrono::hours(24)) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(limit);
    waiters.push_back(&timer);
    co_await timer.async_wait(kTuple);
    std::erase(waiters, &timer);
  }

  void send(uint8_t channel, std::string_view data) {
    std::string frame = encodeFrame(channel, data);
    outbox_bytes += frame.size();
    outbox.push_back(std::move(frame));
    notify();
  }
};

template <class Next>
asio::awaitable<void> writer(std::shared_ptr<Session<Next>> s) {
  for (;;) {
    if (s->outbox.empty()) {
      if (s->closing || s->client_gone) {
        break;
      }
      co_await s->waitChange();
      continue;
    }
    std::string frame = std::move(s->outbox.front());
    s->outbox.pop_front();
    auto [ec, n] = co_await s->ws.async_write(asio::buffer(frame), kTuple);
    s->outbox_bytes -= frame.size();
    s->notify();
    if (ec) {
      s->client_gone = true;
      killProcess(s->pid);
      break;
    }
  }
  s->outbox.clear();
  s->writer_done = true;
  --s->tasks;
  s->notify();
}

template <class Next>
asio::awaitable<void> outputPump(std::shared_ptr<Session<Next>> s,
                                 std::shared_ptr<asio::posix::stream_descriptor> from,
                                 uint8_t channel) {
  std::string buffer(kReadChunk, '\0');
  for (;;) {
    // Back-pressure: a client that does not read stops the process's output, not our memory.
    while (s->outbox_bytes > kOutboxLimit && !s->client_gone) {
      co_await s->waitChange();
    }
    if (s->client_gone) {
      break;
    }
    auto [ec, n] = co_await from->async_read_some(asio::buffer(buffer), kTuple);
    if (ec) {
      break;  // EOF, EIO on a pty whose slave is closed, or closed by the session
    }
    s->send(channel, std::string_view(buffer.data(), n));
  }
  --s->pumps;
  --s->tasks;
  s->notify();
}

template <class Next>
asio::awaitable<void> reader(std::shared_ptr<Session<Next>> s) {
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    auto [ec, n] = co_await s->ws.async_read(buffer, kTuple);
    if (ec) {
      // The client closed or went away. While the command runs, that ends it (the kubelet
      // kills the exec too); after the status, this is the expected close.
      if (!s->closing) {
        s->client_gone = true;
        killProcess(s->pid);
      }
      break;
    }
    std::string message = beast::buffers_to_string(buffer.data());
    auto frame = decodeFrame(message);
    if (!frame) {
      continue;
    }
    if (frame->channel == kStdin && s->stdin_pipe && s->stdin_pipe->is_open()) {
      auto [wec, written] =
          co_await asio::async_write(*s->stdin_pipe, asio::buffer(frame->data), kTuple);
      if (wec && s->stdin_pipe) {
        boost::system::error_code ignored;
        s->stdin_pipe->close(ignored);  // the process closed its stdin: drop the rest
      }
    } else if (frame->channel == kResize && s->pty_master >= 0) {
      if (auto size = parseResize(frame->data)) {
        winsize window{};
        window.ws_col = size->width;
        window.ws_row = size->height;
        ::ioctl(s->pty_master, TIOCSWINSZ, &window);
      }
    } else if (frame->channel == kCloseChannel && s->v5 && !frame->data.empty() &&
               static_cast<uint8_t>(frame->data[0]) == kStdin && s->stdin_pipe) {
      boost::system::error_code ignored;
      s->stdin_pipe->close(ignored);  // EOF for the process
    }
  }
  --s->tasks;
  s->notify();
}

// The exit status of our child `pid` through its pidfd (readable once it exited), then reaped.
asio::awaitable<Result<int>> waitExit(pid_t pid) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    co_return fail(ErrorCode::Internal, "pidfd_open: ", std::strerror(errno));
  }
  asio::posix::stream_descriptor watch(co_await asio::this_coro::executor, pidfd);
  auto [ec] = co_await watch.async_wait(asio::posix::stream_descriptor::wait_read, kTuple);
  siginfo_t info{};
  // P_PIDFD (3): glibc's idtype_t may not name it.
  int rc = ::waitid(static_cast<idtype_t>(3), static_cast<id_t>(pidfd), &info, WEXITED);
  if (ec || rc != 0) {
    co_return fail(ErrorCode::Internal,
                   "waitid: ", ec ? ec.message() : std::string(std::strerror(errno)));
  }
  if (info.si_code == CLD_EXITED) {
    co_return info.si_status;
  }
  co_return 128 + info.si_status;  // killed by a signal: the shell's convention, as runtimes do
}

}  // namespace

struct NodeApiServer::Impl : std::enable_shared_from_this<NodeApiServer::Impl> {
  Impl(asio::any_io_executor ex, Lookup l, Spawn s, NodeApiOptions o)
      : executor(ex), lookup(std::move(l)), spawn(std::move(s)), options(std::move(o)), http(ex) {}

  asio::any_io_executor executor;
  Lookup lookup;
  Spawn spawn;
  NodeApiOptions options;
  http::Server http;
  bool stopped = false;
  size_t sessions = 0;

  asio::awaitable<http::Response> serve(const http::Request& request, http::ResponseStream& out) {
    auto self = shared_from_this();
    size_t question = request.target.find('?');
    std::string path = request.target.substr(0, question);
    std::string raw_query =
        question == std::string::npos ? std::string() : request.target.substr(question + 1);
    auto parts = splitPath(path);
    if (parts.size() == 4 && parts[0] == "containerLogs" && request.method == "GET") {
      co_return co_await containerLogs(parts[1], parts[2], parts[3], raw_query, out);
    }
    if (parts.size() == 4 && parts[0] == "exec") {
      co_return co_await exec(parts[1], parts[2], parts[3], raw_query, request, out);
    }
    co_return textError(404, "404 page not found");
  }

  asio::awaitable<http::Response> containerLogs(std::string ns, std::string pod,
                                                std::string container, std::string raw_query,
                                                http::ResponseStream& out) {
    auto query = api::parseQuery(raw_query);
    if (!query) {
      co_return textError(400, query.error().message);
    }
    auto log_options = parseLogOptions(*query, std::chrono::system_clock::now());
    if (!log_options) {
      co_return textError(400, log_options.error().message);
    }
    auto ref = lookup(ns, pod, container);
    if (!ref) {
      co_return textError(404, notFoundMessage(pod, container));
    }
    const auto& files = log_options->previous ? ref->previous_log_files : ref->log_files;
    if (files.empty()) {
      if (log_options->previous) {
        co_return textError(400, "previous terminated container \"" + container + "\" in pod \"" +
                                     pod + "\" not found");
      }
      co_return textError(400, "container \"" + container + "\" in pod \"" + pod +
                                   "\" is waiting to start: no log yet");
    }
    // The files before the newest are complete (rotated); the newest is followed.
    LogAssembler assembler;
    std::vector<LogEntry> entries;
    for (size_t i = 0; i + 1 < files.size(); ++i) {
      std::ifstream in(files[i], std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      auto done = assembler.feed(text.str());
      entries.insert(entries.end(), done.begin(), done.end());
    }
    auto newest = openLog(files.back());
    if (newest) {
      auto done = assembler.feed(readAvailable(newest->fd.fd));
      entries.insert(entries.end(), done.begin(), done.end());
    }
    bool follow = log_options->follow && !log_options->previous && ref->running;
    if (!follow) {
      auto rest = assembler.finish();
      entries.insert(entries.end(), rest.begin(), rest.end());
      co_return http::Response::text(200, renderLog(entries, *log_options));
    }
    if (!co_await out.begin(200, "text/plain", {})) {
      co_return http::Response{};
    }
    std::string first = renderLog(entries, *log_options);
    size_t sent = first.size();
    if (!first.empty() && !co_await out.write(std::move(first))) {
      co_return http::Response{};
    }
    // Unset until the newest file exists (a container that has written nothing yet).
    std::optional<FollowedFile> file;
    if (newest) {
      file = std::move(*newest);
    }
    const std::string path = files.back();
    auto drain = [&] {
      return file ? assembler.feed(readAvailable(file->fd.fd)) : std::vector<LogEntry>{};
    };
    asio::steady_timer timer(executor);
    auto limit_reached = [&] {
      return log_options->limit_bytes && sent >= static_cast<size_t>(*log_options->limit_bytes);
    };
    // What `more` adds to the answer (since applied), cut at limitBytes.
    auto emit = [&](const std::vector<LogEntry>& more) -> std::string {
      std::string chunk;
      for (const auto& entry : more) {
        if (showFollowed(entry, *log_options)) {
          chunk += formatEntry(entry, log_options->timestamps);
        }
      }
      if (log_options->limit_bytes) {
        size_t room = static_cast<size_t>(*log_options->limit_bytes) -
                      std::min(sent, static_cast<size_t>(*log_options->limit_bytes));
        if (chunk.size() > room) {
          chunk.resize(room);
        }
      }
      sent += chunk.size();
      return chunk;
    };
    while (!stopped && out.open() && !limit_reached()) {
      timer.expires_after(options.follow_poll);
      co_await timer.async_wait(kTuple);
      std::string chunk = emit(drain());
      // Rotation: a new file at the newest path. The old one (renamed) is read to its end first.
      // Also the first file appearing.
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && (!file || st.st_ino != file->inode)) {
        if (auto next = openLog(path)) {
          file = std::move(*next);
          chunk += emit(drain());
        }
      }
      auto now = lookup(ns, pod, container);
      bool ended = !now || !now->running || now->log_files.empty() || now->log_files.back() != path;
      if (ended) {
        chunk += emit(drain());
        chunk += emit(assembler.finish());
      }
      if (!chunk.empty() && !co_await out.write(std::move(chunk))) {
        break;
      }
      if (ended) {
        break;
      }
    }
    co_return http::Response{};
  }

  asio::awaitable<http::Response> exec(std::string ns, std::string pod, std::string container,
                                       std::string raw_query, const http::Request& request,
                                       http::ResponseStream& out) {
    auto parsed = parseExecQuery(raw_query);
    if (!parsed) {
      co_return textError(400, parsed.error().message);
    }
    auto ref = lookup(ns, pod, container);
    if (!ref) {
      co_return textError(404, notFoundMessage(pod, container));
    }
    if (!ref->running) {
      co_return textError(500, "container not found (\"" + container + "\")");
    }
    std::string upgrade = request.header("Upgrade");
    if (!beast::iequals(upgrade, "websocket")) {
      co_return textError(400, "exec needs a WebSocket upgrade (" + std::string(kProtocolV5) +
                                   " or " + std::string(kProtocolV4) + "); got Upgrade: \"" +
                                   upgrade + "\"");
    }
    std::string protocol = chooseSubprotocol(request.header("Sec-WebSocket-Protocol"));
    if (protocol.empty()) {
      co_return textError(400, "none of the offered WebSocket subprotocols is supported (" +
                                   std::string(kProtocolV5) + ", " + std::string(kProtocolV4) +
                                   ")");
    }
    if (sessions >= options.max_sessions) {
      co_return textError(503, "too many exec sessions on this node");
    }
    auto taken = out.takeConnection();
    if (!taken) {
      co_return textError(500, "the connection cannot be upgraded");
    }
    if (!taken->leftover.empty()) {
      log::get("nodeapi")->warn("exec client sent data before the WebSocket handshake; closing");
      co_return http::Response{};
    }
    ++sessions;
    struct Uncount {
      size_t& n;
      ~Uncount() { --n; }
    } uncount{sessions};
    auto make = [&](auto& stream) { return session(stream, request, *parsed, *ref, protocol); };
    asio::awaitable<void> run = std::visit(make, taken->stream);
    co_await std::move(run);
    co_return http::Response{};
  }

  template <class Next>
  asio::awaitable<void> session(std::shared_ptr<Next> connection, http::Request request,
                                ExecRequest exec, ContainerRef ref, std::string protocol) {
    auto self = shared_from_this();
    auto s = std::make_shared<Session<Next>>(connection);
    s->v5 = protocol == kProtocolV5;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options.handshake_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();  // exec -it may idle for hours
    timeouts.keep_alive_pings = false;
    s->ws.set_option(timeouts);
    s->ws.set_option(
        websocket::stream_base::decorator([protocol](websocket::response_type& response) {
          response.set(bhttp::field::sec_websocket_protocol, protocol);
          response.set(bhttp::field::server, "rampart-agent");
        }));
    s->ws.read_message_max(1024 * 1024);
    bhttp::request<bhttp::empty_body> upgrade{bhttp::verb::get, request.target, 11};
    for (const auto& [name, value] : request.headers) {
      upgrade.insert(name, value);
    }
    auto [aec] = co_await s->ws.async_accept(upgrade, kTuple);
    if (aec) {
      log::get("nodeapi")->debug("exec handshake failed error=\"{}\"", aec.message());
      co_return;
    }
    s->ws.binary(true);

    // The process's descriptors: pipes, or one pty for all three.
    Fd child_in, child_out, child_err;
    std::shared_ptr<asio::posix::stream_descriptor> out_pipe, err_pipe;
    Result<void> prepared = ok();
    if (exec.tty) {
      auto pty = makePty();
      if (!pty) {
        prepared = fail(pty.error());
      } else {
        s->pty_master = pty->first.fd;
        int master_for_stdin = ::fcntl(pty->first.fd, F_DUPFD_CLOEXEC, 3);
        out_pipe = std::make_shared<asio::posix::stream_descriptor>(executor, pty->first.release());
        if (exec.stdin_stream && master_for_stdin >= 0) {
          s->stdin_pipe.emplace(executor, master_for_stdin);
        } else if (master_for_stdin >= 0) {
          ::close(master_for_stdin);
        }
        child_in = Fd(::fcntl(pty->second.fd, F_DUPFD_CLOEXEC, 3));
        child_err = Fd(::fcntl(pty->second.fd, F_DUPFD_CLOEXEC, 3));
        child_out = std::move(pty->second);
      }
    } else {
      auto null_fd = [] { return Fd(::open("/dev/null", O_RDWR | O_CLOEXEC)); };
      auto channel = [&](bool wanted, bool input, Fd& child_end,
                         std::shared_ptr<asio::posix::stream_descriptor>* ours) -> Result<void> {
        if (!wanted) {
          child_end = null_fd();
          return ok();
        }
        auto pipe = makePipe();
        if (!pipe) {
          return fail(pipe.error());
        }
        if (input) {
          child_end = std::move(pipe->first);
          s->stdin_pipe.emplace(executor, pipe->second.release());
        } else {
          child_end = std::move(pipe->second);
          *ours = std::make_shared<asio::posix::stream_descriptor>(executor, pipe->first.release());
        }
        return ok();
      };
      prepared = channel(exec.stdin_stream, true, child_in, nullptr);
      if (prepared) {
        prepared = channel(exec.stdout_stream, false, child_out, &out_pipe);
      }
      if (prepared) {
        prepared = channel(exec.stderr_stream, false, child_err, &err_pipe);
      }
    }
    Result<pid_t> pid = prepared ? spawn(ref, exec.command, child_in.fd, child_out.fd, child_err.fd)
                                 : Result<pid_t>(fail(prepared.error()));
    // Our copies of the child's ends: closed, so that its exit is our EOF.
    child_in.reset();
    child_out.reset();
    child_err.reset();

    s->tasks = 2;
    asio::co_spawn(executor, writer(s), asio::detached);
    asio::co_spawn(executor, reader(s), asio::detached);
    std::string status;
    if (!pid) {
      status = errorStatusJson("failed to exec in container: " + pid.error().message);
    } else {
      s->pid = *pid;
      for (auto& pump : {std::pair{out_pipe, kStdout}, std::pair{err_pipe, kStderr}}) {
        if (pump.first) {
          ++s->tasks;
          ++s->pumps;
          asio::co_spawn(executor, outputPump(s, pump.first, pump.second), asio::detached);
        }
      }
      auto exit_code = co_await waitExit(*pid);
      s->pid = 0;  // reaped: never signal that number again
      if (s->stdin_pipe) {
        boost::system::error_code ignored;
        s->stdin_pipe->close(ignored);
      }
      // Output written before the exit is sent; a grandchild holding the pipe is not waited
      // for longer than drain_limit.
      TimePoint drain_until = std::chrono::steady_clock::now() + options.drain_limit;
      while (s->pumps > 0 && !s->client_gone && std::chrono::steady_clock::now() < drain_until) {
        co_await s->waitChange(drain_until - std::chrono::steady_clock::now());
      }
      status = exit_code ? exitStatusJson(*exit_code, exec.command)
                         : errorStatusJson(exit_code.error().message);
    }
    boost::system::error_code ignored;
    if (out_pipe) {
      out_pipe->close(ignored);
    }
    if (err_pipe) {
      err_pipe->close(ignored);
    }
    s->pty_master = -1;
    if (!s->client_gone) {
      s->send(kErrorChannel, status);
    }
    s->closing = true;
    s->notify();
    // The writer flushes the status and ends; then the close handshake (bounded), which also
    // ends the reader.
    while (!s->writer_done) {
      co_await s->waitChange();
    }
    if (!s->client_gone) {
      websocket::close_reason reason(websocket::close_code::normal);
      beast::get_lowest_layer(*connection).expires_after(std::chrono::seconds(5));
      co_await s->ws.async_close(reason, kTuple);
    }
    beast::get_lowest_layer(*connection).close();
    if (s->stdin_pipe) {
      s->stdin_pipe->close(ignored);
    }
    while (s->tasks > 0) {
      co_await s->waitChange();
    }
  }
};

NodeApiServer::NodeApiServer(asio::any_io_executor executor, Lookup lookup, Spawn spawn,
                             NodeApiOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(lookup), std::move(spawn),
                                   std::move(options))) {}

NodeApiServer::~NodeApiServer() { stop(); }

Result<net::Endpoint> NodeApiServer::start() {
  http::ServerOptions http_options;
  http_options.max_connections = 256;
  impl_->http.setOptions(http_options);
  if (impl_->options.tls) {
    if (auto tls = impl_->http.useTls(*impl_->options.tls); !tls) {
      return fail(tls.error());
    }
  }
  impl_->http.route("/healthz",
                    [](const http::Request&) { return http::Response::text(200, "ok"); });
  Impl* impl = impl_.get();
  impl_->http.fallback([impl](const http::Request& request, http::ResponseStream& out) {
    return impl->serve(request, out);
  });
  impl_->stopped = false;
  return impl_->http.listen(impl_->options.listen);
}

void NodeApiServer::stop() {
  impl_->stopped = true;
  // Closes every connection, exec sessions too: their readers fail, which kills the processes.
  impl_->http.stop();
}

}  // namespace rampart::agent::nodeapi
