// A member's REST API against real etcd and real `rampart pg` members (one etcd; the first member
// bootstraps its own PostgreSQL 15 on loopback, a second one clones from it):
//  - the etcd-writing operator calls answer only after their write: right after the 200 the
//    written key is in etcd, at the revision the answer names;
//  - with etcd frozen, such a call answers an error within its deadline, and once etcd is back
//    nothing was written;
//  - rest.tls: the member answers HTTPS only, verified against a lab CA; with client_auth a
//    client without a certificate is refused; `rampart pg reinit` speaks HTTPS to it; two
//    members vouch for each other (failsafe) over verified HTTPS with their certificates' names;
//  - `rampart pg switchover|pause` go through the members' REST APIs, never etcd: a switchover
//    over HTTPS with client certificates by an operator who cannot reach etcd; a wrong token is
//    refused naming the member and writes nothing; with no member's REST API reachable the
//    command fails within its deadline and etcd's revision does not move.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "testing/silent_listener.h"
#include "lab/etcd_cluster.h"
#include "net/endpoint.h"
#include "net/http/client.h"
#include "net/pki.h"
#include "pg/config.h"
#include "pg/state.h"
#include "runtime/process.h"
#include "runtime/secret_file.h"
#include "store/etcd_store.h"
#include "testing/eventually.h"
#include "testing/run_loop.h"
#include "testing/test_files.h"

