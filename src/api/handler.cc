#include "api/handler.h"

#include <charconv>

#include "api/field_validation.h"
#include "api/meta.h"
#include "api/openapi.h"
#include "api/patch.h"
#include "api/registry.h"
#include "api/schema.h"
#include "api/validation.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

StatusSubject subjectOf(const ResourceInfo& r, const std::string& name) {
  return {r.group, r.plural, r.kind, name};
}

ApiResponse respond(int status, json body) { return ApiResponse{status, std::move(body), 0, {}}; }

ApiResponse badRequest(const std::string& message) {
  return respond(400, statusBadRequest(message));
}

// Kinds whose metadata.generation counts spec changes (those with an observedGeneration).
bool hasGeneration(const ResourceInfo& r) {
  return r.kind == "Deployment" || r.kind == "ReplicaSet" || r.kind == "StatefulSet" ||
         r.kind == "PodDisruptionBudget" || r.group == "rampart.io";
}

bool hasStatus(const ResourceInfo& r) { return r.subresource("status") != nullptr; }

Result<store::Revision> revisionOf(const json& object) {
  std::string rv;
  if (object.contains("/metadata/resourceVersion"_json_pointer) &&
      object["/metadata/resourceVersion"_json_pointer].is_string()) {
    rv = object["/metadata/resourceVersion"_json_pointer].get<std::string>();
  }
  if (rv.empty()) {
    return store::Revision{0};
  }
  store::Revision n = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
  if (ec != std::errc() || end != rv.data() + rv.size() || n <= 0) {
    return fail(ErrorCode::InvalidArgument, "metadata.resourceVersion: Invalid value: \"", rv,
                "\": must be a positive integer");
  }
  return n;
}

constexpr const char* kUnknownFormat =
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json, application/yaml";

Result<json> decodeBody(const std::string& body) {
  json object = json::parse(body, nullptr, false);
  if (object.is_discarded()) {
    return fail(ErrorCode::InvalidArgument, kUnknownFormat);
  }
  return object;
}

// The body parsed with its duplicate keys noted in `problems`.
Result<json> decodeBodyNotingDuplicates(const std::string& body,
                                        std::vector<std::string>& problems) {
  auto object = parseJsonCheckingDuplicates(body, problems);
  if (!object) {
    return fail(ErrorCode::InvalidArgument, kUnknownFormat);
  }
  return object;
}

// The request's fieldValidation directive (absent: Warn, as kube-apiserver since 1.23).
Result<FieldValidation> directiveOf(const ApiRequest& req) {
  auto it = req.info.query.find("fieldValidation");
  return parseFieldValidation(it == req.info.query.end() ? "" : it->second);
}

// Server-side field validation of a decoded body: unknown fields of `object` (a `kind` in
// `version` with the schema `schema_name`) are dropped, and they and the `problems` found while
// parsing (duplicate keys) fail the request under Strict or become warnings under Warn. A value
// of the wrong JSON type fails it under every directive, as kube-apiserver's decoder does.
// Returns the error response, or nullopt to go on.
std::optional<ApiResponse> checkFields(json& object, const std::string& schema_name,
                                       const std::string& kind, const std::string& version,
                                       FieldValidation directive, std::vector<std::string> problems,
                                       std::vector<std::string>& warnings) {
  auto pruned = pruneUnknownFields(object, schema_name, problems);
  if (!pruned) {
    return badRequest(kind + " in version \"" + version + "\" cannot be handled as a " + kind +
                      ": " + pruned.error().message);
  }
  if (problems.empty() || directive == FieldValidation::Ignore) {
    return std::nullopt;
  }
  if (directive == FieldValidation::Strict) {
    return badRequest(strictDecodingMessage(kind, version, problems));
  }
  warnings.insert(warnings.end(), problems.begin(), problems.end());
  return std::nullopt;
}

// The same for the result of a patch. kube-apiserver answers a patch's strict-decoding and type
// errors with 422 Invalid on the field `patch` (kubectl: `The request is invalid: patch: Invalid
// value: ...`); the value shown here is the patch as sent.
std::optional<ApiResponse> checkPatchedFields(json& patched, const std::string& schema_name,
                                              const json& patch, FieldValidation directive,
                                              std::vector<std::string> problems,
                                              std::vector<std::string>& warnings) {
  auto invalid = [&](std::string detail) {
    return respond(422,
                   statusInvalid(StatusSubject{}, {invalidField("patch", patch.dump(), detail)}));
  };
  auto pruned = pruneUnknownFields(patched, schema_name, problems);
  if (!pruned) {
    return invalid(pruned.error().message);
  }
  if (problems.empty() || directive == FieldValidation::Ignore) {
    return std::nullopt;
  }
  if (directive == FieldValidation::Strict) {
    return invalid(strictDecodingError(problems));
  }
  warnings.insert(warnings.end(), problems.begin(), problems.end());
  return std::nullopt;
}

