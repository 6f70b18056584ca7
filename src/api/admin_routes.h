// The admin API's routes: maps requests on the Unix socket to Fleet and ReleaseStore calls.
// docs/api.md lists them.
#pragma once

#include <string>

#include "api/admin_server.h"
#include "rollout/fleet.h"
#include "state/release_store.h"

namespace slipway::api {

// `io`, `fleet` and `store` must outlive the handler. `log_dir` holds <app>/<replica>.log files.
Handler MakeAdminRoutes(boost::asio::io_context& io, rollout::Fleet& fleet,
                        state::ReleaseStore& store, std::string log_dir);

nlohmann::json ReleaseToJson(const state::Release& r, bool with_spec);

}  // namespace slipway::api
