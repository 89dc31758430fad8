#include "pg/validate.h"

#include <arpa/inet.h>

#include <charconv>

#include "pq/conninfo.h"

namespace rampart::pg {
namespace {

bool isLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerOrDigit(c) || (c >= 'A' && c <= 'Z'); }
bool isControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// For messages: the value with control characters shown as '?' and cut at 80 characters, so a
// refused value cannot itself break a log line.
std::string shown(std::string_view value) {
  std::string out(value.substr(0, 80));
  for (char& c : out) {
    if (isControl(c)) {
      c = '?';
    }
  }
  return value.size() > 80 ? out + "..." : out;
}

bool isIpAddress(std::string_view host) {
  std::string text(host);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool isHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    auto label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!isAlnum(c) && c != '-') {
        return false;
      }
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

}  // namespace

Result<void> checkMemberName(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return fail(ErrorCode::InvalidArgument, "member name must have 1 to 63 characters");
  }
  for (char c : name) {
    if (!isLowerOrDigit(c) && c != '_') {
      return fail(ErrorCode::InvalidArgument, "member name '", shown(name),
                  "' may only contain a-z, 0-9 and _ (it names a replication slot)");
    }
  }
  return ok();
}

Result<void> checkClusterName(std::string_view name) {
  bool valid = !name.empty() && name.size() <= 63 && isLowerOrDigit(name.front()) &&
               isLowerOrDigit(name.back());
  for (char c : name) {
    valid = valid && (isLowerOrDigit(c) || c == '-' || c == '_' || c == '.');
  }
  if (!valid) {
    return fail(ErrorCode::InvalidArgument, "cluster name '", shown(name),
                "' must be 1 to 63 characters of a-z, 0-9, '-', '_' and '.', starting and ending "
                "with a letter or digit");
  }
  return ok();
}

Result<void> checkHost(std::string_view host) {
  if (!isIpAddress(host) && !isHostName(host)) {
    return fail(ErrorCode::InvalidArgument, "host '", shown(host),
                "' is neither an IP address nor a host name");
  }
  return ok();
}

Result<void> checkHostPort(std::string_view address) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "address '", shown(address), "' has no port");
  }
  auto host = address.substr(0, colon);
  auto port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    std::string text(host);
    unsigned char buf[16];
    if (::inet_pton(AF_INET6, text.c_str(), buf) != 1) {
      return fail(ErrorCode::InvalidArgument, "address '", shown(address),
                  "' has an invalid IPv6 address");
    }
  } else if (auto h = checkHost(host); !h) {
    // Members publish an IPv6 REST address without brackets ("::1:8008"): the last colon
    // separates the port either way.
    return fail(ErrorCode::InvalidArgument, "address '", shown(address),
                "': the host is neither an IP address nor a host name");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return fail(ErrorCode::InvalidArgument, "address '", shown(address), "' has an invalid port");
  }
  return ok();
}

Result<void> checkCidr(std::string_view cidr) {
  auto slash = cidr.find('/');
  bool valid = slash != std::string_view::npos;
  if (valid) {
    std::string address(cidr.substr(0, slash));
    auto bits_text = cidr.substr(slash + 1);
    unsigned char buf[16];
    int max_bits = ::inet_pton(AF_INET, address.c_str(), buf) == 1    ? 32
                   : ::inet_pton(AF_INET6, address.c_str(), buf) == 1 ? 128
                                                                      : -1;
    int bits = -1;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    valid = max_bits > 0 && !bits_text.empty() && ec == std::errc() &&
            end == bits_text.data() + bits_text.size() && bits >= 0 && bits <= max_bits;
  }
  if (!valid) {
    return fail(ErrorCode::InvalidArgument, "'", shown(cidr),
                "' is not an address range (like 10.0.0.0/8 or ::1/128)");
  }
  return ok();
}

Result<void> checkRoleName(std::string_view name) {
  bool valid = !name.empty() && name.size() <= 63 && (isAlnum(name.front()) || name.front() == '_');
  for (char c : name) {
    valid = valid && (isAlnum(c) || c == '_' || c == '.' || c == '-');
  }
  if (!valid) {
    return fail(ErrorCode::InvalidArgument, "role name '", shown(name),
                "' must be 1 to 63 characters of A-Z, a-z, 0-9, '_', '.' and '-'");
  }
  return ok();
}

Result<void> checkParameterName(std::string_view name) {
  bool valid = !name.empty() && name.size() <= 63 &&
               ((name.front() >= 'a' && name.front() <= 'z') ||
                (name.front() >= 'A' && name.front() <= 'Z') || name.front() == '_');
  for (char c : name) {
    valid = valid && (isAlnum(c) || c == '_' || c == '.');
  }
  if (!valid) {
    return fail(ErrorCode::InvalidArgument, "parameter name '", shown(name),
                "' must be a PostgreSQL setting name ([A-Za-z_][A-Za-z0-9_.]*)");
  }
  return ok();
}

