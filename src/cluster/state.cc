#include "cluster/state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rampart::cluster {

using nlohmann::json;

const NodeState* ClusterState::find(const std::string& node) const {
  for (const auto& n : nodes) {
    if (n.spec.name == node) {
      return &n;
    }
  }
  return nullptr;
}

NodeState* ClusterState::find(const std::string& node) {
  return const_cast<NodeState*>(std::as_const(*this).find(node));
}

std::vector<NodeSpec> ClusterState::specs() const {
  std::vector<NodeSpec> out;
  for (const auto& n : nodes) {
    out.push_back(n.spec);
  }
  return out;
}

std::vector<const NodeState*> ClusterState::masters() const {
  std::vector<const NodeState*> out;
  for (const auto& n : nodes) {
    if (n.spec.role == Role::Master) {
      out.push_back(&n);
    }
  }
  return out;
}

std::string stateFile(const std::string& dir) { return dir + "/cluster.json"; }

std::string renderState(const ClusterState& state) {
  json nodes = json::array();
  for (const auto& n : state.nodes) {
    json pids = json::object();
    for (const auto& [kind, pid] : n.pids) {
      pids[kind] = pid;
    }
    nodes.push_back({{"name", n.spec.name},
                     {"role", std::string(roleName(n.spec.role))},
                     {"zone", n.spec.zone},
                     {"ordinal", n.spec.ordinal},
                     {"pids", pids}});
  }
  json doc = {{"version", 1},
              {"name", state.name},
              {"zones", state.zones},
              {"gateway_port", state.gateway_port},
              {"gateway_pid", state.gateway_pid},
              {"max_ordinal", state.max_ordinal},
              {"created", state.created},
              {"nodes", nodes}};
  return doc.dump(2) + "\n";
}

namespace {

template <typename... Parts>
tl::unexpected<Error> bad(const std::string& origin, Parts&&... parts) {
  return fail(ErrorCode::InvalidArgument, origin, ": ", std::forward<Parts>(parts)...);
}

}  // namespace

Result<ClusterState> parseState(const std::string& text, const std::string& origin) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return bad(origin, "not a JSON object");
  }
  if (doc.value("version", 0) != 1) {
    return bad(origin, "version: expected 1");
  }
  ClusterState state;
  if (!doc["name"].is_string()) {
    return bad(origin, "name: expected a string");
  }
  state.name = doc["name"].get<std::string>();
  if (auto r = validateClusterName(state.name); !r) {
    return bad(origin, "name: ", r.error().message);
  }
  if (!doc["zones"].is_array()) {
    return bad(origin, "zones: expected a list");
  }
  for (const auto& z : doc["zones"]) {
    if (!z.is_string()) {
      return bad(origin, "zones: expected strings");
    }
    state.zones.push_back(z.get<std::string>());
  }
  ClusterSpec check{state.name, 1, 0, state.zones};
  if (auto r = validateSpec(check); !r) {
    return bad(origin, r.error().message);
  }
  auto port = doc.value("gateway_port", -1);
  if (port < 0 || port > 65535) {
    return bad(origin, "gateway_port: expected 0..65535");
  }
  state.gateway_port = static_cast<uint16_t>(port);
  state.gateway_pid = doc.value("gateway_pid", 0);
  state.max_ordinal = doc.value("max_ordinal", -1);
  if (state.max_ordinal < 0 || state.max_ordinal > kMaxOrdinal) {
    return bad(origin, "max_ordinal: expected 0..", std::to_string(kMaxOrdinal));
  }
  state.created = doc.value("created", "");
  if (!doc["nodes"].is_array()) {
    return bad(origin, "nodes: expected a list");
  }
  std::set<std::string> names;
  std::set<int> ordinals;
  for (size_t i = 0; i < doc["nodes"].size(); ++i) {
    const auto& n = doc["nodes"][i];
    std::string where = "nodes[" + std::to_string(i) + "]";
    if (!n.is_object() || !n["name"].is_string() || !n["role"].is_string() ||
        !n["zone"].is_string() || !n["ordinal"].is_number_integer()) {
      return bad(origin, where, ": expected name, role, zone and ordinal");
    }
    NodeState node;
    node.spec.name = n["name"].get<std::string>();
    auto role = parseRole(n["role"].get<std::string>());
    if (!role) {
      return bad(origin, where, ".role: ", role.error().message);
    }
    node.spec.role = *role;
    node.spec.zone = n["zone"].get<std::string>();
    node.spec.ordinal = n["ordinal"].get<int>();
    // Node names are the cluster's name plus -m<k> or -w<k>: nothing else may be named, since
    // the name becomes a namespace that `down` deletes.
    std::string prefix = state.name + (node.spec.role == Role::Master ? "-m" : "-w");
    std::string_view rest = std::string_view(node.spec.name).substr(
        std::min(prefix.size(), node.spec.name.size()));
    if (!node.spec.name.starts_with(prefix) || rest.empty() || rest.size() > 3 ||
        rest.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad(origin, where, ".name '", node.spec.name, "': expected ", prefix, "<number>");
    }
    if (node.spec.ordinal < 1 || node.spec.ordinal > state.max_ordinal) {
      return bad(origin, where, ".ordinal: expected 1..max_ordinal");
    }
    if (!names.insert(node.spec.name).second || !ordinals.insert(node.spec.ordinal).second) {
      return bad(origin, where, ": name or ordinal given twice");
    }
    if (n.contains("pids")) {
      if (!n["pids"].is_object()) {
        return bad(origin, where, ".pids: expected an object");
      }
      for (const auto& [kind, pid] : n["pids"].items()) {
        if (!pid.is_number_integer() || pid.get<long>() < 0 || pid.get<long>() > (1L << 22)) {
          return bad(origin, where, ".pids.", kind, ": expected a process id");
        }
        node.pids[kind] = pid.get<pid_t>();
      }
    }
    state.nodes.push_back(std::move(node));
  }
  return state;
}

Result<ClusterState> loadState(const std::string& dir) {
  std::string path = stateFile(dir);
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::NotFound, "no cluster in ", dir, " (", path, " does not exist)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseState(text.str(), path);
}

Result<void> saveState(const std::string& dir, const ClusterState& state) {
  std::string path = stateFile(dir);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return fail(ErrorCode::Unavailable, "write ", tmp, ": ", std::strerror(errno));
  }
  std::string text = renderState(state);
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::Unavailable, "write ", path, ": ", std::strerror(errno));
  }
  return ok();
}

}  // namespace rampart::cluster
