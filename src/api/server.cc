#include "api/server.h"

#include <charconv>
#include <map>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include "api/handler.h"
#include "api/openapi.h"
#include "api/log_proxy.h"
#include "api/object_store.h"
#include "api/pod_exec.h"
#include "api/protobuf.h"
#include "api/registry.h"
#include "api/request_info.h"
#include "api/status.h"
#include "api/table.h"
#include "api/upgrade_proxy.h"
#include "api/watch.h"
#include "api/yaml.h"
#include "base/log.h"
#include "net/http/client.h"
#include "net/http/server.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace http = net::http;

namespace {

// A watch without timeoutSeconds still ends (kube-apiserver: --min-request-timeout 1800 s);
// clients watch again from their last resourceVersion.
constexpr auto kDefaultWatchTimeout = std::chrono::minutes(30);

std::string dumpJson(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

http::Response jsonResponse(int status, const json& body) {
  return http::Response::json(status, dumpJson(body));
}

// "application/json; charset=utf-8" → "application/json".
std::string mediaType(const std::string& header) {
  std::string type = header.substr(0, header.find(';'));
  while (!type.empty() && type.back() == ' ') {
    type.pop_back();
  }
  return type;
}

std::string nowRfc3339() { return formatRfc3339(std::chrono::system_clock::now()); }

}  // namespace

struct ApiServer::Impl {
  Impl(asio::any_io_executor ex, store::Store& s, const Clock& c, metrics::Registry& registry,
       ApiServerOptions o)
      : executor(ex),
        registry(registry),
        store(s),
        clock(c),
        options(std::move(o)),
        objects(s, options.prefix),
        handler(objects, [] { return std::chrono::system_clock::now(); }, options.service_ips,
                options.node_ports),
        http(ex),
        kubelet(ex, options.kubelet_tls),
        requests(prometheus::BuildCounter()
                     .Name("apiserver_request_total")
                     .Help("API requests by verb, resource and HTTP code")
                     .Register(registry)),
        durations(prometheus::BuildHistogram()
                      .Name("apiserver_request_duration_seconds")
                      .Help("API request latency by verb and resource (watches: until streaming)")
                      .Register(registry)),
        watchers(prometheus::BuildGauge()
                     .Name("apiserver_longrunning_requests")
                     .Help("Open watches by resource")
                     .Register(registry)),
        etcd_latency(prometheus::BuildHistogram()
                         .Name("etcd_request_duration_seconds")
                         .Help("Latency of the API server's etcd health probe (a single-key read)")
                         .Register(registry)
                         .Add({{"operation", "probe"}}, kLatencyBuckets)),
        etcd_failures(prometheus::BuildCounter()
                          .Name("apiserver_etcd_probe_failures_total")
                          .Help("etcd health probes that failed")
                          .Register(registry)
                          .Add({})) {}

  static inline const prometheus::Histogram::BucketBoundaries kLatencyBuckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

  asio::any_io_executor executor;
  metrics::Registry& registry;
  store::Store& store;
  const Clock& clock;
  ApiServerOptions options;
  ObjectStore objects;
  ApiHandler handler;
  http::Server http;
  http::Client kubelet;  // to the node agents, for pods/log
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& durations;
  prometheus::Family<prometheus::Gauge>& watchers;
  prometheus::Histogram& etcd_latency;
  prometheus::Counter& etcd_failures;
  std::optional<TimePoint> last_etcd_answer;
  bool bootstrapped = false;  // the system namespaces exist
  bool stopped = false;

  // kube-apiserver's system namespaces; true once each exists.
  asio::awaitable<bool> ensureSystemNamespaces() {
    static constexpr const char* kNames[] = {"default", "kube-system", "kube-public",
                                             "kube-node-lease"};
    for (const char* name : kNames) {
      auto info = parseRequestInfo("POST", "/api/v1/namespaces");
      json body = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
      ApiRequest request{*info, "application/json", "application/json", body.dump()};
      auto answer = co_await handler.handle(std::move(request));
      if (answer.status != 201 && answer.status != 409) {
        co_return false;
      }
    }
    co_return true;
  }

