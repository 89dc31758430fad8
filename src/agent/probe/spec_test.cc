#include "agent/probe/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::agent::probe {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

const json kPorts = json::parse(R"([{"name": "http", "containerPort": 8080},
                                    {"name": "admin", "containerPort": 9090}])");

Result<ProbeSpec> parse(const json& probe, ProbeKind kind = ProbeKind::Readiness,
                        PodTiming timing = {}) {
  return parseProbe(probe, kind, timing, "spec.containers[0].readinessProbe", kPorts);
}

TEST(ProbeSpec, AnHttpGetProbeGetsKubernetesDefaults) {
  auto spec = parse(json::parse(R"({"httpGet": {"port": 8080}})"));
  ASSERT_TRUE(spec) << spec.error().toString();
  EXPECT_EQ(spec->initial_delay, seconds(0));
  EXPECT_EQ(spec->period, seconds(10));
  EXPECT_EQ(spec->timeout, seconds(1));
  EXPECT_EQ(spec->success_threshold, 1);
  EXPECT_EQ(spec->failure_threshold, 3);
  EXPECT_FALSE(spec->termination_grace);
  auto* get = std::get_if<HttpGetAction>(&spec->handler);
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->port, 8080);
  EXPECT_EQ(get->path, "/");
  EXPECT_EQ(get->host, "");  // the pod's IP at run time
  EXPECT_FALSE(get->https);
  EXPECT_EQ(describeTarget(*get, "10.1.0.7"), "http://10.1.0.7:8080/");
}

TEST(ProbeSpec, ZeroTimingFieldsMeanTheDefaultsAsTheApiServerDefaultsThem) {
  auto spec = parse(json::parse(R"({"tcpSocket": {"port": 80}, "periodSeconds": 0,
      "timeoutSeconds": 0, "successThreshold": 0, "failureThreshold": 0})"));
  ASSERT_TRUE(spec) << spec.error().toString();
  EXPECT_EQ(spec->period, seconds(10));
  EXPECT_EQ(spec->timeout, seconds(1));
  EXPECT_EQ(spec->success_threshold, 1);
  EXPECT_EQ(spec->failure_threshold, 3);
}

TEST(ProbeSpec, EveryFieldIsRead) {
  auto spec = parse(json::parse(R"({"httpGet": {"port": "admin", "path": "healthz?full=1",
      "host": "127.0.0.1", "scheme": "HTTPS",
      "httpHeaders": [{"name": "Host", "value": "example.org"}, {"name": "X-A", "value": "b"}]},
      "initialDelaySeconds": 5, "periodSeconds": 2, "timeoutSeconds": 3, "successThreshold": 2,
      "failureThreshold": 4, "terminationGracePeriodSeconds": 7})"));
  ASSERT_TRUE(spec) << spec.error().toString();
  EXPECT_EQ(spec->initial_delay, seconds(5));
  EXPECT_EQ(spec->period, seconds(2));
  EXPECT_EQ(spec->timeout, seconds(3));
  EXPECT_EQ(spec->success_threshold, 2);
  EXPECT_EQ(spec->failure_threshold, 4);
  EXPECT_EQ(spec->termination_grace, seconds(7));
  auto& get = std::get<HttpGetAction>(spec->handler);
  EXPECT_EQ(get.port, 9090);  // the named port
  EXPECT_EQ(get.path, "/healthz?full=1");
  EXPECT_TRUE(get.https);
  ASSERT_EQ(get.headers.size(), 2u);
  EXPECT_EQ(get.headers[0], (std::pair<std::string, std::string>{"Host", "example.org"}));
  EXPECT_EQ(describeTarget(get, "10.1.0.7"), "https://127.0.0.1:9090/healthz?full=1");
}

TEST(ProbeSpec, ATcpSocketProbeResolvesANamedPort) {
  auto spec = parse(json::parse(R"({"tcpSocket": {"port": "http"}})"));
  ASSERT_TRUE(spec) << spec.error().toString();
  EXPECT_EQ(std::get<TcpSocketAction>(spec->handler).port, 8080);
}

TEST(ProbeSpec, AnUnknownPortNameIsAnErrorNamingTheField) {
  auto spec = parse(json::parse(R"({"tcpSocket": {"port": "grpc"}})"));
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::InvalidArgument);
  EXPECT_THAT(spec.error().message, HasSubstr("spec.containers[0].readinessProbe.tcpSocket.port"));
  EXPECT_THAT(spec.error().message, HasSubstr("\"grpc\""));
}

TEST(ProbeSpec, APortOutOfRangeIsRefused) {
  for (const char* port : {"0", "65536", "-1"}) {
    auto spec = parse(json::parse(std::string(R"({"httpGet": {"port": )") + port + "}}"));
    ASSERT_FALSE(spec) << port;
    EXPECT_THAT(spec.error().message, HasSubstr("httpGet.port")) << port;
  }
}

TEST(ProbeSpec, AnExecProbeKeepsItsCommand) {
  auto spec = parse(json::parse(R"({"exec": {"command": ["cat", "/tmp/healthy"]}})"));
  ASSERT_TRUE(spec) << spec.error().toString();
  EXPECT_EQ(std::get<ExecAction>(spec->handler).command,
            (std::vector<std::string>{"cat", "/tmp/healthy"}));
  auto empty = parse(json::parse(R"({"exec": {"command": []}})"));
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("readinessProbe.exec.command"));
}

