// The admin API's SLO route, composed in front of the other routes like the alert routes:
// `GET /v1/apps/APP/slo` (docs/slo.md).
#pragma once

#include "api/admin_server.h"
#include "slo/slo_sampler.h"

namespace slipway::api {

// Answers `GET /v1/apps/APP/slo` from `sampler` (404 for an app the store does not know) and
// passes every other request to `next`. `sampler` and `store` must outlive the handler.
Handler WithSloRoutes(slo::SloSampler& sampler, state::ReleaseStore& store, Handler next);

}  // namespace slipway::api
