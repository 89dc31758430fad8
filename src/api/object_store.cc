#include "api/object_store.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "store/etcd_codec.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;
using store::Compare;
using store::Revision;

namespace {

std::string fieldText(const json& object, const json::json_pointer& at) {
  if (!object.contains(at)) {
    return "";
  }
  const json& v = object[at];
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? "true" : "false";
  }
  return v.is_null() ? "" : v.dump();
}

// Field labels by kind, beside metadata.name and metadata.namespace (Kubernetes' own sets).
std::vector<std::string> extraFields(const std::string& kind) {
  if (kind == "Pod") {
    return {
        "spec.nodeName",    "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase",       "status.podIP",       "status.nominatedNodeName"};
  }
  if (kind == "Event") {
    return {"involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type"};
  }
  if (kind == "Node") {
    return {"spec.unschedulable"};
  }
  if (kind == "Secret") {
    return {"type"};
  }
  if (kind == "Namespace") {
    return {"status.phase"};
  }
  if (kind == "ReplicaSet") {
    return {"status.replicas"};
  }
  return {};
}

json::json_pointer pointerOf(const std::string& dotted) {
  std::string p;
  for (char c : dotted) {
    p += c == '.' ? '/' : c;
  }
  return json::json_pointer("/" + p);
}

std::string namespaceOf(const json& object) {
  return fieldText(object, "/metadata/namespace"_json_pointer);
}
std::string nameOf(const json& object) { return fieldText(object, "/metadata/name"_json_pointer); }

Result<Revision> storedRevision(const json& object) {
  std::string rv = fieldText(object, "/metadata/resourceVersion"_json_pointer);
  if (rv.empty()) {
    return Revision{0};
  }
  Revision n = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
  if (ec != std::errc() || end != rv.data() + rv.size() || n <= 0) {
    return fail(ErrorCode::InvalidArgument, "metadata.resourceVersion: Invalid value: \"", rv,
                "\": must be a positive integer");
  }
  return n;
}

