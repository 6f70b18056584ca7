// GET /v1/report[?app=APP][&since=30d]: the delivery KPIs (docs/report.md) of one app or of
// every app, computed from the stored release history. Runs on the controller thread, like
// every route (the store is not thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "api/admin_server.h"
#include "state/release_store.h"

namespace slipway::api {

// The window ends at `now_ms` (wall clock, ms since the epoch) and is `since` long (default
// 30d, at most 3650d). 400 for a bad `since`, 404 for an unknown app.
ApiResponse ReportResponse(state::ReleaseStore& store,
                           const std::map<std::string, std::string>& query, std::int64_t now_ms);

}  // namespace slipway::api
