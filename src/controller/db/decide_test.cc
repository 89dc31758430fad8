#include "controller/db/decide.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "api/validation.h"
#include "config/config.h"
#include "pg/config.h"
#include "redis/member_config.h"
#include "store/etcd_codec.h"
#include "testing/test_files.h"

namespace rampart::controller::db {
namespace {
using json = nlohmann::json;
using Verb = DbAction::Verb;

DbSettings settings() {
  DbSettings s;
  s.etcd_endpoints = {"https://10.240.0.11:2379", "https://10.240.0.12:2379"};
  s.etcd_ca = "CA PEM";
  s.etcd_cert = "CERT PEM";
  s.etcd_key = "KEY PEM";
  s.binary = "/usr/local/bin/rampart";
  s.data_root = "/var/lib/rampart/databases";
  return s;
}

const GeneratedSecrets kFresh{"super-secret", "repl-secret", "rest-secret", "member-secret"};

json cluster(json spec = json::object(), const std::string& kind = "PostgresCluster") {
  json c = {{"apiVersion", "rampart.io/v1"},
            {"kind", kind},
            {"metadata",
             {{"name", "orders"},
              {"namespace", "shop"},
              {"uid", "3f2a9c1e-77aa-4b1c-9d0e-000000000001"},
              {"generation", 1}}},
            {"spec", std::move(spec)}};
  api::applyDefaults(
      *api::findResource("rampart.io", "v1",
                         kind == "RedisCluster" ? "redisclusters" : "postgresclusters"),
      c);
  return c;
}

struct World {
  json object;
  ClusterFacts facts;
  explicit World(Engine engine = Engine::Postgres)
      : object(cluster(json::object(), kindOf(engine))) {
    facts.engine = engine;
    facts.ns = "shop";
    facts.name = "orders";
    facts.now = *api::parseRfc3339("2026-12-07T03:00:00Z");
    facts.node_zones = {{"w1", "a"}, {"w2", "b"}, {"w3", "c"}};
  }
  DbDecision decide(const DbSettings& s = settings()) {
    facts.cluster = &object;
    return decideDatabaseCluster(facts, s, kFresh);
  }
  // Applies creates, updates and the status as the API would (cluster IPs for Services).
  void apply(const DbDecision& d) {
    int ip = 10;
    for (const auto& a : d.actions) {
      auto& list = a.resource == "pods"       ? facts.pods
                   : a.resource == "services" ? facts.services
                   : a.resource == "secrets"  ? facts.secrets
                                              : facts.config_maps;
      if (a.verb == Verb::Create) {
        json o = a.body;
        o["metadata"]["uid"] = "uid-" + a.name;
        if (a.resource == "services") {
          o["spec"]["clusterIP"] = "10.96.0." + std::to_string(ip++);
        }
        list.push_back(o);
      } else if (a.verb == Verb::UpdateStatus) {
        object["status"] = a.body["status"];
      } else if (a.verb == Verb::Patch) {
        for (auto& o : list) {
          if (o["metadata"]["name"] == a.name) {
            o.merge_patch(a.body);
          }
        }
      }
    }
  }
  json* pod(const std::string& name) {
    for (auto& p : facts.pods) {
      if (p["metadata"]["name"] == name) {
        return &p;
      }
    }
    return nullptr;
  }
  // The pod scheduled on `node`, its container running, Ready or not.
  void run(const std::string& name, const std::string& node, bool ready) {
    json& p = *pod(name);
    p["spec"]["nodeName"] = node;
    p["status"] = {{"phase", "Running"},
                   {"conditions", json::array({{{"type", "Ready"},
                                                {"status", ready ? "True" : "False"}}})},
                   {"containerStatuses",
                    json::array({{{"name", "postgres"}, {"state", {{"running", json::object()}}}}})}};
  }
};

std::vector<std::string> named(const DbDecision& d, Verb verb, const std::string& resource) {
  std::vector<std::string> out;
  for (const auto& a : d.actions) {
    if (a.verb == verb && a.resource == resource) {
      out.push_back(a.name);
    }
  }
  return out;
}

const DbAction* find(const DbDecision& d, Verb verb, const std::string& name) {
  for (const auto& a : d.actions) {
    if (a.verb == verb && a.name == name) {
      return &a;
    }
  }
  return nullptr;
}

std::string decoded(const json& secret, const char* key) {
  return *store::etcd::base64Decode(secret["data"][key].get<std::string>());
}

// Member `pod`'s config from the decision's ConfigMap, as the pod would read it: its address
// put in, the credentials Secret's files written (0600) under `dir` where the pod mounts them,
// and the etcd certificate left out (its files are not on this machine).
Result<config::Section> memberSection(const DbDecision& d, const std::string& pod,
                                      const std::string& dir) {
  const json& cm = find(d, Verb::Create, "orders-config")->body;
  const json& secret = find(d, Verb::Create, "orders-credentials")->body;
  for (const auto& [key, value] : secret["data"].items()) {
    std::string path = dir + "/" + key;
    std::ofstream(path) << decoded(secret, key.c_str());
    ::chmod(path.c_str(), 0600);
  }
  std::string text = cm["data"][pod + ".yaml"];
  for (auto [from, to] : {std::pair<std::string, std::string>{"@POD_IP@", "10.64.2.7"},
                          {"/etc/rampart-db/credentials", dir}}) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  json raw = json::parse(text);
  raw["etcd"].erase("tls");
  return config::loadString(raw.dump(), pod + ".yaml");
}

TEST(PostgresClusterDecision, ANewClusterGetsSecretsConfigServicesAndItsMembers) {
  World w;
  auto d = w.decide();
  EXPECT_EQ(named(d, Verb::Create, "secrets"),
            (std::vector<std::string>{"orders-credentials", "orders-etcd"}));
  EXPECT_EQ(named(d, Verb::Create, "configmaps"), std::vector<std::string>{"orders-config"});
  EXPECT_EQ(named(d, Verb::Create, "services"),
            (std::vector<std::string>{"orders-rw", "orders-ro"}));
  EXPECT_EQ(named(d, Verb::Create, "pods"),
            (std::vector<std::string>{"orders-0", "orders-1", "orders-2"}));
  for (const auto& a : d.actions) {
    if (a.verb != Verb::Create) {
      continue;
    }
    EXPECT_EQ(a.body["metadata"]["labels"][kClusterLabel], "orders") << a.name;
    EXPECT_EQ(a.body["metadata"]["namespace"], "shop") << a.name;
    const json& ref = a.body["metadata"]["ownerReferences"][0];
    EXPECT_EQ(ref["uid"], "3f2a9c1e-77aa-4b1c-9d0e-000000000001") << a.name;
    EXPECT_EQ(ref["kind"], "PostgresCluster") << a.name;
    EXPECT_TRUE(ref["controller"].get<bool>()) << a.name;
  }
  EXPECT_EQ(d.status["phase"], "Pending");
  ASSERT_NE(find(d, Verb::UpdateStatus, "orders"), nullptr);
}

TEST(PostgresClusterDecision, MembersRunRampartPgWithAPrimaryReadinessProbeAndZoneSpreading) {
  World w;
  auto d = w.decide();
  const json& pod = find(d, Verb::Create, "orders-1")->body;
  const json& c = pod["spec"]["containers"][0];
  std::string script = c["command"][2];
  EXPECT_NE(script.find("orders-1.yaml"), std::string::npos) << script;
  EXPECT_NE(script.find("exec '/usr/local/bin/rampart' pg --config"), std::string::npos) << script;
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/primary");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"], kRestPort);
  EXPECT_EQ(c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP");
  const json& preferred =
      pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_EQ(preferred.size(), 1u);
  EXPECT_EQ(preferred[0]["podAffinityTerm"]["topologyKey"], kZoneLabel);
  EXPECT_EQ(preferred[0]["podAffinityTerm"]["labelSelector"]["matchLabels"][kClusterLabel],
            "orders");
  bool host_path = false;
  for (const auto& v : pod["spec"]["volumes"]) {
    if (v.contains("hostPath")) {
      host_path = true;
      EXPECT_EQ(v["hostPath"]["path"], "/var/lib/rampart/databases/shop/orders.3f2a9c1e/orders-1");
    }
  }
  EXPECT_TRUE(host_path);
  // The pod passes the API's own validation.
  auto errors = api::validateObject(*api::findResource("", "v1", "pods"), pod, json());
  EXPECT_TRUE(errors.empty()) << errors[0].toString();

  w.object["spec"]["zoneSpreading"] = "Required";
  auto with_required = w.decide();
  const json& required = find(with_required, Verb::Create, "orders-0")->body;
  EXPECT_EQ(required["spec"]["affinity"]["podAntiAffinity"]
                    ["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"],
            kZoneLabel);
  w.object["spec"]["zoneSpreading"] = "None";
  auto without = w.decide();
  EXPECT_FALSE(find(without, Verb::Create, "orders-0")->body["spec"].contains("affinity"));
}

TEST(PostgresClusterDecision, TheWriteServiceSelectsEveryMemberAndTheReadServiceTheReplicas) {
  World w;
  auto d = w.decide();
  const json& rw = find(d, Verb::Create, "orders-rw")->body;
  EXPECT_EQ(rw["spec"]["selector"], json({{kClusterLabel, "orders"}}));
  EXPECT_FALSE(rw["spec"].contains("publishNotReadyAddresses"));
  const json& ro = find(d, Verb::Create, "orders-ro")->body;
  EXPECT_EQ(ro["spec"]["selector"], json({{kClusterLabel, "orders"}, {kRoleLabel, "replica"}}));
  EXPECT_TRUE(ro["spec"]["publishNotReadyAddresses"].get<bool>());
  EXPECT_EQ(ro["spec"]["ports"][0]["port"], kPostgresPort);
}

TEST(PostgresClusterDecision, CredentialsAreGeneratedOnceAndNeverRewritten) {
  World w;
  auto d = w.decide();
  const json& secret = find(d, Verb::Create, "orders-credentials")->body;
  EXPECT_EQ(decoded(secret, "username"), "postgres");
  EXPECT_EQ(decoded(secret, "password"), "super-secret");
  EXPECT_EQ(decoded(secret, "rest-token"), "rest-secret");
  json creds = json::parse(decoded(secret, "credentials.yaml"));
  EXPECT_EQ(creds["replication"]["password"], "repl-secret");
  w.apply(d);
  EXPECT_TRUE(named(w.decide(), Verb::Create, "secrets").empty());
  w.facts.secrets[0]["data"]["password"] = store::etcd::base64Encode("changed-by-the-user");
  EXPECT_EQ(find(w.decide(), Verb::Update, "orders-credentials"), nullptr);
  // The etcd Secret follows the controller's certificate.
  DbSettings rotated = settings();
  rotated.etcd_cert = "NEW CERT";
  auto after_rotation = w.decide(rotated);
  const DbAction* update = find(after_rotation, Verb::Update, "orders-etcd");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(decoded(update->body, "cert.pem"), "NEW CERT");
  EXPECT_EQ(update->body["metadata"]["uid"], "uid-orders-etcd");
}

TEST(PostgresClusterDecision, EachMemberConfigIsOneRampartPgAccepts) {
  World w;
  w.object["spec"]["synchronousMode"] = "Strict";
  w.object["spec"]["parameters"] = {{"shared_buffers", "64MB"}};
  auto d = w.decide();
  const json& cm = find(d, Verb::Create, "orders-config")->body;
  ASSERT_EQ(cm["data"].size(), 3u);
  testing::TempDir dir;
  auto section = memberSection(d, "orders-2", dir.path());
  ASSERT_TRUE(section) << section.error().message;
  auto member = pg::parseMemberConfig(*section);
  ASSERT_TRUE(member) << member.error().message;
  EXPECT_EQ(member->cluster, "shop.orders.3f2a9c1e");
  EXPECT_EQ(member->name, "orders_2");
  EXPECT_EQ(member->listen.host, "10.64.2.7");
  EXPECT_EQ(member->listen.port, kPostgresPort);
  EXPECT_EQ(member->rest.port, kRestPort);
  EXPECT_EQ(member->etcd_prefix, "/rampart/db");
  EXPECT_TRUE(member->ha.synchronous_mode);
  EXPECT_TRUE(member->ha.synchronous_mode_strict);
  EXPECT_EQ(member->parameters.at("shared_buffers"), "64MB");
  EXPECT_EQ(member->superuser.password, "super-secret");
  EXPECT_EQ(member->token, "rest-secret");
  EXPECT_EQ(member->member_token, "member-secret");  // failsafe on
  EXPECT_EQ(json::parse(std::string(cm["data"]["orders-0.yaml"]))["etcd"]["tls"]["cert"],
            "/etc/rampart-db/etcd/cert.pem");
}

TEST(PostgresClusterDecision, TheReadyMemberIsPrimaryAndRunningOnesAreLabelledReplicas) {
  World w;
  w.apply(w.decide());
  w.run("orders-0", "w1", false);
  w.run("orders-1", "w2", true);
  w.run("orders-2", "w3", false);
  auto d = w.decide();
  EXPECT_EQ(find(d, Verb::Patch, "orders-1")->body["metadata"]["labels"][kRoleLabel], "primary");
  EXPECT_EQ(find(d, Verb::Patch, "orders-0")->body["metadata"]["labels"][kRoleLabel], "replica");
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.status["primary"], "orders-1");
  EXPECT_EQ(d.status["readyMembers"], 3);
  EXPECT_EQ(d.status["members"][2],
            json({{"name", "orders-2"}, {"node", "w3"}, {"zone", "c"}, {"role", "replica"},
                  {"ready", true}}));
  EXPECT_EQ(d.status["endpoints"]["write"], "10.96.0.10:5432");
  EXPECT_EQ(d.status["endpoints"]["read"], "10.96.0.11:5432");
  EXPECT_EQ(d.status["conditions"][0]["status"], "True");
  w.apply(d);
  // Nothing left to do: no write at all.
  EXPECT_TRUE(w.decide().actions.empty());
}