namespace rampart {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nlohmann::json;
using rampart::testing::eventually;

constexpr const char* kToken = "operator-token-for-the-test";
constexpr const char* kMemberToken = "member-token-for-the-test";

struct RestTlsSetup {
  bool enabled = false;
  bool client_auth = false;
};

class PgRest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ::chmod(dir_.path().c_str(), 0755);  // mkdtemp makes it 0700; postgres must reach its data
    lab::EtcdClusterOptions etcd_options;
    etcd_options.members = 1;
    etcd_options.dir = dir_.path() + "/etcd";
    auto etcd = lab::EtcdCluster::start(etcd_options);
    ASSERT_TRUE(etcd) << etcd.error().message;
    etcd_ = std::move(*etcd);
  }

  void TearDown() override {
    if (etcd_) {
      (void)etcd_->signalMember(0, SIGCONT);  // a test may leave it frozen; the managers' shutdown
                                              // deletes their keys
    }
    for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
      runtime::terminate(it->pid, 30s);  // stops its postgres, which dies with it anyway
    }
    if (etcd_) {
      etcd_->stop();
    }
  }

  // The lab CA and certificates for rest.tls: a member certificate per name (CN = the name, SAN
  // 127.0.0.1), an operator client certificate, and a stranger's from another CA.
  void makePki(const std::vector<std::string>& members) {
    pki_ = dir_.path() + "/pki";
    std::filesystem::create_directories(pki_);
    ASSERT_TRUE(net::makeCa(pki_, "rampart test REST CA"));
    for (const auto& name : members) {
      net::CertificateSpec spec;
      spec.common_name = name;
      spec.ip_addresses = {"127.0.0.1"};
      ASSERT_TRUE(net::issueCertificate(pki_, spec, pki_ + "/" + name + ".pem",
                                        pki_ + "/" + name + "-key.pem"));
    }
    net::CertificateSpec client;
    client.common_name = "operator";
    ASSERT_TRUE(
        net::issueCertificate(pki_, client, pki_ + "/client.pem", pki_ + "/client-key.pem"));
    std::filesystem::create_directories(pki_ + "/other");
    ASSERT_TRUE(net::makeCa(pki_ + "/other", "another CA"));
    ASSERT_TRUE(net::issueCertificate(pki_ + "/other", client, pki_ + "/stranger.pem",
                                      pki_ + "/stranger-key.pem"));
  }

  // Writes member `name`'s config and starts `rampart pg`; waits until `ready_path` answers 200
  // (the first member leads: /primary; a later one streams: /replica).
  void startMember(const std::string& name = "m1", RestTlsSetup tls = {},
                   const std::string& ready_path = "/primary") {
    if (tls.enabled && pki_.empty()) {
      makePki({name});
    }
    std::string mdir = dir_.path() + "/" + name;
    std::filesystem::create_directories(mdir);
    ::chmod(mdir.c_str(), 0755);
    auto pg_port = net::pickFreePort("127.0.0.1");
    auto rest_port = net::pickFreePort("127.0.0.1");
    ASSERT_TRUE(pg_port && rest_port);
    Member m;
    m.name = name;
    m.rest = net::Endpoint{"127.0.0.1", *rest_port, tls.enabled};
    std::string rest_tls;
    if (tls.enabled) {
      rest_tls = ", tls: { cert: " + pki_ + "/" + name + ".pem, key: " + pki_ + "/" + name +
                 "-key.pem, ca: " + pki_ +
                 "/ca.pem, client_auth: " + (tls.client_auth ? "true" : "false") + " }";
    }
    m.config_file = mdir + "/member.yaml";
    std::string yaml = "cluster: resttest\nname: " + name + "\netcd: { endpoints: [" +
                       etcd_->endpointList() +
                       "] }\npostgres:\n  listen: 127.0.0.1:" + std::to_string(*pg_port) +
                       "\n  data_dir: " + mdir +
                       "/data\n  parameters: { shared_buffers: 16MB, max_connections: '20' }\n" +
                       "rest: { listen: 127.0.0.1:" + std::to_string(*rest_port) +
                       ", token: " + kToken + ", member_token: " + kMemberToken + rest_tls +
                       " }\ncredentials:\n  superuser: { user: postgres, password: 'pw-test' }\n" +
                       "  replication: { user: replicator, password: 'pw-test' }\n";
    ASSERT_TRUE(runtime::writeSecretFile(m.config_file, yaml));
    auto config = pg::loadMemberConfig(m.config_file);
    ASSERT_TRUE(config) << config.error().message;
    if (members_.empty()) {
      config_ = *config;
      config_file_ = m.config_file;
      rest_ = m.rest;
    }
    m.log_file = mdir + "/manager.log";
    auto pid = runtime::spawn(
        runtime::SpawnOptions{{RAMPART_BINARY, "pg", "--config", m.config_file}, m.log_file});
    ASSERT_TRUE(pid) << pid.error().message;
    m.pid = *pid;
    members_.push_back(m);
    ASSERT_TRUE(eventually(
        [&] { return call("GET", ready_path, "", false, std::nullopt, m.rest).first == 200; },
        120s))
        << name << " is not ready (" << ready_path << ")\n"
        << logs();
  }

  // Every member's log.
  std::string logs() const {
    std::string out;
    for (const auto& m : members_) {
      out += "---- " + m.name + "\n" + testing::readWholeFile(m.log_file);
    }
    return out;
  }
  std::string log() const { return logs(); }

  // One request to the member's REST API on a fresh connection: {status, body}, or {0, error}.
  std::pair<int, std::string> call(const std::string& method, const std::string& path,
                                   const std::string& body = "", bool with_token = false,
                                   std::optional<net::TlsFiles> client_tls = std::nullopt,
                                   std::optional<net::Endpoint> where = std::nullopt) {
    asio::io_context io;
    net::TlsFiles files = client_tls.value_or(defaultClientTls());
    net::http::Client client(io.get_executor(), files);
    net::http::Request request{method, path, {}, body};
    if (with_token) {
      request.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
    }
    if (!body.empty()) {
      request.headers.emplace_back("Content-Type", "application/json");
    }
    auto endpoint = where.value_or(rest_);
    auto work = [&]() -> asio::awaitable<Result<net::http::Response>> {
      co_return co_await client.fetch(endpoint, std::move(request),
                                      std::chrono::steady_clock::now() + 10s,
                                      net::http::Client::Replay::Never);
    };
    auto response = testing::runLoop(io, work());
    if (!response) {
      return {0, response.error().message};
    }
    return {response->status, response->body};
  }

  net::TlsFiles defaultClientTls() const {
    if (pki_.empty()) {
      return {};
    }
    return net::TlsFiles{
        .ca = pki_ + "/ca.pem", .cert = pki_ + "/client.pem", .key = pki_ + "/client-key.pem"};
  }

  // The key as etcd has it (at `revision`, 0: now); nullopt when absent.
  std::optional<store::KeyValue> readKey(const std::string& key, int64_t revision = 0) {
    asio::io_context io;
    store::EtcdStore store(io.get_executor(), config_.etcdOptions());
    auto work = [&]() -> asio::awaitable<Result<store::RangeResponse>> {
      auto request = store::RangeRequest::single(key);
      request.revision = revision;
      co_return co_await store.range(std::move(request));
    };
    auto r = testing::runLoop(io, work());
    EXPECT_TRUE(r) << r.error().message;
    if (!r || r->kvs.empty()) {
      return std::nullopt;
    }
    return r->kvs.front();
  }

  // etcd's current revision: it moves with every write.
  int64_t etcdRevision() {
    asio::io_context io;
    store::EtcdStore store(io.get_executor(), config_.etcdOptions());
    auto work = [&]() -> asio::awaitable<Result<store::RangeResponse>> {
      co_return co_await store.range(store::RangeRequest::single("/nothing-here"));
    };
    auto r = testing::runLoop(io, work());
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->revision : -1;
  }

  // A 0600 file holding `text` (a token file).
  std::string secretFile(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    EXPECT_TRUE(runtime::writeSecretFile(path, text));
    return path;
  }

  void putKey(const std::string& key, const std::string& value) {
    asio::io_context io;
    store::EtcdStore store(io.get_executor(), config_.etcdOptions());
    auto work = [&]() -> asio::awaitable<Result<store::PutResponse>> {
      store::PutRequest put{key, value};
      co_return co_await store.put(std::move(put));
    };
    auto r = testing::runLoop(io, work());
    ASSERT_TRUE(r) << r.error().message;
  }

  struct Member {
    std::string name;
    std::string config_file;
    std::string log_file;
    net::Endpoint rest;
    pid_t pid = 0;
  };

  testing::TempDir dir_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::string pki_;
  std::vector<Member> members_;
  // The first member's.
  std::string config_file_;
  pg::MemberConfig config_;
  net::Endpoint rest_;
};

