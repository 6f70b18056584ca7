#include "api/slo_routes.h"

#include <string_view>

namespace slipway::api {

Handler WithSloRoutes(slo::SloSampler& sampler, state::ReleaseStore& store, Handler next) {
  return [&sampler, &store, next = std::move(next)](const ApiRequest& req, Responder respond) {
    constexpr std::string_view kPrefix = "/v1/apps/";
    constexpr std::string_view kSuffix = "/slo";
    const std::string_view path = req.path;
    if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix) ||
        path.size() <= kPrefix.size() + kSuffix.size()) {
      return next(req, std::move(respond));
    }
    const std::string app(
        path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
    if (app.find('/') != std::string::npos) return next(req, std::move(respond));
    if (req.method != "GET") {
      return respond({405, {{"error", "only GET " + req.path + " is supported"}}});
    }
    auto known = store.GetApp(app);
    if (!known) return respond({500, {{"error", known.error().message}}});
    if (!known->has_value()) return respond({404, {{"error", "no app named " + app}}});
    respond({200, sampler.ReportJson(app)});
  };
}

}  // namespace slipway::api