ApiResponse withWarnings(ApiResponse response, const std::vector<std::string>& warnings) {
  response.warnings.insert(response.warnings.end(), warnings.begin(), warnings.end());
  return response;
}

std::string schemaOf(const ResourceInfo& r) { return schemaNameOf(r.group, r.version, r.kind); }

const char* kScaleSchema = "io.k8s.api.autoscaling.v1.Scale";

// GET /openapi/v3 and /openapi/v3/<group-version path>; nullopt for other paths. Only JSON is
// served: a client asking for the protobuf form alone gets 406, as from kube-apiserver when it
// cannot serve a media type.
std::optional<ApiResponse> openApiResponse(const std::string& path, const std::string& accept) {
  constexpr std::string_view kPrefix = "/openapi/v3";
  if (!path.starts_with(kPrefix)) {
    return std::nullopt;
  }
  std::string rest = path.substr(kPrefix.size());
  bool json_ok = accept.empty() || accept.find("json") != std::string::npos ||
                 accept.find("*/*") != std::string::npos;
  auto notAcceptable = [] {
    return respond(406, statusFailure(406, "NotAcceptable",
                                      "only the following media types are accepted: "
                                      "application/json"));
  };
  if (rest.empty() || rest == "/") {
    return json_ok ? respond(200, openApiIndex()) : notAcceptable();
  }
  const json* doc = openApiDocument(std::string_view(rest).substr(1));
  if (!doc) {
    return std::nullopt;
  }
  return json_ok ? respond(200, *doc) : notAcceptable();
}

// The request body as an object of `r`: kind, apiVersion and namespace checked against the URL.
Result<json> decodeObject(const ResourceInfo& r, const ApiRequest& req, Result<json> object) {
  if (!object) {
    return object;
  }
  if (!object->is_object()) {
    return fail(ErrorCode::InvalidArgument, "the body of the request must be a JSON object");
  }
  json& o = *object;
  if (o.contains("kind") && o["kind"] != r.kind) {
    return fail(ErrorCode::InvalidArgument, "the kind in the data (", o["kind"].dump(),
                ") does not match the expected kind (", r.kind, ")");
  }
  if (o.contains("apiVersion") && o["apiVersion"] != r.apiVersion()) {
    return fail(ErrorCode::InvalidArgument, "the API version in the data (",
                o["apiVersion"].is_string() ? o["apiVersion"].get<std::string>() : "?",
                ") does not match the expected API version (", r.apiVersion(), ")");
  }
  o["kind"] = r.kind;
  o["apiVersion"] = r.apiVersion();
  if (!o.contains("metadata") || !o["metadata"].is_object()) {
    o["metadata"] = json::object();
  }
  if (r.namespaced) {
    std::string ns = o["metadata"].value("namespace", "");
    if (ns.empty()) {
      o["metadata"]["namespace"] = req.info.ns;
    } else if (ns != req.info.ns) {
      return fail(ErrorCode::InvalidArgument,
                  "the namespace of the provided object does not match the namespace sent on "
                  "the request");
    }
  }
  if (!req.info.name.empty()) {
    std::string name = o["metadata"].value("name", "");
    if (name.empty()) {
      o["metadata"]["name"] = req.info.name;
    } else if (name != req.info.name) {
      return fail(ErrorCode::InvalidArgument, "the name of the object (", name,
                  ") does not match the name on the URL (", req.info.name, ")");
    }
  }
  return object;
}

bool dryRun(const ApiRequest& req) {
  auto it = req.info.query.find("dryRun");
  return it != req.info.query.end() && it->second == "All";
}

// A Scale (autoscaling/v1) view of a workload.
json scaleOf(const json& object) {
  json scale = {{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata",
                 {{"name", object["metadata"].value("name", "")},
                  {"namespace", object["metadata"].value("namespace", "")},
                  {"uid", object["metadata"].value("uid", "")},
                  {"resourceVersion", object["metadata"].value("resourceVersion", "")},
                  {"creationTimestamp", object["metadata"].value("creationTimestamp", "")}}},
                {"spec", {{"replicas", object.value("/spec/replicas"_json_pointer, 1)}}},
                {"status", {{"replicas", object.value("/status/replicas"_json_pointer, 0)}}}};
  if (object.contains("/spec/selector"_json_pointer)) {
    auto s = labelSelectorFromJson(object["/spec/selector"_json_pointer], "spec.selector");
    if (s) {
      scale["status"]["selector"] = s->toString();
    }
  }
  return scale;
}

