#include "api/alert_routes.h"

namespace slipway::api {

Handler WithAlertRoutes(const alerts::AlertMonitor& monitor, Handler next) {
  return [&monitor, next = std::move(next)](const ApiRequest& req, Responder respond) {
    if (req.path != "/v1/alerts" && req.path != "/v1/alerts/") return next(req, std::move(respond));
    if (req.method != "GET") {
      return respond({405, {{"error", "only GET " + req.path + " is supported"}}});
    }
    std::optional<std::string> app;
    if (auto it = req.query.find("app"); it != req.query.end() && !it->second.empty()) {
      app = it->second;
    }
    respond({200, monitor.ToJson(app)});
  };
}

}  // namespace slipway::api
