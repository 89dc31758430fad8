#pragma once
// Pub/sub on the Sentinel port, pure: what a connection's SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE /
// PUNSUBSCRIBE / PING (in subscribed mode) are answered with, which published messages it
// receives, and the +switch-master event a change of master makes. No I/O, no clock; the
// SentinelServer owns the connections and calls these on its event loop. Thread-safe: no shared
// state (a Subscriptions belongs to one connection).
//
// As Redis 7.0 answers in RESP2: one ["subscribe", channel, count] per channel (count: the
// connection's channels plus patterns after it), ["unsubscribe", nil, 0] for an UNSUBSCRIBE
// with nothing to drop, ["pong", message] for PING while subscribed, and "ERR Can't execute
// '<cmd>': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this
// context" for anything else then. Messages are ["message", channel, payload] and ["pmessage",
// pattern, channel, payload]; patterns are Redis's glob (*, ?, [a-z], [^a], \x).

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "redis/sentinel_protocol.h"

namespace rampart::redis {

struct Subscriptions {
  std::set<std::string> channels;
  std::set<std::string> patterns;
  bool subscribed() const { return !channels.empty() || !patterns.empty(); }
};

// The reply to `argv` when it is a pub/sub command, or when the connection is subscribed (where
// only these may run); std::nullopt: not for pub/sub, answer it with answerSentinel. QUIT is
// left to answerSentinel in both modes.
std::optional<std::string> answerPubSub(const std::vector<std::string>& argv,
                                        Subscriptions& subscriptions);

// The messages (RESP2 bytes) `subscriptions` receives for `payload` published on `channel`:
// one for the channel, one per matching pattern; "" when none matches.
std::string deliver(const Subscriptions& subscriptions, std::string_view channel,
                    std::string_view payload);

// Redis's glob match (stringmatchlen, case-sensitive).
bool globMatch(std::string_view pattern, std::string_view text);

// The +switch-master payload ("<name> <old-ip> <old-port> <new-ip> <new-port>") when `next`
// names another master address than `previous` for the same group; std::nullopt otherwise.
std::optional<std::string> switchMasterEvent(const SentinelSnapshot& previous,
                                             const SentinelSnapshot& next);

inline constexpr std::string_view kSwitchMasterChannel = "+switch-master";

}  // namespace rampart::redis
