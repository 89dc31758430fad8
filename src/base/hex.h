#pragma once
// One hexadecimal digit's value, for the parsers that decode %XX escapes and \xHH sequences
// (request paths, the exec protocol's shell words, Redis's inline commands), and the encoder of
// %XX escapes for query strings and URI userinfo. Pure.

#include <string>
#include <string_view>

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

// RFC 3986 percent-encoding: the unreserved characters (ALPHA DIGIT - . _ ~) kept, every other
// byte as %XX (upper-case hex). Safe in a query value and in a URI's userinfo.
inline std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace rampart
