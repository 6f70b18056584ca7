// A corpus of refused files (tests/spec/bad, tests/spec/compose-bad): one problem per file, the
// one diagnostic expected on its first line: `# expect: LINE:COL: message`. Shared by the
// parameterised corpus tests of slipway.yaml and Compose files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::spec::testing_corpus {

// Every *.yaml file in `dir`, sorted.
inline std::vector<std::string> CorpusFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "LINE:COL: message" from the file's first line, or a text no diagnostic can equal.
inline std::string ExpectedDiagnostic(const std::string& path) {
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  constexpr std::string_view kPrefix = "# expect: ";
  if (!first_line.starts_with(kPrefix)) return "(missing `# expect: ` line)";
  return first_line.substr(kPrefix.size());
}

// The test's name: the file's stem with anything but letters and digits as '_'.
inline std::string CorpusTestName(const testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

}  // namespace slipway::spec::testing_corpus
