#include "chaos/partition.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "chaos/processes.h"
#include "runtime/process.h"

namespace rampart::chaos {

namespace {

constexpr auto kNftTimeout = std::chrono::seconds(10);

// The mount point of a cgroup v1 hierarchy that has the net_cls controller, or "".
std::string findNetClsMount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, point, type, options;
  std::string rest;
  while (mounts >> device >> point >> type >> options) {
    std::getline(mounts, rest);
    if (type != "cgroup") {
      continue;
    }
    std::istringstream opts(options);
    for (std::string opt; std::getline(opts, opt, ',');) {
      if (opt == "net_cls") {
        return point;
      }
    }
  }
  return "";
}

bool writeLine(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text << "\n";
  out.flush();
  return static_cast<bool>(out);
}

std::vector<pid_t> readPids(const std::string& path) {
  std::vector<pid_t> out;
  std::ifstream in(path);
  for (pid_t pid = 0; in >> pid;) {
    out.push_back(pid);
  }
  return out;
}

// `roots` and all their descendants, each once.
std::vector<pid_t> withDescendants(const std::vector<pid_t>& roots) {
  std::vector<pid_t> out;
  std::set<pid_t> seen;
  std::vector<pid_t> todo(roots.begin(), roots.end());
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    if (pid <= 0 || !seen.insert(pid).second) {
      continue;
    }
    out.push_back(pid);
    for (pid_t child : runtime::childrenOf(pid)) {
      todo.push_back(child);
    }
  }
  return out;
}

// Inodes of the sockets `pid` holds open.
std::set<unsigned long> socketInodes(pid_t pid) {
  std::set<unsigned long> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* fds = ::opendir(dir.c_str());
  if (!fds) {
    return out;
  }
  while (auto* entry = ::readdir(fds)) {
    char target[64] = {};
    std::string link = dir + "/" + entry->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0 && std::strncmp(target, "socket:[", 8) == 0) {
      out.insert(std::strtoul(target + 8, nullptr, 10));
    }
  }
  ::closedir(fds);
  return out;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<TcpSocket> parseProcNetTcp(const std::string& text) {
  std::vector<TcpSocket> out;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long inode = 0;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
      continue;
    }
    auto port = [](const std::string& address) -> uint16_t {
      auto colon = address.rfind(':');
      return colon == std::string::npos
                 ? 0
                 : static_cast<uint16_t>(std::strtoul(address.c_str() + colon + 1, nullptr, 16));
    };
    TcpSocket s;
    s.inode = inode;
    s.local_port = port(local);
    s.remote_port = port(remote);
    s.listening = state == "0A";  // TCP_LISTEN
    out.push_back(s);
  }
  return out;
}

std::string renderIsolationRuleset(const std::string& table, uint32_t class_id,
                                   const std::vector<uint16_t>& listening_ports,
                                   const std::vector<std::pair<uint16_t, uint16_t>>& connections) {
  std::ostringstream out;
  // "add + delete + add" replaces a table left behind by an earlier run of the same PID.
  out << "add table inet " << table << "\n"
      << "delete table inet " << table << "\n"
      << "table inet " << table << " {\n"
      << "  chain out {\n"
      << "    type filter hook output priority -10; policy accept;\n"
      << "    meta cgroup " << class_id << " drop\n";
  if (!listening_ports.empty()) {
    out << "    tcp dport { ";
    for (size_t i = 0; i < listening_ports.size(); ++i) {
      out << (i ? ", " : "") << listening_ports[i];
    }
    out << " } drop\n";
  }
  if (!connections.empty()) {
    out << "    tcp dport . tcp sport { ";
    for (size_t i = 0; i < connections.size(); ++i) {
      out << (i ? ", " : "") << connections[i].first << " . " << connections[i].second;
    }
    out << " } drop\n";
  }
  out << "  }\n}\n";
  return out.str();
}

Result<void> isolationSupported() {
  if (::geteuid() != 0) {
    return fail(ErrorCode::FailedPrecondition, "isolating processes needs root");
  }
  std::ifstream cgroups("/proc/cgroups");
  bool net_cls = false;
  for (std::string line; std::getline(cgroups, line);) {
    std::istringstream fields(line);
    std::string name;
    int hierarchy = 0, count = 0, enabled = 0;
    if (fields >> name >> hierarchy >> count >> enabled && name == "net_cls" && enabled == 1) {
      net_cls = true;
    }
  }
  if (!net_cls) {
    return fail(ErrorCode::FailedPrecondition, "the kernel has no net_cls cgroup controller");
  }
  if (runtime::runCommand({"nft", "--version"}, kNftTimeout).exit_code != 0) {
    return fail(ErrorCode::FailedPrecondition, "nft is not installed");
  }
  return ok();
}

