#include "lb/nft.h"

#include <gtest/gtest.h>

namespace rampart::lb {
namespace {

TEST(NftRuleset, ReplacesTheTableAtomicallyAndSpreadsByWeight) {
  KernelVirtualServer vs{{"10.0.0.1", 80}, Policy::RoundRobin,
                         {{{"10.0.0.11", 8080}, 1}, {{"10.0.0.12", 8080}, 2}}};
  auto script = renderNftRuleset({vs});
  EXPECT_EQ(script.find("add table ip rampart_lb\ndelete table ip rampart_lb\n"), 0u) << script;
  EXPECT_NE(script.find("ip daddr 10.0.0.1 tcp dport 80 dnat ip addr . port to numgen inc mod 3 "
                        "map { 0 : 10.0.0.11 . 8080, 1 : 10.0.0.12 . 8080, 2 : 10.0.0.12 . 8080 }"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("hook prerouting"), std::string::npos);
  EXPECT_NE(script.find("hook output"), std::string::npos);
}

TEST(NftRuleset, SourceHashUsesJhashAndNoBackendMeansReset) {
  KernelVirtualServer hashed{{"10.0.0.1", 80}, Policy::SourceHash, {{{"10.0.0.11", 1}, 1}}};
  KernelVirtualServer empty{{"10.0.0.2", 80}, Policy::RoundRobin, {}};
  auto script = renderNftRuleset({hashed, empty});
  EXPECT_NE(script.find("jhash ip saddr mod 1"), std::string::npos) << script;
  EXPECT_NE(script.find("ip daddr 10.0.0.2 tcp dport 80 reject with tcp reset"),
            std::string::npos);
}

}  // namespace
}  // namespace rampart::lb
