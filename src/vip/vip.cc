#include "vip/vip.h"

#include <utility>

#include "base/log.h"
#include "runtime/process.h"

namespace rampart::vip {
namespace {

runtime::CommandResult ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  return runtime::runCommand(std::move(args), std::chrono::seconds(5));
}

}  // namespace

Result<VipOwner> VipOwner::claim(const std::string& address, const std::string& interface) {
  VipOwner owner;
  owner.address_ = address;
  owner.interface_ = interface;
  bool v6 = address.find(':') != std::string::npos;
  std::string prefix = address + (v6 ? "/128" : "/32");
  if (ip({"link", "show", "dev", interface}).exit_code != 0) {
    auto created = ip({"link", "add", interface, "type", "dummy"});
    if (created.exit_code != 0) {
      return fail(ErrorCode::Unavailable, "cannot create dummy interface ", interface, ": ",
                  created.output, " (no dummy support in this kernel? use an existing interface "
                  "such as lo)");
    }
    owner.created_interface_ = true;
  }
  ip({"link", "set", "dev", interface, "up"});
  auto added = ip({"addr", "add", prefix, "dev", interface});
  if (added.exit_code == 0) {
    owner.added_address_ = true;
  } else if (added.output.find("File exists") == std::string::npos &&
             added.output.find("already assigned") == std::string::npos) {
    owner.release();
    return fail(ErrorCode::Unavailable, "cannot add VIP ", prefix, " to ", interface, ": ",
                added.output);
  }
  log::get("vip")->info("vip claimed address={} interface={} added={}", address, interface,
                        owner.added_address_);
  return owner;
}

VipOwner::VipOwner(VipOwner&& other) noexcept
    : address_(std::move(other.address_)), interface_(std::move(other.interface_)),
      added_address_(std::exchange(other.added_address_, false)),
      created_interface_(std::exchange(other.created_interface_, false)) {}

VipOwner& VipOwner::operator=(VipOwner&& other) noexcept {
  if (this != &other) {
    release();
    address_ = std::move(other.address_);
    interface_ = std::move(other.interface_);
    added_address_ = std::exchange(other.added_address_, false);
    created_interface_ = std::exchange(other.created_interface_, false);
  }
  return *this;
}

VipOwner::~VipOwner() { release(); }

void VipOwner::release() {
  if (added_address_) {
    bool v6 = address_.find(':') != std::string::npos;
    ip({"addr", "del", address_ + (v6 ? "/128" : "/32"), "dev", interface_});
    added_address_ = false;
    log::get("vip")->info("vip released address={} interface={}", address_, interface_);
  }
  if (created_interface_) {
    ip({"link", "del", interface_});
    created_interface_ = false;
  }
}

}  // namespace rampart::vip
