#include "lb/config.h"

#include <gtest/gtest.h>

#include "net/pki.h"
#include "testing/test_files.h"

namespace rampart::lb {
namespace {

using namespace std::chrono_literals;

Result<LbConfig> parse(const std::string& yaml) {
  auto root = config::loadString(yaml, "lb.yaml");
  if (!root) {
    return fail(root.error());
  }
  return parseLbConfig(*root);
}

const char* kValid = R"(admin:
  listen: 127.0.0.1:9090
virtual_servers:
  - name: api
    listen: 127.0.0.100:6443
    policy: least-connections
    on_down: close
    health:
      type: http
      path: /primary
      status: 200
      extra_statuses: [401]
      interval: 100ms
      timeout: 50ms
      rise: 2
      fall: 3
    backends:
      - address: 127.0.0.11:6443
      - { address: 127.0.0.12:6443, weight: 3, max_connections: 100 }
)";

TEST(LbConfig, ReadsAVirtualServerWithItsCheckAndBackends) {
  auto c = parse(kValid);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->virtual_servers.size(), 1u);
  const auto& vs = c->virtual_servers[0];
  EXPECT_EQ(vs.listen.toString(), "127.0.0.100:6443");
  EXPECT_EQ(vs.policy, Policy::LeastConnections);
  EXPECT_EQ(vs.on_down, OnDown::Close);
  EXPECT_EQ(vs.health.probe.kind, health::ProbeSpec::Kind::Http);
  EXPECT_EQ(vs.health.probe.status_min, 200);
  EXPECT_EQ(vs.health.probe.status_max, 200);
  EXPECT_EQ(vs.health.probe.extra_statuses, std::vector<int>{401});
  EXPECT_EQ(vs.health.interval, 100ms);
  EXPECT_EQ(vs.health.rise, 2);
  ASSERT_EQ(vs.backends.size(), 2u);
  EXPECT_EQ(vs.backends[1].weight, 3u);
  EXPECT_EQ(vs.backends[1].max_connections, 100);
}

TEST(LbConfig, ErrorsNameTheLineAndTheFieldPath) {
  std::string bad = kValid;
  bad.replace(bad.find("least-connections"), 17, "fastest");
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:6:13:"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("virtual_servers[0].policy"), std::string::npos);
}

TEST(LbConfig, CloseStalledReadsItsSilenceAndRefusesANonPositiveOne) {
  std::string yaml = kValid;
  yaml.replace(yaml.find("on_down: close"), 14, "on_down: close_stalled\n    stalled_after: 300ms");
  auto c = parse(yaml);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->virtual_servers[0].on_down, OnDown::CloseStalled);
  EXPECT_EQ(c->virtual_servers[0].stalled_after, 300ms);
  EXPECT_EQ(parse(kValid)->virtual_servers[0].stalled_after, 500ms) << "the default";

  yaml.replace(yaml.find("300ms"), 5, "0s");
  auto zero = parse(yaml);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("virtual_servers[0].stalled_after: must be positive"),
            std::string::npos)
      << zero.error().message;

  std::string unknown = kValid;
  unknown.replace(unknown.find("on_down: close"), 14, "on_down: shutdown");
  auto bad = parse(unknown);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("expected keep, close or close_stalled, got 'shutdown'"),
            std::string::npos)
      << bad.error().message;
}

TEST(LbConfig, RetryUnansweredIsOffByDefaultAndRefusedForPostgres) {
  EXPECT_FALSE(parse(kValid)->virtual_servers[0].retry_unanswered);
  std::string yaml = kValid;
  yaml.replace(yaml.find("on_down: close"), 14, "on_down: close\n    retry_unanswered: true");
  auto c = parse(yaml);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->virtual_servers[0].retry_unanswered);

  std::string pg = yaml;
  pg.replace(pg.find("retry_unanswered: true"), 22, "retry_unanswered: true\n    protocol: postgres");
  auto refused = parse(pg);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(
                "virtual_servers[0].retry_unanswered: cannot be used with `protocol: postgres`"),
            std::string::npos)
      << refused.error().message;

  std::string word = yaml;
  word.replace(word.find("retry_unanswered: true"), 22, "retry_unanswered: maybe");
  auto bad = parse(word);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("retry_unanswered"), std::string::npos)
      << bad.error().message;
}

