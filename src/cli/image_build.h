// The build step shared by `slipway build` and `slipway deploy` of a spec with `build:`: builds
// the image through the Docker Engine API from a deterministic tar of the context, tags it
// immutably (git-<commit> of a clean checkout, else ctx-<digest of the context>; never
// `latest`), pushes it when the repository names a registry, and says which reference a
// release runs: REPO@sha256:<manifest digest> when pushed, else the local image ID.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "common/result.h"
#include "spec/app_spec.h"

namespace slipway::cli {

struct ImageBuild {
  std::string context;     // directory
  std::string dockerfile;  // relative to context; "" = Dockerfile
  std::map<std::string, std::string> args;
  std::string repository;     // [REGISTRY/]NAME, no tag
  std::string tag;            // "" = git-<commit> or ctx-<digest>
  bool push = false;          // needs a registry in `repository`
  std::string registry_auth;  // X-Registry-Auth for the push; "" = none
  std::string docker_host;
};

struct BuiltImage {
  std::string image_id;  // sha256:... on the engine
  std::string tagged;    // REPO:TAG
  std::string digest;    // sha256:... of the pushed manifest; "" when not pushed
  // What a release runs: REPO@DIGEST when pushed, else image_id.
  std::string Reference(const std::string& repository) const {
    return digest.empty() ? image_id : repository + "@" + digest;
  }
};

struct ImageBuildFailure {
  std::string message;
  bool bad_input = false;  // the request (context, tag, registry) is wrong, not the build
};

// Builds (and pushes) `request`, printing progress to `out`. On failure `failure` says why.
std::optional<BuiltImage> BuildAndPushImage(const ImageBuild& request, std::ostream& out,
                                            ImageBuildFailure& failure);

// The build request of `spec` (which has `build:`): context, dockerfile, args, the repository
// of `image:` (already under the spec's registry), pushed when it names a registry, with the
// registry's credentials. An Error when the credentials cannot be read.
Result<ImageBuild> ImageBuildOf(const spec::AppSpec& spec, const std::string& docker_host);

// Whether `repository`'s first part names a registry host ('.' or ':' in it, or localhost).
bool NamesRegistryHost(const std::string& repository);

}  // namespace slipway::cli