TEST_F(PgRest, PauseAndSwitchoverAnswer200OnlyOnceTheirKeyIsInEtcd) {
  startMember();
  pg::Keys keys{config_.keyPrefix()};

  auto [status, body] = call("POST", "/pause", "", true);
  // Read at once: the answer came after etcd acknowledged the write, so etcd has it now.
  auto config_kv = readKey(keys.config());
  ASSERT_EQ(status, 200) << body << "\n" << log();
  ASSERT_TRUE(config_kv) << "200 for a pause that etcd does not have";
  auto settings = pg::decodeClusterSettings(config_kv->value);
  ASSERT_TRUE(settings);
  EXPECT_TRUE(settings->paused);
  auto answer = json::parse(body, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << body;
  EXPECT_EQ(answer["key"], keys.config());
  EXPECT_EQ(answer["value"]["paused"], true);
  EXPECT_EQ(answer["revision"].get<int64_t>(), config_kv->mod_revision)
      << "the answer names the revision of the write etcd holds";

  // A switchover needs a target etcd knows: a second member's published entry (never started;
  // the leader will refuse to hand over to it and drop the request, which is why the request is
  // read at the revision the answer names).
  pg::MemberStatus m2;
  m2.name = "m2";
  m2.host = "127.0.0.1";
  m2.port = 1;
  m2.role = "replica";
  m2.state = "stopped";
  putKey(keys.member("m2"), pg::encode(m2));
  std::pair<int, std::string> switched;
  ASSERT_TRUE(eventually(
      [&] {
        switched = call("POST", "/switchover", R"({"to":"m2"})", true);
        return switched.first != 400;  // until the member has seen m2's entry
      },
      10s));
  ASSERT_EQ(switched.first, 200) << switched.second << "\n" << log();
  auto written = json::parse(switched.second, nullptr, false);
  ASSERT_TRUE(written.is_object()) << switched.second;
  EXPECT_EQ(written["key"], keys.switchover());
  auto request_kv = readKey(keys.switchover(), written["revision"].get<int64_t>());
  ASSERT_TRUE(request_kv) << "200 for a switchover request etcd never had";
  auto request = pg::decodeSwitchoverRequest(request_kv->value);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->to, "m2");
  EXPECT_EQ(request->from, "m1");

  std::tie(status, body) = call("POST", "/resume", "", true);
  config_kv = readKey(keys.config());
  ASSERT_EQ(status, 200) << body;
  ASSERT_TRUE(config_kv);
  EXPECT_FALSE(pg::decodeClusterSettings(config_kv->value)->paused);
}

