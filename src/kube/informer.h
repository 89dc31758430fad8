#pragma once
// Informer: a local cache of one resource (in one namespace or all, optionally filtered by a
// label selector), kept in step with the API the way client-go's reflector does it:
//   1. list (paginated, `limit` per page; the pages of one list are one consistent snapshot at
//      the first page's resourceVersion), then deliver the differences to the cache;
//   2. watch from that resourceVersion with bookmarks, applying each event;
//   3. when the stream ends (connection lost, server restarted), watch again from the last
//      resourceVersion seen, so nothing is missed or repeated;
//   4. when the API answers 410 Expired (that revision is compacted), list again and deliver
//      what changed meanwhile (Added / Modified / Deleted) as if it had been watched.
// Handlers run on the loop, synchronously, after the cache has changed; they must not block
// (controllers only enqueue keys there). Every wait is bounded: one stream read waits at most
// `poll`, failed requests are retried with a capped backoff, and stop() ends run() within one
// poll. Use from the one event loop that runs run().

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "kube/client.h"
#include "kube/resources.h"

namespace rampart::kube {

struct InformerOptions {
  std::string ns;              // "" = every namespace
  std::string label_selector;  // query syntax, "" = everything
  std::string field_selector;  // e.g. "spec.nodeName=w1" (the kubelet's pod watch)
  int page_size = 500;
  Duration poll = std::chrono::milliseconds(200);  // longest single wait on the stream
  Duration retry_initial = std::chrono::milliseconds(100);
  Duration retry_cap = std::chrono::seconds(5);
};

class Informer {
 public:
  enum class Change { Added, Modified, Deleted };
  // `before`: the cached object before the change (null for Added); `after`: the object now
  // (null for Deleted).
  using Handler = std::function<void(Change, const nlohmann::json* before,
                                     const nlohmann::json* after)>;
  // Keyed by "namespace/name" (or "name"), sorted: a namespace's objects are one key range.
  using Items = std::map<std::string, nlohmann::json>;

  Informer(Client& client, Resource resource, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void addHandler(Handler handler) { handlers_.push_back(std::move(handler)); }
  // Runs until stop(). Never fails: errors are retried with backoff. May be run again after it
  // returned: it resumes watching from the last resourceVersion (a stop between is a gap the
  // watch covers, or a 410 and a relist when it was compacted).
  boost::asio::awaitable<void> run();
  void stop();
  bool running() const { return running_; }

  // The first list has been delivered to the cache and the handlers.
  bool synced() const { return synced_; }
  // Asks for a fresh list even though the watch is healthy; relisted(ticket) turns true once a
  // list that STARTED after this call has been delivered, so the cache then holds every write
  // the API had accepted before the call (used right after winning leader election).
  uint64_t requestRelist();
  bool relisted(uint64_t ticket) const { return relisted_ >= ticket; }

  const nlohmann::json* get(const std::string& key) const;
  const Items& items() const { return items_; }
  // The objects of one namespace (every object for a cluster-scoped resource when ns is "").
  std::vector<const nlohmann::json*> inNamespace(const std::string& ns) const;
  const std::string& resourceVersion() const { return resource_version_; }
  const Resource& resource() const { return resource_; }
  // Lists done (the first included), for tests and metrics.
  int64_t lists() const { return lists_; }
  // Lists and watch events (bookmarks included) received so far: a caller that sees it stand
  // still for longer than the server's bookmark interval knows its view may be stale (its
  // stream is held by a stalled server) and can hold decisions until it moves again.
  uint64_t heard() const { return heard_; }

 private:
  boost::asio::awaitable<bool> listAndReplace();
  // Applies one watch event; false when the stream must end (ERROR); sets relist_needed_ on 410.
  bool apply(const nlohmann::json& event);
  void notify(Change change, const nlohmann::json* before, const nlohmann::json* after);
  boost::asio::awaitable<void> sleep(Duration d);
  std::string query(bool first) const;

  Client& client_;
  Resource resource_;
  InformerOptions options_;
  std::vector<Handler> handlers_;
  Items items_;
  std::string resource_version_;
  bool synced_ = false;
  uint64_t heard_ = 0;
  bool running_ = false;
  bool stopped_ = false;
  bool relist_needed_ = true;
  uint64_t relist_requested_ = 0;  // tickets handed out
  uint64_t relisted_ = 0;          // the newest ticket a completed list covers
  int64_t lists_ = 0;
  EventStream* stream_ = nullptr;  // the open watch, to cancel on stop()
  std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace rampart::kube
