#include "spec/spec_diff.h"

#include <gtest/gtest.h>

#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

AppSpec Parse(const std::string& yaml) {
  ParseOutcome out = ParseAppSpec(yaml, "slipway.yaml", "/srv");
  for (const auto& d : out.diagnostics) ADD_FAILURE() << d.ToString();
  return out.spec.value_or(AppSpec{});
}

std::vector<std::string> Lines(const AppSpec& before, const AppSpec& after) {
  std::vector<std::string> out;
  for (const FieldChange& c : DiffAppSpecs(before, after)) out.push_back(c.ToString());
  return out;
}

constexpr const char* kBase = R"(app: web
command: /bin/web
replicas: 2
env:
  GREETING: hello
  DB_PASSWORD: hunter2
limits:
  memory: 64Mi
readiness:
  path: /up
)";

TEST(SpecDiffTest, IdenticalSpecsHaveNoChanges) {
  EXPECT_TRUE(DiffAppSpecs(Parse(kBase), Parse(kBase)).empty());
}

TEST(SpecDiffTest, ReorderedKeysCommentsAndWrittenDefaultsAreUnchanged) {
  const AppSpec other = Parse(R"(# the same app, written differently
readiness: {path: /up, interval: 1s}   # 1s is the default
limits: {memory: 67108864}
env: {DB_PASSWORD: hunter2, GREETING: hello}
replicas: 2
command: ./web
app: web
user: nobody
)");
  // ./web resolves against the base dir /srv; the stored one is /bin/web.
  EXPECT_EQ(Lines(Parse(kBase), other), std::vector<std::string>{"command: /bin/web -> /srv/web"});
  std::string same = kBase;
  same.replace(same.find("/bin/web"), 8, "./web");
  EXPECT_TRUE(DiffAppSpecs(other, Parse(same)).empty());
}

TEST(SpecDiffTest, ReplicasAndLimits) {
  std::string next = kBase;
  next.replace(next.find("replicas: 2"), 11, "replicas: 3");
  next.replace(next.find("memory: 64Mi"), 12, "memory: 128Mi\n  cpu: 0.5");
  EXPECT_EQ(Lines(Parse(kBase), Parse(next)),
            (std::vector<std::string>{"replicas: 2 -> 3", "limits.memory: 64Mi -> 128Mi",
                                      "limits.cpu: added (0.5)"}));
  EXPECT_EQ(Lines(Parse(next), Parse(kBase)),
            (std::vector<std::string>{"replicas: 3 -> 2", "limits.memory: 128Mi -> 64Mi",
                                      "limits.cpu: removed (was 0.5)"}));
}

TEST(SpecDiffTest, EnvValuesAreNeverShown) {
  const AppSpec next = Parse(R"(app: web
command: /bin/web
replicas: 2
env:
  GREETING: howdy
  API_TOKEN: s3cret
limits:
  memory: 64Mi
)");
  const auto changes = DiffAppSpecs(Parse(kBase), next);
  EXPECT_EQ(Lines(Parse(kBase), next),
            (std::vector<std::string>{"env.DB_PASSWORD: removed (value hidden)",
                                      "env.API_TOKEN: added (value hidden)",
                                      "env.GREETING: changed (value hidden)"}));
  for (const FieldChange& c : changes) {
    EXPECT_TRUE(c.secret) << c.path;
    EXPECT_EQ(c.before, "");
    EXPECT_EQ(c.after, "");
    for (const char* value : {"hello", "howdy", "hunter2", "s3cret"}) {
      EXPECT_EQ(c.ToString().find(value), std::string::npos) << c.ToString();
    }
  }
}

TEST(SpecDiffTest, ProbesAndStrategy) {
  const AppSpec next = Parse(R"(app: web
command: /bin/web
replicas: 2
env:
  GREETING: hello
  DB_PASSWORD: hunter2
limits:
  memory: 64Mi
readiness:
  path: /ready
  interval: 500ms
liveness:
  type: tcp
strategy:
  type: canary
  steps:
    - weight: 10
    - analysis: 1m
)");
  const auto lines = Lines(Parse(kBase), next);
  // Where the strategy changes, the fields of the old one go before those of the new one.
  const std::vector<std::string> head(lines.begin(), lines.begin() + 13);
  EXPECT_EQ(head,
            (std::vector<std::string>{
                "readiness.path: /up -> /ready", "readiness.interval: 1s -> 500ms",
                "liveness.type: added (tcp)", "liveness.interval: added (1s)",
                "liveness.timeout: added (1s)", "liveness.success_threshold: added (1)",
                "liveness.failure_threshold: added (3)", "strategy.type: rolling -> canary",
                "strategy.max_surge: removed (was 1)", "strategy.max_unavailable: removed (was 0)",
                "strategy.ready_deadline: removed (was 1m)",
                "strategy.steps: added ([weight 10%, analysis 1m])",
                "strategy.header: added (X-Canary)"}));
}

TEST(SpecDiffTest, ExecAndRunningProbesAndReservations) {
  std::string exec = kBase;
  exec.replace(exec.find("  path: /up"), 11, "  type: exec\n  command: [/bin/web, probe]");
  std::string other = exec;
  other.replace(other.find("probe]"), 6, "probe, /ready]");
  EXPECT_EQ(Lines(Parse(exec), Parse(other)),
            std::vector<std::string>{
                "readiness.command: [/bin/web, probe] -> [/bin/web, probe, /ready]"});
  std::string running = kBase;
  running.replace(running.find("  path: /up"), 11, "  type: running\n  for: 3s");
  EXPECT_EQ(
      Lines(Parse(kBase), Parse(running)),
      (std::vector<std::string>{"readiness.type: http -> running",
                                "readiness.path: removed (was /up)", "readiness.for: added (3s)"}));
  std::string reserved = kBase + std::string("reservations:\n  memory: 32Mi\n");
  EXPECT_EQ(Lines(Parse(kBase), Parse(reserved)),
            std::vector<std::string>{"reservations.memory: added (32Mi)"});
}

TEST(SpecDiffTest, ImageDigest) {
  const char* kImage = R"(app: web
image: registry.local:5000/web@sha256:%s
replicas: 1
)";
  auto with = [&](char c) {
    std::string digest(64, c);
    std::string yaml = kImage;
    yaml.replace(yaml.find("%s"), 2, digest);
    return Parse(yaml);
  };
  const auto changes = DiffAppSpecs(with('a'), with('b'));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, "image");
  EXPECT_EQ(changes[0].before, "registry.local:5000/web@sha256:" + std::string(64, 'a'));
  EXPECT_EQ(changes[0].after, "registry.local:5000/web@sha256:" + std::string(64, 'b'));
}

TEST(SpecDiffTest, WebhookUrlsAreSecret) {
  const char* kAlerts = R"(app: web
command: /bin/web
alerts:
  receivers:
    - name: ops
      url: http://127.0.0.1:9/hook/%s
)";
  auto with = [&](const std::string& token) {
    std::string yaml = kAlerts;
    yaml.replace(yaml.find("%s"), 2, token);
    return Parse(yaml);
  };
  EXPECT_EQ(Lines(with("tok1"), with("tok2")),
            std::vector<std::string>{"alerts.receivers.ops.url: changed (value hidden)"});
}

}  // namespace
}  // namespace slipway::spec