std::string listKind(const ResourceInfo& r) { return r.kind + "List"; }

bool isTerminalPod(const json& pod) {
  std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  return phase == "Succeeded" || phase == "Failed";
}

void addFinalizer(json& object, const std::string& finalizer) {
  json& list = object["metadata"]["finalizers"];
  if (!list.is_array()) {
    list = json::array();
  }
  if (std::find(list.begin(), list.end(), finalizer) == list.end()) {
    list.push_back(finalizer);
  }
}

bool hasFinalizers(const json& object) {
  return object.contains("/metadata/finalizers"_json_pointer) &&
         object["/metadata/finalizers"_json_pointer].is_array() &&
         !object["/metadata/finalizers"_json_pointer].empty();
}

}  // namespace

ApiResponse errorResponse(const Error& error, const StatusSubject& subject) {
  switch (error.code) {
    case ErrorCode::NotFound:
      return respond(404, statusNotFound(subject));
    case ErrorCode::AlreadyExists:
      return respond(409, statusAlreadyExists(subject));
    case ErrorCode::FailedPrecondition:
      return respond(409, statusConflict(subject, error.message));
    case ErrorCode::InvalidArgument:
      return badRequest(error.message);
    case ErrorCode::OutOfRange:
      return respond(410, statusGone(error.message));
    case ErrorCode::Unavailable:
    case ErrorCode::DeadlineExceeded: {
      ApiResponse r = respond(503, statusFailure(503, "ServiceUnavailable",
                                                 "the storage is unavailable: " + error.message));
      r.retry_after_seconds = 1;
      return r;
    }
    default:
      return respond(
          500, statusFailure(500, "InternalError", "Internal error occurred: " + error.message));
  }
}

bool wantsTable(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos &&
         accept.find("g=meta.k8s.io") != std::string::npos;
}

ApiHandler::ApiHandler(ObjectStore& objects, WallClock wall_clock, Ipv4Range service_ips,
                       PortRange node_ports)
    : objects_(objects),
      wall_clock_(std::move(wall_clock)),
      service_ips_(service_ips),
      node_ports_(node_ports) {}

asio::awaitable<ApiResponse> ApiHandler::handle(ApiRequest req) {
  const RequestInfo& info = req.info;
  if (!info.resource_request) {
    const std::string& p = info.path;
    std::optional<json> doc;
    if (p == "/api" || p == "/api/") {
      doc = apiVersions();
    } else if (p == "/apis" || p == "/apis/") {
      doc = apiGroupList();
    } else if (p == "/version") {
      doc = json{{"major", "1"},
                 {"minor", "32"},
                 {"gitVersion", "v1.32.0-rampart"},
                 {"platform", "linux/amd64"},
                 {"compiler", "gc"},
                 {"goVersion", "n/a"}};
    } else if (auto openapi = openApiResponse(p, req.accept)) {
      co_return std::move(*openapi);
    } else if (p.starts_with("/api/")) {
      doc = apiResourceList("", info.version);
    } else if (p.starts_with("/apis/") && info.version.empty()) {
      doc = apiGroup(p.substr(6));
    } else if (p.starts_with("/apis/")) {
      doc = apiResourceList(info.group, info.version);
    }
    if (!doc) {
      co_return respond(
          404, statusFailure(404, "NotFound", "the server could not find the requested resource"));
    }
    co_return respond(200, *doc);
  }
  if (findReview(info.group, info.version, info.resource)) {
    if (info.verb != "create" || !info.name.empty() || !info.ns.empty()) {
      co_return respond(405, statusFailure(405, "MethodNotAllowed",
                                           info.verb + " is not supported on " + info.resource));
    }
    co_return selfSubjectReview(req);
  }
  const ResourceInfo* r = findResource(info.group, info.version, info.resource);
  bool misplaced = r && !r->namespaced && !info.ns.empty() && r->kind != "Namespace";
  if (!r || misplaced) {
    co_return respond(
        404, statusFailure(404, "NotFound", "the server could not find the requested resource"));
  }
  if (!info.subresource.empty() && !r->subresource(info.subresource)) {
    co_return respond(
        404, statusFailure(404, "NotFound", "the server could not find the requested resource"));
  }
  const std::string& verb = info.verb;
  const std::string& sub = info.subresource;
  auto unsupported = [&] {
    return respond(405, statusFailure(405, "MethodNotAllowed",
                                      verb + " is not supported on " + r->plural +
                                          (sub.empty() ? "" : "/" + sub)));
  };
  if (verb == "get" && (sub.empty() || sub == "status" || sub == "scale")) {
    co_return co_await getOne(*r, req);
  }
  if (verb == "list" && sub.empty()) {
    co_return co_await list(*r, req);
  }
  if (verb == "create" && sub.empty()) {
    co_return co_await create(*r, req);
  }
  if (verb == "create" && sub == "binding") {
    co_return co_await bind(*r, req);
  }
  if (verb == "create" && sub == "eviction") {
    co_return co_await evict(*r, req);
  }
  if (verb == "update" && (sub.empty() || sub == "status" || sub == "scale")) {
    co_return co_await update(*r, req);
  }
  if (verb == "patch" && (sub.empty() || sub == "status" || sub == "scale")) {
    co_return co_await patch(*r, req);
  }
  if (verb == "delete" && sub.empty()) {
    co_return co_await remove(*r, req);
  }
  if (verb == "deletecollection" && sub.empty()) {
    co_return co_await removeCollection(*r, req);
  }
  co_return unsupported();
}

