// GET /v1/apps/APP/spec: the spec an app's alert rules come from (docs/alerts.md#export): that of
// its serving release, or of its newest release while none serves. `slipway export` reads it.
#pragma once

#include <string>

#include "api/admin_server.h"
#include "state/release_store.h"

namespace slipway::api {

// {"app", "release", "serving" (whether that release serves), "spec_file", "base_dir",
// "spec_yaml"}; 404 for an app without releases.
ApiResponse AppSpecResponse(state::ReleaseStore& store, const std::string& app);

}  // namespace slipway::api
