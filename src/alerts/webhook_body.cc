#include "alerts/webhook_body.h"

#include <nlohmann/json.hpp>

namespace slipway::alerts {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

Json Kv(const Labels& labels) {
  Json out = Json::object();
  for (const auto& [name, value] : labels) out[name] = value;  // Labels is sorted
  return out;
}

// The pairs every alert has with the same value.
Labels Common(const std::vector<Alert>& alerts, Labels Alert::*field) {
  if (alerts.empty()) return {};
  Labels common = alerts.front().*field;
  for (const Alert& alert : alerts) {
    for (auto it = common.begin(); it != common.end();) {
      auto other = (alert.*field).find(it->first);
      it = other == (alert.*field).end() || other->second != it->second ? common.erase(it)
                                                                        : std::next(it);
    }
  }
  return common;
}

std::string GeneratorUrl(const std::string& external_url, const std::string& app) {
  if (external_url.empty()) return "";
  std::string base = external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/alerts?app=" + app;
}

}  // namespace

std::string WebhookBody(const Notification& n, const std::string& receiver,
                        const std::string& external_url) {
  Json alerts = Json::array();
  for (const Alert& a : n.alerts) {
    const bool firing = a.state == AlertState::kFiring;
    alerts.push_back(Json{
        {"status", firing ? "firing" : "resolved"},
        {"labels", Kv(a.labels)},
        {"annotations", Kv(a.annotations)},
        {"startsAt", FormatTime(a.fired_at.value_or(a.active_since))},
        {"endsAt", firing || !a.resolved_at ? std::string(kZeroTime) : FormatTime(*a.resolved_at)},
        {"generatorURL", GeneratorUrl(external_url, n.app)},
        {"fingerprint", a.fingerprint}});
  }
  Json body{{"receiver", receiver},
            {"status", n.firing() ? "firing" : "resolved"},
            {"alerts", std::move(alerts)},
            {"groupLabels", Kv(n.group_labels)},
            {"commonLabels", Kv(Common(n.alerts, &Alert::labels))},
            {"commonAnnotations", Kv(Common(n.alerts, &Alert::annotations))},
            {"externalURL", external_url},
            {"version", "4"},
            {"groupKey", n.group_key},
            {"truncatedAlerts", 0}};
  return body.dump();
}

}  // namespace slipway::alerts
