// Fuzzes the YAML configuration loaders: config::loadString and every role's builder on the
// resulting section (PostgreSQL and Redis members, load balancer, leader election). A config file is an
// operator's input: any text must give a config or a one-line error, never a crash, an
// exception or undefined behaviour.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "elect/campaigner.h"
#include "lb/config.h"
#include "pg/config.h"
#include "redis/member_config.h"

using namespace rampart;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto root = config::loadString(text, "fuzz.yaml");
  if (!root) {
    return 0;
  }
  (void)config::adminListen(*root, net::Endpoint{"127.0.0.1", 0});
  (void)pg::parseMemberConfig(*root);
  (void)redis::parseMemberConfig(*root);
  if (auto lb = lb::parseLbConfig(*root)) {
    (void)lb::validate(*lb);
  }
  if (auto elect = elect::parseCampaignerConfig(*root)) {
    (void)elect::validate(*elect);
  }
  return 0;
}
