#pragma once
// Kubernetes resource quantities ("100m", "0.5", "1Gi", "128974848", "129e6", "129M"): the
// values of requests, limits, capacity and allocatable. Held exactly as thousandths of a unit
// (millicores for cpu, millibytes for memory), which covers every value up to 9.2 × 10^15 units
// (8 PiB of memory); larger values are rejected rather than rounded. Pure values.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::api {

class Quantity {
 public:
  Quantity() = default;
  static Quantity fromMilli(int64_t milli) { return Quantity(milli); }
  static Quantity fromUnits(int64_t units) { return Quantity(units * 1000); }

  int64_t milli() const { return milli_; }
  // Whole units, rounded up (as Kubernetes' Quantity.Value()).
  int64_t units() const { return milli_ >= 0 ? (milli_ + 999) / 1000 : milli_ / 1000; }

  // "250m", "2", "512Mi" style: binary suffixes for whole multiples of 1024, else decimal.
  std::string toString() const;

  friend auto operator<=>(const Quantity&, const Quantity&) = default;
  Quantity operator+(Quantity o) const { return Quantity(milli_ + o.milli_); }
  Quantity operator-(Quantity o) const { return Quantity(milli_ - o.milli_); }
  Quantity& operator+=(Quantity o) {
    milli_ += o.milli_;
    return *this;
  }

 private:
  explicit Quantity(int64_t milli) : milli_(milli) {}
  int64_t milli_ = 0;
};

// Errors read as Kubernetes' ("quantities must match the regular expression ...").
Result<Quantity> parseQuantity(std::string_view text);

}  // namespace rampart::api