TEST(PostgresClusterDecision, RolesFromTheEtcdViewDecideWhoServesReads) {
  World w;
  w.apply(w.decide());
  w.run("orders-0", "w1", true);
  w.run("orders-1", "w2", false);
  w.run("orders-2", "w3", false);
  w.facts.roles = std::map<std::string, std::string>{{"orders-1", "replica"}};
  auto d = w.decide();
  EXPECT_EQ(find(d, Verb::Patch, "orders-1")->body["metadata"]["labels"][kRoleLabel], "replica");
  EXPECT_EQ(find(d, Verb::Patch, "orders-2"), nullptr);  // unlabelled and no role: unchanged
  EXPECT_EQ(d.status["phase"], "Degraded");
  EXPECT_EQ(d.status["readyMembers"], 2);
  w.apply(d);
  // orders-1 leaves the etcd view (its manager died): its label goes.
  w.facts.roles = std::map<std::string, std::string>{};
  auto after_loss = w.decide();
  const DbAction* removed = find(after_loss, Verb::Patch, "orders-1");
  ASSERT_NE(removed, nullptr);
  EXPECT_TRUE(removed->body["metadata"]["labels"][kRoleLabel].is_null());
}

TEST(PostgresClusterDecision, APrimaryLostAfterRunningIsFailedNotCreating) {
  World w;
  w.apply(w.decide());
  EXPECT_EQ(w.decide().status["phase"], "Creating");
  w.run("orders-0", "w1", true);
  w.apply(w.decide());
  EXPECT_EQ(w.object["status"]["phase"], "Degraded");
  w.run("orders-0", "w1", false);
  auto d = w.decide();
  EXPECT_EQ(d.status["phase"], "Failed");
  EXPECT_EQ(d.status["conditions"][0]["reason"], "NoPrimary");
  EXPECT_FALSE(d.status.contains("primary"));
}