// authentication.k8s.io/v1 SelfSubjectReview: the caller's identity as authenticated, with the
// group every authenticated user has (kube-apiserver adds system:authenticated).
ApiResponse ApiHandler::selfSubjectReview(const ApiRequest& req) {
  auto body = decodeBody(req.body);
  if (!body || !body->is_object()) {
    return badRequest("the body of the request must be a SelfSubjectReview");
  }
  if (body->contains("kind") && (*body)["kind"] != "SelfSubjectReview") {
    return badRequest("the kind in the data (" + (*body)["kind"].dump() +
                      ") does not match the expected kind (SelfSubjectReview)");
  }
  json groups = json::array();
  for (const auto& g : req.user.groups) {
    groups.push_back(g);
  }
  if (std::find(groups.begin(), groups.end(), "system:authenticated") == groups.end()) {
    groups.push_back("system:authenticated");
  }
  json user = {{"username", req.user.name}, {"groups", std::move(groups)}};
  if (!req.user.uid.empty()) {
    user["uid"] = req.user.uid;
  }
  return respond(201, json{{"kind", "SelfSubjectReview"},
                           {"apiVersion", "authentication.k8s.io/v1"},
                           {"metadata", {{"creationTimestamp", formatRfc3339(wall_clock_())}}},
                           {"status", {{"userInfo", std::move(user)}}}});
}

asio::awaitable<ApiResponse> ApiHandler::getOne(const ResourceInfo& r, const ApiRequest& req) {
  auto object = co_await objects_.get(r, req.info.ns, req.info.name);
  if (!object) {
    co_return errorResponse(object.error(), subjectOf(r, req.info.name));
  }
  if (req.info.subresource == "scale") {
    co_return respond(200, scaleOf(*object));
  }
  if (wantsTable(req.accept)) {
    co_return respond(200, makeTable(r, {*object}, json::object(), wall_clock_()));
  }
  co_return respond(200, std::move(*object));
}

asio::awaitable<ApiResponse> ApiHandler::list(const ResourceInfo& r, const ApiRequest& req) {
  ListOptions options;
  const auto& q = req.info.query;
  if (auto it = q.find("limit"); it != q.end() && !it->second.empty()) {
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), options.limit);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || options.limit < 0) {
      co_return badRequest("limit: Invalid value: \"" + it->second + "\"");
    }
  }
  if (auto it = q.find("continue"); it != q.end()) {
    options.continue_token = it->second;
  }
  if (auto it = q.find("labelSelector"); it != q.end()) {
    auto s = parseLabelSelector(it->second);
    if (!s) {
      co_return badRequest(s.error().message);
    }
    options.labels = std::move(*s);
  }
  if (auto it = q.find("fieldSelector"); it != q.end()) {
    auto s = parseFieldSelector(it->second);
    if (!s) {
      co_return badRequest(s.error().message);
    }
    options.fields = std::move(*s);
  }
  auto result = co_await objects_.list(r, req.info.ns, std::move(options));
  if (!result) {
    if (result.error().code == ErrorCode::OutOfRange) {
      co_return respond(410, statusGone("The provided continue parameter is too old to display a "
                                        "consistent list result. You can start a new list "
                                        "without the continue parameter."));
    }
    co_return errorResponse(result.error(), subjectOf(r, ""));
  }
  json meta = {{"resourceVersion", std::to_string(result->revision)}};
  if (!result->continue_token.empty()) {
    meta["continue"] = result->continue_token;
  }
  if (result->remaining) {
    meta["remainingItemCount"] = *result->remaining;
  }
  if (wantsTable(req.accept)) {
    co_return respond(200, makeTable(r, result->items, meta, wall_clock_()));
  }
  json items = json::array();
  for (auto& item : result->items) {
    items.push_back(std::move(item));
  }
  co_return respond(200, json{{"kind", listKind(r)},
                              {"apiVersion", r.apiVersion()},
                              {"metadata", meta},
                              {"items", std::move(items)}});
}

