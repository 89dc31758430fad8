#include "chaos/datastore.h"

namespace rampart::chaos {

std::unique_ptr<Datastore> datastoreFor(const Cluster& cluster) {
  // parseCluster admits only the kinds below.
  return cluster.kind == "rampart-redis" ? makeRedisDatastore(cluster) : makePgDatastore(cluster);
}

std::map<int, std::string> membersByPort(const Cluster& cluster) {
  std::map<int, std::string> out;
  for (const auto& m : cluster.members) {
    out[m.port] = m.name;
  }
  return out;
}

}  // namespace rampart::chaos