TEST_F(PgRest, WithEtcdDownAPauseFailsWithinItsDeadlineAndNothingIsWritten) {
  startMember();
  pg::Keys keys{config_.keyPrefix()};
  auto before = readKey(keys.config());
  // Frozen, not dead: requests are accepted by the kernel and never answered, the hardest case
  // for a deadline.
  ASSERT_TRUE(etcd_->signalMember(0, SIGSTOP));
  auto sent = std::chrono::steady_clock::now();
  auto [status, body] = call("POST", "/pause", "", true);
  auto took = std::chrono::steady_clock::now() - sent;
  // The member's bound: 2 x etcd.request_timeout (500 ms) + 1 s.
  EXPECT_TRUE(status == 503 || status == 504) << status << " " << body;
  EXPECT_NE(body.find("error"), std::string::npos) << body;
  EXPECT_LT(took, 2500ms) << "the call waited past its deadline";
  // Killed while frozen, the requests it held die unread; back from its data directory, etcd
  // has what it had before the call.
  ASSERT_TRUE(etcd_->signalMember(0, SIGKILL));
  ASSERT_TRUE(etcd_->restartMember(0));
  auto after = readKey(keys.config());
  EXPECT_EQ(after.has_value(), before.has_value());
  if (before && after) {
    EXPECT_EQ(after->mod_revision, before->mod_revision) << "the failed pause was written";
  }
}

TEST_F(PgRest, RestTlsAnswersHttpsWithTheLabCaAndRefusesPlainHttp) {
  startMember("m1", {.enabled = true, .client_auth = false});
  auto [status, body] = call("GET", "/primary", "", false, net::TlsFiles{.ca = pki_ + "/ca.pem"});
  EXPECT_EQ(status, 200) << body;
  net::Endpoint plain = rest_;
  plain.tls = false;
  auto over_http = call("GET", "/primary", "", false, net::TlsFiles{}, plain);
  EXPECT_EQ(over_http.first, 0) << "plain HTTP got an answer: " << over_http.second;
  // The client verifies the member against the CA it was given.
  auto unverified = call("GET", "/primary", "", false, net::TlsFiles{.ca = pki_ + "/other/ca.pem"});
  EXPECT_EQ(unverified.first, 0) << "a member certificate from an untrusted CA was accepted";
  // The member publishes its https:// address for the other members.
  pg::Keys keys{config_.keyPrefix()};
  auto self = readKey(keys.member("m1"));
  ASSERT_TRUE(self);
  auto status_entry = pg::decodeMemberStatus(self->value);
  ASSERT_TRUE(status_entry);
  EXPECT_EQ(status_entry->rest, "https://127.0.0.1:" + std::to_string(rest_.port));
}

TEST_F(PgRest, RestTlsWithClientAuthRefusesAClientWithoutACertificate) {
  startMember("m1", {.enabled = true, .client_auth = true});
  auto verified = call("GET", "/primary");  // the lab CA's client certificate
  EXPECT_EQ(verified.first, 200) << verified.second;
  auto anonymous = call("GET", "/primary", "", false, net::TlsFiles{.ca = pki_ + "/ca.pem"});
  EXPECT_EQ(anonymous.first, 0) << "served a client without a certificate";
  auto stranger = call("GET", "/primary", "", false,
                       net::TlsFiles{.ca = pki_ + "/ca.pem",
                                     .cert = pki_ + "/stranger.pem",
                                     .key = pki_ + "/stranger-key.pem"});
  EXPECT_EQ(stranger.first, 0) << "served a certificate another CA signed";
  // Mutations over HTTPS too, answered after their write.
  auto paused = call("POST", "/pause", "", true);
  EXPECT_EQ(paused.first, 200) << paused.second;
  // The CLI reaches the member over verified HTTPS with the member's certificate (reinit of the
  // leader is refused by the member: an answer, and no side effect).
  auto cli =
      runtime::runCommand({RAMPART_BINARY, "pg", "reinit", "m1", "--config", config_file_}, 30s);
  EXPECT_NE(cli.output.find("m1: 409"), std::string::npos) << cli.output;
}

