#include "agent/node/pod_config.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "agent/node/claim_volumes.h"
#include "api/quantity.h"
#include "store/etcd_codec.h"

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;
using Env = std::vector<std::pair<std::string, std::string>>;

std::string str(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const json& member(const json& object, const char* key) {
  static const json kNull;
  auto it = object.find(key);
  return it != object.end() ? *it : kNull;
}

void setVar(Env& env, const std::string& name, std::string value) {
  for (auto& [k, v] : env) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  env.emplace_back(name, std::move(value));
}

// The value of key `key` of a ConfigMap (data, then binaryData) or Secret (data is base64).
std::optional<std::string> configMapValue(const json& cm, const std::string& key) {
  const json& data = member(cm, "data");
  if (data.is_object() && data.contains(key) && data[key].is_string()) {
    return data[key].get<std::string>();
  }
  const json& binary = member(cm, "binaryData");
  if (binary.is_object() && binary.contains(key) && binary[key].is_string()) {
    auto decoded = store::etcd::base64Decode(binary[key].get<std::string>());
    if (decoded) {
      return *decoded;
    }
  }
  return std::nullopt;
}

std::optional<std::string> secretValue(const json& secret, const std::string& key) {
  const json& data = member(secret, "data");
  if (data.is_object() && data.contains(key) && data[key].is_string()) {
    auto decoded = store::etcd::base64Decode(data[key].get<std::string>());
    if (decoded) {
      return *decoded;
    }
  }
  const json& string_data = member(secret, "stringData");
  if (string_data.is_object() && string_data.contains(key) && string_data[key].is_string()) {
    return string_data[key].get<std::string>();
  }
  return std::nullopt;
}

// Every key of a ConfigMap or Secret with its value, sorted by key.
std::map<std::string, std::string> allValues(const json& object, bool secret) {
  std::map<std::string, std::string> out;
  for (const char* field : {"data", "binaryData", "stringData"}) {
    const json& data = member(object, field);
    if (!data.is_object()) {
      continue;
    }
    for (auto it = data.begin(); it != data.end(); ++it) {
      auto value = secret ? secretValue(object, it.key()) : configMapValue(object, it.key());
      if (value) {
        out.emplace(it.key(), *value);
      }
    }
  }
  return out;
}

std::string serviceName(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// metadata.labels['app'] → ("labels", "app").
std::optional<std::pair<std::string, std::string>> subscript(const std::string& path) {
  for (const char* field : {"metadata.labels", "metadata.annotations"}) {
    std::string prefix = std::string(field) + "['";
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 2 &&
        path.compare(path.size() - 2, 2, "']") == 0) {
      return std::make_pair(std::string(field).substr(9),
                            path.substr(prefix.size(), path.size() - prefix.size() - 2));
    }
  }
  return std::nullopt;
}

Result<std::string> fieldValue(const json& pod, const std::string& path, const std::string& pod_ip,
                               const std::string& host_ip, const std::string& where) {
  const json& metadata = member(pod, "metadata");
  const json& spec = member(pod, "spec");
  if (path == "metadata.name") return str(metadata, "name");
  if (path == "metadata.namespace") return str(metadata, "namespace");
  if (path == "metadata.uid") return str(metadata, "uid");
  if (path == "spec.nodeName") return str(spec, "nodeName");
  if (path == "spec.serviceAccountName") {
    std::string sa = str(spec, "serviceAccountName");
    return sa.empty() ? std::string("default") : sa;
  }
  if (path == "status.podIP" || path == "status.podIPs") return pod_ip;
  if (path == "status.hostIP" || path == "status.hostIPs") return host_ip;
  if (auto sub = subscript(path)) {
    const json& map = member(metadata, sub->first.c_str());
    return map.is_object() ? str(map, sub->second.c_str()) : std::string();
  }
  return fail(ErrorCode::InvalidArgument, where, ".fieldRef.fieldPath: Unsupported value: \"",
              path, "\"");
}

Result<std::string> resourceValue(const json& container, const json& ref,
                                  const std::string& where) {
  std::string resource = str(ref, "resource");
  auto dot = resource.find('.');
  if (dot == std::string::npos) {
    return fail(ErrorCode::InvalidArgument, where, ".resourceFieldRef.resource: Unsupported value: \"",
                resource, "\"");
  }
  std::string kind = resource.substr(0, dot);  // limits | requests
  std::string name = resource.substr(dot + 1);
  const json& values = member(member(container, "resources"), kind.c_str());
  std::string text = values.is_object() ? str(values, name.c_str()) : std::string();
  if (text.empty() && kind == "requests") {
    text = str(member(member(container, "resources"), "limits"), name.c_str());
  }
  if (text.empty()) {
    return std::string("0");
  }
  auto quantity = api::parseQuantity(text);
  if (!quantity) {
    return fail(ErrorCode::InvalidArgument, where, ": ", quantity.error().message);
  }
  std::string divisor_text = str(ref, "divisor");
  int64_t divisor_milli = 1000;
  if (!divisor_text.empty()) {
    auto divisor = api::parseQuantity(divisor_text);
    if (!divisor || divisor->milli() <= 0) {
      return fail(ErrorCode::InvalidArgument, where, ".resourceFieldRef.divisor: Invalid value: \"",
                  divisor_text, "\"");
    }
    divisor_milli = divisor->milli();
  }
  // Rounded up, as the kubelet's ExtractContainerResourceValue does.
  int64_t value = (quantity->milli() + divisor_milli - 1) / divisor_milli;
  return std::to_string(value);
}

Result<void> addEnvFrom(Env& env, const json& container, const std::string& ns,
                        const PodObjects& objects) {
  const json& list = member(container, "envFrom");
  if (!list.is_array()) {
    return {};
  }
  for (const json& source : list) {
    std::string prefix = str(source, "prefix");
    bool secret = source.contains("secretRef");
    const json& ref = secret ? source["secretRef"] : member(source, "configMapRef");
    if (!ref.is_object()) {
      continue;
    }
    std::string name = str(ref, "name");
    const json* object = secret ? objects.secret(name) : objects.config_map(name);
    if (object == nullptr) {
      if (flag(ref, "optional")) {
        continue;
      }
      return fail(ErrorCode::NotFound, secret ? "secret \"" : "configmap \"", name,
                  "\" not found");
    }
    for (auto& [key, value] : allValues(*object, secret)) {
      setVar(env, prefix + key, value);
    }
  }
  (void)ns;
  return {};
}

Result<void> addEnv(Env& env, const json& pod, const json& container, const std::string& ns,
                    const PodObjects& objects, const std::string& pod_ip,
                    const std::string& host_ip) {
  const json& list = member(container, "env");
  if (!list.is_array()) {
    return {};
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const json& var = list[i];
    std::string name = str(var, "name");
    std::string where = "env[" + std::to_string(i) + "].valueFrom";
    if (!var.contains("valueFrom")) {
      setVar(env, name, expandVariables(str(var, "value"), env));
      continue;
    }
    const json& from = var["valueFrom"];
    if (from.contains("fieldRef")) {
      auto value = fieldValue(pod, str(from["fieldRef"], "fieldPath"), pod_ip, host_ip, where);
      if (!value) {
        return tl::unexpected(value.error());
      }
      setVar(env, name, *value);
    } else if (from.contains("resourceFieldRef")) {
      const json& ref = from["resourceFieldRef"];
      const json* target = &container;
      std::string other = str(ref, "containerName");
      if (!other.empty()) {
        for (const json& c : member(member(pod, "spec"), "containers")) {
          if (str(c, "name") == other) {
            target = &c;
          }
        }
      }
      auto value = resourceValue(*target, ref, where);
      if (!value) {
        return tl::unexpected(value.error());
      }
      setVar(env, name, *value);
    } else if (from.contains("configMapKeyRef") || from.contains("secretKeyRef")) {
      bool secret = from.contains("secretKeyRef");
      const json& ref = secret ? from["secretKeyRef"] : from["configMapKeyRef"];
      std::string object_name = str(ref, "name");
      std::string key = str(ref, "key");
      const json* object = secret ? objects.secret(object_name) : objects.config_map(object_name);
      if (object == nullptr) {
        if (flag(ref, "optional")) {
          continue;
        }
        return fail(ErrorCode::NotFound, secret ? "secret \"" : "configmap \"", object_name,
                    "\" not found");
      }
      auto value = secret ? secretValue(*object, key) : configMapValue(*object, key);
      if (!value) {
        if (flag(ref, "optional")) {
          continue;
        }
        return fail(ErrorCode::NotFound, "couldn't find key ", key, " in ",
                    secret ? "Secret " : "ConfigMap ", ns, "/", object_name);
      }
      setVar(env, name, *value);
    } else {
      return fail(ErrorCode::InvalidArgument, where, ": Unsupported value source");
    }
  }
  return {};
}

Result<std::vector<VolumeFile>> volumeFiles(const json& source, const json& object, bool secret,
                                            const std::string& ns, const std::string& name) {
  uint32_t default_mode = 0644;
  if (source.contains("defaultMode") && source["defaultMode"].is_number_integer()) {
    default_mode = source["defaultMode"].get<uint32_t>() & 0777;
  }
  std::vector<VolumeFile> files;
  const json& items = member(source, "items");
  if (items.is_array() && !items.empty()) {
    for (const json& item : items) {
      std::string key = str(item, "key");
      auto value = secret ? secretValue(object, key) : configMapValue(object, key);
      if (!value) {
        if (flag(source, "optional")) {
          continue;
        }
        return fail(ErrorCode::NotFound, "couldn't find key ", key, " in ",
                    secret ? "Secret " : "ConfigMap ", ns, "/", name);
      }
      uint32_t mode = default_mode;
      if (item.contains("mode") && item["mode"].is_number_integer()) {
        mode = item["mode"].get<uint32_t>() & 0777;
      }
      files.push_back({str(item, "path"), *value, mode});
    }
    return files;
  }
  for (auto& [key, value] : allValues(object, secret)) {
    files.push_back({key, value, default_mode});
  }
  return files;
}

// A path inside a volume must stay inside it: relative, no "..".
bool safeRelative(const std::string& path) {
  if (path.empty() || path[0] == '/') {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part == "..") {
      return false;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return true;
}

std::optional<uint32_t> idOf(const json& container, const json& pod, const char* field) {
  for (const json* ctx : {&member(container, "securityContext"),
                          &member(member(pod, "spec"), "securityContext")}) {
    if (ctx->is_object() && ctx->contains(field) && (*ctx)[field].is_number_integer()) {
      int64_t id = (*ctx)[field].get<int64_t>();
      if (id >= 0 && id <= 0xfffffffe) {
        return static_cast<uint32_t>(id);
      }
    }
  }
  return std::nullopt;
}

int64_t quantityMilli(const json& values, const char* name) {
  if (!values.is_object()) {
    return 0;
  }
  auto q = api::parseQuantity(str(values, name));
  return q ? q->milli() : 0;
}

}  // namespace

std::string expandVariables(const std::string& text, const Env& env) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] == '(') {
      size_t close = text.find(')', i + 2);
      if (close != std::string::npos) {
        std::string name = text.substr(i + 2, close - i - 2);
        auto it = std::find_if(env.rbegin(), env.rend(),
                               [&](const auto& var) { return var.first == name; });
        if (it != env.rend()) {
          out += it->second;
          i = close;
          continue;
        }
        out += text.substr(i, close - i + 1);
        i = close;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

Env serviceVariables(const json& service) {
  Env env;
  const json& spec = member(service, "spec");
  std::string ip = str(spec, "clusterIP");
  if (ip.empty() || ip == "None") {
    return env;
  }
  const json& ports = member(spec, "ports");
  if (!ports.is_array() || ports.empty()) {
    return env;
  }
  std::string prefix = serviceName(str(member(service, "metadata"), "name"));
  env.emplace_back(prefix + "_SERVICE_HOST", ip);
  bool first = true;
  for (const json& port : ports) {
    if (!port.contains("port") || !port["port"].is_number_integer()) {
      continue;
    }
    std::string number = std::to_string(port["port"].get<int64_t>());
    std::string protocol = str(port, "protocol");
    if (protocol.empty()) {
      protocol = "TCP";
    }
    std::string lower = protocol;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string url = lower + "://" + ip + ":" + number;
    if (first) {
      env.emplace_back(prefix + "_SERVICE_PORT", number);
      env.emplace_back(prefix + "_PORT", url);
      first = false;
    }
    std::string port_name = str(port, "name");
    if (!port_name.empty()) {
      env.emplace_back(prefix + "_SERVICE_PORT_" + serviceName(port_name), number);
    }
    std::string base = prefix + "_PORT_" + number + "_" + protocol;
    env.emplace_back(base, url);
    env.emplace_back(base + "_PROTO", lower);
    env.emplace_back(base + "_PORT", number);
    env.emplace_back(base + "_ADDR", ip);
  }
  return env;
}

Result<std::vector<VolumePlan>> planVolumes(const json& pod, const PodObjects& objects,
                                            const std::string& pod_dir) {
  std::vector<VolumePlan> plans;
  std::string ns = str(member(pod, "metadata"), "namespace");
  const json& volumes = member(member(pod, "spec"), "volumes");
  if (!volumes.is_array()) {
    return plans;
  }
  for (size_t i = 0; i < volumes.size(); ++i) {
    const json& volume = volumes[i];
    std::string where = "spec.volumes[" + std::to_string(i) + "]";
    VolumePlan plan;
    plan.name = str(volume, "name");
    if (volume.contains("emptyDir")) {
      plan.kind = VolumePlan::Kind::EmptyDir;
      plan.host_path = pod_dir + "/volumes/kubernetes.io~empty-dir/" + plan.name;
    } else if (volume.contains("hostPath")) {
      plan.kind = VolumePlan::Kind::HostPath;
      plan.host_path = str(volume["hostPath"], "path");
      plan.host_path_type = str(volume["hostPath"], "type");
      if (plan.host_path.empty() || plan.host_path[0] != '/') {
        return fail(ErrorCode::InvalidArgument, where, ".hostPath.path: Invalid value: \"",
                    plan.host_path, "\": must be an absolute path");
      }
    } else if (volume.contains("persistentVolumeClaim")) {
      std::string claim = str(volume["persistentVolumeClaim"], "claimName");
      if (claim.empty() || !safeRelative(claim) || claim.find('/') != std::string::npos) {
        return fail(ErrorCode::InvalidArgument, where,
                    ".persistentVolumeClaim.claimName: Invalid value: \"", claim, "\"");
      }
      if (objects.claim) {
        const json* object = objects.claim(claim);
        if (object == nullptr) {
          return fail(ErrorCode::NotFound, "persistentvolumeclaim \"", claim, "\" not found");
        }
        const json& annotations = member(member(*object, "metadata"), "annotations");
        std::string node = str(annotations, "volume.kubernetes.io/selected-node");
        if (!node.empty() && !objects.node_name.empty() && node != objects.node_name) {
          return fail(ErrorCode::FailedPrecondition, "persistentvolumeclaim \"", claim,
                      "\" is bound to node ", node);
        }
      }
      plan.kind = VolumePlan::Kind::Claim;
      plan.host_path = claimDirPath(objects.claims_dir, ns, claim);
      plan.read_only = flag(volume["persistentVolumeClaim"], "readOnly");
    } else if (volume.contains("configMap") || volume.contains("secret")) {
      bool secret = volume.contains("secret");
      const json& source = secret ? volume["secret"] : volume["configMap"];
      std::string name = str(source, secret ? "secretName" : "name");
      plan.kind = VolumePlan::Kind::Files;
      plan.read_only = true;
      plan.host_path = pod_dir + (secret ? "/volumes/kubernetes.io~secret/"
                                         : "/volumes/kubernetes.io~configmap/") +
                       plan.name;
      const json* object = secret ? objects.secret(name) : objects.config_map(name);
      if (object == nullptr) {
        if (!flag(source, "optional")) {
          return fail(ErrorCode::NotFound, secret ? "secret \"" : "configmap \"", name,
                      "\" not found");
        }
      } else {
        auto files = volumeFiles(source, *object, secret, ns, name);
        if (!files) {
          return tl::unexpected(files.error());
        }
        for (const auto& file : *files) {
          if (!safeRelative(file.path)) {
            return fail(ErrorCode::InvalidArgument, where, ".items.path: Invalid value: \"",
                        file.path, "\": must be a relative path without '..'");
          }
        }
        plan.files = std::move(*files);
      }
    } else {
      std::string type = "unknown";
      for (auto it = volume.begin(); it != volume.end(); ++it) {
        if (it.key() != "name") {
          type = it.key();
        }
      }
      return fail(ErrorCode::InvalidArgument, where, ": Unsupported value: \"", type,
                  "\": rampart agent runs emptyDir, hostPath, configMap, secret and "
                  "persistentVolumeClaim volumes");
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

Result<ResolvedContainer> resolveContainer(const json& pod, const json& container,
                                           const PodObjects& objects,
                                           const std::vector<VolumePlan>& volumes,
                                           const std::string& pod_ip,
                                           const std::string& host_ip) {
  ResolvedContainer out;
  out.name = str(container, "name");
  std::string ns = str(member(pod, "metadata"), "namespace");
  const json& spec = member(pod, "spec");

  Env env;
  bool links = !(spec.contains("enableServiceLinks") && spec["enableServiceLinks"].is_boolean() &&
                 !spec["enableServiceLinks"].get<bool>());
  if (links) {
    for (const json* service : objects.services) {
      for (auto& [k, v] : serviceVariables(*service)) {
        setVar(env, k, v);
      }
    }
  }
  if (objects.kubernetes_service != nullptr) {
    for (auto& [k, v] : serviceVariables(*objects.kubernetes_service)) {
      setVar(env, k, v);
    }
  }
  if (auto r = addEnvFrom(env, container, ns, objects); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = addEnv(env, pod, container, ns, objects, pod_ip, host_ip); !r) {
    return tl::unexpected(r.error());
  }
  // Every process has a PATH and a HOSTNAME, as in a container started by the kubelet.
  bool has_path = std::any_of(env.begin(), env.end(), [](auto& v) { return v.first == "PATH"; });
  if (!has_path) {
    env.insert(env.begin(), {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  }
  bool has_host =
      std::any_of(env.begin(), env.end(), [](auto& v) { return v.first == "HOSTNAME"; });
  if (!has_host) {
    env.insert(env.begin(), {"HOSTNAME", str(member(pod, "metadata"), "name")});
  }

  const json& command = member(container, "command");
  const json& args = member(container, "args");
  if (!command.is_array() || command.empty()) {
    return fail(ErrorCode::InvalidArgument, "container \"", out.name,
                "\" has no command: rampart agent runs command and args from the node's file "
                "system; the image (\"",
                str(container, "image"), "\") is not pulled or run");
  }
  for (const json& part : command) {
    out.argv.push_back(expandVariables(part.is_string() ? part.get<std::string>() : "", env));
  }
  if (args.is_array()) {
    for (const json& part : args) {
      out.argv.push_back(expandVariables(part.is_string() ? part.get<std::string>() : "", env));
    }
  }
  out.env = std::move(env);
  out.working_dir = str(container, "workingDir");
  out.run_as_user = idOf(container, pod, "runAsUser");
  out.run_as_group = idOf(container, pod, "runAsGroup");

  const json& mounts = member(container, "volumeMounts");
  if (mounts.is_array()) {
    for (size_t i = 0; i < mounts.size(); ++i) {
      const json& mount = mounts[i];
      std::string name = str(mount, "name");
      auto volume = std::find_if(volumes.begin(), volumes.end(),
                                 [&](const VolumePlan& v) { return v.name == name; });
      if (volume == volumes.end()) {
        return fail(ErrorCode::InvalidArgument, "volumeMounts[", std::to_string(i),
                    "].name: Not found: \"", name, "\"");
      }
      ResolvedMount resolved;
      resolved.source = volume->host_path;
      std::string sub = str(mount, "subPath");
      if (!sub.empty()) {
        if (!safeRelative(sub)) {
          return fail(ErrorCode::InvalidArgument, "volumeMounts[", std::to_string(i),
                      "].subPath: Invalid value: \"", sub, "\": must be a relative path without '..'");
        }
        resolved.source += "/" + sub;
      }
      resolved.target = str(mount, "mountPath");
      resolved.read_only = flag(mount, "readOnly") || volume->read_only;
      out.mounts.push_back(std::move(resolved));
    }
  }

  const json& resources = member(container, "resources");
  const json& limits = member(resources, "limits");
  const json& requests = member(resources, "requests");
  out.resources.memory_limit_bytes = quantityMilli(limits, "memory") / 1000;
  out.resources.cpu_limit_milli = quantityMilli(limits, "cpu");
  out.resources.cpu_request_milli = quantityMilli(requests, "cpu");
  if (out.resources.cpu_request_milli == 0) {
    out.resources.cpu_request_milli = out.resources.cpu_limit_milli;
  }
  return out;
}

}  // namespace rampart::agent::node