TEST(PostgresClusterDecision, AnEndedMemberIsDeletedToBeCreatedAgain) {
  World w;
  w.apply(w.decide());
  w.run("orders-2", "w3", false);
  (*w.pod("orders-2"))["status"]["phase"] = "Failed";
  auto d = w.decide();
  const DbAction* del = find(d, Verb::Delete, "orders-2");
  ASSERT_NE(del, nullptr);
  EXPECT_EQ(del->body, "uid-orders-2");
  EXPECT_EQ(find(d, Verb::Create, "orders-2"), nullptr);
  w.facts.pods.pop_back();
  EXPECT_NE(find(w.decide(), Verb::Create, "orders-2"), nullptr);
}

TEST(PostgresClusterDecision, ScalingDownRemovesTheHighestMemberOneAtATime) {
  World w;
  w.object["spec"]["members"] = 5;
  w.apply(w.decide());
  w.object["spec"]["members"] = 3;
  auto d = w.decide();
  EXPECT_EQ(named(d, Verb::Delete, "pods"), std::vector<std::string>{"orders-4"});
  (*w.pod("orders-4"))["metadata"]["deletionTimestamp"] = "2026-12-07T03:00:01Z";
  EXPECT_TRUE(named(w.decide(), Verb::Delete, "pods").empty());
  w.facts.pods.pop_back();
  EXPECT_EQ(named(w.decide(), Verb::Delete, "pods"), std::vector<std::string>{"orders-3"});
}

