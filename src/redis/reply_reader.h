#pragma once
// ReplyReader: RESP2 replies from a byte stream, for callers that do their own (non-blocking)
// I/O, such as the load balancer's Redis role check on its event loop: feed() what arrived,
// next() each complete reply. The same hiredis parser and conversion as Client, so both read
// the server alike. No I/O; not thread-safe (one connection's reader).
//
// A protocol error leaves the stream unusable: next() fails with Internal from then on.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "redis/reply.h"

struct redisReader;
struct redisReply;

namespace rampart::redis {

class ReplyReader {
 public:
  ReplyReader();
  ReplyReader(ReplyReader&&) noexcept;
  ReplyReader& operator=(ReplyReader&&) noexcept;
  ~ReplyReader();

  void feed(std::string_view bytes);
  // The next complete reply, std::nullopt while more bytes are needed, or Internal on a
  // protocol error.
  Result<std::optional<Reply>> next();

 private:
  redisReader* reader_ = nullptr;
};

// The RESP2 bytes of a command (an array of bulk strings), as clients send it.
std::string encodeCommand(const std::vector<std::string>& argv);

// hiredis's reply as a Reply (Client and ReplyReader share it).
Result<Reply> fromHiredis(const redisReply* reply);

}  // namespace rampart::redis
