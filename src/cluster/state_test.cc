#include "cluster/state.h"

#include <gtest/gtest.h>

namespace rampart::cluster {
namespace {

ClusterState sample() {
  ClusterState s;
  s.name = "lab";
  s.zones = {"a", "b"};
  s.gateway_port = 41234;
  s.gateway_pid = 77;
  s.created = "2026-12-06T23:50:00Z";
  for (const auto& spec : planNodes({"lab", 1, 1, {"a", "b"}})) {
    s.nodes.push_back({spec, {{"agent", 100 + spec.ordinal}}});
    s.max_ordinal = spec.ordinal;
  }
  return s;
}

TEST(State, RendersAndParsesBackTheSameCluster) {
  auto parsed = parseState(renderState(sample()), "cluster.json");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->name, "lab");
  EXPECT_EQ(parsed->gateway_port, 41234);
  EXPECT_EQ(parsed->gateway_pid, 77);
  ASSERT_EQ(parsed->nodes.size(), 2u);
  EXPECT_EQ(parsed->nodes[1].spec.name, "lab-w1");
  EXPECT_EQ(parsed->nodes[1].spec.role, Role::Worker);
  EXPECT_EQ(parsed->nodes[1].pids.at("agent"), 102);
  EXPECT_EQ(parsed->masters().size(), 1u);
}

// The file names namespaces that `down` deletes: a damaged or edited file must not make it
// name anything that is not the cluster's own.
TEST(State, ANodeNameThatIsNotTheClustersIsRefused) {
  auto s = sample();
  s.nodes[1].spec.name = "host-netns";
  auto parsed = parseState(renderState(s), "cluster.json");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("nodes[1].name 'host-netns'"), std::string::npos)
      << parsed.error().message;
  s.nodes[1].spec.name = "lab-w1/../x";
  EXPECT_FALSE(parseState(renderState(s), "cluster.json"));
  s.nodes[1].spec.name = "lab-m1";  // twice
  s.nodes[1].spec.role = Role::Master;
  EXPECT_FALSE(parseState(renderState(s), "cluster.json"));
}

TEST(State, DamagedFilesAreRefusedNamingTheFileAndField) {
  EXPECT_FALSE(parseState("not json", "f"));
  EXPECT_FALSE(parseState("{\"version\": 2}", "f"));
  auto s = renderState(sample());
  auto bad_ordinal = s;
  bad_ordinal.replace(bad_ordinal.find("\"max_ordinal\": 2"), 16, "\"max_ordinal\": 1");
  auto parsed = parseState(bad_ordinal, "/d/cluster.json");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("/d/cluster.json: nodes[1].ordinal"), std::string::npos)
      << parsed.error().message;
  auto bad_pid = s;
  bad_pid.replace(bad_pid.find("101"), 3, "-5");
  EXPECT_FALSE(parseState(bad_pid, "f"));
  auto bad_name = s;
  bad_name.replace(bad_name.find("\"name\": \"lab\""), 13, "\"name\": \"../x\"");
  EXPECT_FALSE(parseState(bad_name, "f"));
}

}  // namespace
}  // namespace rampart::cluster