TEST(PostgresClusterDecision, APausedClusterOnlyGetsItsStatus) {
  World w;
  w.object["spec"]["paused"] = true;
  auto d = w.decide();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(d.actions[0].verb, Verb::UpdateStatus);
  EXPECT_EQ(d.status["phase"], "Paused");
}

TEST(PostgresClusterDecision, WithoutEtcdAccessNothingIsCreatedAndTheStatusSaysWhy) {
  World w;
  auto d = w.decide(DbSettings{});
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(d.status["phase"], "Failed");
  EXPECT_EQ(d.status["conditions"][0]["reason"], "DatabaseControllerNotConfigured");
}

TEST(PostgresClusterDecision, ADeletedClusterTakesWhatItControlledAndNothingElse) {
  World w;
  w.apply(w.decide());
  json stranger = {{"metadata",
                    {{"name", "orders-notes"}, {"uid", "uid-x"}, {"labels", {{kClusterLabel, "orders"}}}}}};
  w.facts.config_maps.push_back(stranger);
  w.facts.cluster = nullptr;
  auto d = decideDatabaseCluster(w.facts, settings(), kFresh);
  EXPECT_EQ(named(d, Verb::Delete, "pods"),
            (std::vector<std::string>{"orders-0", "orders-1", "orders-2"}));
  EXPECT_EQ(named(d, Verb::Delete, "services"),
            (std::vector<std::string>{"orders-rw", "orders-ro"}));
  EXPECT_EQ(named(d, Verb::Delete, "secrets"),
            (std::vector<std::string>{"orders-credentials", "orders-etcd"}));
  EXPECT_EQ(named(d, Verb::Delete, "configmaps"), std::vector<std::string>{"orders-config"});
  EXPECT_EQ(d.actions.size(), 8u);
}

