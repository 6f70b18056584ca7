// ReleaseImage: which image a docker release runs. At deploy the spec's reference is resolved
// to the image ID on the engine (pulled first when it is not there and names a registry) and
// checked for a non-root user; the ID is what the release stores and its containers are created
// from, so a rollback runs exactly the bits the earlier release ran, whatever its tag means now.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"
#include "runtime/docker_engine.h"
#include "spec/app_spec.h"

namespace slipway::rollout {

// Resolves the image `spec` names (or confirms `pinned`, the ID a rollback carries; when it is
// gone and spec.image is a registry digest reference, pulls that digest back) on `engine`.
// `on_progress` gets readable pull progress lines; `done` the image ID ("sha256:...") or why the
// release cannot run: "No such image: hello:v9 ...", "image hello:v1 runs as root ...".
void ResolveReleaseImage(runtime::DockerEngine& engine, const spec::AppSpec& spec,
                         const std::string& pinned,
                         std::function<void(const std::string& line)> on_progress,
                         std::function<void(Result<std::string>)> done);

// The image ID of `image` (an Engine API image inspect answer for `ref`), or why `spec` may not
// run it (a root USER without allow_root). ResolveReleaseImage and `slipway plan` both use it.
Result<std::string> AcceptInspectedImage(const spec::AppSpec& spec, const std::string& ref,
                                         const nlohmann::json& image);

// The X-Registry-Auth value for pulling or pushing `ref` with the spec's registry credentials:
// "" when the spec has none or `ref` is not under its registry; an Error when the password file
// cannot be used.
Result<std::string> RegistryAuthFor(const spec::AppSpec& spec, const std::string& ref);

// Whether a reference names a registry to pull from ("127.0.0.1:5000/hello", "ghcr.io/x/y"):
// its first '/'-separated part has a '.' or ':' or is "localhost".
bool NamesRegistry(const std::string& ref);

}  // namespace slipway::rollout