TEST(ProbeSpec, AGrpcProbeIsRefusedClearly) {
  auto spec = parse(json::parse(R"({"grpc": {"port": 9000}})"));
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::InvalidArgument);
  EXPECT_THAT(spec.error().message, HasSubstr("readinessProbe.grpc"));
  EXPECT_THAT(spec.error().message, HasSubstr("not supported"));
}

TEST(ProbeSpec, NoHandlerOrTwoHandlersAreRefused) {
  auto none = parse(json::parse(R"({"periodSeconds": 1})"));
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("must specify a handler"));
  auto two = parse(json::parse(R"({"tcpSocket": {"port": 1}, "httpGet": {"port": 1}})"));
  ASSERT_FALSE(two);
  EXPECT_THAT(two.error().message, HasSubstr("more than 1 handler"));
}

TEST(ProbeSpec, LivenessAndStartupNeedASuccessThresholdOfOne) {
  auto probe = json::parse(R"({"tcpSocket": {"port": 80}, "successThreshold": 2})");
  EXPECT_TRUE(parse(probe, ProbeKind::Readiness));
  for (ProbeKind kind : {ProbeKind::Liveness, ProbeKind::Startup}) {
    auto spec = parse(probe, kind);
    ASSERT_FALSE(spec);
    EXPECT_THAT(spec.error().message, HasSubstr("successThreshold"));
  }
}

TEST(ProbeSpec, BadFieldValuesNameTheField) {
  auto negative = parse(json::parse(R"({"tcpSocket": {"port": 80}, "periodSeconds": -1})"));
  ASSERT_FALSE(negative);
  EXPECT_THAT(negative.error().message, HasSubstr("readinessProbe.periodSeconds"));
  auto text = parse(json::parse(R"({"tcpSocket": {"port": 80}, "timeoutSeconds": "1"})"));
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message, HasSubstr("readinessProbe.timeoutSeconds"));
  auto scheme = parse(json::parse(R"({"httpGet": {"port": 80, "scheme": "FTP"}})"));
  ASSERT_FALSE(scheme);
  EXPECT_THAT(scheme.error().message, HasSubstr("httpGet.scheme"));
}

TEST(ProbeTiming, AnnotationsOverrideTheSecondsFieldsOfEveryProbe) {
  auto timing = timingFromAnnotations(json::parse(R"({"annotations": {
      "rampart.io/probe-period-ms": "100", "rampart.io/probe-timeout-ms": "50",
      "rampart.io/probe-initial-delay-ms": "0", "other": "x"}})"));
  ASSERT_TRUE(timing) << timing.error().toString();
  EXPECT_EQ(timing->period, milliseconds(100));
  EXPECT_EQ(timing->timeout, milliseconds(50));
  EXPECT_EQ(timing->initial_delay, milliseconds(0));

  auto container = json::parse(R"({"name": "web", "ports": [{"name": "http", "containerPort": 80}],
      "livenessProbe": {"httpGet": {"port": "http"}, "periodSeconds": 5, "initialDelaySeconds": 3},
      "readinessProbe": {"tcpSocket": {"port": 80}}})");
  auto specs = parseContainerProbes(container, *timing, "spec.containers[0]");
  ASSERT_TRUE(specs) << specs.error().toString();
  ASSERT_TRUE(specs->liveness && specs->readiness);
  EXPECT_FALSE(specs->startup);
  for (const auto* spec : {&*specs->liveness, &*specs->readiness}) {
    EXPECT_EQ(spec->period, milliseconds(100));
    EXPECT_EQ(spec->timeout, milliseconds(50));
    EXPECT_EQ(spec->initial_delay, milliseconds(0));
  }
  EXPECT_EQ(std::get<HttpGetAction>(specs->liveness->handler).port, 80);
}

TEST(ProbeTiming, NoAnnotationsLeaveTheSecondsFields) {
  auto timing = timingFromAnnotations(json::parse(R"({"name": "p"})"));
  ASSERT_TRUE(timing);
  EXPECT_EQ(*timing, PodTiming{});
}

TEST(ProbeTiming, InvalidAnnotationValuesAreErrorsNamingTheAnnotation) {
  struct Case {
    const char* annotation;
    const char* value;
  };
  for (auto [annotation, value] :
       {Case{"rampart.io/probe-period-ms", "0"}, Case{"rampart.io/probe-period-ms", "-100"},
        Case{"rampart.io/probe-period-ms", "1.5"}, Case{"rampart.io/probe-timeout-ms", "100ms"},
        Case{"rampart.io/probe-timeout-ms", ""}, Case{"rampart.io/probe-timeout-ms", "+5"},
        Case{"rampart.io/probe-initial-delay-ms", "-1"},
        Case{"rampart.io/probe-period-ms", "99999999999999999999"}}) {
    json metadata = {{"annotations", {{annotation, value}}}};
    auto timing = timingFromAnnotations(metadata);
    ASSERT_FALSE(timing) << annotation << "=" << value;
    EXPECT_EQ(timing.error().code, ErrorCode::InvalidArgument);
    EXPECT_THAT(timing.error().message, HasSubstr(annotation));
  }
}

TEST(ProbeSpec, AContainerProbeErrorNamesTheContainerAndProbe) {
  auto container = json::parse(R"({"name": "web", "startupProbe": {"grpc": {"port": 1}}})");
  auto specs = parseContainerProbes(container, {}, "spec.containers[1]");
  ASSERT_FALSE(specs);
  EXPECT_THAT(specs.error().message, HasSubstr("spec.containers[1].startupProbe.grpc"));
}

}  // namespace
}  // namespace rampart::agent::probe
