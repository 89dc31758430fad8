// kube::HttpClient against a real `rampart server` (kubectl_fixture.h), with the kubeconfig the
// server wrote: calls, Status errors, and a watch that survives quiet periods.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "kube/http_client.h"
#include "kubectl_fixture.h"
#include "testing/run_loop.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;

class KubeHttpClientTest : public testing::KubectlTest {
 protected:
  std::unique_ptr<kube::HttpClient> connect(const std::string& kubeconfig) {
    auto config = kube::loadKubeConfig(kubeconfig);
    EXPECT_TRUE(config) << config.error().message;
    if (!config) {
      return nullptr;
    }
    auto client = kube::HttpClient::make(io_.get_executor(), *config);
    EXPECT_TRUE(client) << client.error().message;
    return client ? std::move(*client) : nullptr;
  }

  kube::Reply call(kube::Client& client, const char* method, const std::string& target,
                   const json& body = nullptr) {
    auto reply = testing::runLoop(
        io_, client.call(method, target, body.is_null() ? "" : body.dump(), "application/json"));
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().message);
    return reply ? *reply : kube::Reply{};
  }

  boost::asio::io_context io_;
};

json configMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}}},
          {"data", {{"v", value}}}};
}

TEST_F(KubeHttpClientTest, CallsCreateAndReadObjectsAndReturnStatusErrors) {
  auto client = connect(servers_[0].kubeconfig);
  ASSERT_TRUE(client);
  auto created = call(*client, "POST", "/api/v1/namespaces/default/configmaps", configMap("a", "1"));
  EXPECT_EQ(created.status, 201) << created.body.dump();
  auto again = call(*client, "POST", "/api/v1/namespaces/default/configmaps", configMap("a", "1"));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.reason(), "AlreadyExists");
  auto got = call(*client, "GET", "/api/v1/namespaces/default/configmaps/a");
  EXPECT_EQ(got.body["data"]["v"], "1");
}

TEST_F(KubeHttpClientTest, AWatchDeliversChangesAfterQuietPeriods) {
  auto client = connect(servers_[0].kubeconfig);
  auto writer = connect(servers_[1].kubeconfig);
  ASSERT_TRUE(client && writer);
  auto stream = testing::runLoop(io_, client->watch("/api/v1/namespaces/default/configmaps"));
  ASSERT_TRUE(stream) << stream.error().message;
  // Nothing yet: next() times out and the stream stays usable.
  auto quiet = testing::runLoop(io_, (*stream)->next(milliseconds(300)));
  ASSERT_TRUE(quiet) << quiet.error().message;
  EXPECT_FALSE(*quiet);
  call(*writer, "POST", "/api/v1/namespaces/default/configmaps", configMap("b", "2"));
  std::optional<json> event;
  for (int i = 0; i < 50 && !event; ++i) {  // up to 5 s
    auto next = testing::runLoop(io_, (*stream)->next(milliseconds(100)));
    ASSERT_TRUE(next) << next.error().message;
    event = *next;
  }
  ASSERT_TRUE(event);
  EXPECT_EQ((*event)["type"], "ADDED");
  EXPECT_EQ((*event)["object"]["metadata"]["name"], "b");
  (*stream)->cancel();
}

TEST_F(KubeHttpClientTest, AWrongTokenGets401) {
  std::string config = testing::readWholeFile(servers_[0].kubeconfig);
  config.replace(config.find(kToken), std::string(kToken).size(), "nope");
  auto client = connect(writeFile("bad-kubeconfig", config));
  ASSERT_TRUE(client);
  EXPECT_EQ(call(*client, "GET", "/api/v1/namespaces").status, 401);
}

TEST(KubeConfigTest, AKubeconfigWithoutCredentialsIsRefusedNamingTheUser) {
  auto parsed = kube::parseKubeConfig(
      "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: "
      "{cluster: k, user: u}\nclusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\n"
      "users:\n- name: u\n  user: {}\n",
      "test.conf", ".");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "kubeconfig: test.conf: users[u].user: no token, tokenFile or client certificate");
}

}  // namespace
}  // namespace rampart
