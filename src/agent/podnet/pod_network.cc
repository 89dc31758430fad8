#include "agent/podnet/pod_network.h"

#include <net/if.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/podnet/names.h"
#include "base/log.h"
#include "runtime/process.h"

namespace rampart::agent::podnet {

namespace {

constexpr const char* kNeedRoot =
    "rampart agent needs root (CAP_NET_ADMIN) to give pods their own network";

std::shared_ptr<spdlog::logger> logger() { return log::get("podnet"); }

std::string joined(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    text += (text.empty() ? "" : " ") + arg;
  }
  return text;
}

// Runs `ip <args>` (with `batch` on its stdin when given): its output, or an error naming the
// command and what it printed.
Result<std::string> runIp(std::vector<std::string> args, Duration timeout,
                          const std::string& batch = "") {
  args.insert(args.begin(), "ip");
  auto result = runtime::runCommand(args, timeout, batch);
  if (result.exit_code != 0) {
    std::string what = joined(args);
    if (!batch.empty()) {
      what += " <<< '" + batch + "'";
    }
    return fail(result.exit_code == -1 ? ErrorCode::DeadlineExceeded : ErrorCode::Internal, what,
                " failed (exit ", std::to_string(result.exit_code), "): ", result.output);
  }
  return result.output;
}

// Whether a link exists in the calling thread's network namespace (the socket if_nametoindex
// opens belongs to it).
bool linkExists(const std::string& name) { return ::if_nametoindex(name.c_str()) != 0; }

bool netnsExists(const std::string& name) {
  std::error_code ec;
  return std::filesystem::exists(std::string(kNetnsDir) + "/" + name, ec);
}

Result<void> checkCapabilities() {
  // thread-self: capabilities are per thread, and the calling thread is the one that acts.
  std::ifstream file("/proc/thread-self/status");
  std::stringstream text;
  text << file.rdbuf();
  for (int cap : {kCapNetAdmin, kCapSysAdmin}) {
    auto has = hasEffectiveCapability(text.str(), cap);
    if (!has) {
      return fail(ErrorCode::PermissionDenied, kNeedRoot, " (", has.error().message, ")");
    }
    if (!*has) {
      return fail(ErrorCode::PermissionDenied, kNeedRoot);
    }
  }
  return ok();
}

}  // namespace

PodNetwork::PodNetwork(Config config, Ipv4Cidr range)
    : config_(std::move(config)), allocator_(range) {}

Result<std::unique_ptr<PodNetwork>> PodNetwork::create(Config config) {
  if (auto caps = checkCapabilities(); !caps) {
    return fail(caps.error());
  }
  if (config.node_name.empty()) {
    return fail(ErrorCode::InvalidArgument, "pod network: no node name");
  }
  auto range = parseCidr(config.pod_cidr);
  if (!range) {
    return fail(ErrorCode::InvalidArgument, "pod network of node ", config.node_name, ": ",
                range.error().message);
  }
  if (config.bridge.empty() || config.bridge.size() > 15) {
    return fail(ErrorCode::InvalidArgument, "bridge name '", config.bridge,
                "' must have 1-15 characters");
  }
  if (config.netns_prefix.empty()) {
    config.netns_prefix = defaultNetnsPrefix(config.node_name);
  }
  if (config.netns_prefix.find('/') != std::string::npos ||
      config.node_name.find('/') != std::string::npos) {
    return fail(ErrorCode::InvalidArgument, "namespace prefix '", config.netns_prefix,
                "' must be a file name (no '/')");
  }
  std::unique_ptr<PodNetwork> network(new PodNetwork(std::move(config), *range));
  if (auto setup = network->setUpNode(); !setup) {
    return fail(setup.error());
  }
  if (auto pods = network->recover(); !pods) {
    return fail(pods.error());
  }
  return network;
}

Result<void> PodNetwork::setUpNode() {
  const auto& range = allocator_.range();
  if (!linkExists(config_.bridge)) {
    if (auto r = runIp({"link", "add", config_.bridge, "type", "bridge"}, config_.command_timeout);
        !r && !linkExists(config_.bridge)) {
      return fail(r.error());
    }
  }
  std::string gateway = formatIpv4(range.gateway()) + "/" + std::to_string(range.prefix);
  if (auto r = runIp({"-batch", "-"}, config_.command_timeout,
                     "addr replace " + gateway + " dev " + config_.bridge + "\nlink set " +
                         config_.bridge + " up\n");
      !r) {
    return fail(r.error());
  }
  // Per network namespace: this writes the forwarding switch of the namespace the calling
  // thread is in (the node's), nobody else's.
  std::ofstream forward("/proc/sys/net/ipv4/ip_forward");
  forward << "1\n";
  forward.flush();
  if (!forward) {
    return fail(ErrorCode::Internal, "cannot enable IP forwarding (/proc/sys/net/ipv4/ip_forward)");
  }
  logger()->info("pod network ready node={} bridge={} gateway={}", config_.node_name,
                 config_.bridge, gateway);
  return ok();
}

