#pragma once
// kube::connect: a Client for a component started with `--kubeconfig F` (rampart controller,
// rampart agent): the kubeconfig's current context loaded and an HttpClient made from it.
// Errors name the file ("--kubeconfig /etc/rampart/admin.conf: ..."). Blocking (reads files):
// call at start-up, before the loop runs.

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "base/result.h"
#include "kube/client.h"
#include "kube/http_client.h"

namespace rampart::kube {

Result<std::unique_ptr<Client>> connect(boost::asio::any_io_executor executor,
                                        const std::string& kubeconfig_path,
                                        HttpClientOptions options = {});

}  // namespace rampart::kube
