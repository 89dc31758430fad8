#pragma once
// A watch as the API serves it (`GET ...?watch=1`): the changes to one resource (in one
// namespace or all), filtered by label and field selectors, as Kubernetes' watch events
// ({"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}), from a resourceVersion:
//   unset or "0"  first a synthetic ADDED for every object that exists now (one consistent list
//                 at revision R), then every change after R;
//   "N"           every change after revision N;
//   below etcd's compaction: one ERROR event carrying a 410 Expired Status, then the end (the
//                 client lists again, as client-go's reflector does).
// With bookmarks allowed, a BOOKMARK (an object with only kind, apiVersion and
// metadata.resourceVersion) is sent after `bookmark_interval` without events, so a client can
// resume from a recent revision. Events are never lost or repeated: the underlying store watch
// resumes from the last delivered revision + 1 across etcd member changes.
// Use from the store's event loop only.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/object_store.h"
#include "api/request_info.h"
#include "api/selector.h"
#include "base/clock.h"
#include "store/store.h"

namespace rampart::api {

struct WatchParams {
  std::string ns;                // "" = every namespace
  std::string resource_version;  // "" or "0": start with the current state
  LabelSelector labels;
  FieldSelector fields;
  bool bookmarks = false;
  Duration bookmark_interval = std::chrono::seconds(30);
};

// From a watch request's path and query (labelSelector, fieldSelector, resourceVersion,
// allowWatchBookmarks; a name in the path becomes a metadata.name field selector).
// InvalidArgument for a malformed selector or a field the resource cannot select on.
Result<WatchParams> watchParamsFrom(const ResourceInfo& resource, const RequestInfo& info);

class WatchSession {
 public:
  WatchSession(ObjectStore& objects, store::Store& store, const Clock& clock,
               const ResourceInfo& resource, WatchParams params);
  ~WatchSession();
  WatchSession(const WatchSession&) = delete;
  WatchSession& operator=(const WatchSession&) = delete;

  // The next events, in order: empty when nothing happened within max_wait. After the last
  // event of the watch (an ERROR), done() is true. Unavailable when etcd could not be read: the
  // watch is over too (the client watches again from its last resourceVersion).
  store::Async<std::vector<nlohmann::json>> next(Duration max_wait);
  bool done() const { return done_; }
  void cancel();

 private:
  store::Async<std::vector<nlohmann::json>> initialEvents();
  nlohmann::json errorEvent(const nlohmann::json& status);

  ObjectStore& objects_;
  store::Store& store_;
  const Clock& clock_;
  const ResourceInfo& resource_;
  WatchParams params_;
  store::WatchPtr watch_;
  bool started_ = false;
  bool done_ = false;
  store::Revision last_revision_ = 0;  // of the last event delivered (or the initial list)
  TimePoint last_sent_{};              // for bookmarks (steady clock)
};

}  // namespace rampart::api
