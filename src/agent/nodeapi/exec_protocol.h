#pragma once
// The exec stream protocol between kubectl (client-go 1.32), the API server and the node agent,
// as the facts we rely on (kubelet pkg/kubelet/cri/streaming/remotecommand, apimachinery
// wsstream, client-go tools/remotecommand):
//   - kubectl 1.32 opens GET .../pods/P/exec?command=a&command=b&container=c&stdin=true&
//     stdout=true&stderr=true&tty=false as a WebSocket (Upgrade: websocket) offering the
//     subprotocols v5.channel.k8s.io, v4.channel.k8s.io (and older); the server must answer
//     Sec-WebSocket-Protocol with the one it speaks, else client-go refuses the connection. If
//     the upgrade is refused it falls back to SPDY (POST, Upgrade: SPDY/3.1), which we do not
//     speak: we answer that with the same Status error, which kubectl prints.
//   - every WebSocket message is binary: its first byte is the channel, the rest the data:
//     0 stdin (client → server), 1 stdout, 2 stderr, 3 error (a JSON metav1.Status, sent once,
//     when the command ended), 4 resize (client → server, JSON {"Width":w,"Height":h}); v5 adds
//     255 = close: [255, channel] says that channel has ended (kubectl sends [255, 0] at the end
//     of its stdin, so `kubectl exec -i POD -- cat` ends).
//   - the status: {"metadata":{},"status":"Success"} for exit 0; for another exit code
//     {"status":"Failure","reason":"NonZeroExitCode","message":"command terminated with
//     non-zero exit code: ...","details":{"causes":[{"reason":"ExitCode","message":"3"}]}} —
//     client-go turns that into an exit error and kubectl exits with that code. After the
//     status the server closes the connection.
//   - with tty=true stderr is false (one stream, the terminal's).
// Pure: framing, parsing and the status documents. Thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::agent::nodeapi {

enum Channel : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kErrorChannel = 3,
  kResize = 4,
  kCloseChannel = 255,  // v5 only
};

inline constexpr std::string_view kProtocolV5 = "v5.channel.k8s.io";
inline constexpr std::string_view kProtocolV4 = "v4.channel.k8s.io";

// The subprotocol we answer for a client's Sec-WebSocket-Protocol list ("a, b"): v5 if offered,
// else v4, else "" (refused).
std::string chooseSubprotocol(std::string_view offered);

std::string encodeFrame(uint8_t channel, std::string_view data);

struct Frame {
  uint8_t channel = 0;
  std::string_view data;  // into the message
};
// InvalidArgument for an empty message.
Result<Frame> decodeFrame(std::string_view message);

struct TerminalSize {
  uint16_t width = 0;
  uint16_t height = 0;
};
// The JSON of a resize message.
Result<TerminalSize> parseResize(std::string_view json);

struct ExecRequest {
  std::vector<std::string> command;  // each command= in order
  std::string container;
  bool stdin_stream = false;
  bool stdout_stream = false;
  bool stderr_stream = false;
  bool tty = false;
};

// From the raw query ("command=sh&command=-c&..."), percent-decoded. InvalidArgument with
// Kubernetes' messages: "you must specify at least one command for the container", "you must
// specify at least 1 of stdin, stdout, stderr", a boolean that is not one.
Result<ExecRequest> parseExecQuery(std::string_view raw_query);

// Channel 3's document for a finished command: Success, or NonZeroExitCode with the code.
std::string exitStatusJson(int exit_code, const std::vector<std::string>& command);
// Channel 3's document for a command that could not run (InternalError, the message).
std::string errorStatusJson(std::string_view message);

}  // namespace rampart::agent::nodeapi
