#include "api/service_ip.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace rampart::api {
using json = nlohmann::json;

Result<uint32_t> parseIpv4(std::string_view text) {
  uint32_t ip = 0;
  std::string_view rest = text;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (rest.empty() || rest.front() != '.') {
        return fail(ErrorCode::InvalidArgument, "not an IPv4 address: \"", text, "\"");
      }
      rest.remove_prefix(1);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    size_t used = static_cast<size_t>(end - rest.data());
    // No leading zeros (Go's parser refuses them: "010" would be ambiguous).
    if (ec != std::errc() || used == 0 || value > 255 || (used > 1 && rest.front() == '0')) {
      return fail(ErrorCode::InvalidArgument, "not an IPv4 address: \"", text, "\"");
    }
    ip = (ip << 8) | value;
    rest.remove_prefix(used);
  }
  if (!rest.empty()) {
    return fail(ErrorCode::InvalidArgument, "not an IPv4 address: \"", text, "\"");
  }
  return ip;
}

std::string formatIpv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

Result<Ipv4Range> Ipv4Range::parse(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "\"", cidr, "\" is not a CIDR (like 10.96.0.0/12)");
  }
  if (cidr.find(':') != std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "\"", cidr,
                "\": only IPv4 service ranges are supported");
  }
  auto base = parseIpv4(cidr.substr(0, slash));
  if (!base) {
    return fail(base.error());
  }
  std::string_view bits = cidr.substr(slash + 1);
  int prefix = 0;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  if (ec != std::errc() || end != bits.data() + bits.size() || prefix < 1 || prefix > 30) {
    return fail(ErrorCode::InvalidArgument, "\"", cidr,
                "\": the prefix length must be 1..30 (at least two usable addresses)");
  }
  Ipv4Range range;
  range.prefix_ = prefix;
  range.size_ = uint64_t{1} << (32 - prefix);
  uint32_t mask = static_cast<uint32_t>(~((uint64_t{1} << (32 - prefix)) - 1));
  if ((*base & ~mask) != 0) {
    return fail(ErrorCode::InvalidArgument, "\"", cidr, "\" has host bits set (did you mean ",
                formatIpv4(*base & mask), "/", std::to_string(prefix), "?)");
  }
  range.base_ = *base;
  return range;
}

uint64_t Ipv4Range::staticBandEnd() const {
  return std::min<uint64_t>(std::max<uint64_t>(16, size_ / 16), 256);
}

std::string Ipv4Range::toString() const {
  return formatIpv4(base_) + "/" + std::to_string(prefix_);
}

Ipv4Range defaultServiceIpRange() { return *Ipv4Range::parse("10.96.0.0/12"); }

ClusterIpWish clusterIpWishOf(const json& service) {
  ClusterIpWish wish;
  const json spec = service.value("spec", json::object());
  if (spec.value("type", std::string("ClusterIP")) == "ExternalName") {
    wish.kind = ClusterIpWish::Kind::kNone;
    return wish;
  }
  std::string ip = spec.contains("clusterIP") && spec["clusterIP"].is_string()
                       ? spec["clusterIP"].get<std::string>()
                       : "";
  if (spec.contains("clusterIPs") && spec["clusterIPs"].is_array() &&
      !spec["clusterIPs"].empty()) {
    const json& first = spec["clusterIPs"][0];
    std::string listed = first.is_string() ? first.get<std::string>() : "";
    if (spec["clusterIPs"].size() > 1) {
      wish.errors.push_back(invalidField("spec.clusterIPs", spec["clusterIPs"],
                                         "only one IP (IPv4 single stack) is supported"));
    }
    if (!ip.empty() && listed != ip) {
      wish.errors.push_back(invalidField("spec.clusterIPs[0]", first,
                                         "must match `clusterIP` when both are specified"));
    }
    ip = listed;
  }
  if (ip.empty()) {
    wish.kind = ClusterIpWish::Kind::kAny;
  } else if (ip == "None") {
    wish.kind = ClusterIpWish::Kind::kHeadless;
  } else if (auto parsed = parseIpv4(ip)) {
    wish.kind = ClusterIpWish::Kind::kThis;
    wish.ip = *parsed;
  } else {
    wish.errors.push_back(invalidField("spec.clusterIPs[0]", ip,
                                       "must be a valid IP address, (e.g. 10.9.8.7 or "
                                       "2001:db8::ffff)"));
  }
  return wish;
}

bool needsClusterIp(const json& service) {
  return service.value("/spec/type"_json_pointer, std::string("ClusterIP")) != "ExternalName";
}

FieldErrors validateExternalNameIp(const json& service) {
  FieldErrors errors;
  if (needsClusterIp(service) || !service.contains("spec") || !service["spec"].is_object()) {
    return errors;
  }
  const json& spec = service["spec"];
  bool ip = spec.contains("clusterIP") && spec["clusterIP"].is_string() &&
            !spec["clusterIP"].get<std::string>().empty();
  bool ips = spec.contains("clusterIPs") && spec["clusterIPs"].is_array() &&
             !spec["clusterIPs"].empty();
  if (ip || ips) {
    errors.push_back(forbiddenField("spec.clusterIPs", "may not be set for ExternalName services"));
  }
  return errors;
}

