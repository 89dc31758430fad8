#pragma once
// What a container of a pod is run with, resolved from the pod and the objects it refers to: the
// kubelet's "generate container options" step, as a pure function.
//   env        service variables of the pod's namespace first (enableServiceLinks, default on; the
//              `kubernetes` Service of `default` always), then envFrom (configMapRef/secretRef with
//              prefix), then env (value with $(VAR) expansion of earlier variables; valueFrom
//              fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef); a later name wins.
//   argv       command + args with $(VAR) expanded from that environment ($$ escapes a $). There are
//              no images: a container must name its command (the image is only shown).
//   volumes    emptyDir (a directory of the pod), hostPath (DirectoryOrCreate/FileOrCreate create
//              it), configMap and secret (files with items, modes, optional), each mounted at its
//              volumeMount's mountPath (subPath supported); persistentVolumeClaim: the claim's
//              node-local directory <claims_dir>/<namespace>/<claim> (claim_volumes.h), kept
//              after the pod; the claim must exist and not be bound to another node.
// A missing ConfigMap/Secret/key that is not optional is an error whose message is the kubelet's
// (`configmap "x" not found`, `couldn't find key k in ConfigMap default/x`): the container waits
// with reason CreateContainerConfigError and is retried when the object appears.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace rampart::agent::node {

// Objects of the pod's namespace, as the agent's caches hold them (nullptr: not found).
struct PodObjects {
  std::function<const nlohmann::json*(const std::string& name)> config_map;
  std::function<const nlohmann::json*(const std::string& name)> secret;
  std::vector<const nlohmann::json*> services;    // of the pod's namespace
  const nlohmann::json* kubernetes_service = nullptr;  // default/kubernetes, if it exists
  // PersistentVolumeClaims of the namespace (unset: claims are not checked), their directories'
  // root ("<agent root>/volumes") and this node's name (a claim bound elsewhere is refused).
  std::function<const nlohmann::json*(const std::string& name)> claim;
  std::string claims_dir;
  std::string node_name;
};

struct VolumeFile {
  std::string path;  // relative to the volume's directory
  std::string content;
  uint32_t mode = 0644;
};

struct VolumePlan {
  enum class Kind { EmptyDir, HostPath, Files, Claim };
  std::string name;
  Kind kind = Kind::EmptyDir;
  std::string host_path;           // HostPath, Claim: the node path; others: under the pod directory
  std::string host_path_type;      // HostPath's type ("", Directory, DirectoryOrCreate, File, ...)
  std::vector<VolumeFile> files;   // Files (configMap, secret)
  bool read_only = false;          // secret and configMap volumes are always read-only
};

struct ResolvedMount {
  std::string source;  // absolute path on the node
  std::string target;  // mountPath
  bool read_only = false;
};

struct ResolvedResources {  // 0 = not set
  int64_t memory_limit_bytes = 0;
  int64_t cpu_request_milli = 0;
  int64_t cpu_limit_milli = 0;
};

struct ResolvedContainer {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;
  std::optional<uint32_t> run_as_user;
  std::optional<uint32_t> run_as_group;
  std::vector<ResolvedMount> mounts;
  ResolvedResources resources;
};

// The pod's volumes; `pod_dir` is the agent's directory for this pod (emptyDir and the files of
// configMap/secret volumes live under it). Error: a non-optional object or key missing, or a
// volume type Rampart does not run (named with its field path).
Result<std::vector<VolumePlan>> planVolumes(const nlohmann::json& pod, const PodObjects& objects,
                                            const std::string& pod_dir);

// One container (`container` is an element of spec.containers or spec.initContainers). `pod_ip`
// and `host_ip` fill status.podIP/status.hostIP field references.
Result<ResolvedContainer> resolveContainer(const nlohmann::json& pod,
                                           const nlohmann::json& container,
                                           const PodObjects& objects,
                                           const std::vector<VolumePlan>& volumes,
                                           const std::string& pod_ip, const std::string& host_ip);

// Kubernetes' $(VAR) expansion: $(NAME) of a defined variable is replaced, an undefined one is
// left as written, $$ becomes $.
std::string expandVariables(const std::string& text,
                            const std::vector<std::pair<std::string, std::string>>& env);

// The docker-links style variables of one Service (FOO_SERVICE_HOST, FOO_SERVICE_PORT,
// FOO_PORT_80_TCP_ADDR, ...); none for a headless Service.
std::vector<std::pair<std::string, std::string>> serviceVariables(const nlohmann::json& service);

}  // namespace rampart::agent::node
