#pragma once
// ObjectStore: API objects in etcd, with Kubernetes' storage semantics on top of store::Store.
//
// Layout: <prefix>/<group|core>/<plural>/<namespace>/<name> (cluster-scoped objects have no
// namespace part), the value the object's JSON. An object's metadata.resourceVersion is the
// etcd mod_revision of its key, so optimistic concurrency is a compare on mod_revision:
//   create  = txn(create_revision == 0 → put)                    else AlreadyExists
//   update  = txn(mod_revision == resourceVersion → put)         else FailedPrecondition (409)
//   delete  = txn(mod_revision == expected → delete, prev_kv)
// Lists are consistent snapshots: the first page is read at the latest revision and every later
// page (the `continue` token carries revision and start key) at that same revision, so a paged
// list never mixes two states; a token whose revision etcd has compacted is OutOfRange (410).
// Everything read from etcd is validated before use: a value that is not a JSON object whose
// name (and namespace) match its key is reported as Internal, never served.
// Use from the store's event loop only.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

#include "api/registry.h"
#include "api/selector.h"
#include "base/result.h"
#include "store/store.h"

namespace rampart::api {

// The field values a field selector may name for `resource`'s objects (metadata.name and
// metadata.namespace for every type, plus the ones Kubernetes supports per type: spec.nodeName
// and status.phase for pods, involvedObject.* for events, ...).
std::map<std::string, std::string> selectableFields(const ResourceInfo& resource,
                                                    const nlohmann::json& object);
// InvalidArgument ("field label not supported: x") when `selector` names an unsupported field.
Result<void> checkFieldSelector(const ResourceInfo& resource, const FieldSelector& selector);

struct ListOptions {
  int64_t limit = 0;           // 0: everything
  std::string continue_token;  // from a previous page
  LabelSelector labels;
  FieldSelector fields;
};

struct ListResult {
  std::vector<nlohmann::json> items;
  store::Revision revision = 0;      // the list's resourceVersion
  std::string continue_token;        // empty on the last page
  std::optional<int64_t> remaining;  // items after this page (only without selectors)
};

// One watch event as the API streams it: {"type": ADDED|MODIFIED|DELETED, "object": ...}.
// An object that moved into or out of the selectors becomes ADDED or DELETED, as Kubernetes'
// watch cache does. nullopt when the event does not concern the watcher.
Result<std::optional<nlohmann::json>> toWatchEvent(const ResourceInfo& resource,
                                                   const store::WatchEvent& event,
                                                   const LabelSelector& labels,
                                                   const FieldSelector& fields);

class ObjectStore {
 public:
  ObjectStore(store::Store& store, std::string prefix);

  std::string key(const ResourceInfo& resource, const std::string& ns,
                  const std::string& name) const;
  // Every object of `resource` in `ns` ("" = all namespaces).
  std::string listPrefix(const ResourceInfo& resource, const std::string& ns) const;

  boost::asio::awaitable<Result<nlohmann::json>> get(const ResourceInfo& resource, std::string ns,
                                                     std::string name);
  boost::asio::awaitable<Result<ListResult>> list(const ResourceInfo& resource, std::string ns,
                                                  ListOptions options);
  // The object must carry its name (and namespace when namespaced); returns it as stored.
  // `claims` are keys (claimKey) created in the same transaction, only if none exists yet: a
  // claim already held fails the create with FailedPrecondition (an existing object with
  // AlreadyExists). A Service's cluster IP is such a claim.
  boost::asio::awaitable<Result<nlohmann::json>> create(const ResourceInfo& resource,
                                                        nlohmann::json object,
                                                        std::vector<std::string> claims = {});
  // Replaces the object if its mod_revision is still `expected` (0: whatever it is now).
  // `claims` are created and `releases` deleted in the same transaction (a Service's node ports
  // that change); a claim already held fails the update with AlreadyExists, a stale `expected`
  // with FailedPrecondition.
  boost::asio::awaitable<Result<nlohmann::json>> update(const ResourceInfo& resource,
                                                        nlohmann::json object,
                                                        store::Revision expected,
                                                        std::vector<std::string> claims = {},
                                                        std::vector<std::string> releases = {});
  // Deletes it if its mod_revision is still `expected` (0: any); returns the deleted object.
  // `releases` (its claims) are deleted in the same transaction.
  boost::asio::awaitable<Result<nlohmann::json>> remove(const ResourceInfo& resource,
                                                        std::string ns, std::string name,
                                                        store::Revision expected,
                                                        std::vector<std::string> releases = {});

  // <prefix>/<kind>/<id>, e.g. /registry/ipaddresses/10.96.0.10.
  std::string claimKey(std::string_view kind, std::string_view id) const;
  // The ids of every claim of `kind` held now.
  boost::asio::awaitable<Result<std::vector<std::string>>> claims(std::string kind);
  // Who holds the claim <prefix>/<kind>/<id>: {resource, namespace, name} as create/update
  // wrote it; nullopt when nobody does.
  boost::asio::awaitable<Result<std::optional<nlohmann::json>>> claimHolder(std::string kind,
                                                                            std::string id);

  // Read, mutate, write with compare-and-swap; on a lost race reads again and retries, at most
  // `attempts` times (then Aborted-like FailedPrecondition). `mutate` gets the current object
  // and returns the new one, or an error that ends the update.
  using Mutation = std::function<Result<nlohmann::json>(nlohmann::json current)>;
  boost::asio::awaitable<Result<nlohmann::json>> guaranteedUpdate(const ResourceInfo& resource,
                                                                  std::string ns, std::string name,
                                                                  Mutation mutate,
                                                                  int attempts = 8);

 private:
  store::Store& store_;
  std::string prefix_;
};

// Decodes and checks a stored value: a JSON object whose metadata.name/namespace match the key's;
// sets metadata.resourceVersion from the key's mod_revision.
Result<nlohmann::json> decodeStored(const ResourceInfo& resource, const store::KeyValue& kv);

// Continue tokens: opaque to clients (base64 of the revision and the next key).
std::string encodeContinue(store::Revision revision, const std::string& next_key);
Result<std::pair<store::Revision, std::string>> decodeContinue(const std::string& token);

}  // namespace rampart::api