  bool ready() const {
    return bootstrapped && last_etcd_answer &&
           clock.now() - *last_etcd_answer <= options.ready_window;
  }

  void record(const std::string& verb, const std::string& resource, int code, TimePoint start) {
    requests.Add({{"verb", verb}, {"resource", resource}, {"code", std::to_string(code)}})
        .Increment();
    double seconds = std::chrono::duration<double>(clock.now() - start).count();
    durations.Add({{"verb", verb}, {"resource", resource}}, kLatencyBuckets).Observe(seconds);
  }

  Result<UserInfo> authenticate(const http::Request& request) const {
    std::string authorization = request.header("Authorization");
    if (authorization.starts_with("Bearer ") && options.tokens) {
      std::string token = authorization.substr(7);
      while (!token.empty() && token.back() == ' ') {
        token.pop_back();
      }
      return options.tokens->authenticate(token);
    }
    if (options.client_certificates && !request.client_identity.empty()) {
      return UserInfo{request.client_identity, "", {}};
    }
    return fail(ErrorCode::NotFound, "no credentials");
  }

  // `request` lives until this returns (the HTTP server awaits it).
  asio::awaitable<http::Response> serve(const http::Request& request, http::ResponseStream& out) {
    TimePoint start = clock.now();
    auto user = authenticate(request);
    if (!user) {
      record("", "", 401, start);
      co_return jsonResponse(401, statusFailure(401, "Unauthorized", "Unauthorized"));
    }
    auto info = parseRequestInfo(request.method, request.target);
    if (!info) {
      record("", "", 400, start);
      co_return jsonResponse(400, statusBadRequest(info.error().message));
    }
    if (info->path == "/metrics") {
      co_return http::Response{200, metrics::kContentType, metrics::render(registry), {}};
    }
    if (info->path == "/openapi/v2") {
      // kubectl asks for protobuf only; others get JSON (openapi.h says what it holds).
      bool protobuf = request.header("Accept").find("protobuf") != std::string::npos;
      record("get", "", 200, start);
      co_return protobuf ? http::Response{200, std::string(kOpenApiV2ProtobufType),
                                          openApiV2Protobuf(), {}}
                         : jsonResponse(200, openApiV2Json());
    }
    std::string accept = request.header("Accept");
    if (info->group.empty() && info->version == "v1" && info->resource == "pods" &&
        (info->subresource == "exec" || info->subresource == "attach") && !info->name.empty()) {
      // Any authenticated user, as every other verb here (no authorizer yet).
      auto response = co_await podExec(*info, request, out);
      record(info->verb, "pods", response.status == 0 ? 101 : response.status, start);
      co_return response;
    }
    if (info->verb == "get" && info->group.empty() && info->version == "v1" &&
        info->resource == "pods" && info->subresource == "log" && !info->name.empty()) {
      auto response = co_await podLog(*info, out);
      record("get", "pods", response.status == 0 ? 200 : response.status, start);
      co_return response;
    }
    if (info->verb == "watch") {
      const ResourceInfo* resource = findResource(info->group, info->version, info->resource);
      if (resource) {
        auto response = co_await watch(*info, *resource, wantsTable(accept), out, start);
        co_return response;
      }
    }
    std::string content_type = mediaType(request.header("Content-Type"));
    std::string body = request.body;
    if (content_type == "application/yaml" || content_type == "application/x-yaml" ||
        content_type == "text/yaml") {
      auto converted = yamlToJson(body);
      if (!converted) {
        record(info->verb, info->resource, 400, start);
        co_return jsonResponse(400, statusBadRequest(converted.error().message));
      }
      body = dumpJson(*converted);
      content_type = "application/json";
    } else if (content_type == kProtobufContentType &&
               (findResource(info->group, info->version, info->resource) != nullptr ||
                findReview(info->group, info->version, info->resource) != nullptr)) {
      // kubectl's typed clients (create namespace|deployment|..., drain's pod deletions, auth
      // whoami) send protobuf and never retry as JSON. An unserved resource stays a 404 (`auth
      // whoami` then tries the next version), as the handler answers it.
      auto converted = protobufToJson(body);
      if (!converted) {
        record(info->verb, info->resource, 400, start);
        co_return jsonResponse(400, statusBadRequest(converted.error().message));
      }
      body = dumpJson(*converted);
      content_type = "application/json";
    } else if (content_type == "application/apply-patch+yaml") {
      record(info->verb, info->resource, 415, start);
      co_return jsonResponse(
          415, statusFailure(415, "UnsupportedMediaType",
                             "server-side apply is not supported: use kubectl apply without "
                             "--server-side (client-side apply)"));
    }
    std::string verb = info->verb;
    std::string resource = info->resource;
    ApiRequest api_request{std::move(*info), content_type, accept, std::move(body), *user};
    ApiResponse answer = co_await handler.handle(std::move(api_request));
    http::Response response = jsonResponse(answer.status, answer.body);
    for (const auto& warning : answer.warnings) {
      std::string quoted;
      for (char c : warning) {
        if (c == '"' || c == '\\') {
          quoted += '\\';
        }
        quoted += (c == '\n' || c == '\r') ? ' ' : c;
      }
      response.headers.emplace_back("Warning", "299 - \"" + quoted + "\"");
    }
    if (answer.retry_after_seconds > 0) {
      response.headers.emplace_back("Retry-After", std::to_string(answer.retry_after_seconds));
    }
    record(verb, resource, answer.status, start);
    co_return response;
  }