Result<void> checkNoControlCharacters(std::string_view value) {
  for (char c : value) {
    if (isControl(c)) {
      return fail(ErrorCode::InvalidArgument, "'", shown(value),
                  "' holds a control character (a newline, tab or the like)");
    }
  }
  return ok();
}

Result<void> checkMemberStatus(std::string_view key_name, const MemberStatus& s) {
  if (auto n = checkMemberName(key_name); !n) {
    return fail(ErrorCode::InvalidArgument, "member key: ", n.error().message);
  }
  if (s.name != key_name) {
    return fail(ErrorCode::InvalidArgument, "the entry under members/", key_name, " names member '",
                shown(s.name), "'");
  }
  if (auto h = checkHost(s.host); !h) {
    return fail(ErrorCode::InvalidArgument, "member ", key_name, ": ", h.error().message);
  }
  if (s.port == 0) {
    return fail(ErrorCode::InvalidArgument, "member ", key_name, ": no port");
  }
  if (!s.rest.empty()) {
    // A member whose REST API is HTTPS (rest.tls) publishes "https://host:port".
    std::string_view address = s.rest;
    if (address.starts_with("https://")) {
      address.remove_prefix(8);
    }
    if (auto r = checkHostPort(address); !r) {
      return fail(ErrorCode::InvalidArgument, "member ", key_name, ": rest: ", r.error().message);
    }
  }
  if (!s.upstream.empty()) {
    if (auto u = checkMemberName(s.upstream); !u) {
      return fail(ErrorCode::InvalidArgument, "member ", key_name,
                  ": upstream: ", u.error().message);
    }
  }
  for (std::string_view text : {std::string_view(s.role), std::string_view(s.state)}) {
    if (auto c = checkNoControlCharacters(text); !c) {
      return fail(ErrorCode::InvalidArgument, "member ", key_name, ": ", c.error().message);
    }
  }
  return ok();
}

Result<MemberStatus> decodeMemberEntry(std::string_view key_name, std::string_view value) {
  auto s = decodeMemberStatus(value);
  if (!s) {
    return fail(s.error());
  }
  if (auto c = checkMemberStatus(key_name, *s); !c) {
    return fail(c.error());
  }
  return s;
}

Result<void> checkSyncState(const SyncState& sync) {
  if (!sync.leader.empty()) {
    if (auto n = checkMemberName(sync.leader); !n) {
      return fail(ErrorCode::InvalidArgument, "sync state: leader: ", n.error().message);
    }
  }
  for (const auto& m : sync.members) {
    if (auto n = checkMemberName(m); !n) {
      return fail(ErrorCode::InvalidArgument, "sync state: members: ", n.error().message);
    }
  }
  if (sync.quorum < 0 || sync.quorum > static_cast<int>(sync.members.size())) {
    return fail(ErrorCode::InvalidArgument, "sync state: quorum ", std::to_string(sync.quorum),
                " for ", std::to_string(sync.members.size()), " members");
  }
  return ok();
}

Result<void> checkSwitchoverRequest(const SwitchoverRequest& r) {
  for (const auto* name : {&r.from, &r.to}) {
    if (!name->empty()) {
      if (auto n = checkMemberName(*name); !n) {
        return fail(ErrorCode::InvalidArgument, "switchover request: ", n.error().message);
      }
    }
  }
  return ok();
}

Result<std::string> confValue(std::string_view value) {
  if (auto c = checkNoControlCharacters(value); !c) {
    return fail(c.error());
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') {
      out += c;  // '' and \\ both read back as one character
    }
    out += c;
  }
  return out + "'";
}

Result<std::string> conninfoValue(std::string_view value) {
  // primary_conninfo is written into postgresql.auto.conf too, where a line break would end
  // the line: refused here, on top of libpq's quoting.
  if (auto c = checkNoControlCharacters(value); !c) {
    return fail(c.error());
  }
  return pq::quoteValue(value);
}

Result<std::string> pgpassField(std::string_view value) {
  if (auto c = checkNoControlCharacters(value); !c) {
    return fail(c.error());
  }
  std::string out;
  for (char c : value) {
    if (c == ':' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

Result<std::string> hbaToken(std::string_view value) {
  if (auto c = checkNoControlCharacters(value); !c) {
    return fail(c.error());
  }
  if (value.empty() || value.find('"') != std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "'", shown(value),
                "' cannot be a pg_hba.conf name (empty, or holds '\"')");
  }
  return "\"" + std::string(value) + "\"";
}

Result<void> checkHbaLine(std::string_view line) {
  for (char c : line) {
    if (isControl(c) && c != '\t') {
      return fail(ErrorCode::InvalidArgument, "pg_hba.conf line '", shown(line),
                  "' holds a control character (a newline or the like)");
    }
  }
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "an empty pg_hba.conf line");
  }
  if (line.back() == '\\') {
    return fail(ErrorCode::InvalidArgument, "pg_hba.conf line '", shown(line),
                "' ends in '\\' (it would continue onto the next line)");
  }
  return ok();
}

}  // namespace rampart::pg