TEST(RedisClusterDecision, ANewClusterGetsTokensASentinelServiceAndMembersRunningRampartRedis) {
  World w(Engine::Redis);
  auto d = w.decide();
  EXPECT_EQ(named(d, Verb::Create, "services"),
            (std::vector<std::string>{"orders-rw", "orders-ro", "orders-sentinel"}));
  EXPECT_EQ(named(d, Verb::Create, "pods"),
            (std::vector<std::string>{"orders-0", "orders-1", "orders-2"}));
  for (const auto& a : d.actions) {
    if (a.verb == Verb::Create) {
      EXPECT_EQ(a.body["metadata"]["ownerReferences"][0]["kind"], "RedisCluster") << a.name;
    }
  }
  // No database users: the operator and member tokens only.
  const json& secret = find(d, Verb::Create, "orders-credentials")->body;
  EXPECT_EQ(secret["data"].size(), 2u);
  EXPECT_EQ(decoded(secret, "rest-token"), "rest-secret");
  EXPECT_EQ(decoded(secret, "member-token"), "member-secret");
  EXPECT_EQ(find(d, Verb::Create, "orders-rw")->body["spec"]["ports"][0]["port"], kRedisPort);
  EXPECT_EQ(find(d, Verb::Create, "orders-ro")->body["spec"]["ports"][0]["port"], kRedisPort);
  const json& sentinel = find(d, Verb::Create, "orders-sentinel")->body;
  EXPECT_EQ(sentinel["spec"]["selector"], json({{kClusterLabel, "orders"}}));
  EXPECT_EQ(sentinel["spec"]["ports"][0]["port"], kSentinelPort);
  EXPECT_TRUE(sentinel["spec"]["publishNotReadyAddresses"].get<bool>());

  const json& pod = find(d, Verb::Create, "orders-1")->body;
  const json& c = pod["spec"]["containers"][0];
  EXPECT_EQ(c["name"], "redis");
  EXPECT_EQ(c["image"], "rampart/redis:7");
  std::string script = c["command"][2];
  EXPECT_NE(script.find("exec '/usr/local/bin/rampart' redis --config"), std::string::npos)
      << script;
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/primary");
  std::set<int> ports;
  for (const auto& p : c["ports"]) {
    ports.insert(p["containerPort"].get<int>());
  }
  EXPECT_EQ(ports, (std::set<int>{kRedisPort, kRestPort, kSentinelPort}));
  auto errors = api::validateObject(*api::findResource("", "v1", "pods"), pod, json());
  EXPECT_TRUE(errors.empty()) << errors[0].toString();
  const DbAction* status = find(d, Verb::UpdateStatus, "orders");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->resource, "redisclusters");
}

