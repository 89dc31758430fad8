#include "kube/local_client.h"

#include <deque>

#include "api/registry.h"
#include "api/request_info.h"
#include "api/status.h"
#include "api/watch.h"

namespace rampart::kube {
using json = nlohmann::json;

std::string Reply::message() const {
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    return body["message"].get<std::string>();
  }
  return "the server answered " + std::to_string(status);
}

std::string Reply::reason() const {
  if (body.is_object() && body.contains("reason") && body["reason"].is_string()) {
    return body["reason"].get<std::string>();
  }
  return {};
}

namespace {

class LocalEventStream : public EventStream {
 public:
  explicit LocalEventStream(std::unique_ptr<api::WatchSession> session)
      : session_(std::move(session)) {}

  Async<std::optional<json>> next(Duration max_wait) override {
    if (pending_.empty()) {
      if (session_->done()) {
        co_return fail(ErrorCode::Unavailable, "the watch has ended");
      }
      auto events = co_await session_->next(max_wait);
      if (!events) {
        co_return fail(ErrorCode::Unavailable, "the watch has ended: ", events.error().message);
      }
      for (auto& event : *events) {
        pending_.push_back(std::move(event));
      }
      if (pending_.empty()) {
        co_return std::optional<json>{};
      }
    }
    json event = std::move(pending_.front());
    pending_.pop_front();
    co_return std::optional<json>(std::move(event));
  }

  void cancel() override { session_->cancel(); }

 private:
  std::unique_ptr<api::WatchSession> session_;
  std::deque<json> pending_;
};

}  // namespace

LocalClient::LocalClient(store::Store& store, const Clock& clock,
                         api::ApiHandler::WallClock wall_clock, std::string prefix)
    : store_(store),
      clock_(clock),
      objects_(store, std::move(prefix)),
      handler_(objects_, std::move(wall_clock)) {}

Async<Reply> LocalClient::call(std::string method, std::string target, std::string body,
                               std::string content_type) {
  auto info = api::parseRequestInfo(method, target);
  if (!info) {
    co_return Reply{400, api::statusBadRequest(info.error().message)};
  }
  api::ApiRequest request{std::move(*info), std::move(content_type), "application/json",
                          std::move(body)};
  auto answer = co_await handler_.handle(std::move(request));
  co_return Reply{answer.status, std::move(answer.body)};
}

Async<std::unique_ptr<EventStream>> LocalClient::watch(std::string target) {
  if (target.find("watch=") == std::string::npos) {
    target += target.find('?') == std::string::npos ? "?watch=1" : "&watch=1";
  }
  auto info = api::parseRequestInfo("GET", target);
  if (!info) {
    co_return fail(info.error());
  }
  const api::ResourceInfo* resource = api::findResource(info->group, info->version, info->resource);
  if (!resource) {
    co_return fail(ErrorCode::NotFound, "the server could not find the requested resource");
  }
  auto params = api::watchParamsFrom(*resource, *info);
  if (!params) {
    co_return fail(params.error());
  }
  auto session = std::make_unique<api::WatchSession>(objects_, store_, clock_, *resource,
                                                     std::move(*params));
  co_return std::unique_ptr<EventStream>(new LocalEventStream(std::move(session)));
}

}  // namespace rampart::kube
