#pragma once
// The Endpoints controller's decision, as kube-controller-manager's: a Service with a selector
// and the pods → the Endpoints object of the same name, and whether it must be written.
//   - pods in the Service's namespace whose labels match spec.selector and that have a pod IP;
//     finished pods (Succeeded/Failed) and pods being deleted are left out;
//   - a Ready pod (or any, with spec.publishNotReadyAddresses) goes to `addresses`, others to
//     `notReadyAddresses`; each address carries ip, nodeName and a targetRef to the pod;
//   - each Service port resolves its targetPort per pod: a number as is (absent: the port), a
//     name through the pod's container ports of that name and protocol; a pod without it is
//     left out of that port only;
//   - addresses with the same set of ports share a subset; addresses sorted by IP then uid,
//     ports by name then number, so equal inputs give byte-equal objects and an unchanged
//     Service is not rewritten;
//   - a headless Service (clusterIP None) without ports gets its addresses with no ports.
// A Service without a selector is left alone: its Endpoints belong to whoever wrote them.
// Labels: the Service's, plus service.kubernetes.io/headless for headless Services.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller {

struct EndpointsDecision {
  enum class Action { None, Create, Update };
  Action action = Action::None;
  nlohmann::json endpoints;  // Create/Update: the object to write (Update keeps resourceVersion)
  std::string reason;
};

// `existing`: the current Endpoints object, or null when there is none.
EndpointsDecision decideEndpoints(const nlohmann::json& service,
                                  const std::vector<nlohmann::json>& pods,
                                  const nlohmann::json& existing);

}  // namespace rampart::controller
