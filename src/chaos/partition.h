#pragma once
// Cuts a group of processes off the network, both ways, while every process stays on the
// host's loopback: the `partition` fault for labs whose members are not in network namespaces.
//
// How (root only, Linux):
//   - the processes move into a net_cls cgroup with a class id of our own. Moving a process
//     re-tags the sockets it already holds, and processes it forks later inherit the group, so
//     one nftables rule, `meta cgroup <id> drop` in the output hook, drops every packet they
//     send, on old and new connections alike;
//   - packets other processes send to them are dropped by port: their listening ports, and for
//     each established connection the (local port, remote port) pair as seen from the far end.
// Every loopback packet passes the output hook once, so one output chain covers both ways.
// The table, the cgroup and (if it had to be mounted) the net_cls hierarchy are removed by
// heal(), which the destructor calls on every path.
//
// Not thread-safe; one object per fault.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace rampart::chaos {

// Ok if this host can isolate processes (root, the net_cls controller, nft); else why not.
Result<void> isolationSupported();

class Isolation {
 public:
  // Isolates `pids` and every descendant of them.
  static Result<std::unique_ptr<Isolation>> start(const std::vector<pid_t>& pids);
  ~Isolation();
  Isolation(const Isolation&) = delete;
  Isolation& operator=(const Isolation&) = delete;

  // Removes the rules and moves the processes back; idempotent.
  void heal();
  // "4 processes, 2 listening ports, 7 connections": what start() cut off.
  const std::string& summary() const { return summary_; }

 private:
  Isolation() = default;

  std::string table_;
  std::string group_dir_;
  std::string mount_root_;
  bool mounted_here_ = false;
  bool healed_ = false;
  std::string summary_;
};

// Socket facts read from /proc, exposed for tests.
struct TcpSocket {
  unsigned long inode = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  bool listening = false;
};
// Parses /proc/net/tcp or /proc/net/tcp6 text.
std::vector<TcpSocket> parseProcNetTcp(const std::string& text);
// The nft script for an isolation (pure; exposed for tests).
std::string renderIsolationRuleset(const std::string& table, uint32_t class_id,
                                   const std::vector<uint16_t>& listening_ports,
                                   const std::vector<std::pair<uint16_t, uint16_t>>& connections);

}  // namespace rampart::chaos
