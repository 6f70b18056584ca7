// Reads what selects and configures the docker driver: `image`, `allow_mutable_tag`, `build`,
// `registry` and the `docker` block (network, read_only, cap_add, volumes). Paths (build
// context, registry password file) are resolved against `base_dir`. Internal to the spec
// module; called by spec_parser.cc.
#pragma once

#include <string_view>

#include "spec/app_spec.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {

void ReadDocker(MappingReader& top, AppSpec& spec, const std::string& base_dir,
                DiagnosticList& diagnostics);

}  // namespace slipway::spec