PodNet PodNetwork::describe(const std::string& pod_uid, Ipv4 ip) const {
  PodNet net;
  net.pod_uid = pod_uid;
  net.netns_name = podNetnsName(config_.netns_prefix, pod_uid);
  net.netns_path = std::string(kNetnsDir) + "/" + net.netns_name;
  net.ip = formatIpv4(ip);
  net.prefix = allocator_.range().prefix;
  net.gateway = formatIpv4(allocator_.range().gateway());
  net.host_veth = hostVethName(pod_uid);
  return net;
}

Result<void> PodNetwork::removeLeftovers(const std::string& netns_name,
                                         const std::string& host_veth) {
  // The veth first: deleting one end deletes its peer, also while the namespace lives on
  // because some process is still in it.
  if (linkExists(host_veth)) {
    if (auto r = runIp({"link", "del", host_veth}, config_.command_timeout);
        !r && linkExists(host_veth)) {
      return fail(r.error());
    }
  }
  if (netnsExists(netns_name)) {
    if (auto r = runIp({"netns", "del", netns_name}, config_.command_timeout);
        !r && netnsExists(netns_name)) {
      return fail(r.error());
    }
  }
  return ok();
}

Result<PodNet> PodNetwork::attach(const std::string& pod_uid) {
  if (auto it = pods_.find(pod_uid); it != pods_.end()) {
    return it->second;
  }
  if (auto valid = validatePodUid(pod_uid); !valid) {
    return fail(valid.error());
  }
  std::string veth = hostVethName(pod_uid);
  for (const auto& [uid, pod] : pods_) {
    if (pod.host_veth == veth) {
      return fail(ErrorCode::AlreadyExists, "pod ", pod_uid, " would share the veth name ", veth,
                  " with pod ", uid);
    }
  }
  std::string netns = podNetnsName(config_.netns_prefix, pod_uid);
  // Not a known pod, so whatever carries its names is what a failed attach left behind.
  if (auto clean = removeLeftovers(netns, veth); !clean) {
    return fail(clean.error());
  }
  auto ip = allocator_.allocate(pod_uid);
  if (!ip) {
    return fail(ip.error());
  }
  PodNet net = describe(pod_uid, *ip);
  auto undo = [&](const Error& error) -> Result<PodNet> {
    if (auto clean = removeLeftovers(netns, veth); !clean) {
      logger()->warn("attach of pod {} failed and its cleanup too: {}", pod_uid,
                     clean.error().toString());
    }
    allocator_.release(pod_uid);
    return fail(Error{error.code, "attach of pod " + pod_uid + ": " + error.message});
  };
  if (auto r = runIp({"netns", "add", netns}, config_.command_timeout); !r) {
    return undo(r.error());
  }
  if (auto r = runIp({"-batch", "-"}, config_.command_timeout,
                     "link add " + veth + " type veth peer name eth0 netns " + netns +
                         "\nlink set " + veth + " master " + config_.bridge + " up\n");
      !r) {
    return undo(r.error());
  }
  if (auto r = runIp({"-n", netns, "-batch", "-"}, config_.command_timeout,
                     "link set lo up\naddr add " + net.ip + "/" + std::to_string(net.prefix) +
                         " dev eth0\nlink set eth0 up\nroute add default via " + net.gateway +
                         " dev eth0\n");
      !r) {
    return undo(r.error());
  }
  pods_[pod_uid] = net;
  logger()->info("pod attached uid={} netns={} ip={}", pod_uid, netns, net.ip);
  return net;
}

Result<void> PodNetwork::detach(const std::string& pod_uid) {
  if (auto valid = validatePodUid(pod_uid); !valid) {
    return fail(valid.error());
  }
  auto clean = removeLeftovers(podNetnsName(config_.netns_prefix, pod_uid), hostVethName(pod_uid));
  if (!clean) {
    return fail(clean.error());  // the address stays held: the pod may still be reachable
  }
  if (pods_.erase(pod_uid)) {
    logger()->info("pod detached uid={}", pod_uid);
  }
  allocator_.release(pod_uid);
  return ok();
}

