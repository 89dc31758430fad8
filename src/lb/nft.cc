#include "lb/nft.h"

#include <sstream>

#include "runtime/process.h"

namespace rampart::lb {
namespace {

runtime::CommandResult run(std::vector<std::string> argv, const std::string& stdin_text = "") {
  return runtime::runCommand(std::move(argv), std::chrono::seconds(10), stdin_text);
}

std::string dnatRule(const KernelVirtualServer& vs) {
  std::ostringstream rule;
  rule << "    ip daddr " << vs.listen.host << " tcp dport " << vs.listen.port << " ";
  uint32_t total = 0;
  for (const auto& b : vs.backends) {
    total += b.weight;
  }
  if (total == 0) {
    rule << "reject with tcp reset\n";
    return rule.str();
  }
  rule << "dnat ip addr . port to "
       << (vs.policy == Policy::SourceHash ? "jhash ip saddr mod " : "numgen inc mod ") << total
       << " map { ";
  uint32_t slot = 0;
  for (const auto& b : vs.backends) {
    for (uint32_t w = 0; w < b.weight; ++w) {
      rule << (slot ? ", " : "") << slot << " : " << b.address.host << " . " << b.address.port;
      ++slot;
    }
  }
  rule << " }\n";
  return rule.str();
}

}  // namespace

std::string renderNftRuleset(const std::vector<KernelVirtualServer>& servers) {
  std::ostringstream out;
  // add + delete + define in one file = one transaction that replaces the table atomically.
  out << "add table ip " << kNftTable << "\n";
  out << "delete table ip " << kNftTable << "\n";
  out << "table ip " << kNftTable << " {\n";
  std::string rules;
  for (const auto& vs : servers) {
    rules += dnatRule(vs);
  }
  out << "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
      << rules << "  }\n";
  out << "  chain output {\n    type nat hook output priority -100; policy accept;\n"
      << rules << "  }\n";
  out << "}\n";
  return out.str();
}

Result<void> applyNftRuleset(const std::string& script) {
  auto r = run({"nft", "-f", "-"}, script);
  if (r.exit_code != 0) {
    return fail(ErrorCode::Unavailable, "nft rejected the rule set: ", r.output);
  }
  return ok();
}

Result<void> deleteNftTable() {
  auto r = run({"nft", "delete", "table", "ip", kNftTable});
  if (r.exit_code != 0 && r.output.find("No such file") == std::string::npos) {
    return fail(ErrorCode::Unavailable, "nft delete table: ", r.output);
  }
  return ok();
}

void flushConntrack(const net::Endpoint& vip, const net::Endpoint& backend) {
  run({"conntrack", "-D", "-p", "tcp", "--orig-dst", vip.host, "--orig-port-dst",
       std::to_string(vip.port), "--reply-src", backend.host, "--reply-port-src",
       std::to_string(backend.port)});
}

}  // namespace rampart::lb
