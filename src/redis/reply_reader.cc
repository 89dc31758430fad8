#include "redis/reply_reader.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <string>
#include <utility>
#include <vector>

namespace rampart::redis {

Result<Reply> fromHiredis(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      return Reply::status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return Reply::error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return Reply::integerValue(r->integer);
    case REDIS_REPLY_STRING:
      return Reply::string(std::string(r->str, r->len));
    case REDIS_REPLY_NIL:
      return Reply::nil();
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> items;
      items.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        auto item = fromHiredis(r->element[i]);
        if (!item) {
          return item;
        }
        items.push_back(std::move(*item));
      }
      return Reply::array(std::move(items));
    }
    default:
      return fail(ErrorCode::Internal, "reply of unknown type ", std::to_string(r->type));
  }
}

ReplyReader::ReplyReader() : reader_(redisReaderCreate()) {}

ReplyReader::ReplyReader(ReplyReader&& other) noexcept
    : reader_(std::exchange(other.reader_, nullptr)) {}

ReplyReader& ReplyReader::operator=(ReplyReader&& other) noexcept {
  if (this != &other) {
    if (reader_) {
      redisReaderFree(reader_);
    }
    reader_ = std::exchange(other.reader_, nullptr);
  }
  return *this;
}

ReplyReader::~ReplyReader() {
  if (reader_) {
    redisReaderFree(reader_);
  }
}

void ReplyReader::feed(std::string_view bytes) {
  if (reader_ && !bytes.empty()) {
    redisReaderFeed(reader_, bytes.data(), bytes.size());
  }
}

Result<std::optional<Reply>> ReplyReader::next() {
  if (!reader_) {
    return fail(ErrorCode::Internal, "out of memory for the reply reader");
  }
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    return fail(ErrorCode::Internal, "protocol error: ", reader_->errstr);
  }
  if (!raw) {
    return std::optional<Reply>();
  }
  auto* reply = static_cast<redisReply*>(raw);
  auto converted = fromHiredis(reply);
  freeReplyObject(reply);
  if (!converted) {
    return fail(converted.error());
  }
  return std::optional<Reply>(std::move(*converted));
}

std::string encodeCommand(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& arg : argv) {
    out += "$" + std::to_string(arg.size()) + "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

}  // namespace rampart::redis
