#include "spec/spec_parser.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFullSpec = R"(app: hello
command: ./bin/hello
args: ["--flag", "x", 42]
env:
  VERSION: v1
  DEBUG: true
  WORKERS: 4
replicas: 3
user: www-data
group: www-data
allow_root: false
workdir: /srv/hello
limits:
  memory: 256Mi
  cpu: 0.5
  open_files: 4096
  processes: 64
readiness:
  type: http
  path: /healthz
  interval: 500ms
  timeout: 250ms
  success_threshold: 2
  failure_threshold: 5
  startup_timeout: 1m
liveness:
  type: tcp
  interval: 5s
  timeout: 1s
  failure_threshold: 4
stop:
  signal: QUIT
  grace_period: 1m30s
strategy:
  type: rolling
  max_surge: 2
  max_unavailable: 1
  ready_deadline: 2m
proxy:
  listen: "[::1]:9090"
  drain_timeout: 45s
logs:
  max_bytes: 1Mi
)";

std::vector<std::string> Messages(const ParseOutcome& outcome) {
  std::vector<std::string> out;
  for (const Diagnostic& d : outcome.diagnostics) out.push_back(d.ToString());
  return out;
}

ParseOutcome Parse(std::string_view text) { return ParseAppSpec(text, "app.yaml", "/srv/app"); }

TEST(SpecParserTest, FullSpecKeepsEveryFieldAsWritten) {
  ParseOutcome outcome = Parse(kFullSpec);
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  const AppSpec& spec = *outcome.spec;
  EXPECT_EQ(spec.app, "hello");
  EXPECT_EQ(spec.command, "/srv/app/bin/hello");
  EXPECT_EQ(spec.args, (std::vector<std::string>{"--flag", "x", "42"}));
  EXPECT_EQ(spec.env, (std::map<std::string, std::string>{
                          {"VERSION", "v1"}, {"DEBUG", "true"}, {"WORKERS", "4"}}));
  EXPECT_EQ(spec.replicas, 3);
  EXPECT_EQ(spec.user, "www-data");
  EXPECT_EQ(spec.group, "www-data");
  EXPECT_FALSE(spec.allow_root);
  EXPECT_EQ(spec.workdir, "/srv/hello");
  EXPECT_EQ(spec.limits.memory_bytes, 256u << 20);
  EXPECT_EQ(spec.limits.cpu, 0.5);
  EXPECT_EQ(spec.limits.open_files, 4096u);
  EXPECT_EQ(spec.limits.processes, 64u);
  EXPECT_EQ(spec.readiness.type, ProbeType::kHttp);
  EXPECT_EQ(spec.readiness.path, "/healthz");
  EXPECT_EQ(spec.readiness.interval, 500ms);
  EXPECT_EQ(spec.readiness.timeout, 250ms);
  EXPECT_EQ(spec.readiness.success_threshold, 2);
  EXPECT_EQ(spec.readiness.failure_threshold, 5);
  EXPECT_EQ(spec.readiness.startup_timeout, 60s);
  ASSERT_TRUE(spec.liveness.has_value());
  EXPECT_EQ(spec.liveness->type, ProbeType::kTcp);
  EXPECT_EQ(spec.liveness->interval, 5s);
  EXPECT_EQ(spec.liveness->timeout, 1s);
  EXPECT_EQ(spec.liveness->success_threshold, 1);
  EXPECT_EQ(spec.liveness->failure_threshold, 4);
  EXPECT_EQ(spec.stop.signal, 3);
  EXPECT_EQ(spec.stop.signal_name, "SIGQUIT");
  EXPECT_EQ(spec.stop.grace_period, 90s);
  EXPECT_EQ(spec.rolling.max_surge, 2);
  EXPECT_EQ(spec.rolling.max_unavailable, 1);
  EXPECT_EQ(spec.rolling.ready_deadline, 120s);
  EXPECT_EQ(spec.proxy.listen, "[::1]:9090");
  EXPECT_EQ(spec.proxy.drain_timeout, 45s);
  EXPECT_EQ(spec.log_max_bytes, 1u << 20);
}

