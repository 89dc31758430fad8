#include "agent/probe/state.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"

namespace rampart::agent::probe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProbeSpec spec(ProbeKind kind, Duration delay, Duration period, int successes, int failures) {
  ProbeSpec s;
  s.kind = kind;
  s.handler = HttpGetAction{"", 8080, "/healthz", false, {}};
  s.initial_delay = delay;
  s.period = period;
  s.success_threshold = successes;
  s.failure_threshold = failures;
  return s;
}

const ProbeOutcome kPass{true, ""};
const ProbeOutcome kFail500{false, "HTTP probe failed with statuscode: 500"};

// Advances the clock to when `kind` is due and records `outcome` there.
std::optional<ProbeStatus> runDue(ContainerProbes& probes, FakeClock& clock, ProbeKind kind,
                                  const ProbeOutcome& outcome) {
  auto due = probes.nextDue(kind);
  EXPECT_TRUE(due) << kindName(kind) << " is not due at all";
  if (!due) {
    return std::nullopt;
  }
  if (*due > clock.now()) {
    clock.advance(*due - clock.now());
  }
  EXPECT_TRUE(probes.isDue(kind, clock.now()));
  return probes.record(kind, outcome, clock.now());
}

TEST(ContainerProbes, AContainerWithoutProbesIsStartedAndReadyAtOnce) {
  FakeClock clock;
  ContainerProbes probes({}, clock.now());
  EXPECT_TRUE(probes.status().started);
  EXPECT_TRUE(probes.status().ready);
  EXPECT_FALSE(probes.status().restart_needed);
  for (ProbeKind kind : {ProbeKind::Liveness, ProbeKind::Readiness, ProbeKind::Startup}) {
    EXPECT_FALSE(probes.nextDue(kind));
  }
}

TEST(ContainerProbes, TheFirstRunWaitsForTheInitialDelayThenRunsEveryPeriod) {
  FakeClock clock;
  TimePoint start = clock.now();
  ContainerProbeSpecs specs;
  specs.readiness = spec(ProbeKind::Readiness, seconds(5), seconds(2), 1, 3);
  ContainerProbes probes(specs, start);
  EXPECT_EQ(probes.nextDue(ProbeKind::Readiness), start + seconds(5));
  clock.advance(milliseconds(4999));
  EXPECT_FALSE(probes.isDue(ProbeKind::Readiness, clock.now()));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(probes.isDue(ProbeKind::Readiness, clock.now()));
  probes.record(ProbeKind::Readiness, kPass, clock.now() + milliseconds(30));
  EXPECT_EQ(probes.nextDue(ProbeKind::Readiness), start + seconds(7));
}

TEST(ContainerProbes, TheJitterDelaysTheFirstRun) {
  FakeClock clock;
  ContainerProbeSpecs specs;
  specs.liveness = spec(ProbeKind::Liveness, seconds(1), seconds(10), 1, 3);
  ContainerProbes probes(specs, clock.now(), milliseconds(300));
  EXPECT_EQ(probes.nextDue(ProbeKind::Liveness), clock.now() + milliseconds(1300));
}

TEST(ContainerProbes, TicksMissedByAProbeThatRanLongAreSkippedNotBunched) {
  FakeClock clock;
  TimePoint start = clock.now();
  ContainerProbeSpecs specs;
  specs.liveness = spec(ProbeKind::Liveness, Duration{0}, milliseconds(100), 1, 3);
  ContainerProbes probes(specs, start);
  // Due at start; the run took 250 ms (a timeout above the period): ticks 100 and 200 are gone.
  probes.record(ProbeKind::Liveness, kFail500, start + milliseconds(250));
  EXPECT_EQ(probes.nextDue(ProbeKind::Liveness), start + milliseconds(300));
}

TEST(ContainerProbes, ReadinessStartsFalseAndFollowsBothThresholds) {
  FakeClock clock;
  ContainerProbeSpecs specs;
  specs.readiness = spec(ProbeKind::Readiness, Duration{0}, seconds(1), 2, 3);
  ContainerProbes probes(specs, clock.now());
  EXPECT_TRUE(probes.status().started);
  EXPECT_FALSE(probes.status().ready);

  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kPass));  // 1 of 2
  auto ready = runDue(probes, clock, ProbeKind::Readiness, kPass);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->ready);
  EXPECT_EQ(ready->message, "");

  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kFail500));
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kFail500));
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kPass));  // the run of failures breaks
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kFail500));
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kFail500));
  EXPECT_TRUE(probes.status().ready);
  auto unready = runDue(probes, clock, ProbeKind::Readiness, kFail500);  // 3 in a row
  ASSERT_TRUE(unready);
  EXPECT_FALSE(unready->ready);
  EXPECT_FALSE(unready->restart_needed);
  EXPECT_EQ(unready->reason, "Unhealthy");
  EXPECT_EQ(unready->message, "Readiness probe failed: HTTP probe failed with statuscode: 500");

  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Readiness, kPass));
  auto back = runDue(probes, clock, ProbeKind::Readiness, kPass);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->ready);
}