asio::awaitable<ApiResponse> ApiHandler::create(const ResourceInfo& r, const ApiRequest& req) {
  auto directive = directiveOf(req);
  if (!directive) {
    co_return badRequest(directive.error().message);
  }
  std::vector<std::string> problems;
  auto decoded = decodeObject(r, req, decodeBodyNotingDuplicates(req.body, problems));
  if (!decoded) {
    co_return badRequest(decoded.error().message);
  }
  json object = std::move(*decoded);
  std::vector<std::string> warnings;
  if (auto refused = checkFields(object, schemaOf(r), r.kind, r.version, *directive,
                                 std::move(problems), warnings)) {
    co_return withWarnings(std::move(*refused), warnings);
  }
  std::string display_name = object["metadata"].value("name", "");
  if (r.namespaced) {
    const ResourceInfo* ns = findResource("", "v1", "namespaces");
    auto exists = co_await objects_.get(*ns, "", req.info.ns);
    if (!exists) {
      co_return errorResponse(exists.error(), subjectOf(*ns, req.info.ns));
    }
    if (exists->contains("/metadata/deletionTimestamp"_json_pointer)) {
      co_return respond(403, statusFailure(403, "Forbidden",
                                           r.plural + " \"" + display_name +
                                               "\" is forbidden: unable to create new content in "
                                               "namespace " +
                                               req.info.ns + " because it is being terminated"));
    }
  }
  ServerFacts facts{formatRfc3339(wall_clock_()), randomUuid, randomNameSuffix};
  prepareForCreate(object, hasGeneration(r), facts);
  if (r.kind == "Pod") {
    object["status"] = json{{"phase", "Pending"}};
  } else if (r.kind == "PersistentVolumeClaim") {
    // Kubernetes' StorageObjectInUseProtection admission: a claim goes only once no pod uses
    // it (controller/claim_protection.h removes the finalizer).
    addFinalizer(object, "kubernetes.io/pvc-protection");
  } else if (hasGeneration(r)) {
    object.erase("status");
  }
  applyDefaults(r, object);
  FieldErrors errors = validateObject(r, object, json());
  if (!errors.empty()) {
    co_return withWarnings(
        respond(422, statusInvalid(subjectOf(r, object["metadata"].value("name", "")), errors)),
        warnings);
  }
  if (r.kind == "Service") {
    ApiResponse made = co_await createService(r, req, std::move(object));
    co_return withWarnings(std::move(made), warnings);
  }
  if (dryRun(req)) {
    co_return withWarnings(respond(201, std::move(object)), warnings);
  }
  auto created = co_await objects_.create(r, std::move(object));
  if (!created) {
    co_return withWarnings(errorResponse(created.error(), subjectOf(r, display_name)), warnings);
  }
  co_return withWarnings(respond(201, std::move(*created)), warnings);
}

asio::awaitable<ApiResponse> ApiHandler::store(const ResourceInfo& r, const ApiRequest& req,
                                               json next, const json& current, int success_status) {
  const std::string& sub = req.info.subresource;
  if (sub == "status") {
    prepareForStatusUpdate(next, current);
  } else {
    // Defaults first, as kube-apiserver defaults while decoding: a body that leaves out what the
    // server defaulted (a replaced list, a PUT of the original manifest) is not a spec change
    // and must not bump metadata.generation.
    applyDefaults(r, next);
    prepareForUpdate(next, current, hasGeneration(r), hasStatus(r));
    if (r.kind == "Service") {
      keepNodePorts(next, current);  // before validation: a type change clears them
    }
  }
  FieldErrors errors = validateObject(r, next, current);
  if (r.kind == "Service" && sub.empty()) {
    // The type's cluster IP rules (service_ip.h); updateService allocates or releases it.
    for (auto& e : clusterIpUpdateOf(next, current).errors) {
      errors.push_back(std::move(e));
    }
  }
  if (!errors.empty()) {
    co_return respond(422, statusInvalid(subjectOf(r, req.info.name), errors));
  }
  auto expected = revisionOf(next);
  if (!expected) {
    co_return badRequest(expected.error().message);
  }
  // A Service's claims follow from the version read (`current`): an unconditional write must
  // not land on a newer one, whose claims may differ (handler_service.cc's invariant).
  if (r.kind == "Service" && *expected == 0) {
    expected = revisionOf(current);
    if (!expected) {
      co_return errorResponse(Error{ErrorCode::Internal, expected.error().message},
                              subjectOf(r, req.info.name));
    }
  }
  // An object being deleted whose last finalizer went (and, for a pod, whose processes are
  // confirmed gone: grace 0) is deleted now instead of written.
  bool deleting = next.contains("/metadata/deletionTimestamp"_json_pointer);
  bool pod_pending =
      r.kind == "Pod" && next.value("/metadata/deletionGracePeriodSeconds"_json_pointer, 0) > 0;
  bool remove_now = deleting && !hasFinalizers(next) && !pod_pending;
  if (r.kind == "Service" && sub.empty() && !remove_now) {
    ApiResponse written = co_await updateService(r, req, std::move(next), current, *expected);
    co_return written;
  }
  if (dryRun(req)) {
    co_return respond(success_status, sub == "scale" ? scaleOf(next) : next);
  }
  if (remove_now) {
    // The claims held are those of the version the delete is conditional on.
    auto removed =
        co_await objects_.remove(r, req.info.ns, req.info.name, *expected, claimsOf(r, current));
    if (!removed) {
      co_return errorResponse(removed.error(), subjectOf(r, req.info.name));
    }
    co_return respond(200, std::move(*removed));
  }
  auto written = co_await objects_.update(r, std::move(next), *expected);
  if (!written) {
    co_return errorResponse(written.error(), subjectOf(r, req.info.name));
  }
  co_return respond(success_status, sub == "scale" ? scaleOf(*written) : std::move(*written));
}

