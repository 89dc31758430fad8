#include "controller/recorder.h"

#include <cstdio>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "kube/resources.h"

namespace rampart::controller {
using json = nlohmann::json;
namespace asio = boost::asio;

ObjectRef refOf(const json& object, std::string kind, std::string api_version) {
  ObjectRef ref;
  ref.kind = std::move(kind);
  ref.api_version = std::move(api_version);
  ref.ns = object.value("/metadata/namespace"_json_pointer, std::string());
  ref.name = object.value("/metadata/name"_json_pointer, std::string());
  ref.uid = object.value("/metadata/uid"_json_pointer, std::string());
  ref.resource_version = object.value("/metadata/resourceVersion"_json_pointer, std::string());
  return ref;
}

Recorder::Recorder(kube::Client& client, const Clock& clock, WallClock wall,
                   RecorderOptions options)
    : client_(client), clock_(clock), wall_(std::move(wall)), options_(std::move(options)) {}

bool Recorder::event(const ObjectRef& object, const std::string& type, const std::string& reason,
                     const std::string& message) {
  if (queue_.size() >= options_.queue_limit) {
    ++dropped_;
    return false;
  }
  // The spam filter: a token bucket per involved object.
  std::string object_key = object.kind + "/" + object.ns + "/" + object.name + "/" + object.uid;
  TimePoint now = clock_.now();
  auto [it, fresh] = buckets_.try_emplace(object_key);
  Bucket& bucket = it->second;
  if (fresh) {
    bucket.tokens = options_.burst;
    bucket.last = now;
  } else if (options_.refill > Duration::zero()) {
    double refilled = std::chrono::duration<double>(now - bucket.last) /
                      std::chrono::duration<double>(options_.refill);
    bucket.tokens = std::min<double>(options_.burst, bucket.tokens + refilled);
    bucket.last = now;
  }
  if (bucket.tokens < 1) {
    ++dropped_;
    return false;
  }
  bucket.tokens -= 1;
  if (buckets_.size() > options_.cache_limit * 4) {
    buckets_.clear();  // bounded memory; a forgotten object just gets a fresh budget
  }
  queue_.push_back(Pending{object, type, reason, message, wall_()});
  if (wake_) {
    wake_->cancel();
  }
  return true;
}

void Recorder::stop() {
  stopped_ = true;
  if (wake_) {
    wake_->cancel();
  }
}

asio::awaitable<void> Recorder::run() {
  wake_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  while (!stopped_) {
    if (queue_.empty()) {
      wake_->expires_after(std::chrono::milliseconds(200));
      co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    co_await write(std::move(next));
  }
}

asio::awaitable<void> Recorder::flush() {
  while (!queue_.empty()) {
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    co_await write(std::move(next));
  }
}

asio::awaitable<void> Recorder::write(Pending p) {
  // Events of cluster-scoped objects (nodes) live in "default", as Kubernetes puts them.
  std::string ns = p.object.ns.empty() ? "default" : p.object.ns;
  std::string when = api::formatRfc3339(p.at);
  std::string key = p.object.kind + "\n" + p.object.ns + "\n" + p.object.name + "\n" +
                    p.object.uid + "\n" + p.type + "\n" + p.reason + "\n" + p.message;
  if (auto it = written_events_.find(key); it != written_events_.end()) {
    Written& w = it->second;
    json patch = {{"count", w.count + 1}, {"lastTimestamp", when}};
    auto reply = co_await client_.call("PATCH", kube::resources::kEvents.object(w.ns, w.name),
                                       patch.dump(), "application/merge-patch+json");
    if (reply && reply->ok()) {
      ++w.count;
      ++written_;
      co_return;
    }
    if (!reply || reply->status != 404) {
      log::get("recorder")->debug("event patch failed reason={} error={}", p.reason,
                                  reply ? reply->message() : reply.error().message);
      ++dropped_;
      co_return;
    }
    written_events_.erase(it);  // 404: the Event is gone; write a new one
  }
  // client-go names Events "<object>.<hex nanoseconds>"; a sequence keeps them unique here.
  char suffix[40];
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(p.at.time_since_epoch());
  std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(nanos.count()) +
                                                     static_cast<unsigned long long>(sequence_++));
  std::string name = p.object.name + suffix;
  json involved = {{"kind", p.object.kind}, {"name", p.object.name}};
  if (!p.object.ns.empty()) {
    involved["namespace"] = p.object.ns;
  }
  if (!p.object.api_version.empty()) {
    involved["apiVersion"] = p.object.api_version;
  }
  if (!p.object.uid.empty()) {
    involved["uid"] = p.object.uid;
  }
  if (!p.object.resource_version.empty()) {
    involved["resourceVersion"] = p.object.resource_version;
  }
  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"involvedObject", involved},
                {"reason", p.reason},
                {"message", p.message},
                {"type", p.type},
                {"source", {{"component", options_.component}}},
                {"firstTimestamp", when},
                {"lastTimestamp", when},
                {"count", 1},
                {"reportingComponent", options_.component},
                {"reportingInstance", options_.instance}};
  auto reply =
      co_await client_.call("POST", kube::resources::kEvents.collection(ns), event.dump());
  if (!reply || !reply->ok()) {
    log::get("recorder")->debug("event create failed reason={} error={}", p.reason,
                                reply ? reply->message() : reply.error().message);
    ++dropped_;
    co_return;
  }
  ++written_;
  if (written_events_.size() >= options_.cache_limit) {
    written_events_.clear();
  }
  written_events_[key] = Written{ns, name, 1};
}

}  // namespace rampart::controller
