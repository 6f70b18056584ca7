// Reads what selects and configures the docker driver: `image`, `allow_mutable_tag` and the
// `docker` block (network, read_only, cap_add, volumes). Internal to the spec module; called by
// spec_parser.cc.
#pragma once

#include <string_view>

#include "spec/app_spec.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {

void ReadDocker(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics);

// "name@sha256:<64 hex>" or an image ID "sha256:<64 hex>": a reference that always means the
// same bits. Anything else (a tag, or no tag: "latest") is mutable.
bool IsPinnedImageReference(std::string_view ref);

}  // namespace slipway::spec
