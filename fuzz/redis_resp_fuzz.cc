// Fuzzes the RESP request parser (redis/resp.h) with one connection's bytes, and answers every
// request it yields with the Sentinel responder (redis/sentinel_protocol.h), as a connection
// does. Besides crashes it checks the parser's contract: a request consumes at least one byte
// and no more than it was given, stays within the limits, and (the parser being stateless) the
// same request comes out whatever follows it in the buffer. The same bytes also go through the
// INFO replication parser, whose input comes from servers.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "redis/replication.h"
#include "redis/resp.h"
#include "redis/sentinel_protocol.h"

using namespace rampart::redis;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RequestLimits limits;
  limits.max_args = 64;
  limits.max_bulk_bytes = 1024;
  limits.max_inline_bytes = 1024;

  SentinelSnapshot snapshot;
  snapshot.master_name = "mymaster";
  snapshot.master = {"127.0.0.1", 6379};
  snapshot.replicas.push_back({});
  snapshot.sentinels.push_back({});
  SentinelSession session;

  std::string_view rest = input;
  while (!rest.empty() && !session.close) {
    auto request = parseRequest(rest, limits);
    if (!request) {
      if (protocolErrorReply(request.error()).rfind("-ERR Protocol error: ", 0) != 0) {
        std::abort();
      }
      break;
    }
    if (!*request) {
      break;  // incomplete: a connection would wait for more bytes
    }
    const Request& r = **request;
    if (r.consumed == 0 || r.consumed > rest.size() || r.argv.size() > limits.max_args) {
      std::abort();
    }
    for (const auto& arg : r.argv) {
      // An inline line can hold one argument as long as the line.
      if (arg.size() > limits.max_bulk_bytes && arg.size() > limits.max_inline_bytes) {
        std::abort();
      }
    }
    // Stateless: the request alone, without the bytes after it, parses the same.
    auto alone = parseRequest(rest.substr(0, r.consumed), limits);
    if (!alone || !*alone || (*alone)->argv != r.argv || (*alone)->consumed != r.consumed) {
      std::abort();
    }
    std::string reply = answerSentinel(snapshot, r.argv, session);
    if (r.argv.empty() != reply.empty() ||
        (!reply.empty() && reply.compare(reply.size() - 2, 2, "\r\n") != 0)) {
      std::abort();
    }
    rest.remove_prefix(r.consumed);
  }

  (void)parseInfoReplication(input);
  return 0;
}