Result<std::unique_ptr<Isolation>> Isolation::start(const std::vector<pid_t>& roots) {
  if (auto s = isolationSupported(); !s) {
    return fail(s.error());
  }
  std::unique_ptr<Isolation> iso(new Isolation());
  iso->mount_root_ = findNetClsMount();
  if (iso->mount_root_.empty()) {
    char dir[] = "/tmp/rampart-net_cls-XXXXXX";
    if (!::mkdtemp(dir)) {
      return fail(ErrorCode::Internal, "mkdtemp: ", std::strerror(errno));
    }
    if (::mount("rampart-net_cls", dir, "cgroup", 0, "net_cls") != 0) {
      int err = errno;
      ::rmdir(dir);
      return fail(ErrorCode::FailedPrecondition,
                  "mounting the net_cls cgroup: ", std::strerror(err));
    }
    iso->mount_root_ = dir;
    iso->mounted_here_ = true;
  }
  pid_t self = ::getpid();
  // A class id of our own: major 0x7261 ("ra"), minor from our PID.
  uint32_t class_id = (0x7261u << 16) | (static_cast<uint32_t>(self) & 0xffffu);
  iso->table_ = "rampart_chaos_" + std::to_string(self);
  iso->group_dir_ = iso->mount_root_ + "/rampart-chaos-" + std::to_string(self);
  if (::mkdir(iso->group_dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return fail(ErrorCode::Internal, "creating ", iso->group_dir_, ": ", std::strerror(errno));
  }
  if (!writeLine(iso->group_dir_ + "/net_cls.classid", std::to_string(class_id))) {
    return fail(ErrorCode::Internal, "setting the class id of ", iso->group_dir_);
  }

  auto pids = withDescendants(roots);
  std::set<unsigned long> inodes;
  for (pid_t pid : pids) {
    auto more = socketInodes(pid);
    inodes.insert(more.begin(), more.end());
  }
  std::set<uint16_t> listening;
  std::set<std::pair<uint16_t, uint16_t>> connections;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    for (const auto& s : parseProcNetTcp(readAll(table))) {
      if (!inodes.count(s.inode)) {
        continue;
      }
      if (s.listening) {
        listening.insert(s.local_port);
      } else if (s.remote_port != 0) {
        connections.insert({s.local_port, s.remote_port});
      }
    }
  }
  auto script = renderIsolationRuleset(
      iso->table_, class_id, std::vector<uint16_t>(listening.begin(), listening.end()),
      std::vector<std::pair<uint16_t, uint16_t>>(connections.begin(), connections.end()));
  auto applied = runtime::runCommand({"nft", "-f", "-"}, kNftTimeout, script);
  if (applied.exit_code != 0) {
    return fail(ErrorCode::Internal, "nft: ", applied.output);
  }
  int moved = 0;
  for (pid_t pid : pids) {
    // A process may exit between listing and moving; that is not an error.
    if (writeLine(iso->group_dir_ + "/cgroup.procs", std::to_string(pid))) {
      ++moved;
    }
  }
  iso->summary_ = std::to_string(moved) + " processes, " + std::to_string(listening.size()) +
                  " listening ports, " + std::to_string(connections.size()) + " connections";
  return iso;
}

Isolation::~Isolation() { heal(); }

void Isolation::heal() {
  if (healed_) {
    return;
  }
  healed_ = true;
  if (!table_.empty()) {
    runtime::runCommand({"nft", "delete", "table", "inet", table_}, kNftTimeout);
  }
  if (!group_dir_.empty()) {
    // Processes forked meanwhile joined the group too: move until it is empty (bounded).
    for (int round = 0; round < 50; ++round) {
      for (pid_t pid : readPids(group_dir_ + "/cgroup.procs")) {
        writeLine(mount_root_ + "/cgroup.procs", std::to_string(pid));
      }
      if (::rmdir(group_dir_.c_str()) == 0 || errno == ENOENT) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (mounted_here_) {
    ::umount2(mount_root_.c_str(), MNT_DETACH);
    ::rmdir(mount_root_.c_str());
  }
}

}  // namespace rampart::chaos
