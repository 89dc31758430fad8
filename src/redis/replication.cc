#include "redis/replication.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace rampart::redis {

const char* linkStateName(LinkState state) {
  switch (state) {
    case LinkState::None:
      return "none";
    case LinkState::Connect:
      return "connect";
    case LinkState::Connecting:
      return "connecting";
    case LinkState::Handshake:
      return "handshake";
    case LinkState::Sync:
      return "sync";
    case LinkState::Connected:
      return "connected";
  }
  return "unknown";
}

namespace {

// A whole decimal integer: no sign other than '-', no spaces, no trailing bytes.
Result<int64_t> parseInteger(std::string_view text, std::string_view field) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return fail(ErrorCode::InvalidArgument, field, ": not an integer: '", text.substr(0, 64), "'");
  }
  return value;
}

Result<int64_t> parseOffset(std::string_view text, std::string_view field) {
  auto value = parseInteger(text, field);
  if (value && *value < 0) {
    return fail(ErrorCode::InvalidArgument, field, ": negative offset ", text);
  }
  return value;
}

Result<uint16_t> checkPort(int64_t value, std::string_view field) {
  if (value < 1 || value > 65535) {
    return fail(ErrorCode::InvalidArgument, field, ": port out of range: ", std::to_string(value));
  }
  return static_cast<uint16_t>(value);
}

Result<uint16_t> parsePort(std::string_view text, std::string_view field) {
  auto value = parseInteger(text, field);
  if (!value) {
    return fail(value.error());
  }
  return checkPort(*value, field);
}

Result<const Reply*> element(const Reply& array, size_t i, Reply::Type type,
                             std::string_view field) {
  const Reply& e = array.elements[i];
  if (e.type != type) {
    return fail(ErrorCode::InvalidArgument, field, ": expected ", replyTypeName(type), ", got ",
                replyTypeName(e.type));
  }
  return &e;
}

Result<Role> parseMasterRole(const Reply& reply) {
  if (reply.elements.size() != 3) {
    return fail(ErrorCode::InvalidArgument, "ROLE master: expected 3 elements, got ",
                std::to_string(reply.elements.size()));
  }
  MasterRole role;
  auto offset = element(reply, 1, Reply::Type::Integer, "ROLE master offset");
  if (!offset) {
    return fail(offset.error());
  }
  if ((*offset)->integer < 0) {
    return fail(ErrorCode::InvalidArgument, "ROLE master offset: negative offset ",
                std::to_string((*offset)->integer));
  }
  role.offset = (*offset)->integer;
  auto list = element(reply, 2, Reply::Type::Array, "ROLE master replicas");
  if (!list) {
    return fail(list.error());
  }
  for (const Reply& item : (*list)->elements) {
    if (item.type != Reply::Type::Array || item.elements.size() != 3) {
      return fail(ErrorCode::InvalidArgument,
                  "ROLE master replica: expected an array of [ip, port, offset]");
    }
    auto ip = element(item, 0, Reply::Type::String, "ROLE master replica ip");
    auto port = element(item, 1, Reply::Type::String, "ROLE master replica port");
    auto off = element(item, 2, Reply::Type::String, "ROLE master replica offset");
    for (const auto* r : {&ip, &port, &off}) {
      if (!*r) {
        return fail(r->error());
      }
    }
    if ((*ip)->str.empty()) {
      return fail(ErrorCode::InvalidArgument, "ROLE master replica ip: empty");
    }
    auto port_value = parsePort((*port)->str, "ROLE master replica port");
    if (!port_value) {
      return fail(port_value.error());
    }
    auto off_value = parseOffset((*off)->str, "ROLE master replica offset");
    if (!off_value) {
      return fail(off_value.error());
    }
    role.replicas.push_back({(*ip)->str, *port_value, *off_value});
  }
  return role;
}

Result<LinkState> parseLinkState(std::string_view text) {
  static constexpr std::pair<std::string_view, LinkState> kStates[] = {
      {"none", LinkState::None},
      {"connect", LinkState::Connect},
      {"connecting", LinkState::Connecting},
      {"handshake", LinkState::Handshake},
      {"sync", LinkState::Sync},
      {"connected", LinkState::Connected}};
  for (const auto& [name, state] : kStates) {
    if (text == name) {
      return state;
    }
  }
  return fail(ErrorCode::InvalidArgument, "ROLE slave state: unknown state '", text.substr(0, 64),
              "'");
}

