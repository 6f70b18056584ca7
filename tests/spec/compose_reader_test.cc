// The Compose reader: a three-service file translates to three apps in depends_on order; every
// file in tests/spec/compose-bad/ gets exactly the one error its first line states
// (`# expect: LINE:COL: message`, as tests/spec/bad does; warnings are not counted).
#include "spec/compose_reader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bad_corpus.h"

namespace slipway::spec {
namespace {

const std::string kGood = std::string(COMPOSE_GOOD_DIR) + "/three/compose.yaml";

namespace fs = std::filesystem;

using testing_corpus::CorpusFiles;
using testing_corpus::CorpusTestName;
using testing_corpus::ExpectedDiagnostic;

bool HasWarning(const ComposeOutcome& outcome, const std::string& text) {
  return std::any_of(outcome.warnings.begin(), outcome.warnings.end(), [&](const Diagnostic& d) {
    return d.ToString().find(text) != std::string::npos;
  });
}

TEST(ComposeReaderTest, ThreeServicesTranslateInDependencyOrder) {
  ComposeOutcome outcome = ReadComposeFile(kGood, {});
  ASSERT_TRUE(outcome.ok()) << outcome.errors[0].ToString();
  EXPECT_EQ(outcome.project, "shop");
  ASSERT_EQ(outcome.services.size(), 2u);  // debug's profile is not active
  EXPECT_EQ(outcome.services[0].service, "worker");
  EXPECT_EQ(outcome.services[1].service, "web");
  EXPECT_EQ(outcome.services[1].depends_on, std::vector<std::string>{"worker"});

  const AppSpec& web = outcome.services[1].spec;
  EXPECT_EQ(web.app, "shop-web");
  EXPECT_EQ(web.replicas, 2);
  EXPECT_EQ(web.proxy.listen, "127.0.0.1:18080");
  EXPECT_EQ(web.limits.memory_bytes, 64u << 20);
  EXPECT_EQ(web.limits.cpu, 0.5);
  EXPECT_EQ(web.limits.processes, 32u);
  EXPECT_EQ(web.limits.memory_reservation_bytes, 16u << 20);
  EXPECT_EQ(web.limits.cpu_reservation, std::nullopt);
  EXPECT_EQ(web.readiness.type, ProbeType::kHttp);
  EXPECT_EQ(web.readiness.path, "/up");
  EXPECT_EQ(web.readiness.interval, Millis(250));
  EXPECT_EQ(web.readiness.failure_threshold, 4);
  EXPECT_EQ(web.readiness.startup_timeout, Millis(30'000));
  EXPECT_EQ(web.user, "65534");
  EXPECT_EQ(web.group, "65534");
  EXPECT_TRUE(web.docker.read_only);
  EXPECT_EQ(web.args, std::vector<std::string>{"-v"});
  EXPECT_EQ(web.env.at("VERSION"), "v1");  // environment wins over env_file
  EXPECT_EQ(web.env.at("GREETING"), "hi there");
  ASSERT_EQ(web.docker.volumes.size(), 1u);
  EXPECT_EQ(web.docker.volumes[0].name, "shop_data");
  EXPECT_EQ(web.docker.volumes[0].target, "/data");

  const AppSpec& worker = outcome.services[0].spec;
  EXPECT_EQ(worker.app, "shop-worker");
  EXPECT_EQ(worker.proxy.listen, "");                     // no ports: no listener
  EXPECT_EQ(worker.readiness.type, ProbeType::kRunning);  // no ports, no healthcheck
  EXPECT_EQ(worker.readiness.running_for, Millis(5'000));
  ASSERT_EQ(worker.docker.volumes.size(), 1u);
  EXPECT_TRUE(worker.docker.volumes[0].read_only);

  // What the daemon gets parses to the same spec.
  ParseOutcome again = ParseAppSpec(outcome.services[1].spec_yaml, "web", "/");
  ASSERT_TRUE(again.spec);
  EXPECT_EQ(again.spec->limits.memory_bytes, web.limits.memory_bytes);
  EXPECT_EQ(again.spec->proxy.listen, web.proxy.listen);
}

TEST(ComposeReaderTest, IgnoredKeysAreWarnedAtTheirPosition) {
  ComposeOutcome outcome = ReadComposeFile(kGood, {});
  EXPECT_TRUE(HasWarning(outcome, kGood + ":35:5: warning: services.web.restart: ignored"));
  EXPECT_TRUE(HasWarning(outcome, "container port 80 is not used"));
}

std::string AllWarnings(const ComposeOutcome& outcome) {
  std::string all;
  for (const Diagnostic& d : outcome.warnings) all += d.ToString() + "\n";
  return all;
}

const AppSpec& ServiceSpec(const ComposeOutcome& outcome, const std::string& name) {
  for (const auto& s : outcome.services) {
    if (s.service == name) return s.spec;
  }
  ADD_FAILURE() << "no service " << name;
  static const AppSpec none;
  return none;
}

TEST(ComposeReaderTest, HealthchecksBecomeProbes) {
  const std::string file = std::string(COMPOSE_GOOD_DIR) + "/probes/compose.yaml";
  ComposeOutcome outcome = ReadComposeFile(file, {});
  ASSERT_TRUE(outcome.ok()) << outcome.errors[0].ToString();
  const AppSpec& cmd = ServiceSpec(outcome, "cmd");
  EXPECT_EQ(cmd.readiness.type, ProbeType::kExec);
  EXPECT_EQ(cmd.readiness.command, (std::vector<std::string>{"/hello", "probe", "/up"}));
  EXPECT_EQ(cmd.readiness.interval, Millis(2'000));
  EXPECT_EQ(cmd.readiness.timeout, Millis(3'000));
  EXPECT_EQ(cmd.readiness.failure_threshold, 2);
  EXPECT_EQ(ServiceSpec(outcome, "shell").readiness.command,
            (std::vector<std::string>{"/bin/sh", "-c", "test -e /tmp/ready || exit 1"}));
  EXPECT_EQ(ServiceSpec(outcome, "string").readiness.type, ProbeType::kExec);
  EXPECT_EQ(ServiceSpec(outcome, "string").readiness.command,
            (std::vector<std::string>{"/bin/sh", "-c", "pgrep hello"}));
  // A local URL is probed on the replica's $PORT (it does not listen on the container port).
  EXPECT_EQ(ServiceSpec(outcome, "url").readiness.type, ProbeType::kHttp);
  EXPECT_EQ(ServiceSpec(outcome, "url").readiness.path, "/healthz");
  EXPECT_EQ(ServiceSpec(outcome, "none").readiness.type, ProbeType::kRunning);
  EXPECT_EQ(ServiceSpec(outcome, "disabled").readiness.type, ProbeType::kRunning);
  EXPECT_EQ(ServiceSpec(outcome, "worker").readiness.type, ProbeType::kRunning);
  EXPECT_EQ(ServiceSpec(outcome, "worker").readiness.running_for, Millis(5'000));
  EXPECT_EQ(ServiceSpec(outcome, "web").readiness.type, ProbeType::kTcp);
  EXPECT_TRUE(HasWarning(outcome, file + ":36:5: warning: services.worker: no healthcheck and no "
                                         "ports: readiness is \"running for 5s\""))
      << AllWarnings(outcome);
  EXPECT_TRUE(HasWarning(outcome,
                         "services.none.healthcheck.test: NONE: readiness is \"running "
                         "for 5s\""));
  EXPECT_TRUE(HasWarning(outcome,
                         "services.disabled.healthcheck.disable: disabled: readiness "
                         "is \"running for 5s\""));
  EXPECT_FALSE(HasWarning(outcome, "services.web: no healthcheck"));
  // What the daemon gets parses to the same probe.
  for (const auto& s : outcome.services) {
    ParseOutcome again = ParseAppSpec(s.spec_yaml, s.service, "/");
    ASSERT_TRUE(again.spec) << s.service;
    EXPECT_EQ(again.spec->readiness.type, s.spec.readiness.type) << s.service;
    EXPECT_EQ(again.spec->readiness.command, s.spec.readiness.command) << s.service;
  }
}

TEST(ComposeReaderTest, ProfileActivatesItsServices) {
  ComposeOutcome outcome = ReadComposeFile(kGood, {"debug"});
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome.services.size(), 3u);
}

TEST(ComposeReaderTest, BuildAndRegistryBecomeTheSpecsBuildAndRegistry) {
  fs::path dir = fs::temp_directory_path() / ("compose-build-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string file = (dir / "compose.yaml").string();
  std::ofstream(file) << "name: shop\n"
                         "x-slipway:\n"
                         "  registry: 127.0.0.1:5000\n"
                         "services:\n"
                         "  web:\n"
                         "    image: team/web:v3\n"
                         "    build:\n"
                         "      context: ./web\n"
                         "      dockerfile: Dockerfile.prod\n"
                         "      args: [FLAVOUR=mint]\n"
                         "  worker:\n"
                         "    build: worker\n";
  ComposeOutcome outcome = ReadComposeFile(file, {});
  for (const auto& d : outcome.errors) ADD_FAILURE() << d.ToString();
  ASSERT_EQ(outcome.services.size(), 2u);
  const AppSpec& web = outcome.services[0].spec;
  ASSERT_TRUE(web.build);
  EXPECT_EQ(web.build->context, (dir / "web").string());
  EXPECT_EQ(web.build->dockerfile, "Dockerfile.prod");
  EXPECT_EQ(web.build->args, (std::map<std::string, std::string>{{"FLAVOUR", "mint"}}));
  EXPECT_EQ(web.image, "127.0.0.1:5000/team/web") << "the tag is dropped, the registry added";
  EXPECT_TRUE(HasWarning(outcome, file + ":6:12: warning: services.web.image: the tag v3 is not "
                                         "used: slipway deploy tags the build git-<commit> or "
                                         "ctx-<digest>"));
  const AppSpec& worker = outcome.services[1].spec;
  ASSERT_TRUE(worker.build);
  EXPECT_EQ(worker.build->context, (dir / "worker").string());
  EXPECT_EQ(worker.image, "127.0.0.1:5000/shop-worker");
  fs::remove_all(dir);
}

TEST(ComposeReaderTest, DetectsComposeFiles) {
  EXPECT_TRUE(LooksLikeComposeFile(kGood));
  EXPECT_TRUE(LooksLikeComposeFile(std::string(COMPOSE_BAD_DIR) + "/privileged.yaml"));
  EXPECT_FALSE(LooksLikeComposeFile(std::string(SPEC_CORPUS_DIR) + "/../testdata/nope.yaml"));
}

// A one-service Compose file whose deploy.resources are `resources` (indented 8).
std::string WriteResourcesCompose(const std::string& resources) {
  const std::string path = ::testing::TempDir() + "/reservations-compose.yaml";
  std::ofstream(path) << "services:\n  web:\n    image: hello@sha256:" + std::string(64, 'a') +
                             "\n    deploy:\n      resources:\n" + resources;
  return path;
}

// deploy.resources.reservations: cpus and memory become `reservations:`; devices and generic
// resources are warned about; a reservation above its limit is refused where it is written.
TEST(ComposeReaderTest, ReservationsBecomeTheSpecsReservations) {
  std::string path = WriteResourcesCompose(
      "        limits: {cpus: \"1\", memory: 64m}\n"
      "        reservations:\n"
      "          cpus: \"0.25\"\n"
      "          memory: 32m\n"
      "          generic_resources: []\n");
  ComposeOutcome outcome = ReadComposeFile(path, {});
  ASSERT_TRUE(outcome.ok()) << outcome.errors[0].ToString();
  const AppSpec& web = outcome.services[0].spec;
  EXPECT_EQ(web.limits.cpu_reservation, 0.25);
  EXPECT_EQ(web.limits.memory_reservation_bytes, 32u << 20);
  EXPECT_TRUE(HasWarning(outcome,
                         path + ":10:11: warning: services.web.deploy.resources.reservations."
                                "generic_resources: not reserved: Slipway runs on this host only"));

  path = WriteResourcesCompose(
      "        limits: {memory: 64m}\n"
      "        reservations: {memory: 128m}\n");
  outcome = ReadComposeFile(path, {});
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_EQ(outcome.errors[0].ToString(),
            path +
                ":7:23: services.web: reservations.memory: 128Mi is more than limits.memory "
                "(64Mi)");
}

class BadComposeTest : public testing::TestWithParam<std::string> {};

TEST_P(BadComposeTest, ReportsExactlyTheExpectedError) {
  const std::string& path = GetParam();
  ComposeOutcome outcome = ReadComposeFile(path, {});
  EXPECT_FALSE(outcome.ok());
  EXPECT_TRUE(outcome.services.empty());
  std::vector<std::string> got;
  for (const Diagnostic& d : outcome.errors) got.push_back(d.ToString());
  EXPECT_EQ(got, std::vector<std::string>{path + ":" + ExpectedDiagnostic(path)});
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadComposeTest, testing::ValuesIn(CorpusFiles(COMPOSE_BAD_DIR)),
                         CorpusTestName);

TEST(BadComposeCorpusTest, HasAtLeastTenFiles) {
  EXPECT_GE(CorpusFiles(COMPOSE_BAD_DIR).size(), 10u);
}

}  // namespace
}  // namespace slipway::spec
