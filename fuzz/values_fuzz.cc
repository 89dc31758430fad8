// Fuzzes the decoders of single values that come from etcd or a peer: a PostgreSQL member's
// status and the cluster's sync/config/switchover/history keys (pg/state.h), a WAL position,
// the REST API's lag parameter (pg/rest.h), a balancer backend taken from an etcd key
// (lb/etcd_source.h), host:port and durations, the chaos checker's cluster.json
// (chaos/cluster.h), and the failover engine's member status, operator requests and history
// (failover/engine.h, failover/requests.h, failover/history.h). Any bytes must give a value or an error, never a crash, an exception or
// undefined behaviour; what decodes must survive its own encoding unchanged. The first byte
// picks the decoder, the rest is the value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/duration.h"
#include "chaos/cluster.h"
#include "failover/engine.h"
#include "failover/history.h"
#include "failover/requests.h"
#include "lb/etcd_source.h"
#include "net/endpoint.h"
#include "pg/rest.h"
#include "pg/state.h"

using namespace rampart;

namespace {

// decode(encode(decode(text))) == decode(text).
template <typename T, typename Decode>
void roundTrip(const Result<T>& first, Decode decode) {
  if (!first) {
    return;
  }
  auto again = decode(pg::encode(*first));
  if (!again || !(*again == *first)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 15) {
    case 0:
      roundTrip(pg::decodeMemberStatus(value), pg::decodeMemberStatus);
      break;
    case 1:
      roundTrip(pg::decodeSyncState(value), pg::decodeSyncState);
      break;
    case 2:
      (void)pg::decodeClusterSettings(value);
      break;
    case 3:
      (void)pg::decodeSwitchoverRequest(value);
      break;
    case 4:
      (void)pg::decodeFailoverEvent(value);
      break;
    case 5: {
      auto lsn = pg::parseLsn(value);
      if (lsn && pg::parseLsn(pg::formatLsn(*lsn)).value_or(~*lsn) != *lsn) {
        std::abort();
      }
      break;
    }
    case 6:
      (void)pg::parseLag(value);
      break;
    case 7:
      (void)lb::parseBackendValue("/rampart/lb/fuzz", value);
      break;
    case 8:
      (void)net::parseEndpoint(value);
      break;
    case 9:
      (void)parseDuration(value);
      break;
    case 10: {
      auto s = failover::decodeSwitchover(value);
      if (s && failover::decodeSwitchover(failover::encodeSwitchover(*s)).value_or(
                   failover::SwitchoverRecord{"~"}) != *s) {
        std::abort();
      }
      break;
    }
    case 11: {
      auto s = failover::decodeSettings(value);
      if (s && failover::decodeSettings(failover::encodeSettings(*s))->paused != s->paused) {
        std::abort();
      }
      break;
    }
    case 12: {
      auto h = failover::decodeHistory(value);
      if (h) {
        // Encoding keeps the newest kHistoryLength.
        size_t from = h->size() > failover::kHistoryLength ? h->size() - failover::kHistoryLength : 0;
        std::vector<failover::FailoverEvent> kept(h->begin() + static_cast<std::ptrdiff_t>(from),
                                                  h->end());
        auto again = failover::decodeHistory(failover::encodeHistory(*h));
        if (!again || *again != kept) {
          std::abort();
        }
      }
      break;
    }
    case 13: {
      auto m = failover::decodeMember(value);
      if (m && failover::decodeMember(failover::encodeMember(*m)).value_or(
                   failover::MemberRecord{}) != *m) {
        std::abort();
      }
      break;
    }
    default:
      (void)chaos::parseCluster(value, "cluster.json");
      break;
  }
  return 0;
}
