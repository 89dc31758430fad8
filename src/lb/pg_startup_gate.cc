#include "lb/pg_startup_gate.h"

#include <cstdint>

namespace rampart::lb {
namespace {

// Request codes of the untyped start-up packets (PostgreSQL's pqcomm.h).
constexpr uint32_t kProtocol3 = 3u << 16;
constexpr uint32_t kCancelRequest = (1234u << 16) | 5678u;
constexpr uint32_t kSslRequest = (1234u << 16) | 5679u;
constexpr uint32_t kGssEncRequest = (1234u << 16) | 5680u;

uint32_t bigEndian32(std::string_view bytes, size_t at) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

size_t PgStartupGate::admit(std::string_view unread) {
  size_t passed = 0;
  while (state_ != State::Closed) {
    std::string_view rest = unread.substr(passed);
    if (state_ == State::Untyped) {
      if (rest.size() < 8) {
        break;  // length and request code not complete yet
      }
      uint32_t length = bigEndian32(rest, 0);
      uint32_t code = bigEndian32(rest, 4);
      bool request = code == kSslRequest || code == kGssEncRequest;
      bool known = (request && length == 8) || (code == kCancelRequest && length == 16) ||
                   (code == kProtocol3 && length >= 8 && length <= kMaxMessage);
      if (!known) {
        state_ = State::Closed;  // TLS bytes after 'S', protocol 2, or garbage
        break;
      }
      if (rest.size() < length) {
        break;
      }
      passed += length;
      // After an encryption request the StartupMessage follows (if the server declined); after
      // a cancel the server closes the connection; after the StartupMessage come typed messages.
      state_ = request ? State::Untyped : code == kCancelRequest ? State::Closed : State::Typed;
      continue;
    }
    if (rest.size() < 5) {
      break;
    }
    uint32_t length = bigEndian32(rest, 1);  // counts itself, not the type byte
    if (rest[0] != 'p' || length < 4 || length > kMaxMessage) {
      state_ = State::Closed;  // a statement (or anything else): it waits for the release
      break;
    }
    if (rest.size() < 1 + length) {
      break;
    }
    passed += 1 + length;
  }
  return passed;
}

}  // namespace rampart::lb
