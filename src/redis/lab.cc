#include "redis/lab.h"

#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "lab/lab_files.h"
#include "net/endpoint.h"
#include "redis/client.h"
#include "runtime/process.h"
#include "runtime/secret_file.h"

namespace rampart::redis {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMasterName = "lab";

// Ready: a write through the write VIP that every replica acknowledged (WAIT), so the lab's
// first user sees a master with all its replicas attached.
Result<void> writeThroughVip(const net::Endpoint& vip, int replicas) {
  using namespace std::chrono_literals;
  auto client = Client::connect(vip, 1s);
  if (!client) {
    return fail(client.error());
  }
  auto set = client->command({"SET", "rampart:lab:ready", "1"}, 1s);
  if (!set || set->isError()) {
    return fail(ErrorCode::Unavailable, "write VIP: SET: ", set ? set->str : set.error().message);
  }
  auto wait = client->command({"WAIT", std::to_string(replicas), "500"}, 2s);
  if (!wait || wait->type != Reply::Type::Integer || wait->integer < replicas) {
    return fail(ErrorCode::Unavailable, "write VIP: WAIT ", std::to_string(replicas),
                ": not every replica acknowledged yet");
  }
  return ok();
}

}  // namespace

Result<json> labUp(const LabOptions& options) {
  // No one else may list what is in here: cluster.json and the member configs hold the
  // operator token.
  auto made = lab::makeLabDir(options.dir, options.members, "rampart redis lab", 0700);
  if (!made) {
    return fail(made.error());
  }
  const std::string& dir = *made;
  std::string binary = options.binary.empty() ? runtime::selfExecutable() : options.binary;
  std::error_code ec;

  json state;
  state["kind"] = "rampart-redis";
  state["dir"] = dir;
  state["master_name"] = kMasterName;
  std::string token = lab::randomHex(16);
  state["token"] = token;  // the operator credential of the members' REST APIs
  // The members' own credential, for the failsafe's vouches only: in their configs, not here.
  std::string member_token = lab::randomHex(16);
  auto etcd = lab::startLabEtcd(dir, false, state);
  if (!etcd) {
    return fail(etcd.error());
  }
  // Written early so that `lab down` can clean up a lab whose start failed half-way.
  // cluster.json holds the token: created 0600, never readable by others.
  auto save = [&]() {
    return runtime::writeSecretFile(dir + "/cluster.json", state.dump(2) + "\n");
  };
  state["members"] = json::array();
  state["sentinels"] = json::array();
  std::string backends;
  for (int i = 1; i <= options.members; ++i) {
    std::string name = "m" + std::to_string(i);
    std::string mdir = dir + "/" + name;
    fs::create_directories(mdir, ec);
    auto port = net::pickFreePort("127.0.0.1");
    auto rest_port = net::pickFreePort("127.0.0.1");
    auto sentinel_port = net::pickFreePort("127.0.0.1");
    if (!port || !rest_port || !sentinel_port) {
      return fail(ErrorCode::Unavailable, "no free port");
    }
    std::ostringstream yaml;
    yaml << "cluster: lab\n"
         << "name: " << name << "\n"
         << "etcd: { endpoints: [" << etcd->endpoints << "] }\n"
         << "redis: { listen: 127.0.0.1:" << *port << ", dir: " << mdir << "/data"
         << (options.members == 1 ? ", min_replicas_to_write: 0" : "") << " }\n"
         << "sentinel: { listen: 127.0.0.1:" << *sentinel_port << ", master_name: " << kMasterName
         << " }\n"
         << "rest: { listen: 127.0.0.1:" << *rest_port << ", token: " << token
         << ", member_token: " << member_token << " }\n"
         << "ha: { members: " << options.members << " }\n";
    std::string config_file = mdir + "/member.yaml";
    if (auto w = runtime::writeSecretFile(config_file, yaml.str()); !w) {
      return fail(w.error());
    }
    auto member = lab::startLabMember(binary, "redis", name, mdir, *port, *rest_port, config_file);
    if (!member) {
      return fail(member.error());
    }
    std::string sentinel = "127.0.0.1:" + std::to_string(*sentinel_port);
    (*member)["sentinel"] = sentinel;
    state["members"].push_back(std::move(*member));
    state["sentinels"].push_back(sentinel);
    backends += lab::labBackendYaml(*port, *rest_port);
    (void)save();
  }
  auto write_port = net::pickFreePort("127.0.0.1");
  auto read_port = net::pickFreePort("127.0.0.1");
  if (!write_port || !read_port) {
    return fail(ErrorCode::Unavailable, "no free port");
  }
  // /primary answers 200 only on the writable leader before its fencing deadline, so the write
  // VIP never routes a command to a detached or fenced master (ROLE alone would call those
  // masters too).
  std::string lb_yaml =
      "virtual_servers:\n" +
      lab::labVipYaml({"write", *write_port, "/primary", true, "", ", status: 200"}, backends) +
      lab::labVipYaml({"read", *read_port, "/replica", false, "", ""}, backends);
  std::string lb_file = dir + "/lb.yaml";
  if (auto w = lab::writeText(lb_file, lb_yaml, 0644); !w) {
    return fail(w.error());
  }
  auto lb_pid = runtime::spawn(runtime::SpawnOptions{
      {binary, "lb", "--config", lb_file}, dir + "/lb.log", "", false, true, ""});
  if (!lb_pid) {
    return fail(lb_pid.error());
  }
  state["lb_pid"] = *lb_pid;
  state["write_vip"] = "127.0.0.1:" + std::to_string(*write_port);
  state["read_vip"] = "127.0.0.1:" + std::to_string(*read_port);
  // What `rampart chaos run --scenario switchover` runs, as for the PostgreSQL lab.
  state["switchover_command"] = {binary,
                                 "redis",
                                 "switchover",
                                 "--config",
                                 state["members"][0]["config"].get<std::string>(),
                                 "--to",
                                 "{candidate}"};
  (void)save();

  auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
  std::string last = "not checked";
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!runtime::isAlive(*lb_pid)) {
      return fail(ErrorCode::Unavailable, "the lab's load balancer exited; ", dir,
                  "/lb.log ends with:\n", lab::lastLines(dir + "/lb.log", 10));
    }
    auto written = writeThroughVip(net::Endpoint{"127.0.0.1", *write_port}, options.members - 1);
    if (written) {
      if (auto w = save(); !w) {
        return fail(w.error());
      }
      return state;
    }
    last = written.error().message;
  }
  return fail(ErrorCode::DeadlineExceeded, "the lab in ", dir, " did not become ready: ", last,
              " (logs in ", dir, "/m*/manager.log and ", dir, "/lb.log)");
}

Result<int> labDown(const std::string& dir_in) {
  std::string dir = fs::absolute(dir_in).lexically_normal().string();
  // Each redis-server stops with its manager (SIGTERM) or dies with it (PR_SET_PDEATHSIG).
  int stopped = lab::stopBalancerAndManagers(dir, lab::readState(dir));
  return stopped + lab::stopEtcdAndRetire(dir);
}

}  // namespace rampart::redis
