// Every file in tests/spec/bad/ holds one problem; its first line says the one diagnostic
// expected: `# expect: LINE:COL: message`. The CLI integration tests reuse the same files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(SPEC_CORPUS_DIR)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ExpectedDiagnostic(const std::string& path) {
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  constexpr std::string_view kPrefix = "# expect: ";
  if (!first_line.starts_with(kPrefix)) return "(missing `# expect: ` line)";
  return first_line.substr(kPrefix.size());
}

class BadSpecTest : public testing::TestWithParam<std::string> {};

TEST_P(BadSpecTest, ReportsExactlyTheExpectedDiagnostic) {
  const std::string& path = GetParam();
  ParseOutcome outcome = ParseAppSpecFile(path);
  EXPECT_FALSE(outcome.spec.has_value());
  std::vector<std::string> got;
  for (const Diagnostic& d : outcome.diagnostics) got.push_back(d.ToString());
  EXPECT_EQ(got, std::vector<std::string>{path + ":" + ExpectedDiagnostic(path)});
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSpecTest, testing::ValuesIn(CorpusFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).stem().string();
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return name;
                         });

TEST(BadSpecCorpusTest, CoversAtLeastTwentyFourProblems) { EXPECT_GE(CorpusFiles().size(), 24u); }

}  // namespace
}  // namespace slipway::spec
