#pragma once
// The names the pod network gives kernel objects, and the capability check, as pure functions
// (unit-tested without root). Thread-safe (values only).

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::agent::podnet {

// Where `ip netns add` bind-mounts named namespaces, so `ip netns exec <name>` works on pods.
inline constexpr const char* kNetnsDir = "/run/netns";

// A pod uid goes into file and interface names: Kubernetes uids are UUIDs; anything of
// [A-Za-z0-9-], 1-64 characters, with at least one letter or digit, is accepted.
Result<void> validatePodUid(std::string_view uid);

// The default namespace prefix of a node: "rampart-<node>_". Node names are DNS subdomains
// ([a-z0-9.-]), so the "_" ends the node name unambiguously: node "n1"'s prefix is not a prefix
// of node "n1-x"'s namespaces.
std::string defaultNetnsPrefix(std::string_view node_name);
// <prefix><uid>: the full uid, so recovery reads the pod back from the name alone.
std::string podNetnsName(std::string_view prefix, std::string_view uid);
// The uid of a namespace name with this prefix; nullopt when it is not one of ours.
std::optional<std::string> podUidFromNetnsName(std::string_view prefix, std::string_view name);
// The node-side veth end: "rv" + the first 12 letters/digits of the uid, lowercased (14 of
// the kernel's 15 characters). UUIDv4 uids differ there with 48 random bits; attach refuses a
// clash rather than sharing an interface.
std::string hostVethName(std::string_view uid);

// Linux capability numbers (linux/capability.h).
inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapSysAdmin = 21;  // mounting the namespace under /run/netns
// Whether the "CapEff:" line of a /proc/<pid>/status text has capability `cap`. InvalidArgument
// when there is no such line or it is not hex.
Result<bool> hasEffectiveCapability(std::string_view proc_status, int cap);

}  // namespace rampart::agent::podnet
