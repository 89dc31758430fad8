#pragma once
// HttpClient: kube::Client over HTTPS to a Kubernetes-compatible API server (`rampart server`,
// or anything speaking the same API), with a kubeconfig's credentials: the bearer token or
// client certificate, the cluster's CA. Calls reuse keep-alive connections and end within the
// request timeout. A watch holds its own connection; a background reader queues its events, so
// next() can wait any time without breaking the stream, and a connection silent for
// `watch_idle_timeout` is treated as lost (ask for bookmarks to keep a quiet watch alive).
// Use from the one event loop that owns it.

#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "kube/client.h"
#include "kube/kubeconfig.h"

namespace rampart::kube {

struct HttpClientOptions {
  Duration request_timeout = std::chrono::seconds(10);
  Duration watch_idle_timeout = std::chrono::seconds(75);
  std::string user_agent = "rampart";
};

class HttpClient : public Client {
 public:
  static Result<std::unique_ptr<HttpClient>> make(boost::asio::any_io_executor executor,
                                                  KubeConfig config,
                                                  HttpClientOptions options = {});
  ~HttpClient() override;

  Async<Reply> call(std::string method, std::string target, std::string body,
                    std::string content_type) override;
  Async<std::unique_ptr<EventStream>> watch(std::string target) override;
  const KubeConfig& config() const { return config_; }

 private:
  HttpClient(boost::asio::any_io_executor executor, KubeConfig config, HttpClientOptions options);

  boost::asio::any_io_executor executor_;
  KubeConfig config_;
  HttpClientOptions options_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::kube