// The members' own calls to each other go over verified HTTPS too: with etcd frozen, the leader
// keeps serving only because the other member vouched (failsafe), which it does only for a
// caller whose certificate the CA signed and names the leader.
TEST_F(PgRest, OverRestTlsWithClientAuthTheFailsafeVouchKeepsTheLeaderThroughAnEtcdOutage) {
  makePki({"m1", "m2"});
  startMember("m1", {.enabled = true, .client_auth = true});
  startMember("m2", {.enabled = true, .client_auth = true}, "/replica");
  pg::Keys keys{config_.keyPrefix()};
  auto m2 = readKey(keys.member("m2"));
  ASSERT_TRUE(m2);
  EXPECT_EQ(pg::decodeMemberStatus(m2->value)->rest,
            "https://127.0.0.1:" + std::to_string(members_[1].rest.port));
  ASSERT_TRUE(etcd_->signalMember(0, SIGSTOP));
  // Without a vouch the leader fences leader_timeout - fence_margin (0.7 s) after its last
  // acknowledged heartbeat; it is still the writable leader well after that.
  auto frozen_at = std::chrono::steady_clock::now();
  bool fenced = eventually([&] { return call("GET", "/primary").first != 200; }, 4s);
  EXPECT_FALSE(fenced) << "the leader stopped being primary "
                       << toMillis(std::chrono::steady_clock::now() - frozen_at)
                       << " ms into the etcd outage: the vouch over TLS failed\n"
                       << logs();
  EXPECT_NE(logs().find("every member vouched"), std::string::npos) << logs();
  ASSERT_TRUE(etcd_->signalMember(0, SIGCONT));
}

// `rampart pg switchover` over the REST API with TLS and client certificates, run by an operator
// whose config reaches no etcd at all: the cluster view comes from the member's GET /cluster, the
// request from its POST /switchover.
TEST_F(PgRest, CliSwitchoverOverRestTlsWithClientAuthWorksWithoutEtcdAccess) {
  makePki({"m1", "m2"});
  startMember("m1", {.enabled = true, .client_auth = true});
  startMember("m2", {.enabled = true, .client_auth = true}, "/replica");
  pg::Keys keys{config_.keyPrefix()};
  // The leader refuses a target outside the synchronous set: wait until m2 is in it.
  ASSERT_TRUE(eventually(
      [&] {
        auto kv = readKey(keys.sync());
        auto sync = kv ? pg::decodeSyncState(kv->value)
                       : Result<pg::SyncState>(fail(ErrorCode::NotFound, "no sync key"));
        return sync && std::count(sync->members.begin(), sync->members.end(), "m2") > 0;
      },
      60s))
      << logs();
  std::string yaml = testing::readWholeFile(config_file_);
  auto etcd_at = yaml.find(etcd_->endpointList());
  ASSERT_NE(etcd_at, std::string::npos);
  yaml.replace(etcd_at, etcd_->endpointList().size(), "127.0.0.1:1");
  std::string operator_file = dir_.path() + "/operator.yaml";
  ASSERT_TRUE(runtime::writeSecretFile(operator_file, yaml));
  auto r = runtime::runCommand(
      {RAMPART_BINARY, "pg", "switchover", "--to", "m2", "--config", operator_file}, 90s);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << logs();
  EXPECT_NE(r.output.find("new leader: m2"), std::string::npos) << r.output;
  auto leader = readKey(keys.leader());
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->value, "m2");
}

