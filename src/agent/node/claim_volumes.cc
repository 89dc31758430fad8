#include "agent/node/claim_volumes.h"

#include <filesystem>
#include <tuple>

#include <nlohmann/json.hpp>

namespace rampart::agent::node {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string claimDirPath(const std::string& claims_root, const std::string& ns,
                         const std::string& claim) {
  return claims_root + "/" + ns + "/" + claim;
}

std::vector<ClaimDir> claimsOfPod(const json& pod) {
  std::vector<ClaimDir> out;
  std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
  const auto at = "/spec/volumes"_json_pointer;
  if (!pod.contains(at) || !pod[at].is_array()) {
    return out;
  }
  for (const auto& volume : pod[at]) {
    const auto name_at = "/persistentVolumeClaim/claimName"_json_pointer;
    if (volume.contains(name_at) && volume[name_at].is_string()) {
      out.push_back({ns, volume[name_at].get<std::string>()});
    }
  }
  return out;
}

std::set<ClaimDir> claimsKeptOn(const std::vector<const json*>& claims, const std::string& node) {
  std::set<ClaimDir> kept;
  const auto at = "/metadata/annotations/volume.kubernetes.io~1selected-node"_json_pointer;
  for (const json* claim : claims) {
    std::string bound = claim->contains(at) && (*claim)[at].is_string()
                            ? (*claim)[at].get<std::string>()
                            : std::string();
    if (bound.empty() || bound == node) {
      kept.insert({claim->value("/metadata/namespace"_json_pointer, std::string()),
                   claim->value("/metadata/name"_json_pointer, std::string())});
    }
  }
  return kept;
}

std::vector<ClaimDir> staleClaimDirs(const std::vector<ClaimDir>& on_disk,
                                     const std::set<ClaimDir>& claims,
                                     const std::set<ClaimDir>& in_use) {
  std::vector<ClaimDir> stale;
  for (const auto& dir : on_disk) {
    if (claims.count(dir) == 0 && in_use.count(dir) == 0) {
      stale.push_back(dir);
    }
  }
  return stale;
}

Result<std::vector<ClaimDir>> listClaimDirs(const std::string& claims_root) {
  std::vector<ClaimDir> dirs;
  std::error_code ec;
  if (!fs::exists(claims_root, ec)) {
    return dirs;
  }
  for (const auto& ns : fs::directory_iterator(claims_root, ec)) {
    if (!ns.is_directory()) {
      continue;
    }
    std::error_code inner;
    for (const auto& claim : fs::directory_iterator(ns.path(), inner)) {
      if (claim.is_directory()) {
        dirs.push_back({ns.path().filename().string(), claim.path().filename().string()});
      }
    }
    if (inner) {
      return fail(ErrorCode::Internal, "listing ", ns.path().string(), ": ", inner.message());
    }
  }
  if (ec) {
    return fail(ErrorCode::Internal, "listing ", claims_root, ": ", ec.message());
  }
  return dirs;
}

}  // namespace rampart::agent::node