TEST(ContainerProbes, LivenessFailingThresholdTimesInARowAsksForARestartWithTheKubeletsMessage) {
  FakeClock clock;
  ContainerProbeSpecs specs;
  specs.liveness = spec(ProbeKind::Liveness, Duration{0}, seconds(1), 1, 3);
  ContainerProbes probes(specs, clock.now());
  EXPECT_TRUE(probes.status().ready);  // no readiness probe
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Liveness, kFail500));
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Liveness, kFail500));
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Liveness, kPass));  // resets the count
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Liveness, kFail500));
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Liveness, kFail500));
  auto restart = runDue(probes, clock, ProbeKind::Liveness, kFail500);
  ASSERT_TRUE(restart);
  EXPECT_TRUE(restart->restart_needed);
  EXPECT_TRUE(restart->started);
  EXPECT_FALSE(restart->ready);  // being killed
  EXPECT_EQ(restart->reason, "Unhealthy");
  EXPECT_EQ(restart->message, "Liveness probe failed: HTTP probe failed with statuscode: 500");
  // On hold until restarted: nothing runs, late results are ignored.
  EXPECT_FALSE(probes.nextDue(ProbeKind::Liveness));
  EXPECT_FALSE(probes.record(ProbeKind::Liveness, kPass, clock.now()));
  EXPECT_TRUE(probes.status().restart_needed);
}

TEST(ContainerProbes, LivenessAndReadinessWaitForTheStartupProbe) {
  FakeClock clock;
  TimePoint start = clock.now();
  ContainerProbeSpecs specs;
  specs.startup = spec(ProbeKind::Startup, Duration{0}, seconds(1), 1, 30);
  specs.liveness = spec(ProbeKind::Liveness, seconds(2), seconds(10), 1, 3);
  specs.readiness = spec(ProbeKind::Readiness, Duration{0}, seconds(10), 1, 3);
  ContainerProbes probes(specs, start);
  EXPECT_FALSE(probes.status().started);
  EXPECT_FALSE(probes.status().ready);
  EXPECT_FALSE(probes.nextDue(ProbeKind::Liveness));
  EXPECT_FALSE(probes.nextDue(ProbeKind::Readiness));
  // Results of gated probes change nothing.
  EXPECT_FALSE(probes.record(ProbeKind::Readiness, kPass, clock.now()));

  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(runDue(probes, clock, ProbeKind::Startup, kFail500));
    EXPECT_FALSE(probes.nextDue(ProbeKind::Liveness));
  }
  auto started = runDue(probes, clock, ProbeKind::Startup, kPass);  // at start + 3 s
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->started);
  EXPECT_FALSE(started->ready);                      // the readiness probe has not passed yet
  EXPECT_FALSE(probes.nextDue(ProbeKind::Startup));  // done for this container's life
  // Their initial delays have passed: due at once, not at their next tick.
  EXPECT_EQ(probes.nextDue(ProbeKind::Readiness), clock.now());
  EXPECT_EQ(probes.nextDue(ProbeKind::Liveness), clock.now());
  auto ready = probes.record(ProbeKind::Readiness, kPass, clock.now());
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->ready);
}

TEST(ContainerProbes, ProbesWhoseInitialDelayRunsPastStartupKeepIt) {
  FakeClock clock;
  TimePoint start = clock.now();
  ContainerProbeSpecs specs;
  specs.startup = spec(ProbeKind::Startup, Duration{0}, seconds(1), 1, 3);
  specs.liveness = spec(ProbeKind::Liveness, seconds(30), seconds(10), 1, 3);
  ContainerProbes probes(specs, start);
  ASSERT_TRUE(runDue(probes, clock, ProbeKind::Startup, kPass));
  EXPECT_EQ(probes.nextDue(ProbeKind::Liveness), start + seconds(30));
}

TEST(ContainerProbes, StartupFailingThresholdTimesAsksForARestart) {
  FakeClock clock;
  ContainerProbeSpecs specs;
  specs.startup = spec(ProbeKind::Startup, Duration{0}, seconds(1), 1, 2);
  specs.liveness = spec(ProbeKind::Liveness, Duration{0}, seconds(1), 1, 3);
  ContainerProbes probes(specs, clock.now());
  ProbeOutcome refused{false, "dial tcp 10.0.0.5:80: connect: connection refused"};
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Startup, refused));
  auto restart = runDue(probes, clock, ProbeKind::Startup, refused);
  ASSERT_TRUE(restart);
  EXPECT_TRUE(restart->restart_needed);
  EXPECT_FALSE(restart->started);
  EXPECT_EQ(restart->message,
            "Startup probe failed: dial tcp 10.0.0.5:80: connect: connection refused");
  EXPECT_FALSE(probes.nextDue(ProbeKind::Startup));
  EXPECT_FALSE(probes.nextDue(ProbeKind::Liveness));
}

TEST(ContainerProbes, ARestartStartsEverythingOver) {
  FakeClock clock;
  ContainerProbeSpecs specs;
  specs.liveness = spec(ProbeKind::Liveness, seconds(1), seconds(1), 1, 1);
  specs.readiness = spec(ProbeKind::Readiness, Duration{0}, seconds(1), 1, 1);
  ContainerProbes probes(specs, clock.now());
  ASSERT_TRUE(runDue(probes, clock, ProbeKind::Readiness, kPass));
  ASSERT_TRUE(runDue(probes, clock, ProbeKind::Liveness, kFail500));
  ASSERT_TRUE(probes.status().restart_needed);

  clock.advance(seconds(5));
  TimePoint again = clock.now();
  auto fresh = probes.restarted(again);
  EXPECT_TRUE(fresh.started);
  EXPECT_FALSE(fresh.ready);  // its readiness probe must pass again
  EXPECT_FALSE(fresh.restart_needed);
  EXPECT_EQ(fresh.message, "");
  EXPECT_EQ(probes.nextDue(ProbeKind::Liveness), again + seconds(1));
  EXPECT_EQ(probes.nextDue(ProbeKind::Readiness), again);
  // The failure count started over too: with failureThreshold 1, one failure is needed again,
  // and a pass first changes nothing.
  EXPECT_FALSE(runDue(probes, clock, ProbeKind::Liveness, kPass));
  EXPECT_FALSE(probes.status().restart_needed);
}

}  // namespace
}  // namespace rampart::agent::probe