Result<Role> parseReplicaRole(const Reply& reply) {
  if (reply.elements.size() != 5) {
    return fail(ErrorCode::InvalidArgument, "ROLE slave: expected 5 elements, got ",
                std::to_string(reply.elements.size()));
  }
  ReplicaRole role;
  auto host = element(reply, 1, Reply::Type::String, "ROLE slave master host");
  if (!host) {
    return fail(host.error());
  }
  if ((*host)->str.empty()) {
    return fail(ErrorCode::InvalidArgument, "ROLE slave master host: empty");
  }
  role.master_host = (*host)->str;
  auto port = element(reply, 2, Reply::Type::Integer, "ROLE slave master port");
  if (!port) {
    return fail(port.error());
  }
  auto port_value = checkPort((*port)->integer, "ROLE slave master port");
  if (!port_value) {
    return fail(port_value.error());
  }
  role.master_port = *port_value;
  auto state = element(reply, 3, Reply::Type::String, "ROLE slave state");
  if (!state) {
    return fail(state.error());
  }
  auto state_value = parseLinkState((*state)->str);
  if (!state_value) {
    return fail(state_value.error());
  }
  role.state = *state_value;
  auto offset = element(reply, 4, Reply::Type::Integer, "ROLE slave offset");
  if (!offset) {
    return fail(offset.error());
  }
  // -1: no master link yet (Redis reports it so rather than an offset it does not have).
  if ((*offset)->integer < -1) {
    return fail(ErrorCode::InvalidArgument, "ROLE slave offset: negative offset ",
                std::to_string((*offset)->integer));
  }
  if ((*offset)->integer >= 0) {
    role.offset = (*offset)->integer;
  }
  return role;
}

Result<Role> parseSentinelRole(const Reply& reply) {
  if (reply.elements.size() != 2) {
    return fail(ErrorCode::InvalidArgument, "ROLE sentinel: expected 2 elements, got ",
                std::to_string(reply.elements.size()));
  }
  auto list = element(reply, 1, Reply::Type::Array, "ROLE sentinel masters");
  if (!list) {
    return fail(list.error());
  }
  SentinelRole role;
  for (const Reply& name : (*list)->elements) {
    if (name.type != Reply::Type::String) {
      return fail(ErrorCode::InvalidArgument, "ROLE sentinel master name: expected string, got ",
                  replyTypeName(name.type));
    }
    role.masters.push_back(name.str);
  }
  return role;
}

// "ip=127.0.0.1,port=6380,state=online,offset=1441,lag=0" of a slaveN line.
Result<InfoReplication::Slave> parseSlaveLine(int index, std::string_view value,
                                              const std::string& key) {
  std::map<std::string, std::string, std::less<>> fields;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view part = value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument, key, ": expected name=value, got '",
                  part.substr(0, 64), "'");
    }
    std::string name(part.substr(0, eq));
    if (!fields.emplace(name, std::string(part.substr(eq + 1))).second) {
      return fail(ErrorCode::InvalidArgument, key, ".", name, ": repeated");
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  auto need = [&](std::string_view name) -> Result<std::string> {
    auto it = fields.find(name);
    if (it == fields.end()) {
      return fail(ErrorCode::InvalidArgument, key, ".", name, ": missing");
    }
    return it->second;
  };
  InfoReplication::Slave slave;
  slave.index = index;
  auto ip = need("ip");
  if (!ip) {
    return fail(ip.error());
  }
  if (ip->empty()) {
    return fail(ErrorCode::InvalidArgument, key, ".ip: empty");
  }
  slave.ip = *ip;
  auto port = need("port");
  if (!port) {
    return fail(port.error());
  }
  auto port_value = parsePort(*port, key + ".port");
  if (!port_value) {
    return fail(port_value.error());
  }
  slave.port = *port_value;
  auto state = need("state");
  if (!state) {
    return fail(state.error());
  }
  if (state->empty()) {
    return fail(ErrorCode::InvalidArgument, key, ".state: empty");
  }
  slave.state = *state;
  auto offset = need("offset");
  if (!offset) {
    return fail(offset.error());
  }
  auto offset_value = parseOffset(*offset, key + ".offset");
  if (!offset_value) {
    return fail(offset_value.error());
  }
  slave.offset = *offset_value;
  auto lag = need("lag");
  if (!lag) {
    return fail(lag.error());
  }
  auto lag_value = parseInteger(*lag, key + ".lag");
  if (!lag_value) {
    return fail(lag_value.error());
  }
  if (*lag_value < 0) {
    return fail(ErrorCode::InvalidArgument, key, ".lag: negative");
  }
  slave.lag = *lag_value;
  return slave;
}

// slaveN with N all digits (and not e.g. slave_repl_offset); N's value, or -1.
int slaveIndex(std::string_view key) {
  if (key.size() <= 5 || key.substr(0, 5) != "slave" || key.size() > 5 + 6) {
    return -1;
  }
  std::string_view digits = key.substr(5);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(std::string(digits));
}

}  // namespace

Result<Role> parseRole(const Reply& reply) {
  if (reply.type != Reply::Type::Array || reply.elements.empty()) {
    return fail(ErrorCode::InvalidArgument, "ROLE: expected a non-empty array, got ",
                replyTypeName(reply.type));
  }
  const Reply& kind = reply.elements[0];
  if (kind.type != Reply::Type::String) {
    return fail(ErrorCode::InvalidArgument, "ROLE role: expected string, got ",
                replyTypeName(kind.type));
  }
  if (kind.str == "master") {
    return parseMasterRole(reply);
  }
  if (kind.str == "slave") {
    return parseReplicaRole(reply);
  }
  if (kind.str == "sentinel") {
    return parseSentinelRole(reply);
  }
  return fail(ErrorCode::InvalidArgument, "ROLE role: unknown role '", kind.str.substr(0, 64), "'");
}

