// Every file in tests/spec/bad/ holds one problem; its first line says the one diagnostic
// expected: `# expect: LINE:COL: message`. The CLI integration tests reuse the same files.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bad_corpus.h"
#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

using testing_corpus::CorpusFiles;
using testing_corpus::CorpusTestName;
using testing_corpus::ExpectedDiagnostic;

class BadSpecTest : public testing::TestWithParam<std::string> {};

TEST_P(BadSpecTest, ReportsExactlyTheExpectedDiagnostic) {
  const std::string& path = GetParam();
  ParseOutcome outcome = ParseAppSpecFile(path);
  EXPECT_FALSE(outcome.spec.has_value());
  std::vector<std::string> got;
  for (const Diagnostic& d : outcome.diagnostics) got.push_back(d.ToString());
  EXPECT_EQ(got, std::vector<std::string>{path + ":" + ExpectedDiagnostic(path)});
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSpecTest, testing::ValuesIn(CorpusFiles(SPEC_CORPUS_DIR)),
                         CorpusTestName);

TEST(BadSpecCorpusTest, CoversAtLeastTwentyFourProblems) {
  EXPECT_GE(CorpusFiles(SPEC_CORPUS_DIR).size(), 24u);
}

}  // namespace
}  // namespace slipway::spec