  // pods/log: the pod and its node from etcd, then the node agent's log streamed through.
  asio::awaitable<http::Response> podLog(const RequestInfo& info, http::ResponseStream& out) {
    const ResourceInfo* pods = findResource("", "v1", "pods");
    const ResourceInfo* nodes = findResource("", "v1", "nodes");
    auto answer = [](const ApiResponse& r) {
      http::Response response = jsonResponse(r.status, r.body);
      if (r.retry_after_seconds > 0) {
        response.headers.emplace_back("Retry-After", std::to_string(r.retry_after_seconds));
      }
      return response;
    };
    auto parsed = parseLogRequest(info.query);
    if (!parsed) {
      co_return jsonResponse(400, statusBadRequest(parsed.error().message));
    }
    if (!parsed->invalid.empty()) {
      co_return jsonResponse(
          422, statusInvalid({"", "pods", "PodLogOptions", info.name}, parsed->invalid));
    }
    auto pod = co_await objects.get(*pods, info.ns, info.name);
    if (!pod) {
      co_return answer(errorResponse(pod.error(), {"", "pods", "Pod", info.name}));
    }
    if (auto container = logContainerOf(*pod, parsed->request); !container) {
      co_return jsonResponse(400, statusBadRequest(container.error().message));
    }
    std::string node_name = pod->value("/spec/nodeName"_json_pointer, std::string());
    auto node = co_await objects.get(*nodes, "", node_name);
    if (!node) {
      co_return answer(errorResponse(node.error(), {"", "nodes", "Node", node_name}));
    }
    auto target = logTargetOf(*pod, *node, parsed->request);
    if (!target) {
      co_return jsonResponse(500, statusFailure(500, "InternalError", target.error().message));
    }
    Impl* self = this;
    std::function<bool()> stopping = [self] { return self->stopped; };
    auto response = co_await proxyPodLog(executor, kubelet, std::move(*target), out, stopping);
    co_return response;
  }

