#pragma once
// VipOwner: puts a virtual IP on a local interface for as long as the object lives, like
// lvscare's link mode: the VIP is added as a /32 (/128) to `interface`, which is created as a
// dummy interface if it does not exist. Only what this object added is removed again (an address
// or interface that was already there is left alone). Uses iproute2's `ip`; needs root
// (CAP_NET_ADMIN). Blocking: call at start-up, reload and shutdown, not on a data path.

#include <string>

#include "base/result.h"

namespace rampart::vip {

class VipOwner {
 public:
  static Result<VipOwner> claim(const std::string& address, const std::string& interface);
  VipOwner(VipOwner&& other) noexcept;
  VipOwner& operator=(VipOwner&& other) noexcept;
  VipOwner(const VipOwner&) = delete;
  VipOwner& operator=(const VipOwner&) = delete;
  ~VipOwner();

  const std::string& address() const { return address_; }
  const std::string& interface() const { return interface_; }

 private:
  VipOwner() = default;
  void release();

  std::string address_;
  std::string interface_;
  bool added_address_ = false;
  bool created_interface_ = false;
};

}  // namespace rampart::vip
