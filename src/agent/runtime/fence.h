#pragma once
// The node-side fence for pods that must never run twice (issue 14): a deadline the agent
// extends with every Lease renewal that reached the API, and that each such container's shim
// enforces by itself, so that it holds when the agent was SIGKILLed, hangs, or is cut off from
// the API while the node runs on.
//
// Contract with the controller (written with its arithmetic in docs/OPERATIONS.md): a renewal
// sent at monotonic time t and answered OK moves the deadline to t + fence − margin, where
// `fence` is the agent's --node-fence-after, equal to the controller's. The controller replaces
// such a pod only once it has seen no Lease change for `fence` on its own clock, counted from
// when it saw the renewal — which was applied after t. So the old container is killed
// (SIGKILL of its whole cgroup, within one poll of kFencePoll) at t + fence − margin, before
// t + fence ≤ the earliest replacement: margin ≥ kFencePoll + the kill's own time.
//
// The deadline file holds CLOCK_MONOTONIC nanoseconds (the clock every process of the machine
// shares; steady_clock here), written atomically (rename). A missing or unreadable file is a
// deadline in the past: a container that must be unique never starts, or is killed, without a
// renewal that proves the node still holds its Lease.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace rampart::agent::runtime {

inline constexpr std::chrono::milliseconds kFencePoll{50};
inline constexpr std::chrono::milliseconds kFenceMargin{150};

// The deadline in the file, as steady_clock nanoseconds since its epoch; nullopt when missing
// or malformed.
std::optional<int64_t> readFenceDeadline(const std::string& path);
Result<void> writeFenceDeadline(const std::string& path, int64_t steady_ns);
// Whether a container fenced by `path` may run at `now_ns` (steady_clock nanoseconds).
bool fenceHolds(const std::string& path, int64_t now_ns);

}  // namespace rampart::agent::runtime
