// The store against a real etcd that serves https:// with client certificates, and with etcd's
// users and roles on: verified TLS, the failures an operator can cause (wrong CA, plain http, no
// client certificate, wrong password), a role limited to its prefix, and token renewal.

#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>

#include "lab/etcd_cluster.h"
#include "net/pki.h"
#include "runtime/secret_file.h"
#include "store/etcd_store.h"
#include "testing/test_files.h"
#include "testing/run_loop.h"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;

class EtcdTlsTest : public ::testing::Test {
 protected:
  void start(bool auth) {
    ASSERT_FALSE(dir_.path().empty());
    lab::EtcdClusterOptions options;
    options.members = 1;
    options.dir = dir_.path() + "/etcd";
    options.tls = true;
    options.auth = auth;
    auto cluster = lab::EtcdCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = std::move(*cluster);
  }

  EtcdOptions options() const {
    EtcdOptions out;
    out.endpoints = cluster_->clientEndpoints();
    out.request_timeout = 2s;
    out.tls = cluster_->clientTls();
    return out;
  }

  std::unique_ptr<EtcdStore> store(EtcdOptions options) {
    return std::make_unique<EtcdStore>(io_.get_executor(), std::move(options));
  }

  template <typename T>
  T run(boost::asio::awaitable<T> work) {
    return testing::runLoop(io_, std::move(work));
  }

  Result<PutResponse> put(EtcdStore& s, std::string key) {
    return run(s.put(PutRequest{.key = std::move(key), .value = "v"}));
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  std::unique_ptr<lab::EtcdCluster> cluster_;
};

TEST_F(EtcdTlsTest, HttpsWithAClientCertificateReadsWritesAndWatches) {
  start(false);
  ASSERT_TRUE(cluster_->clientEndpoints()[0].tls);
  auto s = store(options());
  auto written = put(*s, "/tls/a");
  ASSERT_TRUE(written) << written.error().message;
  auto read = run(s->range(RangeRequest::single("/tls/a")));
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->kvs.size(), 1u);
  EXPECT_EQ(read->kvs[0].value, "v");

  auto watch = s->watch(WatchRequest{.key = "/tls/a", .start_revision = written->revision});
  auto batch = run(watch->next(5s));
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_EQ(batch->events.size(), 1u);
  EXPECT_EQ(batch->events[0].kv.key, "/tls/a");
}

TEST_F(EtcdTlsTest, ServerCertificateFromAnotherCaIsRefused) {
  start(false);
  std::string other = dir_.path() + "/other-ca";
  std::filesystem::create_directories(other);
  ASSERT_TRUE(net::makeCa(other, "someone else"));
  auto opts = options();
  opts.tls.ca = other + "/ca.pem";
  opts.request_timeout = 500ms;
  auto refused = put(*store(opts), "/tls/x");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("TLS handshake"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("certificate verify failed"), std::string::npos)
      << refused.error().message;
}

TEST_F(EtcdTlsTest, ServerCertificateForAnotherNameIsRefused) {
  start(false);
  auto opts = options();
  opts.tls.server_name = "etcd.example.com";
  opts.request_timeout = 500ms;
  auto refused = put(*store(opts), "/tls/x");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("TLS handshake"), std::string::npos)
      << refused.error().message;
}

TEST_F(EtcdTlsTest, PlainHttpToATlsEtcdFailsClearly) {
  start(false);
  auto opts = options();
  for (auto& e : opts.endpoints) {
    e.tls = false;
  }
  opts.request_timeout = 500ms;
  auto refused = put(*store(opts), "/tls/x");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("https:// only"), std::string::npos)
      << refused.error().message;
}

TEST_F(EtcdTlsTest, NoClientCertificateIsRefused) {
  start(false);
  auto opts = options();
  opts.tls.cert.clear();
  opts.tls.key.clear();
  opts.request_timeout = 500ms;
  EXPECT_FALSE(put(*store(opts), "/tls/x"));
}

TEST_F(EtcdTlsTest, RoleWritesItsClusterPrefixAndIsDeniedAnothersAtOnce) {
  start(true);
  std::string password_file = dir_.path() + "/pg-a.password";
  ASSERT_TRUE(cluster_->addUser("pg-a", password_file, {{"/rampart/pg/a/", true}}));
  auto opts = options();
  opts.user = "pg-a";
  opts.password_file = password_file;
  opts.request_timeout = 3s;
  auto s = store(opts);
  auto own = put(*s, "/rampart/pg/a/leader");
  ASSERT_TRUE(own) << own.error().message;

  auto started = std::chrono::steady_clock::now();
  auto other = put(*s, "/rampart/pg/b/leader");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PermissionDenied) << other.error().toString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "denied, not retried";
  auto read_other = run(s->range(RangeRequest::prefix("/rampart/pg/b/")));
  ASSERT_FALSE(read_other);
  EXPECT_EQ(read_other.error().code, ErrorCode::PermissionDenied);

  // Watches carry the token too.
  auto watch =
      s->watch(WatchRequest{.key = "/rampart/pg/a/leader", .start_revision = own->revision});
  auto batch = run(watch->next(5s));
  ASSERT_TRUE(batch) << batch.error().message;
  EXPECT_EQ(batch->events.size(), 1u);
}

TEST_F(EtcdTlsTest, WithoutCredentialsOrWithAWrongPasswordNothingIsWritten) {
  start(true);
  auto anonymous = put(*store(options()), "/rampart/pg/a/x");
  ASSERT_FALSE(anonymous);
  std::string wrong = dir_.path() + "/wrong.password";
  ASSERT_TRUE(runtime::writeSecretFile(wrong, "not-the-password\n"));
  auto opts = options();
  opts.user = "root";
  opts.password_file = wrong;
  auto refused = put(*store(opts), "/rampart/pg/a/x");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("authentication"), std::string::npos)
      << refused.error().message;
}

TEST_F(EtcdTlsTest, TokenThatEtcdForgotIsRenewedOnce) {
  start(true);
  auto opts = options();
  opts.user = "root";
  opts.password_file = cluster_->rootPasswordFile();
  opts.request_timeout = 5s;
  auto s = store(opts);
  ASSERT_TRUE(put(*s, "/renew/a"));
  // Simple tokens live in the member's memory: a restart invalidates the store's token.
  ASSERT_TRUE(cluster_->signalMember(0, SIGTERM));
  ASSERT_TRUE(cluster_->restartMember(0));
  auto again = put(*s, "/renew/b");
  EXPECT_TRUE(again) << again.error().message;
}

}  // namespace
}  // namespace rampart::store