Labels labelsOf(const json& object) {
  Labels labels;
  if (object.contains("/metadata/labels"_json_pointer)) {
    for (const auto& [k, v] : object["/metadata/labels"_json_pointer].items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  return labels;
}

// The text stored in etcd: the object without its resourceVersion (the key's revision is).
std::string encodeStored(json object) {
  if (object.contains("metadata") && object["metadata"].is_object()) {
    object["metadata"].erase("resourceVersion");
  }
  return object.dump();
}

// Why a conditional write's compare failed, from the key's read in the failure branch: the object
// is gone (NotFound) or was changed since the caller read it (FailedPrecondition: 409 Conflict).
Error lostCompare(const ResourceInfo& resource, const std::string& name,
                  const store::TxnResponse& response) {
  const auto* current = response.responses.empty()
                            ? nullptr
                            : std::get_if<store::RangeResponse>(&response.responses.front());
  if (!current || current->kvs.empty()) {
    return Error{ErrorCode::NotFound, resource.plural + " \"" + name + "\" not found"};
  }
  return Error{ErrorCode::FailedPrecondition,
               "the object has been modified; please apply your changes to the latest version "
               "and try again"};
}

}  // namespace

std::map<std::string, std::string> selectableFields(const ResourceInfo& resource,
                                                    const json& object) {
  std::map<std::string, std::string> out;
  out["metadata.name"] = nameOf(object);
  if (resource.namespaced) {
    out["metadata.namespace"] = namespaceOf(object);
  }
  for (const auto& field : extraFields(resource.kind)) {
    if (field == "source") {
      out[field] = fieldText(object, "/source/component"_json_pointer);
    } else {
      out[field] = fieldText(object, pointerOf(field));
    }
  }
  return out;
}

Result<void> checkFieldSelector(const ResourceInfo& resource, const FieldSelector& selector) {
  auto supported = extraFields(resource.kind);
  for (const auto& r : selector.requirements()) {
    bool known = r.field == "metadata.name" ||
                 (resource.namespaced && r.field == "metadata.namespace") ||
                 std::find(supported.begin(), supported.end(), r.field) != supported.end();
    if (!known) {
      return fail(ErrorCode::InvalidArgument, "field label not supported: ", r.field);
    }
  }
  return ok();
}

Result<json> decodeStored(const ResourceInfo& resource, const store::KeyValue& kv) {
  json object = json::parse(kv.value, nullptr, false);
  if (object.is_discarded() || !object.is_object() || !object.contains("metadata") ||
      !object["metadata"].is_object()) {
    return fail(ErrorCode::Internal, "stored object at ", kv.key, " is not a JSON object");
  }
  std::string name = nameOf(object);
  std::string ns = namespaceOf(object);
  std::string suffix = resource.namespaced ? "/" + ns + "/" + name : "/" + name;
  if (name.empty() || (resource.namespaced && ns.empty()) || !kv.key.ends_with(suffix)) {
    return fail(ErrorCode::Internal, "stored object at ", kv.key, " names ",
                resource.namespaced ? ns + "/" : "", name, ", not its key");
  }
  object["metadata"]["resourceVersion"] = std::to_string(kv.mod_revision);
  return object;
}

std::string encodeContinue(Revision revision, const std::string& next_key) {
  json token = {{"v", "meta.k8s.io/v1"}, {"rv", revision}, {"start", next_key}};
  return store::etcd::base64Encode(token.dump());
}

Result<std::pair<Revision, std::string>> decodeContinue(const std::string& token) {
  auto text = store::etcd::base64Decode(token);
  json parsed = text ? json::parse(*text, nullptr, false) : json();
  if (!text || parsed.is_discarded() || !parsed.is_object() ||
      parsed.value("v", "") != "meta.k8s.io/v1" || !parsed.contains("rv") ||
      !parsed["rv"].is_number_integer() || parsed["rv"].get<Revision>() <= 0 ||
      !parsed.contains("start") || !parsed["start"].is_string()) {
    return fail(ErrorCode::InvalidArgument, "continue key is not valid: ", token);
  }
  return std::pair{parsed["rv"].get<Revision>(), parsed["start"].get<std::string>()};
}

Result<std::optional<json>> toWatchEvent(const ResourceInfo& resource,
                                         const store::WatchEvent& event,
                                         const LabelSelector& labels, const FieldSelector& fields) {
  auto matches = [&](const json& object) {
    return labels.matches(labelsOf(object)) && fields.matches(selectableFields(resource, object));
  };
  std::optional<json> before;
  if (event.prev_kv) {
    auto prev = decodeStored(resource, *event.prev_kv);
    if (!prev) {
      return fail(prev.error());
    }
    before = std::move(*prev);
  }
  if (event.type == store::WatchEvent::Type::Delete) {
    if (!before || !matches(*before)) {
      return std::optional<json>{};
    }
    // A deleted object is shown as it last was, at the deletion's revision.
    (*before)["metadata"]["resourceVersion"] = std::to_string(event.kv.mod_revision);
    return std::optional<json>(json{{"type", "DELETED"}, {"object", std::move(*before)}});
  }
  auto now = decodeStored(resource, event.kv);
  if (!now) {
    return fail(now.error());
  }
  bool was = before && matches(*before);
  bool is = matches(*now);
  if (!was && !is) {
    return std::optional<json>{};
  }
  if (was && !is) {
    return std::optional<json>(json{{"type", "DELETED"}, {"object", std::move(*now)}});
  }
  const char* type =
      event.kv.create_revision == event.kv.mod_revision || !was ? "ADDED" : "MODIFIED";
  return std::optional<json>(json{{"type", type}, {"object", std::move(*now)}});
}

ObjectStore::ObjectStore(store::Store& store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

std::string ObjectStore::listPrefix(const ResourceInfo& resource, const std::string& ns) const {
  std::string p = prefix_ + "/" + (resource.group.empty() ? "core" : resource.group) + "/" +
                  resource.plural + "/";
  if (resource.namespaced && !ns.empty()) {
    p += ns + "/";
  }
  return p;
}

std::string ObjectStore::key(const ResourceInfo& resource, const std::string& ns,
                             const std::string& name) const {
  return listPrefix(resource, resource.namespaced ? ns : "") + name;
}

asio::awaitable<Result<json>> ObjectStore::get(const ResourceInfo& resource, std::string ns,
                                               std::string name) {
  auto r = co_await store_.range(store::RangeRequest::single(key(resource, ns, name)));
  if (!r) {
    co_return fail(r.error());
  }
  if (r->kvs.empty()) {
    co_return fail(ErrorCode::NotFound, resource.plural, " \"", name, "\" not found");
  }
  co_return decodeStored(resource, r->kvs.front());
}

asio::awaitable<Result<ListResult>> ObjectStore::list(const ResourceInfo& resource, std::string ns,
                                                      ListOptions options) {
  if (auto f = checkFieldSelector(resource, options.fields); !f) {
    co_return fail(f.error());
  }
  std::string prefix = listPrefix(resource, ns);
  std::string end = store::prefixEnd(prefix);
  std::string start = prefix;
  Revision revision = 0;
  if (!options.continue_token.empty()) {
    auto token = decodeContinue(options.continue_token);
    if (!token) {
      co_return fail(token.error());
    }
    revision = token->first;
    start = token->second;
    if (!start.starts_with(prefix)) {
      co_return fail(ErrorCode::InvalidArgument,
                     "continue key is not valid: it belongs to "
                     "another list");
    }
  }
  bool filtered = !options.labels.empty() || !options.fields.empty();
  ListResult out;
  // Pages are read in chunks of the limit until enough items matched (selectors filter after
  // reading, as in Kubernetes), each chunk at the list's one revision.
  for (;;) {
    store::RangeRequest request{
        .key = start, .range_end = end, .limit = options.limit, .revision = revision};
    auto r = co_await store_.range(request);
    if (!r) {
      co_return fail(r.error());
    }
    if (revision == 0) {
      revision = r->revision;
    }
    bool page_full = false;
    size_t consumed = 0;
    for (const auto& kv : r->kvs) {
      auto object = decodeStored(resource, kv);
      if (!object) {
        co_return fail(object.error());
      }
      ++consumed;
      start = kv.key + std::string(1, '\0');
      if (options.labels.matches(labelsOf(*object)) &&
          options.fields.matches(selectableFields(resource, *object))) {
        out.items.push_back(std::move(*object));
      }
      if (options.limit > 0 && static_cast<int64_t>(out.items.size()) >= options.limit) {
        page_full = true;
        break;
      }
    }
    if (page_full) {
      if (consumed < r->kvs.size() || r->more) {
        out.continue_token = encodeContinue(revision, start);
        if (!filtered) {
          out.remaining = r->count - static_cast<int64_t>(consumed);
        }
      }
      break;
    }
    if (!r->more) {
      break;
    }
  }
  out.revision = revision;
  co_return out;
}

asio::awaitable<Result<json>> ObjectStore::create(const ResourceInfo& resource, json object,
                                                  std::vector<std::string> claims) {
  std::string name = nameOf(object);
  std::string ns = namespaceOf(object);
  if (name.empty() || (resource.namespaced && ns.empty())) {
    co_return fail(ErrorCode::InvalidArgument, "an object to create needs metadata.name",
                   resource.namespaced ? " and metadata.namespace" : "");
  }
  std::string k = key(resource, ns, name);
  store::TxnRequest txn;
  txn.compare.push_back(Compare::createRevision(k, Compare::Op::Equal, 0));
  txn.success.push_back(store::PutRequest{.key = k, .value = encodeStored(object)});
  txn.failure.push_back(store::RangeRequest{.key = k, .keys_only = true});
  json owner = {{"resource", resource.plural}, {"namespace", ns}, {"name", name}};
  for (const auto& claim : claims) {
    txn.compare.push_back(Compare::createRevision(claim, Compare::Op::Equal, 0));
    txn.success.push_back(store::PutRequest{.key = claim, .value = owner.dump()});
  }
  auto r = co_await store_.txn(std::move(txn));
  if (!r) {
    co_return fail(r.error());
  }
  if (!r->succeeded) {
    const auto* existing = r->responses.empty()
                               ? nullptr
                               : std::get_if<store::RangeResponse>(&r->responses.front());
    if (claims.empty() || (existing && !existing->kvs.empty())) {
      co_return fail(ErrorCode::AlreadyExists, resource.plural, " \"", name, "\" already exists");
    }
    co_return fail(ErrorCode::FailedPrecondition, "a claim of ", resource.plural, " \"", name,
                   "\" is held already");
  }
  object["metadata"]["resourceVersion"] = std::to_string(r->revision);
  co_return object;
}

asio::awaitable<Result<json>> ObjectStore::update(const ResourceInfo& resource, json object,
                                                  Revision expected,
                                                  std::vector<std::string> claims,
                                                  std::vector<std::string> releases) {
  std::string name = nameOf(object);
  std::string ns = namespaceOf(object);
  std::string k = key(resource, ns, name);
  store::TxnRequest txn;
  if (expected > 0) {
    txn.compare.push_back(Compare::modRevision(k, Compare::Op::Equal, expected));
  } else {
    txn.compare.push_back(Compare::createRevision(k, Compare::Op::Greater, 0));
  }
  txn.success.push_back(store::PutRequest{.key = k, .value = encodeStored(object)});
  txn.failure.push_back(store::RangeRequest::single(k));
  json owner = {{"resource", resource.plural}, {"namespace", ns}, {"name", name}};
  for (const auto& claim : claims) {
    txn.compare.push_back(Compare::createRevision(claim, Compare::Op::Equal, 0));
    txn.success.push_back(store::PutRequest{.key = claim, .value = owner.dump()});
  }
  for (const auto& release : releases) {
    txn.success.push_back(store::DeleteRequest{.key = release});
  }
  auto r = co_await store_.txn(std::move(txn));
  if (!r) {
    co_return fail(r.error());
  }
  if (!r->succeeded) {
    // The object as it is now: unchanged since `expected` means a claim was the compare lost.
    const auto* now = r->responses.empty()
                          ? nullptr
                          : std::get_if<store::RangeResponse>(&r->responses.front());
    if (!claims.empty() && now && !now->kvs.empty() &&
        (expected == 0 || now->kvs.front().mod_revision == expected)) {
      co_return fail(ErrorCode::AlreadyExists, "a claim of ", resource.plural, " \"", name,
                     "\" is held already");
    }
    co_return fail(lostCompare(resource, name, *r));
  }
  object["metadata"]["resourceVersion"] = std::to_string(r->revision);
  co_return object;
}

asio::awaitable<Result<json>> ObjectStore::remove(const ResourceInfo& resource, std::string ns,
                                                  std::string name, Revision expected,
                                                  std::vector<std::string> releases) {
  std::string k = key(resource, ns, name);
  store::TxnRequest txn;
  txn.compare.push_back(expected > 0 ? Compare::modRevision(k, Compare::Op::Equal, expected)
                                     : Compare::createRevision(k, Compare::Op::Greater, 0));
  txn.success.push_back(store::DeleteRequest{.key = k, .prev_kv = true});
  for (const auto& release : releases) {
    txn.success.push_back(store::DeleteRequest{.key = release});
  }
  txn.failure.push_back(store::RangeRequest::single(k));
  auto r = co_await store_.txn(std::move(txn));
  if (!r) {
    co_return fail(r.error());
  }
  if (!r->succeeded) {
    co_return fail(lostCompare(resource, name, *r));
  }
  const auto* deleted = std::get_if<store::DeleteResponse>(&r->responses.front());
  if (!deleted || deleted->prev_kvs.empty()) {
    co_return fail(ErrorCode::Internal, "delete of ", k, " returned no previous value");
  }
  auto object = decodeStored(resource, deleted->prev_kvs.front());
  if (object) {
    (*object)["metadata"]["resourceVersion"] = std::to_string(r->revision);
  }
  co_return object;
}

std::string ObjectStore::claimKey(std::string_view kind, std::string_view id) const {
  return prefix_ + "/" + std::string(kind) + "/" + std::string(id);
}

asio::awaitable<Result<std::vector<std::string>>> ObjectStore::claims(std::string kind) {
  std::string p = claimKey(kind, "");
  store::RangeRequest request = store::RangeRequest::prefix(p);
  request.keys_only = true;
  auto r = co_await store_.range(std::move(request));
  if (!r) {
    co_return fail(r.error());
  }
  std::vector<std::string> ids;
  for (const auto& kv : r->kvs) {
    ids.push_back(kv.key.substr(p.size()));
  }
  co_return ids;
}

asio::awaitable<Result<json>> ObjectStore::guaranteedUpdate(const ResourceInfo& resource,
                                                            std::string ns, std::string name,
                                                            Mutation mutate, int attempts) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto current = co_await get(resource, ns, name);
    if (!current) {
      co_return fail(current.error());
    }
    auto revision = storedRevision(*current);
    if (!revision) {
      co_return fail(revision.error());
    }
    auto next = mutate(*current);
    if (!next) {
      co_return fail(next.error());
    }
    if (*next == *current) {
      co_return *current;  // nothing to write: no new revision, no watch event
    }
    auto written = co_await update(resource, std::move(*next), *revision);
    if (written || written.error().code != ErrorCode::FailedPrecondition) {
      co_return written;
    }
  }
  co_return fail(ErrorCode::FailedPrecondition, "update of ", resource.plural, " \"", name,
                 "\" lost ", std::to_string(attempts), " races in a row");
}

asio::awaitable<Result<std::optional<json>>> ObjectStore::claimHolder(std::string kind,
                                                                    std::string id) {
  store::RangeRequest request = store::RangeRequest::single(claimKey(kind, id));
  auto r = co_await store_.range(std::move(request));
  if (!r) {
    co_return fail(r.error());
  }
  if (r->kvs.empty()) {
    co_return std::optional<json>();
  }
  json holder = json::parse(r->kvs.front().value, nullptr, false);
  if (holder.is_discarded()) {
    co_return fail(ErrorCode::Internal, "claim ", claimKey(kind, id), " holds no JSON owner");
  }
  co_return std::optional<json>(std::move(holder));
}

}  // namespace rampart::api