asio::awaitable<ApiResponse> ApiHandler::update(const ResourceInfo& r, const ApiRequest& req) {
  auto current = co_await objects_.get(r, req.info.ns, req.info.name);
  if (!current) {
    co_return errorResponse(current.error(), subjectOf(r, req.info.name));
  }
  auto directive = directiveOf(req);
  if (!directive) {
    co_return badRequest(directive.error().message);
  }
  std::vector<std::string> problems;
  std::vector<std::string> warnings;
  json next;
  if (req.info.subresource == "scale") {
    auto scale = decodeBodyNotingDuplicates(req.body, problems);
    if (scale && scale->is_object()) {
      if (auto refused = checkFields(*scale, kScaleSchema, "Scale", "v1", *directive,
                                     std::move(problems), warnings)) {
        co_return withWarnings(std::move(*refused), warnings);
      }
    }
    if (!scale || !scale->is_object() || !scale->contains("/spec/replicas"_json_pointer)) {
      co_return badRequest("a Scale with spec.replicas is expected");
    }
    next = *current;
    next["spec"]["replicas"] = (*scale)["/spec/replicas"_json_pointer];
    if (auto rv = scale->value("/metadata/resourceVersion"_json_pointer, std::string());
        !rv.empty()) {
      next["metadata"]["resourceVersion"] = rv;
    }
  } else {
    auto decoded = decodeObject(r, req, decodeBodyNotingDuplicates(req.body, problems));
    if (!decoded) {
      co_return badRequest(decoded.error().message);
    }
    next = std::move(*decoded);
    if (auto refused = checkFields(next, schemaOf(r), r.kind, r.version, *directive,
                                   std::move(problems), warnings)) {
      co_return withWarnings(std::move(*refused), warnings);
    }
  }
  // Bound to a local first: g++ 12 mishandles temporaries around a co_await expression.
  ApiResponse stored = co_await store(r, req, std::move(next), *current, 200);
  co_return withWarnings(std::move(stored), warnings);
}

