#pragma once
// Service cluster IPs (kube-apiserver's --service-cluster-ip-range, IPv4 single stack): the
// range, what a Service asks for (an IP picked by the server, a given one, none for headless or
// ExternalName), and the choice of a free IP. Pure; the allocation itself is an etcd transaction
// in the handler (ApiHandler::create), where the uniqueness invariant is written.
//
// As in Kubernetes (ServiceIPStaticSubrange), the range's network and broadcast addresses are
// never handed out, and the server picks from the upper band first, so that the lower band
// (offsets 1 .. min(max(16, size/16), 256)-1, where 10.96.0.1 for the `kubernetes` Service and
// 10.96.0.10 for DNS usually go) stays free for IPs that users request.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "api/status.h"
#include "base/result.h"

namespace rampart::api {

Result<uint32_t> parseIpv4(std::string_view text);
std::string formatIpv4(uint32_t ip);

class Ipv4Range {
 public:
  // "10.96.0.0/12"; InvalidArgument naming the problem (host bits set, prefix not 1..30, IPv6).
  static Result<Ipv4Range> parse(std::string_view cidr);

  // Within the range and neither its network nor its broadcast address.
  bool usable(uint32_t ip) const { return ip > base_ && ip - base_ < size_ - 1; }
  // Offsets 1 .. size-2 may be allocated.
  uint64_t size() const { return size_; }
  uint32_t at(uint64_t offset) const { return base_ + static_cast<uint32_t>(offset); }
  // Where the upper (dynamic) band starts.
  uint64_t staticBandEnd() const;
  std::string toString() const;

 private:
  uint32_t base_ = 0;
  int prefix_ = 32;
  uint64_t size_ = 1;
};

// 10.96.0.0/12, kube-apiserver's default --service-cluster-ip-range.
Ipv4Range defaultServiceIpRange();

// What a Service's spec asks for (after defaults).
struct ClusterIpWish {
  enum class Kind {
    kNone,      // ExternalName: no cluster IP at all
    kHeadless,  // clusterIP "None"
    kAny,       // empty: the server picks
    kThis,      // a given IP
  };
  Kind kind = Kind::kAny;
  uint32_t ip = 0;  // kThis
  FieldErrors errors;  // a malformed or inconsistent clusterIP / clusterIPs
};
ClusterIpWish clusterIpWishOf(const nlohmann::json& service);

// Every type but ExternalName has a cluster IP (an address, or None when headless).
bool needsClusterIp(const nlohmann::json& service);

// What an update does with the Service's cluster IP, from the stored version (`current`):
// kube-apiserver's dropTypeDependentFields, its immutability rule and its allocator's update
// path. Rewrites `next` as kube-apiserver does before validation: a Service becoming ExternalName
// whose clusterIP fields were left as they were loses them (clusterIP, clusterIPs, and
// ipFamilies/ipFamilyPolicy if unchanged); a Service that keeps a cluster IP gets it back when
// the update left it out. Idempotent: applying it to its own result decides the same.
struct ClusterIpUpdate {
  enum class Kind {
    kNone,      // no IP before or after (headless stays headless, ExternalName stays so)
    kKeep,      // keeps `held`
    kRelease,   // gives `held` up: the type became ExternalName
    kAllocate,  // gets what `wish` asks for: the type left ExternalName
  };
  Kind kind = Kind::kNone;
  uint32_t held = 0;
  ClusterIpWish wish;
  FieldErrors errors;  // 422: a changed clusterIP, a clusterIP on an ExternalName Service
};
ClusterIpUpdate clusterIpUpdateOf(nlohmann::json& next, const nlohmann::json& current);

// Kubernetes' rule that an ExternalName Service has no cluster IP (create and update).
FieldErrors validateExternalNameIp(const nlohmann::json& service);

// A free IP from `range` not in `taken`, upper band first, starting at `random` within the band
// (so that concurrent servers rarely pick the same one); nullopt when the range is full.
std::optional<uint32_t> pickFreeIp(const Ipv4Range& range, const std::set<uint32_t>& taken,
                                   uint64_t random);

// Writes the allocated (or None) IP into spec.clusterIP and spec.clusterIPs and the IPv4
// single-stack family fields, as kube-apiserver fills them.
void setClusterIp(nlohmann::json& service, const std::string& ip);

// 422 details, Kubernetes' wording.
FieldError ipNotInRange(const nlohmann::json& service, uint32_t ip, const Ipv4Range& range);
FieldError ipAlreadyAllocated(const nlohmann::json& service, uint32_t ip);

}  // namespace rampart::api