TEST(RedisClusterDecision, EachMemberConfigIsOneRampartRedisAcceptsWithTheWaitPromise) {
  World w(Engine::Redis);
  auto d = w.decide();
  testing::TempDir dir;
  auto section = memberSection(d, "orders-2", dir.path());
  ASSERT_TRUE(section) << section.error().message;
  auto member = redis::parseMemberConfig(*section);
  ASSERT_TRUE(member) << member.error().message;
  EXPECT_EQ(member->cluster, "shop.orders.3f2a9c1e");
  EXPECT_EQ(member->name, "orders_2");
  EXPECT_EQ(member->server.bind, "10.64.2.7");
  EXPECT_EQ(member->server.port, kRedisPort);
  EXPECT_EQ(member->rest.host, "10.64.2.7");
  EXPECT_EQ(member->rest.port, kRestPort);
  EXPECT_TRUE(member->sentinel);
  EXPECT_EQ(member->sentinel_listen.port, kSentinelPort);
  EXPECT_EQ(member->master_name, "orders");  // what Sentinel clients ask for
  EXPECT_EQ(member->etcd_prefix, "/rampart/db");
  EXPECT_EQ(member->rest_token, "rest-secret");
  EXPECT_TRUE(member->failsafeEnabled());
  // synchronousMode On (the default): WAIT 1 is promised by the failover's candidate rule, and
  // a master without a good replica refuses writes.
  EXPECT_EQ(member->ha.durability.members, 3);
  EXPECT_EQ(member->ha.durability.wait_replicas, 1);
  EXPECT_EQ(member->server.min_replicas_to_write, 1);

  w.object["spec"]["synchronousMode"] = "Off";
  auto off_section = memberSection(w.decide(), "orders-0", dir.path());
  ASSERT_TRUE(off_section) << off_section.error().message;
  auto off = redis::parseMemberConfig(*off_section);
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_EQ(off->ha.durability.wait_replicas, 0);
  EXPECT_EQ(off->server.min_replicas_to_write, 0);
  // Nothing promised, so a replica hearing only itself may take over: a failover can run.
  EXPECT_EQ(redis::replicasToHear(off->ha.durability), 1);

  // One member alone could never have a replica confirm: it promises nothing and takes writes.
  w.object["spec"]["synchronousMode"] = "On";
  w.object["spec"]["members"] = 1;
  auto alone_section = memberSection(w.decide(), "orders-0", dir.path());
  ASSERT_TRUE(alone_section) << alone_section.error().message;
  auto alone = redis::parseMemberConfig(*alone_section);
  ASSERT_TRUE(alone) << alone.error().message;
  EXPECT_EQ(alone->ha.durability.members, 1);
  EXPECT_EQ(alone->server.min_replicas_to_write, 0);
}

