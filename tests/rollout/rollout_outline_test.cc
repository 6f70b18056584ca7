#include "rollout/rollout_outline.h"

#include <gtest/gtest.h>

#include "spec/spec_parser.h"

namespace slipway::rollout {
namespace {

spec::AppSpec Parse(const std::string& yaml) {
  spec::ParseOutcome out = spec::ParseAppSpec(yaml, "slipway.yaml", "/srv");
  for (const auto& d : out.diagnostics) ADD_FAILURE() << d.ToString();
  return out.spec.value_or(spec::AppSpec{});
}

TEST(RolloutOutlineTest, FirstDeployStartsEveryReplicaAtOnce) {
  const RolloutOutline o =
      OutlineRollout(Parse("app: web\ncommand: /bin/web\nreplicas: 3\n"), std::nullopt);
  EXPECT_EQ(o.strategy, "rolling");
  EXPECT_EQ(o.steps, (std::vector<std::string>{"batch 1: start 3 new"}));
  EXPECT_EQ(o.started, 3);
  EXPECT_EQ(o.stopped, 0);
}

TEST(RolloutOutlineTest, RollingReplacesOneAtATimeWithDefaults) {
  const RolloutOutline o = OutlineRollout(Parse("app: web\ncommand: /bin/web\nreplicas: 3\n"), 2);
  EXPECT_EQ(o.summary,
            "rolling: 3 new replica(s) replacing 2, max surge 1, max unavailable 0, ready "
            "deadline 1m");
  EXPECT_EQ(o.steps,
            (std::vector<std::string>{"batch 1: start 2 new", "batch 2: stop 1 old, start 1 new",
                                      "batch 3: stop 1 old"}));
  EXPECT_EQ(o.started, 3);
  EXPECT_EQ(o.stopped, 2);
}

TEST(RolloutOutlineTest, CanaryNeedsAServingRelease) {
  const std::string yaml = R"(app: web
command: /bin/web
replicas: 4
strategy:
  type: canary
  steps:
    - weight: 25
    - pause: 10s
    - weight: 50
    - analysis: 30s
)";
  const RolloutOutline first = OutlineRollout(Parse(yaml), std::nullopt);
  EXPECT_EQ(first.strategy, "rolling");
  EXPECT_NE(first.summary.find("a first deploy rolls; canary applies from the next one"),
            std::string::npos);
  const RolloutOutline o = OutlineRollout(Parse(yaml), 4);
  EXPECT_EQ(o.strategy, "canary");
  EXPECT_EQ(o.steps,
            (std::vector<std::string>{"weight 25%: 1 canary replica(s) (1 started)", "pause 10s",
                                      "weight 50%: 2 canary replica(s) (1 started)",
                                      "analysis 30s: the checks must keep passing",
                                      "promote: 4 new replica(s), all traffic; stop the 4 old"}));
}

TEST(RolloutOutlineTest, BlueGreenWaitsForPromoteWithoutAutoPromote) {
  const RolloutOutline o = OutlineRollout(Parse(R"(app: web
command: /bin/web
replicas: 2
strategy:
  type: blue-green
)"),
                                          2);
  EXPECT_EQ(o.strategy, "blue-green");
  ASSERT_EQ(o.steps.size(), 3u);
  EXPECT_EQ(o.steps[1], "pause until `slipway promote web`, then switch all traffic");
}

}  // namespace
}  // namespace slipway::rollout