Result<std::vector<PodNet>> PodNetwork::recover() {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(kNetnsDir, ec), end; !ec && it != end;
       it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  // A missing /run/netns is a node without pods yet; anything else is an error.
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(ErrorCode::Internal, "cannot list ", kNetnsDir, ": ", ec.message());
  }
  std::sort(names.begin(), names.end());
  // Pods this object knew whose namespace someone removed meanwhile: their address is free.
  for (auto it = pods_.begin(); it != pods_.end();) {
    if (!std::binary_search(names.begin(), names.end(), it->second.netns_name)) {
      logger()->warn("pod namespace {} is gone; releasing {}", it->second.netns_name,
                     it->second.ip);
      allocator_.release(it->first);
      it = pods_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<PodNet> found;
  for (const auto& name : names) {
    auto uid = podUidFromNetnsName(config_.netns_prefix, name);
    if (!uid) {
      continue;
    }
    if (auto known = pods_.find(*uid); known != pods_.end()) {
      found.push_back(known->second);
      continue;
    }
    auto out =
        runIp({"-j", "-n", name, "-4", "addr", "show", "dev", "eth0"}, config_.command_timeout);
    if (!out && out.error().message.find("does not exist") == std::string::npos) {
      // Not knowing is not "half-built": a live pod's namespace must never be removed on a
      // guess, so recovery stops and the agent retries.
      return fail(out.error().code, "recovering pod namespace ", name, ": ", out.error().message);
    }
    std::optional<Ipv4> ip;
    if (out) {
      auto json = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
      if (json.is_array() && !json.empty() && json[0].is_object() &&
          json[0].contains("addr_info") && json[0]["addr_info"].is_array()) {
        for (const auto& info : json[0]["addr_info"]) {
          if (info.is_object() && info.value("family", "") == "inet") {
            if (auto parsed = parseIpv4(info.value("local", "")); parsed) {
              ip = *parsed;
              break;
            }
          }
        }
      }
    }
    if (!ip) {
      // eth0 with an address is the last step of attach: without it the runtime never got
      // this namespace, so no process of a pod can be in it.
      logger()->warn("removing half-built pod namespace {} ({})", name,
                     out ? "eth0 has no address" : out.error().message);
      if (auto clean = removeLeftovers(name, hostVethName(*uid)); !clean) {
        return fail(clean.error());
      }
      continue;
    }
    if (auto held = allocator_.restore(*uid, *ip); !held) {
      logger()->warn("pod namespace {} not adopted: {}", name, held.error().message);
      continue;
    }
    PodNet net = describe(*uid, *ip);
    pods_[*uid] = net;
    found.push_back(net);
  }
  if (!found.empty()) {
    logger()->info("pod network recovered node={} pods={}", config_.node_name, found.size());
  }
  return found;
}

Result<RouteSyncReport> PodNetwork::syncRoutes(const std::vector<NodeRoute>& desired) {
  auto parse = [](const Result<std::string>& out) -> Result<nlohmann::json> {
    if (!out) {
      return fail(out.error());
    }
    auto json = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
    if (!json.is_array()) {
      return fail(ErrorCode::Internal, "unexpected `ip -j route` output: ", *out);
    }
    return json;
  };
  auto ours = parse(
      runIp({"-j", "-4", "route", "show", "table", "main", "proto", std::to_string(kRouteProtocol)},
            config_.command_timeout));
  if (!ours) {
    return fail(ours.error());
  }
  auto all = parse(runIp({"-j", "-4", "route", "show", "table", "main"}, config_.command_timeout));
  if (!all) {
    return fail(all.error());
  }
  // `ip` prints "default" for 0.0.0.0/0 and a bare address for a /32.
  auto destination = [](const nlohmann::json& route) {
    std::string dst = route.is_object() ? route.value("dst", "") : "";
    if (dst == "default") {
      return std::string("0.0.0.0/0");
    }
    if (!dst.empty() && dst.find('/') == std::string::npos) {
      return dst + "/32";
    }
    return dst;
  };
  std::map<std::string, std::string> installed;
  for (const auto& route : *ours) {
    installed[destination(route)] = route.value("gateway", "");
  }
  std::set<std::string> foreign;
  for (const auto& route : *all) {
    if (!installed.count(destination(route))) {
      foreign.insert(destination(route));
    }
  }
  RouteSyncReport report{planRoutes(desired, installed, foreign)};
  for (const auto& route : report.plan.conflicts) {
    logger()->warn("route to {} (node {}) not installed: a route Rampart did not install holds it",
                   route.pod_cidr, route.node);
  }
  if (report.plan.empty()) {
    return report;
  }
  std::string proto = std::to_string(kRouteProtocol);
  std::string batch;
  for (const auto* list : {&report.plan.add, &report.plan.replace}) {
    for (const auto& route : *list) {
      batch += "route replace " + route.pod_cidr + " via " + route.via + " proto " + proto + "\n";
    }
  }
  for (const auto& cidr : report.plan.remove) {
    batch += "route del " + cidr + " proto " + proto + "\n";
  }
  // -force: one bad route (e.g. a node address not on any link yet) must not hold back the
  // rest; the error still reports it, and the next sync tries again.
  if (auto r = runIp({"-force", "-batch", "-"}, config_.command_timeout, batch); !r) {
    return fail(r.error());
  }
  logger()->info("routes synced node={} added={} replaced={} removed={}", config_.node_name,
                 report.plan.add.size(), report.plan.replace.size(), report.plan.remove.size());
  return report;
}

std::optional<PodNet> PodNetwork::find(const std::string& pod_uid) const {
  auto it = pods_.find(pod_uid);
  if (it == pods_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<PodNet> PodNetwork::pods() const {
  std::vector<PodNet> all;
  for (const auto& [uid, pod] : pods_) {
    all.push_back(pod);
  }
  return all;
}

}  // namespace rampart::agent::podnet
