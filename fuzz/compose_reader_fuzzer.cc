// libFuzzer harness for the Compose reader (src/spec/compose_reader.cc): the input is written as
// a compose.yaml in a directory of this process's own and read with and without a profile, as
// `slipway validate -f` does. Whatever the input, the reader must return (errors are values),
// never crash or throw, and an outcome without errors must hold, for every service, a spec and
// a slipway.yaml that parses again (what the daemon is sent).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spec/compose_reader.h"

namespace {

const std::string& ComposePath() {
  static const std::string path = [] {
    std::string dir = std::filesystem::temp_directory_path().string() + "/compose-fuzz-" +
                      std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    // An env_file the inputs may name (the seeds do: web.env).
    std::ofstream(dir + "/web.env") << "GREETING=fuzz\n# comment\nEMPTY=\n";
    return dir + "/compose.yaml";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = ComposePath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  for (const auto& profiles : {std::vector<std::string>{}, std::vector<std::string>{"debug"}}) {
    slipway::spec::ComposeOutcome outcome = slipway::spec::ReadComposeFile(path, profiles);
    if (outcome.ok()) {
      for (const slipway::spec::ComposeService& s : outcome.services) {
        if (s.spec.app.empty() || s.spec_yaml.empty()) __builtin_trap();
        // What the daemon receives must parse again, as the CLI's translation did.
        if (!slipway::spec::ParseAppSpec(s.spec_yaml, s.service, "/").spec) __builtin_trap();
      }
    }
  }
  return 0;
}
