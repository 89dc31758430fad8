#include "redis/sentinel_protocol.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "redis/resp.h"

namespace rampart::redis {

namespace {

// Redis's "wrong number of arguments for 'ping' command" ('sentinel|masters' for subcommands).
std::string arityError(std::string_view name) {
  RespWriter w;
  w.error("ERR wrong number of arguments for '" + std::string(name) + "' command");
  return w.take();
}

std::string errorReply(std::string_view text) {
  RespWriter w;
  w.error(text);
  return w.take();
}

// Redis 7's text, quotes and trailing space included: the name and then arguments, each cut so
// that the argument list stays near 128 bytes.
std::string unknownCommand(const std::vector<std::string>& argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    size_t room = 128 - args.size();
    args += "'" + argv[i].substr(0, room) + "' ";
  }
  return errorReply("ERR unknown command '" + argv[0].substr(0, 128) +
                    "', with args beginning with: " + args);
}

std::string unknownSubcommand(std::string_view sub, std::string_view command) {
  return errorReply("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " +
                    std::string(command) + " HELP.");
}

std::string noSuchMaster() { return errorReply("ERR No such master with that name"); }

// "ip:port", "[v6]:port" as Redis formats instance names.
std::string addressName(const SentinelAddress& a) {
  if (a.ip.find(':') != std::string::npos) {
    return "[" + a.ip + "]:" + std::to_string(a.port);
  }
  return a.ip + ":" + std::to_string(a.port);
}

// Sentinel lists s_down and o_down before the role, everything else after it.
std::string flagsText(std::string_view role, const std::vector<std::string>& extra) {
  std::string out;
  auto add = [&](std::string_view f) {
    if (!out.empty()) {
      out += ",";
    }
    out += f;
  };
  for (std::string_view down : {"s_down", "o_down"}) {
    if (std::find(extra.begin(), extra.end(), down) != extra.end()) {
      add(down);
    }
  }
  add(role);
  for (const auto& f : extra) {
    if (f != "s_down" && f != "o_down" && f != role) {
      add(f);
    }
  }
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

void writeMap(RespWriter& w, const Fields& fields) {
  w.array(fields.size() * 2);
  for (const auto& [name, value] : fields) {
    w.bulk(name);
    w.bulk(value);
  }
}

// The fields every instance has, in Sentinel's order.
Fields commonFields(const std::string& name, const SentinelAddress& a, const std::string& run_id,
                    const std::string& flags, int64_t last_ok_ping_ms, int64_t down_after_ms) {
  return {{"name", name},
          {"ip", a.ip},
          {"port", std::to_string(a.port)},
          {"runid", run_id},
          {"flags", flags},
          {"link-pending-commands", "0"},
          {"link-refcount", "1"},
          {"last-ping-sent", "0"},
          {"last-ok-ping-reply", std::to_string(last_ok_ping_ms)},
          {"last-ping-reply", std::to_string(last_ok_ping_ms)},
          {"down-after-milliseconds", std::to_string(down_after_ms)}};
}

void writeMaster(RespWriter& w, const SentinelSnapshot& s) {
  Fields f = commonFields(s.master_name, s.master, s.master_run_id,
                          flagsText("master", s.master_flags), s.last_ok_ping_ms, s.down_after_ms);
  Fields rest = {{"info-refresh", std::to_string(s.last_ok_ping_ms)},
                 {"role-reported", "master"},
                 {"role-reported-time", "0"},  // not tracked
                 {"config-epoch", std::to_string(s.config_epoch)},
                 {"num-slaves", std::to_string(s.replicas.size())},
                 {"num-other-sentinels", std::to_string(s.sentinels.size())},
                 {"quorum", std::to_string(s.quorum)},
                 {"failover-timeout", std::to_string(s.failover_timeout_ms)},
                 {"parallel-syncs", std::to_string(s.parallel_syncs)}};
  f.insert(f.end(), rest.begin(), rest.end());
  writeMap(w, f);
}

void writeReplica(RespWriter& w, const SentinelSnapshot& s, const SentinelSnapshot::Replica& r) {
  Fields f = commonFields(addressName(r.address), r.address, r.run_id, flagsText("slave", r.flags),
                          r.last_ok_ping_ms, s.down_after_ms);
  Fields rest = {{"info-refresh", std::to_string(r.last_ok_ping_ms)},
                 {"role-reported", "slave"},
                 {"role-reported-time", "0"},  // not tracked
                 {"master-link-down-time", std::to_string(r.master_link_down_ms)},
                 {"master-link-status", r.master_link_up ? "ok" : "err"},
                 {"master-host", s.master.ip},
                 {"master-port", std::to_string(s.master.port)},
                 {"slave-priority", std::to_string(r.priority)},
                 {"slave-repl-offset", std::to_string(r.offset)},
                 {"replica-announced", "1"}};
  f.insert(f.end(), rest.begin(), rest.end());
  writeMap(w, f);
}

void writeSentinel(RespWriter& w, const SentinelSnapshot& s,
                   const SentinelSnapshot::Sentinel& other) {
  // Sentinel names the other Sentinels by their run ids.
  Fields f = commonFields(other.run_id, other.address, other.run_id, "sentinel",
                          other.last_ok_ping_ms, s.down_after_ms);
  Fields rest = {{"last-hello-message", std::to_string(other.last_ok_ping_ms)},
                 {"voted-leader", "?"},
                 {"voted-leader-epoch", "0"}};
  f.insert(f.end(), rest.begin(), rest.end());
  writeMap(w, f);
}

std::string sentinelCommand(const SentinelSnapshot& s, const std::vector<std::string>& argv) {
  if (argv.size() < 2) {
    return arityError("sentinel");
  }
  std::string sub = lowerName(argv[1]);
  RespWriter w;
  auto exact = [&](size_t count) { return argv.size() == count; };
  if (sub == "get-master-addr-by-name") {
    if (!exact(3)) {
      return arityError("sentinel|" + sub);
    }
    if (argv[2] != s.master_name) {
      return w.nullArray().take();
    }
    w.array(2).bulk(s.master.ip).bulk(std::to_string(s.master.port));
    return w.take();
  }
  if (sub == "masters") {
    if (!exact(2)) {
      return arityError("sentinel|" + sub);
    }
    w.array(1);
    writeMaster(w, s);
    return w.take();
  }
  if (sub == "master" || sub == "replicas" || sub == "slaves" || sub == "sentinels") {
    if (!exact(3)) {
      return arityError("sentinel|" + sub);
    }
    if (argv[2] != s.master_name) {
      return noSuchMaster();
    }
    if (sub == "master") {
      writeMaster(w, s);
    } else if (sub == "sentinels") {
      w.array(s.sentinels.size());
      for (const auto& other : s.sentinels) {
        writeSentinel(w, s, other);
      }
    } else {
      w.array(s.replicas.size());
      for (const auto& r : s.replicas) {
        writeReplica(w, s, r);
      }
    }
    return w.take();
  }
  return unknownSubcommand(argv[1], "SENTINEL");
}

// Redis accepts client names of printable ASCII without spaces ('!' to '~').
bool validClientName(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~'; });
}

std::string clientCommand(const std::vector<std::string>& argv, SentinelSession& session) {
  if (argv.size() < 2) {
    return arityError("client");
  }
  std::string sub = lowerName(argv[1]);
  RespWriter w;
  if (sub == "setname") {
    if (argv.size() != 3) {
      return arityError("client|setname");
    }
    if (!validClientName(argv[2])) {
      return errorReply("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    session.client_name = argv[2];
    return w.status("OK").take();
  }
  if (sub == "getname") {
    if (argv.size() != 2) {
      return arityError("client|getname");
    }
    if (session.client_name.empty()) {
      return w.nil().take();
    }
    return w.bulk(session.client_name).take();
  }
  return unknownSubcommand(argv[1], "CLIENT");
}

// Without users or passwords, Sentinel's default user takes any password and nobody else
// exists: these are its answers.
std::string authFailure(std::string_view user) {
  if (user == "default") {
    return "";
  }
  return errorReply("WRONGPASS invalid username-password pair or user is disabled.");
}

std::string authCommand(const std::vector<std::string>& argv) {
  if (argv.size() < 2) {
    return arityError("auth");
  }
  if (argv.size() > 3) {
    return errorReply("ERR syntax error");
  }
  if (argv.size() == 2) {
    return errorReply(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  }
  std::string failure = authFailure(argv[1]);
  if (!failure.empty()) {
    return failure;
  }
  return RespWriter().status("OK").take();
}

std::string helloCommand(const SentinelSnapshot& s, const std::vector<std::string>& argv,
                         SentinelSession& session) {
  if (argv.size() >= 2) {
    int64_t version = 0;
    const std::string& text = argv[1];
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
      return errorReply("ERR Protocol version is not an integer or out of range");
    }
    // Real Sentinel also speaks RESP3; this one does not, and says so as Redis does for any
    // version it does not speak, so clients fall back to RESP2.
    if (version != 2) {
      return errorReply("NOPROTO unsupported protocol version");
    }
  }
  std::string name = session.client_name;
  for (size_t i = 2; i < argv.size(); ++i) {
    std::string option = lowerName(argv[i]);
    size_t left = argv.size() - i - 1;
    if (option == "auth" && left >= 2) {
      std::string failure = authFailure(argv[i + 1]);
      if (!failure.empty()) {
        return failure;
      }
      i += 2;
    } else if (option == "setname" && left >= 1) {
      if (!validClientName(argv[i + 1])) {
        return errorReply(
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
      name = argv[i + 1];
      i += 1;
    } else {
      return errorReply("ERR Syntax error in HELLO option '" + argv[i].substr(0, 128) + "'");
    }
  }
  session.client_name = name;
  RespWriter w;
  w.array(12)
      .bulk("server")
      .bulk("redis")
      .bulk("version")
      .bulk(s.version)
      .bulk("proto")
      .integer(2)
      .bulk("id")
      .integer(session.id)
      .bulk("mode")
      .bulk("sentinel")
      .bulk("modules")
      .array(0);
  return w.take();
}

}  // namespace

std::string answerSentinel(const SentinelSnapshot& snapshot, const std::vector<std::string>& argv,
                           SentinelSession& session) {
  if (argv.empty()) {
    return "";
  }
  std::string command = lowerName(argv[0]);
  RespWriter w;
  if (command == "ping") {
    if (argv.size() > 2) {
      return arityError("ping");
    }
    if (argv.size() == 2) {
      return w.bulk(argv[1]).take();
    }
    return w.status("PONG").take();
  }
  if (command == "sentinel") {
    return sentinelCommand(snapshot, argv);
  }
  if (command == "role") {
    if (argv.size() != 1) {
      return arityError("role");
    }
    w.array(2).bulk("sentinel").array(1).bulk(snapshot.master_name);
    return w.take();
  }
  if (command == "client") {
    return clientCommand(argv, session);
  }
  if (command == "auth") {
    return authCommand(argv);
  }
  if (command == "hello") {
    return helloCommand(snapshot, argv, session);
  }
  if (command == "quit") {
    session.close = true;
    return w.status("OK").take();
  }
  return unknownCommand(argv);
}

}  // namespace rampart::redis