  // pods/exec: the pod and its node from etcd, checked as kube-apiserver does, then the
  // client's WebSocket upgrade forwarded to the node agent and spliced (api/upgrade_proxy.h).
  asio::awaitable<http::Response> podExec(const RequestInfo& info, const http::Request& request,
                                          http::ResponseStream& out) {
    if (info.subresource == "attach") {
      co_return jsonResponse(400, statusBadRequest("attach is not supported by this server"));
    }
    const ResourceInfo* pods = findResource("", "v1", "pods");
    const ResourceInfo* nodes = findResource("", "v1", "nodes");
    auto pod = co_await objects.get(*pods, info.ns, info.name);
    if (!pod) {
      auto r = errorResponse(pod.error(), {"", "pods", "Pod", info.name});
      co_return jsonResponse(r.status, r.body);
    }
    size_t question = request.target.find('?');
    std::string raw_query =
        question == std::string::npos ? std::string() : request.target.substr(question + 1);
    std::string node_name = pod->value("/spec/nodeName"_json_pointer, std::string());
    json node = json::object();
    if (!node_name.empty()) {
      auto found = co_await objects.get(*nodes, "", node_name);
      if (!found) {
        auto r = errorResponse(found.error(), {"", "nodes", "Node", node_name});
        co_return jsonResponse(r.status, r.body);
      }
      node = std::move(*found);
    }
    auto target = execTargetOf(*pod, node, raw_query);
    if (!target) {
      if (target.error().code == ErrorCode::InvalidArgument) {
        co_return jsonResponse(400, statusBadRequest(target.error().message));
      }
      co_return jsonResponse(
          503, statusFailure(503, "ServiceUnavailable", target.error().message));
    }
    Impl* self = this;
    std::function<bool()> stopping = [self] { return self->stopped; };
    auto response = co_await proxyUpgrade(executor, options.kubelet_tls, std::move(*target),
                                          request, out, stopping);
    co_return response;
  }

  asio::awaitable<http::Response> watch(const RequestInfo& info, const ResourceInfo& resource,
                                        bool as_table, http::ResponseStream& out,
                                        TimePoint start) {
    auto params = watchParamsFrom(resource, info);
    if (!params) {
      record("watch", resource.plural, 400, start);
      co_return jsonResponse(400, statusBadRequest(params.error().message));
    }
    params->bookmark_interval = options.watch_bookmark_interval;
    Duration timeout = kDefaultWatchTimeout;
    if (auto it = info.query.find("timeoutSeconds"); it != info.query.end()) {
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(),
                                       seconds);
      if (ec != std::errc() || end != it->second.data() + it->second.size() || seconds < 0) {
        record("watch", resource.plural, 400, start);
        co_return jsonResponse(400, statusBadRequest("timeoutSeconds: Invalid value: \"" +
                                                     it->second + "\""));
      }
      if (seconds > 0) {
        timeout = std::min<Duration>(timeout, std::chrono::seconds(seconds));
      }
    }
    TimePoint deadline = clock.now() + timeout;
    WatchSession session(objects, store, clock, resource, std::move(*params));
    // The initial state (or the check of the resourceVersion) before answering, so that a
    // failure is an HTTP error, not a broken stream.
    auto first = co_await session.next(Duration::zero());
    if (!first) {
      int code = first.error().code == ErrorCode::InvalidArgument ? 400 : 503;
      record("watch", resource.plural, code, start);
      json status = code == 400 ? statusBadRequest(first.error().message)
                                : statusFailure(503, "ServiceUnavailable", first.error().message);
      http::Response response = jsonResponse(code, status);
      if (code == 503) {
        response.headers.emplace_back("Retry-After", "1");
      }
      co_return response;
    }
    record("watch", resource.plural, 200, start);
    if (!co_await out.begin(200, "application/json", {})) {
      co_return http::Response{};
    }
    auto& open_watches = watchers.Add({{"verb", "WATCH"}, {"resource", resource.plural}});
    open_watches.Increment();
    bool first_table = true;
    std::vector<json> events = std::move(*first);
    for (;;) {
      std::string chunk;
      for (auto& event : events) {
        if (as_table && event["type"] != "ERROR" && event["type"] != "BOOKMARK") {
          json table = makeTable(resource, {event["object"]}, json::object(),
                                 std::chrono::system_clock::now());
          if (!first_table) {
            table.erase("columnDefinitions");
          }
          first_table = false;
          event["object"] = std::move(table);
        }
        chunk += dumpJson(event);
        chunk += '\n';
      }
      if (!chunk.empty() && !co_await out.write(std::move(chunk))) {
        break;
      }
      if (session.done() || !out.open() || stopped || clock.now() >= deadline) {
        break;
      }
      auto next = co_await session.next(
          std::min<Duration>(std::chrono::seconds(1), deadline - clock.now()));
      if (!next) {
        log::get("api")->debug("watch ended resource={} error=\"{}\"", resource.plural,
                               next.error().message);
        break;
      }
      events = std::move(*next);
    }
    open_watches.Decrement();
    session.cancel();
    co_return http::Response{};
  }
};

