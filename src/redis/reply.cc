#include "redis/reply.h"

namespace rampart::redis {

const char* replyTypeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::Status:
      return "status";
    case Reply::Type::Error:
      return "error";
    case Reply::Type::Integer:
      return "integer";
    case Reply::Type::String:
      return "string";
    case Reply::Type::Array:
      return "array";
    case Reply::Type::Nil:
      return "nil";
  }
  return "unknown";
}

}  // namespace rampart::redis
