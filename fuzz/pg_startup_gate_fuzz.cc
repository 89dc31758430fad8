// Fuzzes the load balancer's PostgreSQL start-up gate (lb/pg_startup_gate.h) with a client's
// bytes arriving in arbitrary pieces. Besides crashes it checks the gate's contract: it admits
// only bytes it was given, never more after it closed, and (being a function of the bytes) the
// same stream admits the same prefix however it is split.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lb/pg_startup_gate.h"

using rampart::lb::PgStartupGate;

namespace {

// Feeds `stream` in pieces whose sizes come from `splits`; returns the bytes admitted in total.
size_t feed(std::string_view stream, std::string_view splits, bool& closed) {
  PgStartupGate gate;
  size_t passed = 0;   // bytes of `stream` admitted so far
  size_t arrived = 0;  // bytes of `stream` handed to the gate so far
  size_t s = 0;
  while (arrived < stream.size()) {
    size_t piece =
        s < splits.size() ? static_cast<unsigned char>(splits[s++]) + 1 : stream.size() - arrived;
    arrived = std::min(stream.size(), arrived + piece);
    bool was_closed = gate.closed();
    size_t n = gate.admit(stream.substr(passed, arrived - passed));
    if (n > arrived - passed || (was_closed && n != 0)) {
      std::abort();
    }
    passed += n;
  }
  closed = gate.closed();
  return passed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Layout: one byte N, then N bytes of piece sizes, then the client's stream.
  if (size == 0) {
    return 0;
  }
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t n = std::min<size_t>(static_cast<unsigned char>(all[0]), all.size() - 1);
  std::string_view splits = all.substr(1, n);
  std::string_view stream = all.substr(1 + n);
  bool closed_split = false;
  bool closed_whole = false;
  size_t split = feed(stream, splits, closed_split);
  size_t whole = feed(stream, {}, closed_whole);
  // A message split across reads is admitted once whole, so the prefix admitted by the end is
  // the same; only a closing decision may come earlier with the whole stream in view.
  if (split != whole && !(closed_split || closed_whole)) {
    std::abort();
  }
  return 0;
}