asio::awaitable<ApiResponse> ApiHandler::patch(const ResourceInfo& r, const ApiRequest& req) {
  auto type = patchTypeFromContentType(req.content_type);
  if (!type) {
    co_return respond(415, statusFailure(415, "UnsupportedMediaType",
                                         "the body of the request was in an unknown format - "
                                         "accepted media types include: "
                                         "application/json-patch+json, "
                                         "application/merge-patch+json, "
                                         "application/strategic-merge-patch+json"));
  }
  auto directive = directiveOf(req);
  if (!directive) {
    co_return badRequest(directive.error().message);
  }
  // Duplicate keys of a merge patch are reported like those of a whole object; the unknown
  // fields are those of the patched result.
  std::vector<std::string> duplicates;
  auto patch_body = decodeBodyNotingDuplicates(req.body, duplicates);
  if (!patch_body) {
    co_return badRequest(patch_body.error().message);
  }
  if (*type == PatchType::Json) {
    duplicates.clear();
  }
  // Without a resourceVersion in the patch, a lost race is retried on the new object, as
  // kube-apiserver does; with one, the patch is conditional on it.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = co_await objects_.get(r, req.info.ns, req.info.name);
    if (!current) {
      co_return errorResponse(current.error(), subjectOf(r, req.info.name));
    }
    bool scale = req.info.subresource == "scale";
    json base = scale ? scaleOf(*current) : *current;
    auto patched = applyPatch(*type, base, *patch_body);
    if (!patched) {
      co_return respond(422,
                        statusInvalid(subjectOf(r, req.info.name),
                                      {invalidField("<patch>", json(), patched.error().message)}));
    }
    std::vector<std::string> warnings;
    if (patched->is_object()) {
      auto refused = checkPatchedFields(*patched, scale ? kScaleSchema : schemaOf(r), *patch_body,
                                        *directive, duplicates, warnings);
      if (refused) {
        co_return withWarnings(std::move(*refused), warnings);
      }
    }
    json next;
    if (scale) {
      next = *current;
      next["spec"]["replicas"] = patched->value("/spec/replicas"_json_pointer, json(1));
      next["metadata"]["resourceVersion"] = patched->value(
          "/metadata/resourceVersion"_json_pointer, (*current)["metadata"]["resourceVersion"]);
    } else {
      next = std::move(*patched);
      if (next.value("/metadata/name"_json_pointer, std::string()) != req.info.name) {
        co_return badRequest("the name of the object cannot be changed by a patch");
      }
    }
    bool conditional = next.value("/metadata/resourceVersion"_json_pointer, json()) !=
                       (*current)["/metadata/resourceVersion"_json_pointer];
    ApiResponse stored = co_await store(r, req, std::move(next), *current, 200);
    ApiResponse response = withWarnings(std::move(stored), warnings);
    bool conflict = response.status == 409 && response.body.value("reason", "") == "Conflict";
    if (!conflict || conditional) {
      co_return response;
    }
  }
  co_return errorResponse(
      Error{ErrorCode::FailedPrecondition, "the object kept changing while the patch was applied"},
      subjectOf(r, req.info.name));
}

asio::awaitable<ApiResponse> ApiHandler::remove(const ResourceInfo& r, const ApiRequest& req) {
  json options = json::object();
  if (!req.body.empty()) {
    auto body = decodeBody(req.body);
    if (!body || !body->is_object()) {
      co_return badRequest("the body of a delete must be DeleteOptions");
    }
    options = std::move(*body);
  }
  const auto& q = req.info.query;
  if (auto it = q.find("gracePeriodSeconds"); it != q.end()) {
    int64_t grace = 0;
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), grace);
    if (ec != std::errc() || end != it->second.data() + it->second.size()) {
      co_return badRequest("gracePeriodSeconds: Invalid value: \"" + it->second + "\"");
    }
    options["gracePeriodSeconds"] = grace;
  }
  if (auto it = q.find("propagationPolicy"); it != q.end()) {
    options["propagationPolicy"] = it->second;
  }
  std::string policy = options.value("propagationPolicy", std::string("Background"));
  if (policy != "Background" && policy != "Foreground" && policy != "Orphan") {
    co_return respond(422,
                      statusInvalid(subjectOf(r, req.info.name),
                                    {unsupportedField("propagationPolicy", policy,
                                                      {"Background", "Foreground", "Orphan"})}));
  }
  auto current = co_await objects_.get(r, req.info.ns, req.info.name);
  if (!current) {
    co_return errorResponse(current.error(), subjectOf(r, req.info.name));
  }
  json& meta = (*current)["metadata"];
  if (options.contains("/preconditions/uid"_json_pointer) &&
      options["/preconditions/uid"_json_pointer] != meta.value("uid", "")) {
    co_return respond(409, statusConflict(subjectOf(r, req.info.name),
                                          "Precondition failed: UID in precondition: " +
                                              options["/preconditions/uid"_json_pointer].dump() +
                                              ", UID in object meta: " + meta.value("uid", "")));
  }
  // A database cluster whose terminationPolicy is DoNotTerminate is not deleted (issue 18);
  // the policy must be changed first, as KubeBlocks' webhook requires.
  if (r.group == "rampart.io" &&
      current->value("/spec/terminationPolicy"_json_pointer, std::string()) == "DoNotTerminate") {
    json s = statusFailure(403, "Forbidden",
                           r.plural + ".rampart.io \"" + req.info.name +
                               "\" is forbidden: spec.terminationPolicy is DoNotTerminate; change "
                               "it to Delete or WipeOut first");
    s["details"] = {{"name", req.info.name}, {"group", r.group}, {"kind", r.plural}};
    co_return respond(403, std::move(s));
  }
  auto expected = revisionOf(*current);
  if (!expected) {
    co_return errorResponse(Error{ErrorCode::Internal, expected.error().message},
                            subjectOf(r, req.info.name));
  }
  if (options.contains("/preconditions/resourceVersion"_json_pointer) &&
      options["/preconditions/resourceVersion"_json_pointer] != meta.value("resourceVersion", "")) {
    co_return respond(409, statusConflict(subjectOf(r, req.info.name),
                                          "the object has been modified; please apply your "
                                          "changes to the latest version and try again"));
  }
  json next = *current;
  // A bound, running pod ends gracefully: its node's agent stops it and then deletes it with
  // grace 0. Anything else goes at once unless finalizers hold it.
  int64_t grace = 0;
  if (r.kind == "Pod" && !next.value("/spec/nodeName"_json_pointer, std::string()).empty() &&
      !isTerminalPod(next)) {
    grace =
        options.value("gracePeriodSeconds",
                      next.value("/spec/terminationGracePeriodSeconds"_json_pointer, int64_t{30}));
    grace = std::max<int64_t>(grace, 0);
  }
  if (policy == "Orphan") {
    addFinalizer(next, "orphan");
  } else if (policy == "Foreground") {
    addFinalizer(next, "foregroundDeletion");
  }
  bool already = next.contains("/metadata/deletionTimestamp"_json_pointer);
  if (grace > 0 || hasFinalizers(next)) {
    if (!already ||
        grace < next.value("/metadata/deletionGracePeriodSeconds"_json_pointer, int64_t{0})) {
      next["metadata"]["deletionTimestamp"] =
          formatRfc3339(wall_clock_() + std::chrono::seconds(grace));
      next["metadata"]["deletionGracePeriodSeconds"] = grace;
    }
    if (dryRun(req)) {
      co_return respond(200, next);
    }
    auto written = co_await objects_.update(r, std::move(next), *expected);
    if (!written) {
      co_return errorResponse(written.error(), subjectOf(r, req.info.name));
    }
    co_return respond(200, std::move(*written));
  }
  if (dryRun(req)) {
    co_return respond(200, next);
  }
  auto removed =
      co_await objects_.remove(r, req.info.ns, req.info.name, *expected, claimsOf(r, next));
  if (!removed) {
    co_return errorResponse(removed.error(), subjectOf(r, req.info.name));
  }
  co_return respond(200, std::move(*removed));
}

