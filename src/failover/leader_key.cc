#include "failover/leader_key.h"

#include <variant>

namespace rampart::failover {

using store::Compare;

store::TxnRequest takeKeyTxn(const std::string& key, const std::string& me, int64_t seen_rev) {
  store::TxnRequest txn;
  txn.compare.push_back(seen_rev == 0 ? Compare::createRevision(key, Compare::Op::Equal, 0)
                                      : Compare::modRevision(key, Compare::Op::Equal, seen_rev));
  txn.success.push_back(store::PutRequest{key, me});
  return txn;
}

store::TxnRequest adoptKeyTxn(const std::string& key, const std::string& me, int64_t seen_rev) {
  store::TxnRequest txn;
  txn.compare.push_back(Compare::valueIs(key, Compare::Op::Equal, me));
  txn.compare.push_back(Compare::modRevision(key, Compare::Op::Equal, seen_rev));
  txn.success.push_back(store::PutRequest{key, me});
  return txn;
}

store::TxnRequest heartbeatTxn(const std::string& key, const std::string& me, int64_t my_rev) {
  auto txn = adoptKeyTxn(key, me, my_rev);
  txn.failure.push_back(store::RangeRequest::single(key));
  return txn;
}

store::TxnRequest releaseKeyTxn(const std::string& key, const std::string& me) {
  store::TxnRequest txn;
  txn.compare.push_back(Compare::valueIs(key, Compare::Op::Equal, me));
  txn.success.push_back(store::DeleteRequest{key});
  return txn;
}

HeartbeatOutcome interpretHeartbeat(const store::TxnResponse& r, const std::string& me) {
  using Kind = HeartbeatOutcome::Kind;
  if (r.succeeded) {
    return {Kind::Renewed, r.revision, me};
  }
  const store::KeyValue* kv = nullptr;
  if (!r.responses.empty()) {
    if (const auto* range = std::get_if<store::RangeResponse>(&r.responses[0])) {
      kv = range->kvs.empty() ? nullptr : &range->kvs[0];
    }
  }
  if (kv && kv->value == me) {
    return {Kind::StillOurs, kv->mod_revision, me};
  }
  return {Kind::TakenOver, 0, kv ? kv->value : std::string()};
}

}  // namespace rampart::failover