TEST(LbConfig, OutageIntervalDefaultsToTheIntervalAndMayNotExceedIt) {
  auto c = parse(kValid);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->virtual_servers[0].health.outage_interval, 100ms);

  std::string faster = kValid;
  faster.replace(faster.find("interval: 100ms"), 15,
                 "interval: 100ms\n      outage_interval: 10ms");
  c = parse(faster);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->virtual_servers[0].health.outage_interval, 10ms);

  std::string slower = kValid;
  slower.replace(slower.find("interval: 100ms"), 15, "interval: 100ms\n      outage_interval: 1s");
  c = parse(slower);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("virtual_servers[0].health.outage_interval"), std::string::npos)
      << c.error().message;
}

TEST(LbConfig, BadBackendAddressNamesTheBackend) {
  auto c = parse(
      "virtual_servers:\n  - name: a\n    listen: 127.0.0.1:1\n    backends:\n"
      "      - address: nowhere\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("virtual_servers[0].backends[0]"), std::string::npos)
      << c.error().message;
}

TEST(LbConfig, DuplicateListenAddressesAreRejected) {
  auto c = parse(
      "virtual_servers:\n"
      "  - {name: a, listen: 127.0.0.1:1, backends: [{address: 127.0.0.1:2}]}\n"
      "  - {name: b, listen: 127.0.0.1:1, backends: [{address: 127.0.0.1:3}]}\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("listens on 127.0.0.1:1"), std::string::npos)
      << c.error().message;
}

TEST(LbConfig, LvscareFlagsBuildTheSameKindOfConfig) {
  LvscareFlags f;
  f.vs = "127.0.0.100:6443";
  f.rs = {"127.0.0.11:6443", "127.0.0.12:6443"};
  f.interval = "100ms";
  f.health_status = {401};
  auto c = fromLvscareFlags(f);
  ASSERT_TRUE(c) << c.error().message;
  const auto& vs = c->virtual_servers.at(0);
  EXPECT_EQ(vs.backends.size(), 2u);
  EXPECT_EQ(vs.health.interval, 100ms);
  EXPECT_EQ(vs.health.probe.path, "/healthz");
  EXPECT_EQ(vs.health.fall, 1) << "lvscare drains on the first failure";
  f.interval = "5";
  EXPECT_EQ(fromLvscareFlags(f)->virtual_servers[0].health.interval, 5s) << "plain seconds";
  EXPECT_TRUE(fromLvscareFlags(f)->virtual_servers[0].health.probe.tls) << "lvscare's default";
  f.health_scheme = "gopher";
  auto bad = fromLvscareFlags(f);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--health-schem"), std::string::npos);
}

}  // namespace
}  // namespace rampart::lb

namespace rampart::lb {
namespace {

TEST(LbConfig, BackendsFromEtcdReplaceTheStaticList) {
  auto c = parse(
      "virtual_servers:\n  - name: pg\n    listen: 127.0.0.1:5000\n    backends_from:\n"
      "      etcd: {endpoints: [http://127.0.0.1:2379], prefix: /rampart/lb/pg/}\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->virtual_servers[0].backends_from);
  EXPECT_EQ(c->virtual_servers[0].backends_from->prefix, "/rampart/lb/pg/");
  auto both = parse(
      "virtual_servers:\n  - name: pg\n    listen: 127.0.0.1:5000\n    backends_from:\n"
      "      etcd: {endpoints: [http://127.0.0.1:2379], prefix: /p/}\n"
      "    backends: [{address: 127.0.0.1:1}]\n");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("not both"), std::string::npos);
}

}  // namespace
}  // namespace rampart::lb

