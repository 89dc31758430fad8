// Fuzzes every decoder of etcd's JSON gateway answers (store/etcd_codec.h): whatever etcd, or
// whoever answers in its place, sends must give a value or an error, never a crash, an
// exception or undefined behaviour. The first byte picks the decoder, the rest is the body.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/etcd_codec.h"

namespace etcd = rampart::store::etcd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0:
      (void)etcd::decodeRange(body);
      break;
    case 1:
      (void)etcd::decodePut(body);
      break;
    case 2:
      (void)etcd::decodeDelete(body);
      break;
    case 3:
      (void)etcd::decodeTxn(body);
      break;
    case 4:
      (void)etcd::decodeLeaseGrant(body);
      break;
    case 5:
      (void)etcd::decodeLeaseKeepAlive(body);
      break;
    case 6:
      (void)etcd::decodeLeaseTimeToLive(body);
      break;
    case 7:
      (void)etcd::decodeWatchMessage(body);
      break;
    case 8:
      (void)etcd::decodeError(400 + data[0] / 10, body);
      break;
    default: {
      // base64: whatever decodes must encode back to the same text (canonical padding aside).
      auto decoded = etcd::base64Decode(body);
      if (decoded) {
        (void)etcd::base64Encode(*decoded);
      }
      break;
    }
  }
  return 0;
}
