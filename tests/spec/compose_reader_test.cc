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

namespace slipway::spec {
namespace {

namespace fs = std::filesystem;

const std::string kGood = std::string(COMPOSE_GOOD_DIR) + "/three/compose.yaml";

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(COMPOSE_BAD_DIR)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ExpectedError(const std::string& path) {
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  constexpr std::string_view kPrefix = "# expect: ";
  if (!first_line.starts_with(kPrefix)) return "(missing `# expect: ` line)";
  return first_line.substr(kPrefix.size());
}

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
  EXPECT_EQ(worker.proxy.listen, "");  // no ports: no listener
  EXPECT_EQ(worker.readiness.type, ProbeType::kTcp);
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
  EXPECT_TRUE(
      HasWarning(outcome, "services.web.deploy.resources.reservations.memory: not enforced"));
  EXPECT_TRUE(HasWarning(outcome, "container port 80 is not used"));
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

class BadComposeTest : public testing::TestWithParam<std::string> {};

TEST_P(BadComposeTest, ReportsExactlyTheExpectedError) {
  const std::string& path = GetParam();
  ComposeOutcome outcome = ReadComposeFile(path, {});
  EXPECT_FALSE(outcome.ok());
  EXPECT_TRUE(outcome.services.empty());
  std::vector<std::string> got;
  for (const Diagnostic& d : outcome.errors) got.push_back(d.ToString());
  EXPECT_EQ(got, std::vector<std::string>{path + ":" + ExpectedError(path)});
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadComposeTest, testing::ValuesIn(CorpusFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).stem().string();
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return name;
                         });

TEST(BadComposeCorpusTest, HasAtLeastTenFiles) { EXPECT_GE(CorpusFiles().size(), 10u); }

}  // namespace
}  // namespace slipway::spec