namespace rampart::lb {
namespace {

const char* kPostgresVip = R"(virtual_servers:
  - name: write
    listen: 127.0.0.100:5432
    protocol: postgres
    promotion_wait: 2s
    health: { type: http, path: "/primary?promoting", status: 200, promoting_status: 202,
              draining_status: 307 }
    backends:
      - { address: 127.0.0.11:5432, check_port: 8008 }
)";

TEST(LbConfig, APostgresVirtualServerMayConnectClientsToAPromotingMember) {
  auto c = parse(kPostgresVip);
  ASSERT_TRUE(c) << c.error().message;
  const auto& vs = c->virtual_servers[0];
  EXPECT_TRUE(vs.postgres);
  EXPECT_EQ(vs.promotion_wait, 2s);
  EXPECT_EQ(vs.health.probe.promoting_status, 202);
  EXPECT_EQ(vs.health.probe.draining_status, 307);
  EXPECT_EQ(vs.health.probe.path, "/primary?promoting");
}

TEST(LbConfig, APromotingStatusThatWouldPassTheCheckIsRefused) {
  std::string bad = kPostgresVip;
  bad.replace(bad.find("status: 200,"), 12, "status: 200-299,");
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("health.promoting_status"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("lb.yaml:6:"), std::string::npos) << c.error().message;
}

TEST(LbConfig, APromotingStatusNeedsTheProtocolPostgres) {
  std::string bad = kPostgresVip;
  bad.erase(bad.find("    protocol: postgres\n"), 23);
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("needs `protocol: postgres`"), std::string::npos)
      << c.error().message;
}

TEST(LbConfig, AnUnknownProtocolIsNamed) {
  std::string bad = kPostgresVip;
  bad.replace(bad.find("protocol: postgres"), 18, "protocol: mysql");
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("virtual_servers[0].protocol: expected tcp or postgres"),
            std::string::npos)
      << c.error().message;
}

// A CA and a client certificate in a temporary directory, for the https check's `tls`.
struct CheckPki {
  CheckPki() {
    EXPECT_TRUE(net::makeCa(dir.path(), "lb test CA"));
    net::CertificateSpec spec;
    spec.common_name = "lb";
    EXPECT_TRUE(net::issueCertificate(dir.path(), spec, cert(), key()));
    spec.common_name = "other";
    EXPECT_TRUE(net::issueCertificate(dir.path(), spec, dir.path() + "/other.pem",
                                      dir.path() + "/other-key.pem"));
  }
  std::string ca() const { return dir.path() + "/ca.pem"; }
  std::string cert() const { return dir.path() + "/lb.pem"; }
  std::string key() const { return dir.path() + "/lb-key.pem"; }
  testing::TempDir dir;
};

std::string withHealth(const std::string& health) {
  return "virtual_servers:\n  - name: pg\n    listen: 127.0.0.100:5432\n    health:\n" + health +
         "    backends:\n      - { address: 127.0.0.11:5432, check_port: 8008 }\n";
}

TEST(LbConfig, AnHttpsCheckReadsItsClientCertificateAndCa) {
  CheckPki pki;
  auto c =
      parse(withHealth("      type: https\n      path: /primary\n      tls: { ca: " + pki.ca() +
                       ", cert: " + pki.cert() + ", key: " + pki.key() + ", server_name: m1 }\n"));
  ASSERT_TRUE(c) << c.error().message;
  const auto& probe = c->virtual_servers[0].health.probe;
  EXPECT_TRUE(probe.tls);
  EXPECT_EQ(probe.tls_files.ca, pki.ca());
  EXPECT_EQ(probe.tls_files.cert, pki.cert());
  EXPECT_EQ(probe.tls_files.key, pki.key());
  EXPECT_EQ(probe.tls_files.server_name, "m1");
  EXPECT_TRUE(probe.tls_context) << "the context is built once, with the config";
}

