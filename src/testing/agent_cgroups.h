#pragma once
// The processes of a real `rampart agent`'s pods, for tests and benches that fault a node (kill
// or freeze what runs there) and clean up after it: the product's own node cleanup
// (agent/runtime/node_cleanup.h), under the names the tests use. Link rampart_agent_runtime.

#include "agent/runtime/node_cleanup.h"

namespace rampart::testing {

using agent::runtime::killNodePods;
using agent::runtime::nodePodProcesses;
using agent::runtime::signalNodePods;

}  // namespace rampart::testing
