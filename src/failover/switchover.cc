#include "failover/switchover.h"

namespace rampart::failover {

TargetChoice chooseTarget(const std::string& me, const SwitchoverRecord& request,
                          const std::map<std::string, MemberRecord>& members) {
  if (!request.to.empty()) {
    if (request.to == me) {
      return {"", "the target " + me + " already leads"};
    }
    auto it = members.find(request.to);
    if (it == members.end()) {
      return {"", "the target " + request.to + " has no status in the store (not running)"};
    }
    if (it->second.role != "replica") {
      return {"", "the target " + request.to + " is " + it->second.role + ", not a replica"};
    }
    return {request.to, "the requested target"};
  }
  const std::pair<const std::string, MemberRecord>* best = nullptr;
  for (const auto& entry : members) {
    if (entry.first == me || entry.second.role != "replica") {
      continue;
    }
    // std::map iterates by name, so a tie keeps the smaller name.
    if (!best || entry.second.position > best->second.position) {
      best = &entry;
    }
  }
  if (!best) {
    return {"", "no running replica to hand over to"};
  }
  return {best->first, "the most advanced replica"};
}

store::TxnRequest handoverTxn(const std::string& leader_key, const std::string& switchover_key,
                              const std::string& me, int64_t switchover_rev,
                              const SwitchoverRecord& handed) {
  using store::Compare;
  store::TxnRequest txn;
  txn.compare.push_back(Compare::valueIs(leader_key, Compare::Op::Equal, me));
  txn.compare.push_back(Compare::modRevision(switchover_key, Compare::Op::Equal, switchover_rev));
  txn.success.push_back(store::PutRequest{leader_key, handed.to});
  txn.success.push_back(store::PutRequest{switchover_key, encodeSwitchover(handed)});
  return txn;
}

}  // namespace rampart::failover
