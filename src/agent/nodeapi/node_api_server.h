#pragma once
// NodeApiServer: the node agent's HTTP API, the part of the kubelet's API the API server
// proxies to (api/log_proxy.h, api/upgrade_proxy.h):
//   GET /healthz                                  "ok"
//   GET /containerLogs/{ns}/{pod}/{container}?follow=&previous=&tailLines=&sinceSeconds=&
//       sinceTime=&timestamps=&limitBytes=       text/plain (agent/nodeapi/cri_log.h)
//   GET /exec/{ns}/{pod}/{container}?command=..&stdin=&stdout=&stderr=&tty=
//                                                 WebSocket, v5/v4.channel.k8s.io
//                                                 (agent/nodeapi/exec_protocol.h)
// Containers are found through the injected Lookup (nullopt → 404 `pod "P" does not exist` /
// `container "C" not found in pod "P"`), commands started through the injected Spawn (the
// runtime's spawnInContainer: setns into the container). The server never touches the runtime
// otherwise.
//
// Logs: the files of the attempt (or the previous attempt) read in order, oldest first. With
// follow the newest file is polled every `follow_poll` for growth and rotation (a new inode at
// the newest path: the old file is read to its end first); the answer ends when the client
// leaves, the server stops, or the attempt has ended (Lookup says not running, or names other
// files) and its file is read to the end. The files are read with plain blocking reads on the
// loop (local files; a whole answer is built in memory, so a request without tailLines or
// limitBytes costs the size of the attempt's files). A follow waits for a newest file that does
// not exist yet (a container that has written nothing).
//
// Exec: the process gets pipes (or, with tty, a pty's slave on all three; resize messages set
// the window size with TIOCSWINSZ); its output is sent on channels 1/2 as it comes; stdin from
// channel 0 (v5's close message closes it; without stdin the process gets /dev/null). When it
// exits (seen through a pidfd, so no blocking waitpid and no SIGCHLD handler) its remaining
// output is drained (at most `drain_limit` after the exit: a daemonised grandchild may keep the
// pipe open), then the status goes on channel 3 and the connection is closed. A client that
// goes away gets its process SIGKILLed (and its process group, when it leads one) and reaped.
// The spawned process must be a child of this process (waitid on the pidfd reaps it).
//
// TLS (options.tls): HTTPS; with tls.ca the API server must present a client certificate that
// CA signed (the kubelet's --client-ca-file). Use from one event loop; not thread-safe.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::agent::nodeapi {

struct ContainerRef {
  std::string pod_uid;
  std::string container;
  std::vector<std::string> log_files;           // oldest → newest, of the current attempt
  std::vector<std::string> previous_log_files;  // of the attempt before
  bool running = false;
  pid_t pid = 0;  // the container's main process (the setns target)
};

using Lookup = std::function<std::optional<ContainerRef>(
    const std::string& ns, const std::string& pod, const std::string& container)>;
// Starts argv in the container with the given descriptors as its 0/1/2 (the callee dups them;
// the caller closes its copies). With a tty all three are the pty's slave, and the callee should
// make it the controlling terminal (setsid + TIOCSCTTY). Returns the child's pid.
using Spawn = std::function<Result<pid_t>(const ContainerRef&, std::vector<std::string> argv,
                                          int in_fd, int out_fd, int err_fd)>;

struct NodeApiOptions {
  net::Endpoint listen{"127.0.0.1", 10250};
  std::optional<net::TlsFiles> tls;  // cert/key; ca: required client certificates
  Duration follow_poll = std::chrono::milliseconds(200);
  Duration drain_limit = std::chrono::seconds(2);
  Duration handshake_timeout = std::chrono::seconds(10);
  size_t max_sessions = 64;  // concurrent exec sessions (more: 503)
};

class NodeApiServer {
 public:
  NodeApiServer(boost::asio::any_io_executor executor, Lookup lookup, Spawn spawn,
                NodeApiOptions options = {});
  ~NodeApiServer();
  NodeApiServer(const NodeApiServer&) = delete;
  NodeApiServer& operator=(const NodeApiServer&) = delete;

  // Binds (port 0: a free one) and serves; the bound endpoint. Errors name the address or file.
  Result<net::Endpoint> start();
  // Stops accepting, ends follows and kills the exec sessions' processes.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rampart::agent::nodeapi