TEST(LbConfig, AnHttpsCheckWithoutTlsHasNoContext) {
  auto c = parse(withHealth("      type: https\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->virtual_servers[0].health.probe.tls_context);
}

TEST(LbConfig, CheckTlsOnAPlainHttpCheckIsRefusedWithFileAndLine) {
  CheckPki pki;
  auto c = parse(withHealth("      type: http\n      tls: { ca: " + pki.ca() + " }\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:6:12: virtual_servers[0].health.tls: needs type: "
                                   "https"),
            std::string::npos)
      << c.error().message;
}

TEST(LbConfig, CheckTlsWithAMissingFileNamesTheFieldAndTheFile) {
  CheckPki pki;
  auto c = parse(withHealth("      type: https\n      tls: { cert: " + pki.cert() +
                            ", key: /nonexistent/key.pem }\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:6:"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("health.tls.key"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("/nonexistent/key.pem"), std::string::npos);
}

TEST(LbConfig, CheckTlsWithACertWithoutItsKeyIsRefused) {
  CheckPki pki;
  auto c = parse(withHealth("      type: https\n      tls: { cert: " + pki.cert() + " }\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("cert and key must be given together"), std::string::npos)
      << c.error().message;
}

TEST(LbConfig, CheckTlsWithAKeyThatDoesNotMatchItsCertificateIsRefusedWithFileAndLine) {
  CheckPki pki;
  auto c = parse(withHealth("      type: https\n      tls: { cert: " + pki.cert() +
                            ", key: " + pki.dir.path() + "/other-key.pem }\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:6:12: virtual_servers[0].health.tls:"),
            std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("health.tls: key: " + pki.dir.path() + "/other-key.pem: "),
            std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("mismatch"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace rampart::lb

namespace rampart::lb {
namespace {

const char* kRedisVip = R"(virtual_servers:
  - name: redis-write
    listen: 127.0.0.100:6379
    on_down: close
    health:
      type: redis
      role: master
      timeout: 300ms
    backends:
      - address: 127.0.0.11:6379
      - address: 127.0.0.12:6379
)";

TEST(LbConfig, ARedisCheckPassesByRoleMasterByDefault) {
  auto c = parse(kRedisVip);
  ASSERT_TRUE(c) << c.error().message;
  const auto& probe = c->virtual_servers[0].health.probe;
  EXPECT_EQ(probe.kind, health::ProbeSpec::Kind::Redis);
  EXPECT_EQ(probe.redis_role, "master");
  EXPECT_EQ(probe.timeout, 300ms);

  std::string replica = kRedisVip;
  replica.replace(replica.find("role: master"), 12, "role: replica");
  auto r = parse(replica);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->virtual_servers[0].health.probe.redis_role, "replica");

  std::string unset = kRedisVip;
  unset.erase(unset.find("      role: master\n"), 19);
  auto u = parse(unset);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->virtual_servers[0].health.probe.redis_role, "master");
}

TEST(LbConfig, ARedisRoleOtherThanMasterOrReplicaIsRefusedWithItsLine) {
  std::string bad = kRedisVip;
  bad.replace(bad.find("role: master"), 12, "role: primary");
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:7:"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("health.role: expected master or replica, got 'primary'"),
            std::string::npos)
      << c.error().message;
}

TEST(LbConfig, ARedisCheckRefusesPostgresFields) {
  std::string bad = kRedisVip;
  bad.replace(bad.find("role: master"), 12, "user: app");
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:7:"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("health.user: needs a postgres check"), std::string::npos)
      << c.error().message;
}

TEST(LbConfig, AnUnknownCheckTypeListsRedis) {
  std::string bad = kRedisVip;
  bad.replace(bad.find("type: redis"), 11, "type: memcached");
  auto c = parse(bad);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("lb.yaml:6:"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("postgres, redis or none"), std::string::npos)
      << c.error().message;
}

}  // namespace
}  // namespace rampart::lb
