#include "agent/node/claim_volumes.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/node/pod_config.h"

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;

json podWithClaim(const std::string& claim) {
  return {{"metadata", {{"name", "web-0"}, {"namespace", "db"}, {"uid", "p1"}}},
          {"spec",
           {{"containers",
             {{{"name", "c"},
               {"command", {"sleep", "1"}},
               {"volumeMounts", {{{"name", "data"}, {"mountPath", "/data"}}}}}}},
            {"volumes", {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", claim}}}}}}}}};
}

TEST(ClaimVolumes, AClaimsVolumeIsItsDirectoryUnderTheAgentsVolumesNotThePods) {
  json claim = {{"metadata",
                 {{"name", "data-web-0"},
                  {"namespace", "db"},
                  {"annotations", {{"volume.kubernetes.io/selected-node", "n1"}}}}}};
  PodObjects objects;
  objects.claim = [&](const std::string& name) -> const json* {
    return name == "data-web-0" ? &claim : nullptr;
  };
  objects.claims_dir = "/var/lib/rampart/agent/volumes";
  objects.node_name = "n1";
  auto plans = planVolumes(podWithClaim("data-web-0"), objects, "/var/lib/rampart/agent/pods/p1");
  ASSERT_TRUE(plans) << plans.error().message;
  ASSERT_EQ(plans->size(), 1u);
  EXPECT_EQ((*plans)[0].kind, VolumePlan::Kind::Claim);
  EXPECT_EQ((*plans)[0].host_path, "/var/lib/rampart/agent/volumes/db/data-web-0");
  auto resolved = resolveContainer(podWithClaim("data-web-0"),
                                   podWithClaim("data-web-0")["spec"]["containers"][0], objects,
                                   *plans, "", "");
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->mounts[0].source, "/var/lib/rampart/agent/volumes/db/data-web-0");
  EXPECT_EQ(resolved->mounts[0].target, "/data");
}

TEST(ClaimVolumes, AMissingClaimOrOneBoundElsewhereKeepsTheContainerWaiting) {
  json claim = {
      {"metadata",
       {{"name", "data-web-0"}, {"annotations", {{"volume.kubernetes.io/selected-node", "n2"}}}}}};
  PodObjects objects;
  objects.claim = [&](const std::string& name) -> const json* {
    return name == "data-web-0" ? &claim : nullptr;
  };
  objects.claims_dir = "/v";
  objects.node_name = "n1";
  auto elsewhere = planVolumes(podWithClaim("data-web-0"), objects, "/p");
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().message, "persistentvolumeclaim \"data-web-0\" is bound to node n2");
  auto missing = planVolumes(podWithClaim("other"), objects, "/p");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "persistentvolumeclaim \"other\" not found");
}

TEST(ClaimVolumes, OnlyDirectoriesOfDeletedClaimsThatNoPodNamesAreRemoved) {
  std::vector<ClaimDir> on_disk = {{"db", "a"}, {"db", "b"}, {"db", "c"}, {"web", "a"}};
  std::set<ClaimDir> claims = {{"db", "a"}};
  std::set<ClaimDir> in_use = {{"db", "b"}};
  EXPECT_EQ(staleClaimDirs(on_disk, claims, in_use),
            (std::vector<ClaimDir>{{"db", "c"}, {"web", "a"}}));
  auto of_pod = claimsOfPod(podWithClaim("x"));
  EXPECT_EQ(of_pod, (std::vector<ClaimDir>{{"db", "x"}}));
}

TEST(ClaimVolumes, ClaimsBoundHereOrNowhereKeepTheirDirectoriesNotThoseBoundElsewhere) {
  auto claim = [](const std::string& name, const std::string& node) {
    json c = {{"metadata", {{"name", name}, {"namespace", "db"}}}};
    if (!node.empty()) {
      c["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = node;
    }
    return c;
  };
  json here = claim("here", "n1");
  json unbound = claim("unbound", "");
  json elsewhere = claim("elsewhere", "n2");
  EXPECT_EQ(claimsKeptOn({&here, &unbound, &elsewhere}, "n1"),
            (std::set<ClaimDir>{{"db", "here"}, {"db", "unbound"}}));
}

TEST(ClaimVolumes, ListingFindsNamespaceAndClaimDirectoriesOnly) {
  fs::path root = fs::temp_directory_path() / ("claims-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto none = listClaimDirs(root.string());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty()) << "no volumes directory yet";
  fs::create_directories(root / "db" / "data-web-0");
  fs::create_directories(root / "web" / "logs-web-1");
  std::ofstream(root / "db" / "stray-file").close();
  auto listed = listClaimDirs(root.string());
  fs::remove_all(root);
  ASSERT_TRUE(listed) << listed.error().message;
  std::set<ClaimDir> got(listed->begin(), listed->end());
  EXPECT_EQ(got, (std::set<ClaimDir>{{"db", "data-web-0"}, {"web", "logs-web-1"}}));
}

}  // namespace
}  // namespace rampart::agent::node