TEST(RedisClusterDecision, TheStatusNamesTheRedisAndSentinelAddresses) {
  World w(Engine::Redis);
  w.apply(w.decide());
  w.run("orders-0", "w1", true);
  w.run("orders-1", "w2", false);
  w.run("orders-2", "w3", false);
  auto d = w.decide();
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.status["primary"], "orders-0");
  EXPECT_EQ(d.status["endpoints"]["write"], "10.96.0.10:6379");
  EXPECT_EQ(d.status["endpoints"]["read"], "10.96.0.11:6379");
  EXPECT_EQ(d.status["endpoints"]["sentinel"], "10.96.0.12:26379");
  // The status passes the API's validation of the kind.
  json next = w.object;
  next["status"] = d.status;
  auto errors =
      api::validateObject(*api::findResource("rampart.io", "v1", "redisclusters"), next, json());
  EXPECT_TRUE(errors.empty()) << errors[0].toString();
}

// A PostgresCluster and a RedisCluster reconciler are both handed every labelled object's key:
// neither deletes what a cluster of the other kind controls.
TEST(RedisClusterDecision, OnlyObjectsOfItsOwnKindAreTakenWhenAClusterOfThatNameIsGone) {
  World pg;
  pg.apply(pg.decide());
  ClusterFacts redis_view = pg.facts;
  redis_view.engine = Engine::Redis;
  redis_view.cluster = nullptr;
  EXPECT_TRUE(decideDatabaseCluster(redis_view, settings(), kFresh).actions.empty());

  World rd(Engine::Redis);
  rd.apply(rd.decide());
  ClusterFacts pg_view = rd.facts;
  pg_view.engine = Engine::Postgres;
  pg_view.cluster = nullptr;
  EXPECT_TRUE(decideDatabaseCluster(pg_view, settings(), kFresh).actions.empty());
  rd.facts.cluster = nullptr;
  auto gone = decideDatabaseCluster(rd.facts, settings(), kFresh);
  EXPECT_EQ(named(gone, Verb::Delete, "services"),
            (std::vector<std::string>{"orders-rw", "orders-ro", "orders-sentinel"}));
  EXPECT_NE(gone.actions[0].reason.find("RedisCluster orders was deleted"), std::string::npos);
}

TEST(MemberNames, OrdinalsAndPgNamesFollowThePodName) {
  EXPECT_EQ(ordinalOf("orders", "orders-0"), 0);
  EXPECT_EQ(ordinalOf("orders", "orders-12"), 12);
  EXPECT_EQ(ordinalOf("orders", "orders-01"), -1);
  EXPECT_EQ(ordinalOf("orders", "orders-x"), -1);
  EXPECT_EQ(ordinalOf("orders", "orders-"), -1);
  EXPECT_EQ(ordinalOf("orders", "ordersx-1"), -1);
  EXPECT_EQ(memberName("my-db.v2-3"), "my_db_v2_3");
  EXPECT_EQ(memberClusterName("shop", "orders", "3F2a-9c1e77aa"), "shop.orders.32a9c1e7");
  EXPECT_EQ(memberClusterName("shop", "orders", ""), "shop.orders");
}

}  // namespace
}  // namespace rampart::controller::db
