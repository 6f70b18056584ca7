// The admin API's alert routes, composed in front of the other routes so that admin_routes.cc
// stays as it is: `GET /v1/alerts[?app=APP]` (docs/alerts.md).
#pragma once

#include "alerts/alert_monitor.h"
#include "api/admin_server.h"

namespace slipway::api {

// Answers the alert routes from `monitor` and passes every other request to `next`. `monitor`
// must outlive the handler.
Handler WithAlertRoutes(const alerts::AlertMonitor& monitor, Handler next);

}  // namespace slipway::api
