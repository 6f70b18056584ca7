// slipway alerts [APP] [--json]: the alerts of every app (or one), their state, since when, the
// latest value, and how their group's latest notification went to each receiver; then the
// notifications that are not delivered (retrying, or kept as dead letters).
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {

std::string Text(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  if (j[key].is_string())
    return j[key].get<std::string>().empty() ? dflt : j[key].get<std::string>();
  return j[key].dump();
}

// "ops: delivered", "ops: retrying (3 attempts: connect: Connection refused)".
std::string Delivery(const nlohmann::json& alert) {
  if (alert.value("state", "") == "pending") return "-";
  std::string out;
  for (const auto& d : alert.value("delivery", nlohmann::json::array())) {
    std::string status = d.value("status", "");
    const int attempts = d.value("attempts", 0);
    if (status == "pending") {
      status = attempts == 0
                   ? "sending"
                   : fmt::format("retrying ({} attempts: {})", attempts, d.value("last_error", ""));
    } else if (status == "dead_letter") {
      status = "dead letter (" + d.value("last_error", "") + ")";
    }
    out += (out.empty() ? "" : "; ") + d.value("receiver", "") + ": " +
           d.value("alert_status", "") + " " + status;
  }
  return out.empty() ? "not sent yet" : out;
}

}  // namespace

void RegisterAlerts(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("alerts", "Show alerts: pending, firing, recently resolved.");
  cmd->add_option("app", *name, "only this app");
  cmd->add_flag("--json", *json, "print JSON (alerts, notifications, rules)");
  cmd->callback([&ctx, name, json] {
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "GET", name->empty() ? "/v1/alerts" : "/v1/alerts?app=" + *name);
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    if (*json) {
      std::cout << res->body.dump(2) << "\n";
      return;
    }
    const auto& alerts = res->body.value("alerts", nlohmann::json::array());
    if (alerts.empty()) {
      std::cout << "no alerts" << (name->empty() ? "" : " for " + *name) << "\n";
    } else {
      std::cout << fmt::format("{:<16} {:<20} {:<9} {:<25} {:>8}  {}\n", "APP", "ALERT", "STATE",
                               "SINCE", "VALUE", "DELIVERY");
      for (const auto& a : alerts) {
        std::string alertname = Text(a, "alertname");
        const auto& labels = a.value("labels", nlohmann::json::object());
        if (labels.contains("release")) alertname += " r" + labels["release"].get<std::string>();
        if (labels.contains("slo")) {  // ErrorBudgetBurn: one alert per objective and severity
          alertname += " " + labels["slo"].get<std::string>() + "/" +
                       labels.value("severity", std::string());
        }
        std::cout << fmt::format("{:<16} {:<20} {:<9} {:<25} {:>8}  {}\n", Text(a, "app"),
                                 alertname, Text(a, "state"), Text(a, "since"),
                                 Text(a, "value_text"), Delivery(a));
        const auto& annotations = a.value("annotations", nlohmann::json::object());
        if (annotations.contains("summary")) {
          std::cout << "    " << annotations["summary"].get<std::string>() << "\n";
        }
      }
    }
    bool header = false;
    for (const auto& n : res->body.value("notifications", nlohmann::json::array())) {
      const std::string status = n.value("status", "");
      if (status != "pending" && status != "dead_letter") continue;
      if (!header) {
        std::cout << "\nundelivered notifications:\n";
        header = true;
      }
      std::cout << fmt::format(
          "  #{} {} to {} ({}): {}, {} attempts{}\n", n.value("id", 0), n.value("alert_status", ""),
          n.value("receiver", ""), n.value("group_key", ""),
          status == "pending" ? "retrying" : "dead letter", n.value("attempts", 0),
          n.value("last_error", "").empty() ? "" : ", last error: " + n.value("last_error", ""));
    }
  });
}

}  // namespace slipway::cli
