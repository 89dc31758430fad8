#include "api/watch.h"

#include <charconv>

#include "api/status.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

bool truthy(const std::map<std::string, std::string>& query, const std::string& key) {
  auto it = query.find(key);
  return it != query.end() && (it->second == "true" || it->second == "1");
}

}  // namespace

Result<WatchParams> watchParamsFrom(const ResourceInfo& resource, const RequestInfo& info) {
  WatchParams params;
  params.ns = info.ns;
  const auto& q = info.query;
  if (auto it = q.find("resourceVersion"); it != q.end()) {
    params.resource_version = it->second;
  }
  if (auto it = q.find("labelSelector"); it != q.end()) {
    auto s = parseLabelSelector(it->second);
    if (!s) {
      return fail(s.error());
    }
    params.labels = std::move(*s);
  }
  std::string fields;
  if (auto it = q.find("fieldSelector"); it != q.end()) {
    fields = it->second;
  }
  if (!info.name.empty()) {
    fields = fields.empty() ? "metadata.name=" + info.name
                            : fields + ",metadata.name=" + info.name;
  }
  if (!fields.empty()) {
    auto s = parseFieldSelector(fields);
    if (!s) {
      return fail(s.error());
    }
    if (auto checked = checkFieldSelector(resource, *s); !checked) {
      return fail(checked.error());
    }
    params.fields = std::move(*s);
  }
  params.bookmarks = truthy(q, "allowWatchBookmarks");
  return params;
}

WatchSession::WatchSession(ObjectStore& objects, store::Store& store, const Clock& clock,
                           const ResourceInfo& resource, WatchParams params)
    : objects_(objects),
      store_(store),
      clock_(clock),
      resource_(resource),
      params_(std::move(params)) {}

WatchSession::~WatchSession() { cancel(); }

void WatchSession::cancel() {
  if (watch_) {
    watch_->cancel();
  }
  done_ = true;
}

json WatchSession::errorEvent(const json& status) {
  done_ = true;
  return json{{"type", "ERROR"}, {"object", status}};
}

store::Async<std::vector<json>> WatchSession::initialEvents() {
  std::vector<json> events;
  const std::string& rv = params_.resource_version;
  store::Revision from = 0;
  if (rv.empty() || rv == "0") {
    ListOptions options;
    options.labels = params_.labels;
    options.fields = params_.fields;
    auto listed = co_await objects_.list(resource_, params_.ns, std::move(options));
    if (!listed) {
      co_return fail(listed.error());
    }
    for (auto& item : listed->items) {
      events.push_back(json{{"type", "ADDED"}, {"object", std::move(item)}});
    }
    last_revision_ = listed->revision;
    from = listed->revision + 1;
  } else {
    store::Revision n = 0;
    auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
    if (ec != std::errc() || end != rv.data() + rv.size() || n < 0) {
      co_return fail(ErrorCode::InvalidArgument, "resourceVersion: Invalid value: \"", rv,
                     "\": must be a non-negative integer");
    }
    last_revision_ = n;
    from = n + 1;
  }
  auto request = store::WatchRequest::prefix(objects_.listPrefix(resource_, params_.ns), from);
  request.prev_kv = true;  // selectors need the previous state to turn moves into ADDED/DELETED
  watch_ = store_.watch(std::move(request));
  last_sent_ = clock_.now();
  co_return events;
}

store::Async<std::vector<json>> WatchSession::next(Duration max_wait) {
  if (done_) {
    co_return std::vector<json>{};
  }
  if (!started_) {
    started_ = true;
    auto initial = co_await initialEvents();
    if (!initial) {
      done_ = true;
      co_return fail(initial.error());
    }
    if (!initial->empty()) {
      co_return std::move(*initial);
    }
  }
  Duration wait = max_wait;
  if (params_.bookmarks) {
    auto until_bookmark = params_.bookmark_interval - (clock_.now() - last_sent_);
    wait = std::max(Duration::zero(), std::min(wait, Duration(until_bookmark)));
  }
  auto batch = co_await watch_->next(wait);
  if (!batch) {
    done_ = true;
    co_return fail(batch.error());
  }
  std::vector<json> events;
  if (batch->compacted) {
    events.push_back(errorEvent(statusGone("too old resource version: " +
                                           std::to_string(last_revision_) + " (" +
                                           std::to_string(batch->compact_revision) + ")")));
    co_return events;
  }
  for (const auto& event : batch->events) {
    auto converted = toWatchEvent(resource_, event, params_.labels, params_.fields);
    if (!converted) {
      // A stored value that fails validation is never served; the watch ends with the reason.
      events.push_back(errorEvent(statusFailure(500, "InternalError", converted.error().message)));
      co_return events;
    }
    last_revision_ = std::max(last_revision_, event.kv.mod_revision);
    if (*converted) {
      events.push_back(std::move(**converted));
    }
  }
  if (!events.empty()) {
    last_sent_ = clock_.now();
  } else if (params_.bookmarks && clock_.now() - last_sent_ >= params_.bookmark_interval) {
    last_revision_ = std::max(last_revision_, batch->header_revision);
    events.push_back(json{{"type", "BOOKMARK"},
                          {"object",
                           {{"kind", resource_.kind},
                            {"apiVersion", resource_.apiVersion()},
                            {"metadata", {{"resourceVersion", std::to_string(last_revision_)}}}}}});
    last_sent_ = clock_.now();
  }
  co_return events;
}

}  // namespace rampart::api
