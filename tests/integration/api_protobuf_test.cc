// kubectl 1.32's typed clients send protobuf bodies (`kubectl create namespace|deployment|
// configmap|secret|service|pdb`) and never retry as JSON: against a real `rampart server` on a
// real etcd they succeed, and what was stored is what the same command sends as JSON.

#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "etcd_fixture.h"
#include "runtime/process.h"
#include "testing/eventually.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class ApiProtobuf : public testing::EtcdTest {
 protected:
  void SetUp() override {
    testing::EtcdTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    std::string tokens = dir_.path() + "/tokens.csv";
    std::ofstream(tokens) << "admin-token,admin,admin-uid,\"system:masters\"\n";
    kubeconfig_ = dir_.path() + "/admin.kubeconfig";
    auto pid = runtime::spawn(runtime::SpawnOptions{
        {RAMPART_BINARY, "server", "--etcd-servers", cluster_->endpointList(), "--bind-address",
         "127.0.0.1", "--secure-port", "0", "--token-auth-file", tokens, "--cert-dir",
         dir_.path() + "/certs", "--write-kubeconfig", kubeconfig_},
        dir_.path() + "/server.log"});
    ASSERT_TRUE(pid) << pid.error().message;
    server_ = *pid;
    ASSERT_TRUE(testing::eventually(
        [&] {
          return std::filesystem::exists(kubeconfig_) &&
                 kubectl({"get", "--raw", "/readyz"}).exit_code == 0;
        },
        30s, 100ms))
        << testing::readWholeFile(dir_.path() + "/server.log");
  }

  void TearDown() override {
    if (server_ > 0) {
      runtime::terminate(server_, 3s);
    }
    testing::EtcdTest::TearDown();
  }

  runtime::CommandResult kubectl(std::vector<std::string> args) {
    args.insert(args.begin(), {"kubectl", "--kubeconfig", kubeconfig_});
    return runtime::runCommand(std::move(args), 30s);
  }

  // `kubectl get ... -o json` of one object.
  json get(std::vector<std::string> args) {
    args.insert(args.end(), {"-o", "json"});
    auto out = kubectl(std::move(args));
    EXPECT_EQ(out.exit_code, 0) << out.output;
    json object = json::parse(out.output, nullptr, false);
    EXPECT_FALSE(object.is_discarded()) << out.output;
    return object;
  }

  std::string kubeconfig_;
  pid_t server_ = -1;
};

TEST_F(ApiProtobuf, KubectlTypedCreatesSucceedAndStoreWhatWasSent) {
  std::vector<std::vector<std::string>> creates = {
      {"create", "namespace", "prod"},
      {"create", "deployment", "web", "--image=nginx", "--replicas=0"},
      {"create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=empty="},
      {"create", "secret", "generic", "sec", "--from-literal=password=s3cr3t"},
      {"create", "service", "clusterip", "web", "--tcp=80:8080"},
      {"create", "pdb", "web", "--selector=app=web", "--min-available=1"},
  };
  for (const auto& args : creates) {
    auto out = kubectl(args);
    EXPECT_EQ(out.exit_code, 0) << args[1] << " " << args[2] << ": " << out.output << "\n"
                                << testing::readWholeFile(dir_.path() + "/server.log");
  }
  EXPECT_EQ(get({"get", "namespace", "prod"})["metadata"]["name"], "prod");
  auto deployment = get({"get", "deployment", "web"});
  EXPECT_EQ(deployment["spec"]["replicas"], 0) << deployment.dump();  // a pointer zero, kept
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx");
  EXPECT_EQ(get({"get", "configmap", "cfg"})["data"], json::parse(R"({"a":"1","empty":""})"));
  EXPECT_EQ(get({"get", "secret", "sec"})["data"]["password"], "czNjcjN0");
  auto service = get({"get", "service", "web"});
  EXPECT_EQ(service["spec"]["ports"][0]["port"], 80) << service.dump();
  EXPECT_EQ(service["spec"]["ports"][0]["targetPort"], 8080) << service.dump();
  auto pdb = get({"get", "pdb", "web"});
  EXPECT_EQ(pdb["spec"]["minAvailable"], 1) << pdb.dump();
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"]["app"], "web");
}

TEST_F(ApiProtobuf, DryRunCreatesNothing) {
  // `default` exists: the server made it before /readyz answered.
  auto out = kubectl({"create", "deployment", "dry", "--image=nginx", "--dry-run=server"});
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(kubectl({"get", "deployment", "dry"}).exit_code, 0);
}

// A body that does not decode is a 400 Status naming the problem, and nothing is stored.
TEST_F(ApiProtobuf, MalformedProtobufBodyIsBadRequest) {
  std::string server =
      kubectl({"config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"}).output;
  std::string body_file = dir_.path() + "/bad.pb";
  // The magic, then a typeMeta whose length runs past the end.
  std::ofstream(body_file, std::ios::binary) << std::string("k8s\0\x0a\x40\x0a\x02v1", 9);
  auto out = runtime::runCommand(
      {"curl", "-sk", "-H", "Authorization: Bearer admin-token", "-H",
       "Content-Type: application/vnd.kubernetes.protobuf", "--data-binary", "@" + body_file, "-w",
       "\n%{http_code}", server + "/api/v1/namespaces/default/configmaps"},
      30s);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(out.output.substr(out.output.rfind('\n') + 1), "400") << out.output;
  EXPECT_NE(out.output.find("protobuf body"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("\"kind\":\"Status\""), std::string::npos) << out.output;
}

// kube-apiserver answers 404 for a resource it does not serve before it reads the body;
// `kubectl auth whoami` relies on that to try the next API version.
TEST_F(ApiProtobuf, ProtobufBodyForAnUnservedResourceIsNotFound) {
  std::string server =
      kubectl({"config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"}).output;
  std::string body_file = dir_.path() + "/review.pb";
  // k8s\0, Unknown{typeMeta{apiVersion: example.com/v1, kind: Widget}, raw: {}}.
  std::string type_meta = std::string("\x0a\x0e") + "example.com/v1" + "\x12\x06" + "Widget";
  std::ofstream(body_file, std::ios::binary) << std::string("k8s\0", 4) + "\x0a" +
                                                    static_cast<char>(type_meta.size()) +
                                                    type_meta + std::string("\x12\x00", 2);
  auto out = runtime::runCommand(
      {"curl", "-sk", "-H", "Authorization: Bearer admin-token", "-H",
       "Content-Type: application/vnd.kubernetes.protobuf", "--data-binary", "@" + body_file, "-w",
       "\n%{http_code}", server + "/apis/example.com/v1/widgets"},
      30s);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(out.output.substr(out.output.rfind('\n') + 1), "404") << out.output;
}

}  // namespace
}  // namespace rampart
