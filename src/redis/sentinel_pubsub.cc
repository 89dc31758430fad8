#include "redis/sentinel_pubsub.h"

#include <algorithm>
#include <cctype>

#include "redis/resp.h"

namespace rampart::redis {

namespace {

int64_t countOf(const Subscriptions& s) {
  return static_cast<int64_t>(s.channels.size() + s.patterns.size());
}

std::string arityError(const std::string& command) {
  return RespWriter().error("ERR wrong number of arguments for '" + command + "' command").take();
}

// SUBSCRIBE / PSUBSCRIBE: one confirmation per name, in order, each with the count after it.
std::string subscribe(const std::vector<std::string>& argv, std::set<std::string>& into,
                      const char* kind, Subscriptions& all) {
  RespWriter w;
  for (size_t i = 1; i < argv.size(); ++i) {
    into.insert(argv[i]);
    w.array(3).bulk(kind).bulk(argv[i]).integer(countOf(all));
  }
  return w.take();
}

// UNSUBSCRIBE / PUNSUBSCRIBE: the names given (subscribed or not), or all of them; with none
// at all, one reply with a nil name.
std::string unsubscribe(const std::vector<std::string>& argv, std::set<std::string>& from,
                        const char* kind, Subscriptions& all) {
  RespWriter w;
  std::vector<std::string> names(argv.begin() + 1, argv.end());
  if (names.empty()) {
    names.assign(from.begin(), from.end());
    if (names.empty()) {
      w.array(3).bulk(kind).nil().integer(countOf(all));
      return w.take();
    }
  }
  for (const auto& name : names) {
    from.erase(name);
    w.array(3).bulk(kind).bulk(name).integer(countOf(all));
  }
  return w.take();
}

bool globMatchAt(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    switch (p[0]) {
      case '*': {
        while (p.size() > 1 && p[1] == '*') {
          p.remove_prefix(1);
        }
        if (p.size() == 1) {
          return true;
        }
        for (size_t i = 0; i <= s.size(); ++i) {
          if (globMatchAt(p.substr(1), s.substr(i))) {
            return true;
          }
        }
        return false;
      }
      case '?':
        if (s.empty()) {
          return false;
        }
        s.remove_prefix(1);
        p.remove_prefix(1);
        break;
      case '[': {
        if (s.empty()) {
          return false;
        }
        p.remove_prefix(1);
        bool negate = !p.empty() && p[0] == '^';
        if (negate) {
          p.remove_prefix(1);
        }
        bool matched = false;
        while (!p.empty() && p[0] != ']') {
          if (p[0] == '\\' && p.size() >= 2) {
            p.remove_prefix(1);
            matched = matched || p[0] == s[0];
            p.remove_prefix(1);
          } else if (p.size() >= 3 && p[1] == '-' && p[2] != ']') {
            char lo = std::min(p[0], p[2]);
            char hi = std::max(p[0], p[2]);
            matched = matched || (s[0] >= lo && s[0] <= hi);
            p.remove_prefix(3);
          } else {
            matched = matched || p[0] == s[0];
            p.remove_prefix(1);
          }
        }
        if (!p.empty()) {
          p.remove_prefix(1);  // the ']'
        }
        if (matched == negate) {
          return false;
        }
        s.remove_prefix(1);
        break;
      }
      case '\\':
        if (p.size() >= 2) {
          p.remove_prefix(1);
        }
        [[fallthrough]];
      default:
        if (s.empty() || p[0] != s[0]) {
          return false;
        }
        s.remove_prefix(1);
        p.remove_prefix(1);
    }
  }
  return s.empty();
}

}  // namespace

bool globMatch(std::string_view pattern, std::string_view text) {
  return globMatchAt(pattern, text);
}

std::optional<std::string> answerPubSub(const std::vector<std::string>& argv,
                                        Subscriptions& subscriptions) {
  if (argv.empty()) {
    return std::nullopt;
  }
  std::string command = lowerName(argv[0]);
  if (command == "subscribe" || command == "psubscribe") {
    if (argv.size() < 2) {
      return arityError(command);
    }
    bool pattern = command == "psubscribe";
    return subscribe(argv, pattern ? subscriptions.patterns : subscriptions.channels,
                     pattern ? "psubscribe" : "subscribe", subscriptions);
  }
  if (command == "unsubscribe" || command == "punsubscribe") {
    bool pattern = command == "punsubscribe";
    return unsubscribe(argv, pattern ? subscriptions.patterns : subscriptions.channels,
                       pattern ? "punsubscribe" : "unsubscribe", subscriptions);
  }
  if (!subscriptions.subscribed()) {
    return std::nullopt;
  }
  if (command == "ping") {
    if (argv.size() > 2) {
      return arityError(command);
    }
    return RespWriter().array(2).bulk("pong").bulk(argv.size() == 2 ? argv[1] : "").take();
  }
  if (command == "quit") {
    return std::nullopt;
  }
  return RespWriter()
      .error("ERR Can't execute '" + command.substr(0, 128) +
             "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
             "this context")
      .take();
}

std::string deliver(const Subscriptions& subscriptions, std::string_view channel,
                    std::string_view payload) {
  RespWriter w;
  if (subscriptions.channels.count(std::string(channel))) {
    w.array(3).bulk("message").bulk(channel).bulk(payload);
  }
  for (const auto& pattern : subscriptions.patterns) {
    if (globMatch(pattern, channel)) {
      w.array(4).bulk("pmessage").bulk(pattern).bulk(channel).bulk(payload);
    }
  }
  return w.take();
}

std::optional<std::string> switchMasterEvent(const SentinelSnapshot& previous,
                                             const SentinelSnapshot& next) {
  // An unknown master on either side is not a switch: there is no address to announce.
  if (previous.master_name != next.master_name || next.master.ip.empty() || next.master.port == 0 ||
      previous.master.ip.empty() || previous.master.port == 0 ||
      (previous.master.ip == next.master.ip && previous.master.port == next.master.port)) {
    return std::nullopt;
  }
  return next.master_name + " " + previous.master.ip + " " + std::to_string(previous.master.port) +
         " " + next.master.ip + " " + std::to_string(next.master.port);
}

}  // namespace rampart::redis