TEST(SpecParserTest, MinimalSpecGetsEveryDefault) {
  ParseOutcome outcome = Parse("app: hello\ncommand: /usr/bin/hello\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  const AppSpec& spec = *outcome.spec;
  const AppSpec defaults;
  const Probe default_probe;
  EXPECT_EQ(spec.app, "hello");
  EXPECT_EQ(spec.command, "/usr/bin/hello");
  EXPECT_TRUE(spec.args.empty());
  EXPECT_TRUE(spec.env.empty());
  EXPECT_EQ(spec.replicas, 1);
  EXPECT_EQ(spec.user, "nobody");
  EXPECT_EQ(spec.group, std::nullopt);
  EXPECT_FALSE(spec.allow_root);
  EXPECT_EQ(spec.workdir, "/");
  EXPECT_EQ(spec.limits.memory_bytes, std::nullopt);
  EXPECT_EQ(spec.limits.cpu, std::nullopt);
  EXPECT_EQ(spec.limits.open_files, 1024u);
  EXPECT_EQ(spec.limits.processes, std::nullopt);
  EXPECT_EQ(spec.readiness.type, ProbeType::kHttp);
  EXPECT_EQ(spec.readiness.path, "/up");
  EXPECT_EQ(spec.readiness.interval, 1s);
  EXPECT_EQ(spec.readiness.timeout, 1s);
  EXPECT_EQ(spec.readiness.success_threshold, 1);
  EXPECT_EQ(spec.readiness.failure_threshold, 3);
  EXPECT_EQ(spec.readiness.startup_timeout, 30s);
  EXPECT_FALSE(spec.liveness.has_value());
  EXPECT_EQ(spec.stop.signal, 15);
  EXPECT_EQ(spec.stop.signal_name, "SIGTERM");
  EXPECT_EQ(spec.stop.grace_period, 10s);
  EXPECT_EQ(spec.rolling.max_surge, 1);
  EXPECT_EQ(spec.rolling.max_unavailable, 0);
  EXPECT_EQ(spec.rolling.ready_deadline, 60s);
  EXPECT_EQ(spec.proxy.listen, "127.0.0.1:8080");
  EXPECT_EQ(spec.proxy.drain_timeout, 30s);
  EXPECT_EQ(spec.log_max_bytes, 10u << 20);
  EXPECT_EQ(spec.log_max_bytes, defaults.log_max_bytes);
  EXPECT_EQ(spec.readiness.startup_timeout, default_probe.startup_timeout);
}

TEST(SpecParserTest, ReservationsAreReadBesideTheLimits) {
  ParseOutcome outcome = Parse(
      "app: a\ncommand: ./a\nlimits: {memory: 64Mi, cpu: 1}\nreservations:\n  memory: 64Mi\n"
      "  cpu: 0.25\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->limits.memory_reservation_bytes, 64u << 20);  // equal to the limit
  EXPECT_EQ(outcome.spec->limits.cpu_reservation, 0.25);
  outcome = Parse("app: a\ncommand: ./a\nreservations: {memory: 512Ki}\n");
  EXPECT_EQ(Messages(outcome),
            std::vector<std::string>{
                "app.yaml:3:24: reservations.memory: 512Ki is out of range (at least 1Mi)"});
  outcome = Parse("app: a\ncommand: ./a\nlimits: {memory: 64Mi}\nreservations: {memory: 1Gi}\n");
  EXPECT_EQ(Messages(outcome),
            std::vector<std::string>{
                "app.yaml:4:24: reservations.memory: 1Gi is more than limits.memory (64Mi)"});
}

TEST(SpecParserTest, ReportsEveryProblemSortedByPosition) {
  ParseOutcome outcome = Parse(R"(replicas: 0
limits:
  memroy: 1Gi
  cpu: lots
env:
  PORT: "80"
app: Hello
replicas: 2
readiness:
  interval: fast
)");
  EXPECT_FALSE(outcome.spec.has_value());
  EXPECT_EQ(Messages(outcome),
            (std::vector<std::string>{
                "app.yaml:1:1: missing required field \"command\"",
                "app.yaml:1:11: replicas: 0 is out of range (1..100)",
                "app.yaml:3:3: limits: unknown key \"memroy\"; did you mean \"memory\"?",
                "app.yaml:4:8: limits.cpu: expected a number, got \"lots\"",
                "app.yaml:6:3: env: PORT is reserved; Slipway assigns PORT to each replica",
                "app.yaml:7:6: app: \"Hello\" is not a valid app name (1 to 63 lowercase "
                "letters, digits and '-', starting with a letter or digit)",
                "app.yaml:8:1: duplicate key \"replicas\" (first defined at 1:1)",
                "app.yaml:10:13: readiness.interval: \"fast\" is not a duration (examples: "
                "500ms, 10s, 2m)",
            }));
}

TEST(SpecParserTest, RelativeCommandResolvesAgainstBaseDir) {
  auto outcome = ParseAppSpec("app: a\ncommand: ../bin/./a\n", "x.yaml", "/srv/app/conf");
  ASSERT_TRUE(outcome.spec.has_value());
  EXPECT_EQ(outcome.spec->command, "/srv/app/bin/a");
}

TEST(SpecParserTest, EmptySectionsMeanDefaults) {
  auto outcome = Parse("app: a\ncommand: ./a\nlimits:\nliveness:\nargs:\nenv:\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_FALSE(outcome.spec->liveness.has_value());
  EXPECT_EQ(outcome.spec->limits.open_files, 1024u);
}

TEST(SpecParserTest, EmptyLivenessMappingEnablesDefaultProbe) {
  auto outcome = Parse("app: a\ncommand: ./a\nliveness: {}\n");
  ASSERT_TRUE(outcome.spec.has_value());
  ASSERT_TRUE(outcome.spec->liveness.has_value());
  EXPECT_EQ(outcome.spec->liveness->path, "/up");
}

TEST(SpecParserTest, ExecProbeTakesAListOrAShellString) {
  ParseOutcome outcome = Parse(
      "app: hello\ncommand: /hello\nreadiness:\n  type: exec\n  command: [\"/hello\", \"probe\", "
      "/healthz]\n  timeout: 2s\nliveness:\n  type: exec\n  command: test -e /tmp/ok && echo ok\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->readiness.type, ProbeType::kExec);
  EXPECT_EQ(outcome.spec->readiness.command,
            (std::vector<std::string>{"/hello", "probe", "/healthz"}));
  EXPECT_EQ(outcome.spec->readiness.timeout, 2s);
  ASSERT_TRUE(outcome.spec->liveness.has_value());
  EXPECT_EQ(outcome.spec->liveness->command,
            (std::vector<std::string>{"/bin/sh", "-c", "test -e /tmp/ok && echo ok"}));
}

TEST(SpecParserTest, RunningProbeDefaultsToFiveSeconds) {
  ParseOutcome outcome = Parse("app: w\ncommand: /w\nreadiness:\n  type: running\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->readiness.type, ProbeType::kRunning);
  EXPECT_EQ(outcome.spec->readiness.running_for, 5s);
  outcome = Parse("app: w\ncommand: /w\nreadiness:\n  type: running\n  for: 500ms\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->readiness.running_for, 500ms);
}

TEST(SpecParserTest, RootNeedsAllowRoot) {
  EXPECT_TRUE(Parse("app: a\ncommand: ./a\nuser: root\nallow_root: true\n").spec.has_value());
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\nuser: \"0\"\n")),
            (std::vector<std::string>{"app.yaml:3:7: user: running as root requires "
                                      "`allow_root: true` (default user: nobody)"}));
}

TEST(SpecParserTest, AcceptsSignalsWithAndWithoutPrefix) {
  auto outcome = Parse("app: a\ncommand: ./a\nstop:\n  signal: USR2\n");
  ASSERT_TRUE(outcome.spec.has_value());
  EXPECT_EQ(outcome.spec->stop.signal, 12);
  EXPECT_EQ(outcome.spec->stop.signal_name, "SIGUSR2");
}

TEST(SpecParserTest, AcceptsListenForms) {
  for (const char* listen : {"0.0.0.0:80", "localhost:65535", "[::]:8080"}) {
    auto outcome =
        Parse(std::string("app: a\ncommand: ./a\nproxy:\n  listen: \"") + listen + "\"\n");
    EXPECT_TRUE(outcome.spec.has_value()) << listen;
  }
}

TEST(SpecParserTest, BareNumbersAreSecondsForDurations) {
  auto outcome = Parse("app: a\ncommand: ./a\nstop:\n  grace_period: 5\n");
  ASSERT_TRUE(outcome.spec.has_value());
  EXPECT_EQ(outcome.spec->stop.grace_period, 5s);
}

TEST(SpecParserTest, EmptyScalarValueIsReportedAtItsKey) {
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\nreplicas:\nuser: x\n")),
            (std::vector<std::string>{"app.yaml:3:1: replicas: expected an integer, got nothing"}));
}

TEST(SpecParserTest, QuotingDoesNotChangeHowValuesAreRead) {
  auto outcome = Parse("app: a\ncommand: ./a\nreplicas: \"3\"\nallow_root: \"true\"\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->replicas, 3);
  EXPECT_TRUE(outcome.spec->allow_root);
}

TEST(SpecParserTest, MergeKeysAreRejectedWithAReason) {
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\nreadiness:\n  <<: {path: /x}\n")),
            (std::vector<std::string>{"app.yaml:4:3: readiness: unknown key \"<<\"; YAML merge "
                                      "keys are not supported, write the fields out"}));
}

TEST(SpecParserTest, SecondDocumentIsAnError) {
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\n---\napp: b\n")),
            (std::vector<std::string>{
                "app.yaml:4:1: a second YAML document starts here; slipway.yaml holds one app"}));
  EXPECT_TRUE(Parse("---\napp: a\ncommand: ./a\n---\n").spec.has_value());
}

TEST(SpecParserFileTest, UnreadableFileIsOneDiagnostic) {
  auto outcome = ParseAppSpecFile("/nonexistent/slipway.yaml");
  EXPECT_FALSE(outcome.spec.has_value());
  EXPECT_EQ(Messages(outcome),
            (std::vector<std::string>{"/nonexistent/slipway.yaml:1:1: cannot read: No such file "
                                      "or directory"}));
}

TEST(SpecParserFileTest, BaseDirIsTheFilesAbsoluteDirectory) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("spec_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "conf");
  { std::ofstream(dir / "conf" / "slipway.yaml") << "app: a\ncommand: ./bin/a\n"; }
  fs::path old_cwd = fs::current_path();
  fs::current_path(dir);
  auto outcome = ParseAppSpecFile("conf/slipway.yaml");
  fs::current_path(old_cwd);
  fs::remove_all(dir);
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->command, (dir / "conf" / "bin" / "a").string());
}

}  // namespace
}  // namespace slipway::spec
