#pragma once
// One hexadecimal digit's value, for the parsers that decode %XX escapes and \xHH sequences
// (request paths, the exec protocol's shell words, Redis's inline commands). Pure.

namespace rampart {

// 0-15, or -1 when `c` is not a hexadecimal digit.
constexpr int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace rampart
