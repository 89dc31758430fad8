#include "api/quantity.h"

#include <cctype>
#include <limits>

namespace rampart::api {
namespace {

__extension__ typedef __int128 Wide;  // exact products of a mantissa and a suffix
constexpr Wide kMax = std::numeric_limits<int64_t>::max();

Result<Quantity> invalid(std::string_view text) {
  return fail(ErrorCode::InvalidArgument,
              "quantities must match the regular expression "
              "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got '",
              text, "')");
}

Wide pow10(int n) {
  Wide v = 1;
  while (n-- > 0) {
    v *= 10;
  }
  return v;
}

}  // namespace

Result<Quantity> parseQuantity(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  // The number: digits with at most one '.', at least one digit.
  Wide mantissa = 0;
  int fraction_digits = 0;
  bool seen_dot = false;
  bool seen_digit = false;
  bool dropped = false;  // fraction digits beyond the mantissa's room, some non-zero
  // Below 10^17 the mantissa times 1000 times the largest suffix (2^60) stays within 2^127.
  constexpr Wide kMantissaRoom = Wide(100'000'000'000'000'000);
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (seen_dot) {
        return invalid(text);
      }
      seen_dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      seen_digit = true;
      if (mantissa * 10 + (c - '0') >= kMantissaRoom) {
        if (!seen_dot) {
          return fail(ErrorCode::InvalidArgument, "quantity '", text, "' is too large");
        }
        dropped = dropped || c != '0';
        continue;
      }
      mantissa = mantissa * 10 + (c - '0');
      fraction_digits += seen_dot ? 1 : 0;
    } else {
      break;
    }
  }
  if (!seen_digit) {
    return invalid(text);
  }
  std::string_view suffix = s.substr(i);
  // value = mantissa / 10^fraction_digits * multiplier; kept in thousandths.
  Wide numerator = mantissa * 1000 + (dropped ? 1 : 0);
  Wide denominator = pow10(fraction_digits);
  struct Suffix {
    std::string_view name;
    Wide mul;
    Wide div;
  };
  static constexpr Wide kKi = 1024;
  const Suffix suffixes[] = {
      {"", 1, 1},
      {"n", 1, 1'000'000'000},
      {"u", 1, 1'000'000},
      {"m", 1, 1000},
      {"k", 1000, 1},
      {"M", 1'000'000, 1},
      {"G", 1'000'000'000, 1},
      {"T", Wide(1'000'000'000) * 1000, 1},
      {"P", Wide(1'000'000'000) * 1'000'000, 1},
      {"E", Wide(1'000'000'000) * 1'000'000'000, 1},
      {"Ki", kKi, 1},
      {"Mi", kKi * kKi, 1},
      {"Gi", kKi * kKi * kKi, 1},
      {"Ti", kKi * kKi * kKi * kKi, 1},
      {"Pi", kKi * kKi * kKi * kKi * kKi, 1},
      {"Ei", kKi * kKi * kKi * kKi * kKi * kKi, 1},
  };
  bool known = false;
  for (const auto& candidate : suffixes) {
    if (suffix == candidate.name) {
      numerator *= candidate.mul;
      denominator *= candidate.div;
      known = true;
      break;
    }
  }
  if (!known) {
    // A decimal exponent: e3, E-2, e+6.
    if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) {
      return invalid(text);
    }
    std::string_view exp = suffix.substr(1);
    bool exp_negative = false;
    if (exp[0] == '+' || exp[0] == '-') {
      exp_negative = exp[0] == '-';
      exp.remove_prefix(1);
    }
    if (exp.empty() || exp.size() > 2) {
      return invalid(text);
    }
    int e = 0;
    for (char c : exp) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return invalid(text);
      }
      e = e * 10 + (c - '0');
    }
    if (e > 18) {
      return fail(ErrorCode::InvalidArgument, "quantity '", text, "' is out of range");
    }
    (exp_negative ? denominator : numerator) *= pow10(e);
  }
  // Round up to the next thousandth, as Kubernetes rounds a quantity finer than its scale.
  Wide milli = (numerator + denominator - 1) / denominator;
  if (milli > kMax) {
    return fail(ErrorCode::InvalidArgument, "quantity '", text, "' is too large");
  }
  return Quantity::fromMilli(static_cast<int64_t>(negative ? -milli : milli));
}

std::string Quantity::toString() const {
  int64_t m = milli_;
  std::string sign = m < 0 ? "-" : "";
  int64_t abs = m < 0 ? -m : m;
  if (abs % 1000 != 0) {
    return sign + std::to_string(abs) + "m";
  }
  int64_t units = abs / 1000;
  if (units != 0 && units % 1024 == 0) {
    const char* names[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int k = -1;
    while (units % 1024 == 0 && k < 5) {
      units /= 1024;
      ++k;
    }
    return sign + std::to_string(units) + names[k];
  }
  return sign + std::to_string(units);
}

}  // namespace rampart::api
