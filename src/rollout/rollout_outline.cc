#include "rollout/rollout_outline.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/duration.h"
#include "rollout/rolling_plan.h"
#include "spec/delivery_reader.h"

namespace slipway::rollout {

namespace {

std::string Checks(const spec::AnalysisConfig& a) {
  std::vector<std::string> checks;
  for (const spec::AnalysisCheck& c : a.checks) {
    checks.push_back(fmt::format("{} <= {}", spec::AnalysisMetricName(c.metric), c.max));
  }
  return fmt::format("{} (at least {} request(s) each)", fmt::join(checks, ", "),
                     a.checks.empty() ? 0 : a.checks.front().min_samples);
}

void OutlineRolling(const spec::AppSpec& next, int old_replicas, RolloutOutline& out) {
  const spec::RollingStrategy& r = next.rolling;
  out.strategy = "rolling";
  out.summary = fmt::format(
      "rolling: {} new replica(s){}, max surge {}, max unavailable {}, ready deadline {}",
      next.replicas, old_replicas ? fmt::format(" replacing {}", old_replicas) : "", r.max_surge,
      r.max_unavailable, FormatDuration(r.ready_deadline));
  RollingInputs in{.replicas = next.replicas,
                   .max_surge = r.max_surge,
                   .max_unavailable = r.max_unavailable,
                   .old_ready = old_replicas};
  // Each batch waits for the replicas it started to become ready; bounded: every batch starts
  // or stops at least one replica.
  for (int batch = 1; batch <= 2 * (next.replicas + old_replicas) + 2; ++batch) {
    RollingStep step = PlanRollingStep(in);
    if (step.done || (step.retire_old == 0 && step.start_new == 0)) break;
    std::vector<std::string> parts;
    if (step.retire_old) parts.push_back(fmt::format("stop {} old", step.retire_old));
    if (step.start_new) parts.push_back(fmt::format("start {} new", step.start_new));
    out.steps.push_back(fmt::format("batch {}: {}", batch, fmt::join(parts, ", ")));
    in.old_ready -= step.retire_old;
    in.new_started += step.start_new;
    in.new_ready = in.new_started;
  }
  out.started = next.replicas;
  out.stopped = old_replicas;
}

void OutlineBlueGreen(const spec::AppSpec& next, int old_replicas, RolloutOutline& out) {
  const spec::BlueGreenStrategy& b = next.blue_green;
  out.strategy = "blue-green";
  out.summary = fmt::format("blue-green: {} new replica(s) beside the {} serving", next.replicas,
                            old_replicas);
  out.steps.push_back(fmt::format(
      "start {} new replica(s){}", next.replicas,
      b.preview_listen.empty() ? "" : "; preview on " + b.preview_listen + " once ready"));
  out.steps.push_back(
      b.auto_promote
          ? "switch all traffic " + FormatDuration(*b.auto_promote) + " after they are ready"
          : std::string("pause until `slipway promote " + next.app + "`, then switch all traffic"));
  out.steps.push_back(fmt::format("stop the {} old replica(s) {} after the switch", old_replicas,
                                  FormatDuration(b.scale_down_delay)));
  out.started = next.replicas;
  out.stopped = old_replicas;
}

void OutlineCanary(const spec::AppSpec& next, int old_replicas, RolloutOutline& out) {
  out.strategy = "canary";
  out.summary = fmt::format(
      "canary: {} step(s) beside the {} serving replica(s); analysis every {} over {}: {}; "
      "{} failure(s) in a row abort",
      next.canary.steps.size(), old_replicas, FormatDuration(next.analysis.interval),
      FormatDuration(std::chrono::duration_cast<Millis>(next.analysis.window)),
      Checks(next.analysis), next.analysis.failure_limit);
  int canary = 0;
  for (const spec::CanaryStep& s : next.canary.steps) {
    switch (s.kind) {
      case spec::CanaryStep::Kind::kWeight: {
        const int wanted = std::max(canary, CanaryReplicasFor(next.replicas, s.weight));
        out.steps.push_back(
            fmt::format("weight {}%: {} canary replica(s){}", s.weight, wanted,
                        wanted > canary ? fmt::format(" ({} started)", wanted - canary) : ""));
        canary = wanted;
        break;
      }
      case spec::CanaryStep::Kind::kPause:
        out.steps.push_back(s.pause ? "pause " + FormatDuration(*s.pause)
                                    : "pause until `slipway resume " + next.app + "`");
        break;
      case spec::CanaryStep::Kind::kAnalysis:
        out.steps.push_back(
            fmt::format("analysis {}: the checks must keep passing", FormatDuration(s.analysis)));
        break;
    }
  }
  out.steps.push_back(fmt::format("promote: {} new replica(s), all traffic; stop the {} old",
                                  next.replicas, old_replicas));
  out.started = next.replicas;
  out.stopped = old_replicas;
}

}  // namespace

RolloutOutline OutlineRollout(const spec::AppSpec& next, std::optional<int> serving_replicas) {
  RolloutOutline out;
  if (!serving_replicas || next.strategy == spec::Strategy::kRolling) {
    OutlineRolling(next, serving_replicas.value_or(0), out);
    if (!serving_replicas && next.strategy != spec::Strategy::kRolling) {
      out.summary += fmt::format(" (a first deploy rolls; {} applies from the next one)",
                                 spec::StrategyName(next.strategy));
    }
    return out;
  }
  if (next.strategy == spec::Strategy::kBlueGreen) {
    OutlineBlueGreen(next, *serving_replicas, out);
  } else {
    OutlineCanary(next, *serving_replicas, out);
  }
  return out;
}

}  // namespace slipway::rollout
