#pragma once
// RESP2 on the server side, pure: a request parser (arrays of bulk strings, as clients send
// them, and inline commands, as a person types them into telnet) and a reply writer. No I/O,
// no state between calls; thread-safe.
//
// The parser reads one request from the front of a connection's input buffer. It is stateless:
// a caller with a partial request keeps the bytes and calls again when more arrive (the cost of
// re-reading a partial request is bounded by the limits below). Protocol errors carry Redis's
// wording ("Protocol error: invalid bulk length"); the caller sends protocolErrorReply() and
// closes the connection, as Redis does, because the stream cannot be resynchronised.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::redis {

struct RequestLimits {
  size_t max_args = 1024;               // elements of one array request
  size_t max_bulk_bytes = 512 * 1024;   // bytes of one bulk string
  size_t max_inline_bytes = 64 * 1024;  // one inline line, or one "*N"/"$N" header (Redis's
                                        // PROTO_INLINE_MAX_SIZE)
};

struct Request {
  // The command and its arguments; empty for an empty line or "*0"/"*-1", which Redis skips
  // without a reply.
  std::vector<std::string> argv;
  size_t consumed = 0;  // bytes of the buffer this request took
};

// One request from the front of `buffer`: the request, std::nullopt when more bytes are needed,
// or an InvalidArgument error whose message is Redis's protocol-error text.
Result<std::optional<Request>> parseRequest(std::string_view buffer,
                                            const RequestLimits& limits = {});

// "-ERR Protocol error: ...\r\n" for an error from parseRequest.
std::string protocolErrorReply(const Error& error);

// A command or option name folded to lower case (Redis matches them case-insensitively).
std::string lowerName(std::string_view name);

// Appends RESP2 replies to a byte string. Status and error texts cannot hold CR or LF (they
// end the line): they are replaced with spaces, as Redis does.
class RespWriter {
 public:
  RespWriter& status(std::string_view text);  // +text
  RespWriter& error(std::string_view text);   // -text (text starts with its code: "ERR ...")
  RespWriter& integer(int64_t value);         // :value
  RespWriter& bulk(std::string_view data);    // $len data
  RespWriter& nil();                          // $-1 (a nil bulk string)
  RespWriter& nullArray();                    // *-1
  RespWriter& array(size_t count);            // *count; the next `count` replies are its items

  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace rampart::redis
