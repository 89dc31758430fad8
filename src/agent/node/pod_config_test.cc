#include "agent/node/pod_config.h"

#include <gtest/gtest.h>

#include <map>

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;

std::string envOf(const ResolvedContainer& c, const std::string& name) {
  for (const auto& [k, v] : c.env) {
    if (k == name) {
      return v;
    }
  }
  return "<unset>";
}

struct Objects {
  std::map<std::string, json> config_maps;
  std::map<std::string, json> secrets;
  std::vector<json> services;
  PodObjects view() {
    PodObjects objects;
    objects.config_map = [this](const std::string& name) -> const json* {
      auto it = config_maps.find(name);
      return it == config_maps.end() ? nullptr : &it->second;
    };
    objects.secret = [this](const std::string& name) -> const json* {
      auto it = secrets.find(name);
      return it == secrets.end() ? nullptr : &it->second;
    };
    for (const auto& s : services) {
      objects.services.push_back(&s);
    }
    return objects;
  }
};

json pod(json container) {
  return {{"metadata",
           {{"name", "web-1"},
            {"namespace", "shop"},
            {"uid", "u-1"},
            {"labels", {{"app", "web"}}}}},
          {"spec", {{"nodeName", "n1"}, {"containers", json::array({container})}}}};
}

TEST(PodConfigTest, EnvValuesExpandEarlierVariablesAndFieldReferences) {
  json c = {{"name", "app"},
            {"command", {"/bin/echo", "$(GREETING) from $(POD)", "$$(literal)"}},
            {"env",
             {{{"name", "POD"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
              {{"name", "GREETING"}, {"value", "hello $(POD)"}},
              {{"name", "APP"},
               {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['app']"}}}}}},
              {{"name", "IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
              {{"name", "NODE"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}}}}};
  Objects objects;
  auto resolved = resolveContainer(pod(c), c, objects.view(), {}, "10.64.0.5", "192.168.1.2");
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(envOf(*resolved, "GREETING"), "hello web-1");
  EXPECT_EQ(envOf(*resolved, "APP"), "web");
  EXPECT_EQ(envOf(*resolved, "IP"), "10.64.0.5");
  EXPECT_EQ(envOf(*resolved, "NODE"), "n1");
  EXPECT_EQ(envOf(*resolved, "HOSTNAME"), "web-1");
  ASSERT_EQ(resolved->argv.size(), 3u);
  EXPECT_EQ(resolved->argv[1], "hello web-1 from web-1");
  EXPECT_EQ(resolved->argv[2], "$(literal)");
}

TEST(PodConfigTest, ConfigMapAndSecretValuesAndEnvFromWithPrefix) {
  Objects objects;
  objects.config_maps["cfg"] = {{"data", {{"MODE", "fast"}, {"LEVEL", "3"}}}};
  objects.secrets["creds"] = {{"data", {{"password", "czNjcjN0"}}}};  // base64 "s3cr3t"
  json c = {{"name", "app"},
            {"command", {"/bin/true"}},
            {"envFrom", {{{"configMapRef", {{"name", "cfg"}}}, {"prefix", "CFG_"}}}},
            {"env",
             {{{"name", "PASSWORD"},
               {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "password"}}}}}},
              {{"name", "CFG_MODE"}, {"value", "slow"}}}}};
  auto resolved = resolveContainer(pod(c), c, objects.view(), {}, "", "");
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(envOf(*resolved, "CFG_LEVEL"), "3");
  EXPECT_EQ(envOf(*resolved, "CFG_MODE"), "slow");  // env wins over envFrom
  EXPECT_EQ(envOf(*resolved, "PASSWORD"), "s3cr3t");
}

TEST(PodConfigTest, MissingConfigMapOrKeyIsTheKubeletsErrorUnlessOptional) {
  Objects objects;
  objects.config_maps["cfg"] = {{"data", {{"A", "1"}}}};
  json missing_map = {{"name", "app"},
                      {"command", {"/bin/true"}},
                      {"env",
                       {{{"name", "X"},
                         {"valueFrom", {{"configMapKeyRef", {{"name", "nope"}, {"key", "A"}}}}}}}}};
  auto r = resolveContainer(pod(missing_map), missing_map, objects.view(), {}, "", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "configmap \"nope\" not found");

  json missing_key = missing_map;
  missing_key["env"][0]["valueFrom"]["configMapKeyRef"] = {{"name", "cfg"}, {"key", "B"}};
  r = resolveContainer(pod(missing_key), missing_key, objects.view(), {}, "", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "couldn't find key B in ConfigMap shop/cfg");

  missing_key["env"][0]["valueFrom"]["configMapKeyRef"]["optional"] = true;
  r = resolveContainer(pod(missing_key), missing_key, objects.view(), {}, "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(envOf(*r, "X"), "<unset>");
}

TEST(PodConfigTest, ServiceVariablesFollowDockerLinksNamingAndUserEnvWins) {
  Objects objects;
  objects.services.push_back(
      {{"metadata", {{"name", "redis-primary"}}},
       {"spec",
        {{"clusterIP", "10.96.0.11"},
         {"ports", {{{"name", "redis"}, {"port", 6379}, {"protocol", "TCP"}}}}}}});
  objects.services.push_back({{"metadata", {{"name", "headless"}}},
                              {"spec", {{"clusterIP", "None"}, {"ports", {{{"port", 80}}}}}}});
  json c = {{"name", "app"},
            {"command", {"/bin/true"}},
            {"env", {{{"name", "REDIS_PRIMARY_SERVICE_PORT"}, {"value", "override"}}}}};
  auto r = resolveContainer(pod(c), c, objects.view(), {}, "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(envOf(*r, "REDIS_PRIMARY_SERVICE_HOST"), "10.96.0.11");
  EXPECT_EQ(envOf(*r, "REDIS_PRIMARY_SERVICE_PORT"), "override");
  EXPECT_EQ(envOf(*r, "REDIS_PRIMARY_SERVICE_PORT_REDIS"), "6379");
  EXPECT_EQ(envOf(*r, "REDIS_PRIMARY_PORT"), "tcp://10.96.0.11:6379");
  EXPECT_EQ(envOf(*r, "REDIS_PRIMARY_PORT_6379_TCP_ADDR"), "10.96.0.11");
  EXPECT_EQ(envOf(*r, "HEADLESS_SERVICE_HOST"), "<unset>");

  json no_links = pod(c);
  no_links["spec"]["enableServiceLinks"] = false;
  r = resolveContainer(no_links, c, objects.view(), {}, "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(envOf(*r, "REDIS_PRIMARY_SERVICE_HOST"), "<unset>");
}

TEST(PodConfigTest, ResourceFieldRefRoundsUpByTheDivisor) {
  json c = {{"name", "app"},
            {"command", {"/bin/true"}},
            {"resources", {{"limits", {{"cpu", "1500m"}, {"memory", "64Mi"}}}}},
            {"env",
             {{{"name", "CPUS"},
               {"valueFrom", {{"resourceFieldRef", {{"resource", "limits.cpu"}}}}}},
              {{"name", "MEM_MI"},
               {"valueFrom",
                {{"resourceFieldRef", {{"resource", "limits.memory"}, {"divisor", "1Mi"}}}}}}}}};
  auto r = resolveContainer(pod(c), c, Objects().view(), {}, "", "");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(envOf(*r, "CPUS"), "2");
  EXPECT_EQ(envOf(*r, "MEM_MI"), "64");
  EXPECT_EQ(r->resources.memory_limit_bytes, 64 << 20);
  EXPECT_EQ(r->resources.cpu_limit_milli, 1500);
  EXPECT_EQ(r->resources.cpu_request_milli, 1500);  // requests default to limits
}

TEST(PodConfigTest, AContainerWithoutACommandIsRefusedNamingTheImage) {
  json c = {{"name", "app"}, {"image", "nginx:1.27"}};
  auto r = resolveContainer(pod(c), c, Objects().view(), {}, "", "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nginx:1.27"), std::string::npos);
  EXPECT_NE(r.error().message.find("has no command"), std::string::npos);
}

TEST(PodConfigTest, SecurityContextOfTheContainerOverridesThePods) {
  json c = {{"name", "app"}, {"command", {"/bin/true"}}, {"securityContext", {{"runAsUser", 1000}}}};
  json p = pod(c);
  p["spec"]["securityContext"] = {{"runAsUser", 65534}, {"runAsGroup", 65534}};
  auto r = resolveContainer(p, c, Objects().view(), {}, "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->run_as_user, 1000u);
  EXPECT_EQ(r->run_as_group, 65534u);
}

TEST(PodConfigTest, VolumesBecomeDirectoriesAndFilesMountedAtTheirPaths) {
  Objects objects;
  objects.config_maps["site"] = {{"data", {{"index.html", "<h1>hi</h1>"}, {"other", "x"}}}};
  objects.secrets["tls"] = {{"data", {{"key", "c2VjcmV0"}}}};
  json c = {{"name", "app"},
            {"command", {"/bin/true"}},
            {"volumeMounts",
             {{{"name", "scratch"}, {"mountPath", "/scratch"}},
              {{"name", "site"}, {"mountPath", "/srv/www"}},
              {{"name", "tls"}, {"mountPath", "/etc/tls/key"}, {"subPath", "key"}}}}};
  json p = pod(c);
  p["spec"]["volumes"] = {
      {{"name", "scratch"}, {"emptyDir", json::object()}},
      {{"name", "site"},
       {"configMap", {{"name", "site"}, {"items", {{{"key", "index.html"}, {"path", "index.html"}}}}}}},
      {{"name", "tls"}, {"secret", {{"secretName", "tls"}, {"defaultMode", 0400}}}}};
  auto volumes = planVolumes(p, objects.view(), "/var/lib/rampart/pods/u-1");
  ASSERT_TRUE(volumes) << volumes.error().message;
  ASSERT_EQ(volumes->size(), 3u);
  EXPECT_EQ((*volumes)[0].host_path, "/var/lib/rampart/pods/u-1/volumes/kubernetes.io~empty-dir/scratch");
  ASSERT_EQ((*volumes)[1].files.size(), 1u);  // only the listed item
  EXPECT_EQ((*volumes)[1].files[0].content, "<h1>hi</h1>");
  ASSERT_EQ((*volumes)[2].files.size(), 1u);
  EXPECT_EQ((*volumes)[2].files[0].content, "secret");
  EXPECT_EQ((*volumes)[2].files[0].mode, 0400u);

  auto r = resolveContainer(p, c, objects.view(), *volumes, "", "");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->mounts.size(), 3u);
  EXPECT_EQ(r->mounts[1].target, "/srv/www");
  EXPECT_TRUE(r->mounts[1].read_only);  // configMap volumes are read-only
  EXPECT_EQ(r->mounts[2].source, "/var/lib/rampart/pods/u-1/volumes/kubernetes.io~secret/tls/key");
}

TEST(PodConfigTest, VolumePathsThatLeaveTheVolumeAndUnsupportedTypesAreRefused) {
  Objects objects;
  objects.config_maps["site"] = {{"data", {{"a", "1"}}}};
  json p = pod({{"name", "app"}, {"command", {"/bin/true"}}});
  p["spec"]["volumes"] = {
      {{"name", "site"},
       {"configMap", {{"name", "site"}, {"items", {{{"key", "a"}, {"path", "../../etc/passwd"}}}}}}}};
  auto r = planVolumes(p, objects.view(), "/pods/u");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("spec.volumes[0].items.path"), std::string::npos);

  p["spec"]["volumes"] = {{{"name", "data"}, {"nfs", {{"server", "x"}, {"path", "/"}}}}};
  r = planVolumes(p, objects.view(), "/pods/u");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Unsupported value: \"nfs\""), std::string::npos);
}

TEST(PodConfigTest, ExpandVariablesLeavesUndefinedReferencesAsWritten) {
  std::vector<std::pair<std::string, std::string>> env = {{"A", "1"}};
  EXPECT_EQ(expandVariables("$(A)-$(B)-$$-$", env), "1-$(B)-$-$");
}

}  // namespace
}  // namespace rampart::agent::node