asio::awaitable<ApiResponse> ApiHandler::removeCollection(const ResourceInfo& r,
                                                          const ApiRequest& req) {
  ApiRequest listing = req;
  listing.accept = "application/json";
  ApiResponse listed = co_await list(r, listing);
  if (listed.status != 200) {
    co_return listed;
  }
  for (const auto& item : listed.body["items"]) {
    ApiRequest one = req;
    one.info.verb = "delete";
    one.info.name = item["metadata"].value("name", "");
    one.info.ns = item["metadata"].value("namespace", "");
    ApiResponse deleted = co_await remove(r, one);
    if (deleted.status != 200 && deleted.status != 404) {
      co_return deleted;
    }
  }
  co_return respond(200, statusSuccess(subjectOf(r, "")));
}

asio::awaitable<ApiResponse> ApiHandler::bind(const ResourceInfo& r, const ApiRequest& req) {
  auto binding = decodeBody(req.body);
  if (!binding || !binding->is_object() || !binding->contains("/target/name"_json_pointer) ||
      !(*binding)["/target/name"_json_pointer].is_string()) {
    co_return badRequest("a Binding with target.name is expected");
  }
  std::string node = (*binding)["/target/name"_json_pointer].get<std::string>();
  std::string now = formatRfc3339(wall_clock_());
  // Bound to a local first: g++ 12 miscompiles a capturing lambda inside a co_await expression.
  ObjectStore::Mutation assign = [&](json pod) -> Result<json> {
    if (pod.contains("/metadata/deletionTimestamp"_json_pointer)) {
      return fail(ErrorCode::FailedPrecondition, "pod ", req.info.name, " is being deleted");
    }
    std::string current = pod.value("/spec/nodeName"_json_pointer, std::string());
    if (!current.empty()) {
      return fail(ErrorCode::FailedPrecondition, "pod ", req.info.name,
                  " is already assigned to node \"", current, "\"");
    }
    pod["spec"]["nodeName"] = node;
    json& conditions = pod["status"]["conditions"];
    json kept = json::array();
    if (conditions.is_array()) {
      for (auto& c : conditions) {
        if (c.value("type", "") != "PodScheduled") {
          kept.push_back(std::move(c));
        }
      }
    }
    kept.push_back({{"type", "PodScheduled"},
                    {"status", "True"},
                    {"lastProbeTime", nullptr},
                    {"lastTransitionTime", now}});
    conditions = std::move(kept);
    return pod;
  };
  auto bound = co_await objects_.guaranteedUpdate(r, req.info.ns, req.info.name, assign);
  if (!bound) {
    co_return errorResponse(bound.error(), subjectOf(r, req.info.name));
  }
  co_return respond(201, statusSuccess(subjectOf(r, req.info.name)));
}

}  // namespace rampart::api