ClusterIpUpdate clusterIpUpdateOf(json& next, const json& current) {
  ClusterIpUpdate u;
  if (!next.contains("spec") || !next["spec"].is_object()) {
    return u;
  }
  json& spec = next["spec"];
  const json old_spec = current.value("spec", json::object());
  std::string held = old_spec.value("clusterIP", std::string());
  auto held_ip = parseIpv4(held);
  bool had_ip = needsClusterIp(current) && !held.empty();

  if (!needsClusterIp(next)) {
    // dropTypeDependentFields: fields left as they were go with the type; changed ones stay and
    // fail validation.
    auto same = [&](const char* field) {
      if (!spec.contains(field)) {
        return true;
      }
      const json& v = spec[field];
      bool unset = v.is_null() || (v.is_string() && v.get<std::string>().empty()) ||
                   (v.is_array() && v.empty());
      return unset || (old_spec.contains(field) && v == old_spec[field]);
    };
    if (same("clusterIP") && same("clusterIPs")) {
      spec.erase("clusterIP");
      spec.erase("clusterIPs");
    }
    for (const char* field : {"ipFamilies", "ipFamilyPolicy"}) {
      if (same(field)) {
        spec.erase(field);
      }
    }
    u.errors = validateExternalNameIp(next);
    if (had_ip && held_ip) {
      u.kind = ClusterIpUpdate::Kind::kRelease;
      u.held = *held_ip;
    }
    return u;
  }
  if (!had_ip) {
    // From ExternalName (or a Service stored without one): allocated as on create.
    u.wish = clusterIpWishOf(next);
    u.errors = u.wish.errors;
    u.kind = ClusterIpUpdate::Kind::kAllocate;
    return u;
  }
  // Held for the Service's whole life (the uniqueness invariant in handler_service.cc needs it
  // never to change): an update that leaves it out keeps it, one that changes it is refused.
  std::string wanted = spec.value("clusterIP", std::string());
  if (wanted.empty()) {
    spec["clusterIP"] = held;
    wanted = held;
  }
  if (!spec.contains("clusterIPs") || !spec["clusterIPs"].is_array() ||
      spec["clusterIPs"].empty()) {
    spec["clusterIPs"] = old_spec.value("clusterIPs", json::array({held}));
  }
  for (const char* field : {"ipFamilies", "ipFamilyPolicy"}) {
    if (!spec.contains(field) && old_spec.contains(field)) {
      spec[field] = old_spec[field];
    }
  }
  if (wanted != held) {
    u.errors.push_back(invalidField("spec.clusterIPs[0]", wanted, "may not change once set"));
  } else if (spec["clusterIPs"] != old_spec.value("clusterIPs", spec["clusterIPs"])) {
    u.errors.push_back(
        invalidField("spec.clusterIPs", spec["clusterIPs"], "may not change once set"));
  }
  if (held_ip) {
    u.kind = ClusterIpUpdate::Kind::kKeep;
    u.held = *held_ip;
  }
  return u;
}

std::optional<uint32_t> pickFreeIp(const Ipv4Range& range, const std::set<uint32_t>& taken,
                                   uint64_t random) {
  // Usable offsets: [1, size-1). Upper band [static_end, size-1), then lower band [1, static_end).
  uint64_t last = range.size() - 1;
  uint64_t static_end = std::min(range.staticBandEnd(), last);
  auto scan = [&](uint64_t from, uint64_t to) -> std::optional<uint32_t> {
    if (from >= to) {
      return std::nullopt;
    }
    uint64_t n = to - from;
    uint64_t start = random % n;
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t ip = range.at(from + (start + i) % n);
      if (!taken.count(ip)) {
        return ip;
      }
    }
    return std::nullopt;
  };
  if (auto ip = scan(static_end, last)) {
    return ip;
  }
  return scan(1, static_end);
}

void setClusterIp(json& service, const std::string& ip) {
  json& spec = service["spec"];
  spec["clusterIP"] = ip;
  spec["clusterIPs"] = json::array({ip});
  if (!spec.contains("ipFamilies")) {
    spec["ipFamilies"] = json::array({"IPv4"});
  }
  if (!spec.contains("ipFamilyPolicy")) {
    spec["ipFamilyPolicy"] = "SingleStack";
  }
}

namespace {
json clusterIpsOf(const json& service, uint32_t ip) {
  const json* listed = nullptr;
  if (service.contains("/spec/clusterIPs"_json_pointer)) {
    listed = &service["/spec/clusterIPs"_json_pointer];
  }
  return listed && listed->is_array() && !listed->empty() ? *listed
                                                          : json::array({formatIpv4(ip)});
}
}  // namespace

FieldError ipNotInRange(const json& service, uint32_t ip, const Ipv4Range& range) {
  return invalidField("spec.clusterIPs", clusterIpsOf(service, ip),
                      "failed to allocate IP " + formatIpv4(ip) + ": the provided IP (" +
                          formatIpv4(ip) +
                          ") is not in the valid range. The range of valid IPs is " +
                          range.toString());
}

FieldError ipAlreadyAllocated(const json& service, uint32_t ip) {
  return invalidField("spec.clusterIPs", clusterIpsOf(service, ip),
                      "failed to allocate IP " + formatIpv4(ip) +
                          ": provided IP is already allocated");
}

}  // namespace rampart::api