ApiServer::ApiServer(asio::any_io_executor executor, store::Store& store, const Clock& clock,
                     metrics::Registry& registry, ApiServerOptions options)
    : impl_(std::make_shared<Impl>(executor, store, clock, registry, std::move(options))) {
  http::ServerOptions http_options;
  http_options.body_limit = impl_->options.body_limit;
  http_options.write_timeout = impl_->options.write_timeout;
  http_options.max_connections = 4096;
  // kube-apiserver answers an unreadable request with a Status too (kubectl prints its message).
  size_t limit = impl_->options.body_limit;
  http_options.refusal = [limit](int status) {
    if (status == 413) {
      return jsonResponse(413, statusFailure(413, "RequestEntityTooLarge",
                                             "Request entity too large: limit is " +
                                                 std::to_string(limit)));
    }
    if (status == 431) {
      return jsonResponse(431, statusFailure(431, "RequestHeaderFieldsTooLarge",
                                             "request header fields too large"));
    }
    return jsonResponse(status, statusBadRequest("the request could not be read"));
  };
  impl_->http.setOptions(http_options);
  Impl* impl = impl_.get();
  auto health = [impl](const http::Request&) {
    return impl->ready() ? http::Response::text(200, "ok")
                         : http::Response::text(500, "[-]etcd failed: no answer from etcd\n");
  };
  impl_->http.route("/healthz", health);
  impl_->http.route("/readyz", health);
  impl_->http.route("/livez", [](const http::Request&) { return http::Response::text(200, "ok"); });
  impl_->http.fallback([impl](const http::Request& request, http::ResponseStream& out) {
    return impl->serve(request, out);
  });
}

ApiServer::~ApiServer() { stop(); }

Result<void> ApiServer::useTls(const net::TlsFiles& files) { return impl_->http.useTls(files); }

Result<net::Endpoint> ApiServer::listen(const net::Endpoint& where) {
  return impl_->http.listen(where);
}

void ApiServer::stop() {
  impl_->stopped = true;
  impl_->http.stop();
}

bool ApiServer::ready() const { return impl_->ready(); }

asio::awaitable<void> ApiServer::probeEtcd() {
  auto impl = impl_;
  asio::steady_timer timer(impl->executor);
  bool was_ready = true;
  while (!impl->stopped) {
    TimePoint start = impl->clock.now();
    auto answer = co_await impl->store.range(
        store::RangeRequest::single(impl->options.prefix + "/health"));
    if (answer) {
      impl->last_etcd_answer = impl->clock.now();
      impl->etcd_latency.Observe(
          std::chrono::duration<double>(impl->clock.now() - start).count());
      if (!impl->bootstrapped) {
        impl->bootstrapped = co_await impl->ensureSystemNamespaces();
      }
    } else {
      impl->etcd_failures.Increment();
    }
    bool ready = impl->ready();
    if (ready != was_ready) {
      if (ready) {
        log::get("api")->info("etcd answers again: ready");
      } else {
        log::get("api")->warn("etcd does not answer: not ready error=\"{}\"",
                              answer ? "" : answer.error().message);
      }
      was_ready = ready;
    }
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace rampart::api