TEST_F(PgRest, CliWithAWrongTokenIsRefusedNamingTheMemberAndWritesNothing) {
  startMember("m1", {.enabled = true, .client_auth = true});
  pg::Keys keys{config_.keyPrefix()};
  std::string wrong = secretFile("wrong.token", "not-the-operator-token");
  auto r = runtime::runCommand(
      {RAMPART_BINARY, "pg", "pause", "--token-file", wrong, "--config", config_file_}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("m1 (https://127.0.0.1:" + std::to_string(rest_.port) +
                          ") refused the operator credential (HTTP 401)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(readKey(keys.config())) << "a refused pause was written";
  // The same for a forced failover to a member etcd lists (an entry only: the command's own
  // checks pass, the member refuses the token): no request in etcd.
  pg::MemberStatus m2;
  m2.name = "m2";
  m2.host = "127.0.0.1";
  m2.port = 1;
  m2.role = "replica";
  m2.state = "stopped";
  putKey(keys.member("m2"), pg::encode(m2));
  r = runtime::runCommand({RAMPART_BINARY, "pg", "failover", "--to", "m2", "--token-file", wrong,
                           "--config", config_file_},
                          30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("m1 (https://127.0.0.1:" + std::to_string(rest_.port) +
                          ") refused the operator credential (HTTP 401)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(readKey(keys.switchover())) << r.output;
}

using testing::SilentListener;

TEST_F(PgRest, CliWithNoMembersRestReachableFailsWithinItsDeadlineAndWritesNothing) {
  // etcd lists a leader m1 whose REST API accepts connections and never answers, and m2 whose
  // port refuses them; the operator holds m1's config (rest.tls, so both are asked).
  makePki({"m1", "m2"});
  SilentListener silent;
  ASSERT_NE(silent.port, 0);
  auto refused_port = net::pickFreePort("127.0.0.1");
  ASSERT_TRUE(refused_port);
  std::string file = dir_.path() + "/m1.yaml";
  ASSERT_TRUE(runtime::writeSecretFile(
      file, "cluster: resttest\nname: m1\netcd: { endpoints: [" + etcd_->endpointList() +
                "] }\npostgres: { listen: 127.0.0.1:5, data_dir: " + dir_.path() +
                "/m1/data }\nrest: { listen: 127.0.0.1:" + std::to_string(silent.port) +
                ", token: " + kToken + ", tls: { cert: " + pki_ + "/m1.pem, key: " + pki_ +
                "/m1-key.pem, ca: " + pki_ + "/ca.pem, client_auth: true } }\n" +
                "credentials:\n  superuser: { password: a }\n  replication: { password: b }\n"));
  auto config = pg::loadMemberConfig(file);
  ASSERT_TRUE(config) << config.error().message;
  config_ = *config;
  pg::Keys keys{config_.keyPrefix()};
  for (auto [name, port] : {std::pair{"m1", silent.port}, std::pair{"m2", *refused_port}}) {
    pg::MemberStatus m;
    m.name = name;
    m.host = "127.0.0.1";
    m.port = 5;
    m.rest = "https://127.0.0.1:" + std::to_string(port);
    m.role = std::string(name) == "m1" ? "primary" : "replica";
    m.state = "running";
    putKey(keys.member(name), pg::encode(m));
  }
  putKey(keys.leader(), "m1");
  auto before = etcdRevision();
  for (std::vector<std::string> command :
       {std::vector<std::string>{"pause"}, std::vector<std::string>{"switchover", "--to", "m2"}}) {
    std::vector<std::string> argv = {RAMPART_BINARY, "pg"};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.insert(argv.end(), {"--timeout", "3s", "--config", file});
    auto started = std::chrono::steady_clock::now();
    auto r = runtime::runCommand(argv, 30s);
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.exit_code, 1) << r.output;
    // 3 s for the members, plus reading the view and starting the process.
    EXPECT_LT(took, 6s) << r.output;
    EXPECT_NE(r.output.find("m1 (https://127.0.0.1:" + std::to_string(silent.port) +
                            "): no answer in time"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("m2 (https://127.0.0.1:" + std::to_string(*refused_port) +
                            "): connection refused"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("nothing was written"), std::string::npos) << r.output;
  }
  EXPECT_EQ(etcdRevision(), before) << "the failed commands wrote to etcd";
}

}  // namespace
}  // namespace rampart
