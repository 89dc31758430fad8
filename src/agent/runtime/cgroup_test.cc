#include "agent/runtime/cgroup.h"

#include <gtest/gtest.h>

namespace rampart::agent::runtime {
namespace {

TEST(CgroupValues, CpuSharesFollowTheKubelet) {
  EXPECT_EQ(cpuSharesFromMilli(0), 2) << "no request: the minimum weight";
  EXPECT_EQ(cpuSharesFromMilli(1), 2) << "1m would be 1 share: raised to the kernel's minimum";
  EXPECT_EQ(cpuSharesFromMilli(100), 102);
  EXPECT_EQ(cpuSharesFromMilli(250), 256);
  EXPECT_EQ(cpuSharesFromMilli(1000), 1024);
  EXPECT_EQ(cpuSharesFromMilli(1000000), 262144) << "capped at the kernel's maximum";
}

TEST(CgroupValues, CpuQuotaIsTheLimitsShareOfA100msPeriod) {
  EXPECT_EQ(cpuQuotaFromMilli(0), -1) << "no limit: unlimited";
  EXPECT_EQ(cpuQuotaFromMilli(250), 25000);
  EXPECT_EQ(cpuQuotaFromMilli(1500), 150000);
  EXPECT_EQ(cpuQuotaFromMilli(5), 1000) << "the kernel's minimum quota is 1 ms";
}

TEST(CgroupValues, WritesSetEveryLimitAndMemswNeverBelowMemory) {
  Resources r;
  r.memory_limit_bytes = 50 << 20;
  r.cpu_request_milli = 500;
  r.cpu_limit_milli = 1000;
  r.pids_limit = 20;
  auto w = cgroupWrites(r);
  auto value = [&](const std::string& file) {
    std::string last;
    for (const auto& x : w) {
      if (x.file == file) {
        last = x.value;
      }
    }
    return last;
  };
  EXPECT_EQ(value("cpu.shares"), "512");
  EXPECT_EQ(value("cpu.cfs_period_us"), "100000");
  EXPECT_EQ(value("cpu.cfs_quota_us"), "100000");
  EXPECT_EQ(value("memory.limit_in_bytes"), "52428800");
  EXPECT_EQ(value("memory.memsw.limit_in_bytes"), "52428800");
  EXPECT_EQ(value("pids.max"), "20");
  // memsw is lifted before the memory limit is set, and lowered only after.
  size_t lift = 0, memory = 0, lower = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i].file == "memory.memsw.limit_in_bytes") {
      (w[i].value == "-1" ? lift : lower) = i;
    }
    if (w[i].file == "memory.limit_in_bytes") {
      memory = i;
    }
  }
  EXPECT_LT(lift, memory);
  EXPECT_LT(memory, lower);
}

TEST(CgroupValues, UnsetLimitsAreWrittenAsUnlimited) {
  auto w = cgroupWrites(Resources{});
  for (const auto& x : w) {
    if (x.file == "memory.limit_in_bytes" || x.file == "cpu.cfs_quota_us") {
      EXPECT_EQ(x.value, "-1") << x.file;
    }
    if (x.file == "pids.max") {
      EXPECT_EQ(x.value, "max");
    }
    if (x.file == "cpu.shares") {
      EXPECT_EQ(x.value, "2");
    }
  }
}

TEST(CgroupValues, OomKillCounterIsReadFromOomControl) {
  EXPECT_EQ(oomKillsFromControl("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3);
  EXPECT_EQ(oomKillsFromControl("oom_kill_disable 0\nunder_oom 0\n"), 0);
}

TEST(CgroupPaths, ContainerCgroupIsUnderTheNameAndPod) {
  ContainerCgroups cg("/sys/fs/cgroup", "rt", "uid1", "app");
  if (cg.dir("memory").empty()) {
    GTEST_SKIP() << "no memory controller mounted";
  }
  EXPECT_EQ(cg.dir("memory"), "/sys/fs/cgroup/memory/rt/poduid1/app");
  ContainerCgroups none("/nonexistent", "rt", "uid1", "app");
  EXPECT_EQ(none.dir("memory"), "");
  EXPECT_TRUE(none.dirs().empty());
}

}  // namespace
}  // namespace rampart::agent::runtime