namespace {

// The next line of an INFO text from `start` (advanced past it), without its CRLF or LF.
std::string_view nextLine(std::string_view text, size_t& start) {
  size_t nl = text.find('\n', start);
  std::string_view line =
      text.substr(start, nl == std::string_view::npos ? text.size() - start : nl - start);
  start = nl == std::string_view::npos ? text.size() : nl + 1;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

}  // namespace

Result<InfoReplication> parseInfoReplication(std::string_view text) {
  std::map<std::string, std::string, std::less<>> values;
  std::map<int, InfoReplication::Slave> slaves;
  size_t start = 0;
  while (start < text.size()) {
    std::string_view line = nextLine(text, start);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument, "INFO replication: line without ':': '",
                  line.substr(0, 64), "'");
    }
    std::string key(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    int index = slaveIndex(key);
    if (index >= 0) {
      auto slave = parseSlaveLine(index, value, key);
      if (!slave) {
        return fail(slave.error());
      }
      if (!slaves.emplace(index, std::move(*slave)).second) {
        return fail(ErrorCode::InvalidArgument, key, ": repeated");
      }
      continue;
    }
    if (!values.emplace(key, std::string(value)).second) {
      return fail(ErrorCode::InvalidArgument, key, ": repeated");
    }
  }

  auto need = [&](std::string_view name) -> Result<std::string> {
    auto it = values.find(name);
    if (it == values.end()) {
      return fail(ErrorCode::InvalidArgument, name, ": missing");
    }
    return it->second;
  };
  InfoReplication info;
  auto role = need("role");
  if (!role) {
    return fail(role.error());
  }
  if (*role == "master") {
    info.role = InfoReplication::Kind::Master;
  } else if (*role == "slave") {
    info.role = InfoReplication::Kind::Replica;
  } else {
    return fail(ErrorCode::InvalidArgument, "role: unknown role '", role->substr(0, 64), "'");
  }
  auto offset = need("master_repl_offset");
  if (!offset) {
    return fail(offset.error());
  }
  auto offset_value = parseOffset(*offset, "master_repl_offset");
  if (!offset_value) {
    return fail(offset_value.error());
  }
  info.master_repl_offset = *offset_value;
  auto connected = need("connected_slaves");
  if (!connected) {
    return fail(connected.error());
  }
  auto connected_value = parseInteger(*connected, "connected_slaves");
  if (!connected_value) {
    return fail(connected_value.error());
  }
  if (*connected_value < 0 || *connected_value > 100000) {
    return fail(ErrorCode::InvalidArgument, "connected_slaves: out of range: ", *connected);
  }
  info.connected_slaves = static_cast<int>(*connected_value);
  if (auto replid = values.find("master_replid"); replid != values.end()) {
    bool hex = replid->second.size() == 40 &&
               replid->second.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex) {
      return fail(ErrorCode::InvalidArgument, "master_replid: expected 40 hex digits, got '",
                  replid->second.substr(0, 64), "'");
    }
    info.master_replid = replid->second;
  }
  for (auto& [index, slave] : slaves) {
    info.slaves.push_back(std::move(slave));
  }

  if (info.role == InfoReplication::Kind::Replica) {
    auto host = need("master_host");
    if (!host) {
      return fail(host.error());
    }
    if (host->empty()) {
      return fail(ErrorCode::InvalidArgument, "master_host: empty");
    }
    info.master_host = *host;
    auto port = need("master_port");
    if (!port) {
      return fail(port.error());
    }
    auto port_value = parsePort(*port, "master_port");
    if (!port_value) {
      return fail(port_value.error());
    }
    info.master_port = *port_value;
    auto link = need("master_link_status");
    if (!link) {
      return fail(link.error());
    }
    if (*link == "up") {
      info.master_link_up = true;
    } else if (*link == "down") {
      info.master_link_up = false;
    } else {
      return fail(ErrorCode::InvalidArgument, "master_link_status: expected up or down, got '",
                  link->substr(0, 64), "'");
    }
    auto slave_offset = need("slave_repl_offset");
    if (!slave_offset) {
      return fail(slave_offset.error());
    }
    auto slave_offset_value = parseInteger(*slave_offset, "slave_repl_offset");
    if (!slave_offset_value) {
      return fail(slave_offset_value.error());
    }
    // -1: no master link yet, as in ROLE.
    if (*slave_offset_value < -1) {
      return fail(ErrorCode::InvalidArgument, "slave_repl_offset: negative offset ", *slave_offset);
    }
    if (*slave_offset_value >= 0) {
      info.slave_repl_offset = *slave_offset_value;
    }
  }
  return info;
}

std::optional<std::string> infoField(std::string_view text, std::string_view key) {
  size_t start = 0;
  while (start < text.size()) {
    std::string_view line = nextLine(text, start);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      return std::string(line.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace rampart::redis
