#include "kube/informer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/backoff.h"
#include "base/log.h"

namespace rampart::kube {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

std::string resourceVersionOf(const json& object) {
  if (object.contains("/metadata/resourceVersion"_json_pointer) &&
      object["/metadata/resourceVersion"_json_pointer].is_string()) {
    return object["/metadata/resourceVersion"_json_pointer].get<std::string>();
  }
  return {};
}

}  // namespace

Informer::Informer(Client& client, Resource resource, InformerOptions options)
    : client_(client), resource_(std::move(resource)), options_(std::move(options)) {}

Informer::~Informer() = default;

void Informer::stop() {
  stopped_ = true;
  if (stream_) {
    stream_->cancel();
  }
  if (timer_) {
    timer_->cancel();
  }
}

uint64_t Informer::requestRelist() {
  relist_needed_ = true;
  if (stream_) {
    stream_->cancel();  // do not wait out the current poll: a new leader is waiting for this
  }
  return ++relist_requested_;
}

const json* Informer::get(const std::string& key) const {
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : &it->second;
}

std::vector<const json*> Informer::inNamespace(const std::string& ns) const {
  std::vector<const json*> out;
  if (ns.empty() || !resource_.namespaced) {
    for (const auto& [key, object] : items_) {
      out.push_back(&object);
    }
    return out;
  }
  std::string prefix = ns + "/";
  for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.starts_with(prefix);
       ++it) {
    out.push_back(&it->second);
  }
  return out;
}

void Informer::notify(Change change, const json* before, const json* after) {
  for (const auto& handler : handlers_) {
    handler(change, before, after);
  }
}

asio::awaitable<void> Informer::sleep(Duration d) {
  if (stopped_) {
    co_return;
  }
  timer_->expires_after(d);
  co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string Informer::query(bool first) const {
  std::string q;
  if (!options_.label_selector.empty()) {
    q += "&labelSelector=" + queryEscape(options_.label_selector);
  }
  if (!options_.field_selector.empty()) {
    q += "&fieldSelector=" + queryEscape(options_.field_selector);
  }
  (void)first;
  return q;
}

// One consistent list, page by page, then the differences against the cache delivered in key
// order. A continue token that expired (410) restarts the list from the first page.
asio::awaitable<bool> Informer::listAndReplace() {
  uint64_t ticket = relist_requested_;
  Items fresh;
  std::string list_rv;
  std::string next;
  for (int restarts = 0;;) {
    std::string target = resource_.collection(options_.ns) +
                         "?limit=" + std::to_string(options_.page_size) + query(true);
    if (!next.empty()) {
      target += "&continue=" + queryEscape(next);
    }
    auto reply = co_await client_.call("GET", std::move(target));
    if (stopped_) {
      co_return false;
    }
    if (!reply) {
      log::get("informer")->warn("list failed resource={} error={}", resource_.plural,
                                 reply.error().message);
      co_return false;
    }
    if (reply->status == 410 && !next.empty() && restarts < 3) {
      ++restarts;
      fresh.clear();
      next.clear();
      list_rv.clear();
      continue;
    }
    if (!reply->ok()) {
      log::get("informer")->warn("list failed resource={} status={} message={}",
                                 resource_.plural, reply->status, reply->message());
      co_return false;
    }
    const json& body = reply->body;
    if (list_rv.empty()) {
      list_rv = body.value("/metadata/resourceVersion"_json_pointer, std::string());
    }
    if (body.contains("items") && body["items"].is_array()) {
      for (auto& item : reply->body["items"]) {
        std::string key = keyOf(item);
        fresh.emplace(std::move(key), std::move(item));
      }
    }
    next = body.value("/metadata/continue"_json_pointer, std::string());
    if (next.empty()) {
      break;
    }
  }
  // Swap first, then notify: handlers read the cache and must see the new state.
  Items old = std::move(items_);
  items_ = std::move(fresh);
  resource_version_ = list_rv;
  ++lists_;
  ++heard_;
  for (const auto& [key, object] : items_) {
    auto it = old.find(key);
    if (it == old.end()) {
      notify(Change::Added, nullptr, &object);
    } else if (resourceVersionOf(it->second) != resourceVersionOf(object)) {
      notify(Change::Modified, &it->second, &object);
    }
  }
  for (const auto& [key, object] : old) {
    if (!items_.count(key)) {
      notify(Change::Deleted, &object, nullptr);
    }
  }
  synced_ = true;
  relisted_ = std::max(relisted_, ticket);
  co_return true;
}

bool Informer::apply(const json& event) {
  ++heard_;
  std::string type = event.value("type", "");
  const json& object = event["object"];
  if (type == "ERROR") {
    int code = object.value("code", 0);
    log::get("informer")->info("watch ended resource={} code={} message={}", resource_.plural,
                               code, object.value("message", ""));
    if (code == 410) {
      relist_needed_ = true;
    }
    return false;
  }
  std::string rv = resourceVersionOf(object);
  if (!rv.empty()) {
    resource_version_ = rv;
  }
  if (type == "BOOKMARK") {
    return true;
  }
  std::string key = keyOf(object);
  if (type == "ADDED" || type == "MODIFIED") {
    auto it = items_.find(key);
    if (it == items_.end()) {
      auto [at, inserted] = items_.emplace(key, object);
      notify(Change::Added, nullptr, &at->second);
    } else {
      json before = std::move(it->second);
      it->second = object;
      notify(Change::Modified, &before, &it->second);
    }
  } else if (type == "DELETED") {
    auto it = items_.find(key);
    if (it != items_.end()) {
      json before = std::move(it->second);
      items_.erase(it);
      notify(Change::Deleted, &before, nullptr);
    }
  }
  return true;
}

asio::awaitable<void> Informer::run() {
  running_ = true;
  stopped_ = false;
  timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  Backoff backoff(options_.retry_initial, options_.retry_cap);
  while (!stopped_) {
    if (relist_needed_) {
      relist_needed_ = false;
      if (!co_await listAndReplace()) {
        relist_needed_ = true;
        co_await sleep(backoff.next());
        continue;
      }
    }
    std::string target = resource_.collection(options_.ns) +
                         "?watch=1&allowWatchBookmarks=true&resourceVersion=" +
                         queryEscape(resource_version_) + query(false);
    auto opened = co_await client_.watch(std::move(target));
    if (stopped_) {
      if (opened) {
        (*opened)->cancel();
      }
      break;
    }
    if (!opened) {
      if (opened.error().code == ErrorCode::OutOfRange) {
        relist_needed_ = true;  // 410 on the request itself: the revision is compacted
      } else {
        log::get("informer")->warn("watch failed resource={} error={}", resource_.plural,
                                   opened.error().message);
        co_await sleep(backoff.next());
      }
      continue;
    }
    std::unique_ptr<EventStream> stream = std::move(*opened);
    stream_ = stream.get();
    bool delivered = false;
    while (!stopped_ && !relist_needed_) {
      auto event = co_await stream->next(options_.poll);
      if (!event) {
        break;  // the stream ended: watch again from resource_version_
      }
      if (!*event) {
        continue;
      }
      delivered = true;
      if (!apply(**event)) {
        break;
      }
    }
    stream_ = nullptr;
    stream->cancel();
    if (delivered) {
      backoff.reset();
    } else if (!stopped_ && !relist_needed_) {
      co_await sleep(backoff.next());  // a stream that ends at once must not spin
    }
  }
  running_ = false;
}

}  // namespace rampart::kube
