#include "kube/connect.h"

#include "kube/kubeconfig.h"

namespace rampart::kube {

Result<std::unique_ptr<Client>> connect(boost::asio::any_io_executor executor,
                                        const std::string& kubeconfig_path,
                                        HttpClientOptions options) {
  if (kubeconfig_path.empty()) {
    return fail(ErrorCode::InvalidArgument, "--kubeconfig: no file given");
  }
  auto config = loadKubeConfig(kubeconfig_path);
  if (!config) {
    return fail(config.error().code, "--kubeconfig ", kubeconfig_path, ": ",
                config.error().message);
  }
  auto client = HttpClient::make(executor, std::move(*config), std::move(options));
  if (!client) {
    return fail(client.error().code, "--kubeconfig ", kubeconfig_path, ": ",
                client.error().message);
  }
  return std::unique_ptr<Client>(std::move(*client));
}

}  // namespace rampart::kube
