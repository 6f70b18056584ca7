#include "monitoring/grafana_dashboard.h"

#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "alerts/alert_expr.h"
#include "alerts/builtin_names.h"
#include "common/duration.h"
#include "monitoring/promql_rules.h"
#include "slo/slo_objective.h"

namespace slipway::monitoring {
namespace {

using nlohmann::json;

const json kDatasource = {{"type", "prometheus"}, {"uid", "${datasource}"}};

// Series selectors over the dashboard's app. `served` leaves out release="none" (answers the
// proxy gave without a backend), as the alert rules do.
constexpr char kRequests[] = "slipway_http_requests_total{app=\"$app\"}";
constexpr char kServed[] = "slipway_http_requests_total{app=\"$app\",release!=\"none\"}";
constexpr char kServed5xx[] =
    "slipway_http_requests_total{app=\"$app\",release!=\"none\",code=\"5xx\"}";

struct Target {
  std::string expr;
  std::string legend;
};

struct Threshold {
  double value = 0;
  std::string rule;  // "HighErrorRate: error_rate(5m) > 5% for 5m"
};

// Places panels left to right, 24 columns wide, and rows below them.
class Layout {
 public:
  json Row(const std::string& title) {
    NewLine();
    json row = {{"type", "row"},           {"id", next_id_++},
                {"title", title},          {"collapsed", false},
                {"panels", json::array()}, {"gridPos", {{"h", 1}, {"w", 24}, {"x", 0}, {"y", y_}}}};
    y_ += 1;
    return row;
  }

  json Panel(const std::string& type, const std::string& title, const std::string& description,
             const std::vector<Target>& targets, const std::string& unit, int w, int h,
             const std::optional<Threshold>& threshold = std::nullopt) {
    if (x_ + w > 24) NewLine();
    json queries = json::array();
    char ref = 'A';
    for (const Target& t : targets) {
      queries.push_back({{"refId", std::string(1, ref++)},
                         {"datasource", kDatasource},
                         {"expr", t.expr},
                         {"legendFormat", t.legend.empty() ? "__auto" : t.legend},
                         {"range", type == "timeseries"},
                         {"instant", type != "timeseries"}});
    }
    json steps = json::array({{{"color", "green"}, {"value", nullptr}}});
    if (threshold) steps.push_back({{"color", "red"}, {"value", threshold->value}});
    json defaults = {
        {"unit", unit},
        {"thresholds", {{"mode", "absolute"}, {"steps", steps}}},
        {"color", {{"mode", type == "timeseries" ? "palette-classic" : "thresholds"}}}};
    if (type == "timeseries") {
      defaults["custom"] = {
          {"drawStyle", "line"}, {"lineWidth", 1},
          {"fillOpacity", 10},   {"showPoints", "never"},
          {"spanNulls", false},  {"thresholdsStyle", {{"mode", threshold ? "line" : "off"}}}};
    }
    json panel = {{"type", type},
                  {"id", next_id_++},
                  {"title", title},
                  {"description",
                   threshold ? description + " Red line: the alert rule " + threshold->rule + "."
                             : description},
                  {"datasource", kDatasource},
                  {"gridPos", {{"h", h}, {"w", w}, {"x", x_}, {"y", y_}}},
                  {"targets", queries},
                  {"fieldConfig", {{"defaults", defaults}, {"overrides", json::array()}}}};
    if (type == "timeseries") {
      panel["options"] = {
          {"legend", {{"displayMode", "list"}, {"placement", "bottom"}, {"showLegend", true}}},
          {"tooltip", {{"mode", "multi"}, {"sort", "none"}}}};
    } else {
      panel["options"] = {
          {"reduceOptions", {{"calcs", {"lastNotNull"}}, {"fields", ""}, {"values", false}}},
          {"colorMode", "value"},
          {"graphMode", "none"},
          {"textMode", "auto"},
          {"orientation", "auto"}};
    }
    x_ += w;
    line_height_ = std::max(line_height_, h);
    return panel;
  }

 private:
  void NewLine() {
    y_ += line_height_;
    x_ = 0;
    line_height_ = 0;
  }

  int next_id_ = 1;
  int x_ = 0;
  int y_ = 0;
  int line_height_ = 0;
};

std::optional<Threshold> ThresholdOf(const spec::BuiltinThresholdAlert& rule, std::string_view name,
                                     alerts::AlertMetric metric) {
  if (!rule.enabled) return std::nullopt;
  return Threshold{rule.threshold,
                   fmt::format("{}: {}({}) > {} for {}", name, alerts::AlertMetricName(metric),
                               FormatDuration(std::chrono::duration_cast<Millis>(rule.window)),
                               alerts::FormatMetricValue(metric, rule.threshold),
                               FormatDuration(rule.for_duration))};
}

std::string Quantile(const char* q) {
  return fmt::format(
      "histogram_quantile({}, sum by (le) (rate(slipway_http_request_duration_seconds_bucket{{app="
      "\"$app\",release!=\"none\"}}[$__rate_interval])))",
      q);
}

}  // namespace

json GrafanaDashboard(const std::string& app, const spec::AlertsConfig& alerts,
                      const spec::SloSpec& slo) {
  Layout layout;
  json panels = json::array();
  const spec::BuiltinAlerts& builtin = alerts.builtin;

  panels.push_back(layout.Row("Traffic"));
  panels.push_back(layout.Panel(
      "timeseries", "Requests per second by status class",
      "Answers per second by status class, every release (release=\"none\": the proxy answered "
      "without a backend).",
      {{fmt::format("sum by (code) (rate({}[$__rate_interval]))", kRequests), "{{code}}"}}, "reqps",
      12, 8));
  panels.push_back(layout.Panel(
      "timeseries", "Error rate (5xx share)",
      "The share of the releases' answers that were 5xx (the proxy's own 502/504 included).",
      {{fmt::format("sum(rate({}[$__rate_interval])) / sum(rate({}[$__rate_interval]))", kServed5xx,
                    kServed),
        "5xx share"}},
      "percentunit", 12, 8,
      ThresholdOf(builtin.error_rate, "HighErrorRate", alerts::AlertMetric::kErrorRate)));
  panels.push_back(layout.Panel(
      "timeseries", "Latency", "Request head to the answer's last byte, quantiles over releases.",
      {{Quantile("0.5"), "p50"}, {Quantile("0.95"), "p95"}, {Quantile("0.99"), "p99"}}, "s", 12, 8,
      ThresholdOf(builtin.latency_p95, "HighLatency", alerts::AlertMetric::kLatencyP95)));
  panels.push_back(layout.Panel(
      "timeseries", "Requests in flight", "Requests being forwarded to each release's replicas.",
      {{"sum by (release) (slipway_http_requests_in_flight{app=\"$app\"})", "release {{release}}"}},
      "short", 12, 8));

  panels.push_back(layout.Row("Releases"));
  panels.push_back(layout.Panel(
      "timeseries", "Traffic share per release",
      "Each release's share of the answered requests, and a running canary's configured weight.",
      {{fmt::format("sum by (release) (rate({}[$__rate_interval])) / ignoring (release) "
                    "group_left sum(rate({}[$__rate_interval]))",
                    kServed, kServed),
        "release {{release}}"},
       {"slipway_rollout_canary_weight_percent{app=\"$app\"} / 100",
        "canary weight (release {{release}})"}},
      "percentunit", 12, 8));
  panels.push_back(
      layout.Panel("stat", "Serving release", "The number of the release that serves the app.",
                   {{"slipway_app_serving_release{app=\"$app\"}", "release"}}, "none", 6, 8));
  panels.push_back(layout.Panel(
      "timeseries", "Upstream connect errors and retries",
      "Failed connects to the releases' replicas, and requests sent again, per second.",
      {{"sum by (release) (rate(slipway_upstream_connect_errors_total{app=\"$app\"}[$__rate_"
        "interval]))",
        "connect errors, release {{release}}"},
       {"sum by (reason) (rate(slipway_upstream_retries_total{app=\"$app\"}[$__rate_interval]))",
        "retries: {{reason}}"}},
      "reqps", 6, 8));

  panels.push_back(layout.Row("Replicas"));
  panels.push_back(layout.Panel(
      "timeseries", "Replicas ready",
      "Replicas that pass their readiness probe (and are not retiring), per release.",
      {{"sum by (release) (slipway_replica_ready{app=\"$app\"})", "release {{release}}"}}, "short",
      12, 8));
  {
    const spec::BuiltinCrashLoopingAlert& crash = builtin.crash_looping;
    const std::string window = PrometheusDuration(std::chrono::duration_cast<Millis>(crash.window));
    std::optional<Threshold> threshold;
    if (crash.enabled) {
      threshold =
          Threshold{double(crash.restarts),
                    fmt::format("CrashLooping: replica_restarts({}) >= {}",
                                FormatDuration(std::chrono::duration_cast<Millis>(crash.window)),
                                crash.restarts)};
    }
    panels.push_back(layout.Panel(
        "timeseries", "Replica restarts over " + window,
        "Restarts of the replicas' processes after they exited on their own.",
        {{fmt::format("sum(increase(slipway_replica_restarts_total{{app=\"$app\"}}[{}]))", window),
          "restarts"}},
        "short", 12, 8, threshold));
  }
  panels.push_back(layout.Panel(
      "timeseries", "CPU per replica", "CPU time of each replica's main process, in cores.",
      {{"sum by (replica) (rate(slipway_replica_cpu_seconds_total{app=\"$app\"}[$__rate_"
        "interval]))",
        "{{replica}}"}},
      "short", 12, 8));
  panels.push_back(layout.Panel(
      "timeseries", "Resident memory per replica",
      "Resident memory of each replica's main process.",
      {{"sum by (replica) (slipway_replica_resident_memory_bytes{app=\"$app\"})", "{{replica}}"}},
      "bytes", 12, 8));

  panels.push_back(layout.Row("Deploys"));
  panels.push_back(layout.Panel(
      "stat", "Deploys in the time range by outcome",
      "Finished releases by outcome (a rollback is a release too).",
      {{"sum by (outcome) (round(increase(slipway_deploys_total{app=\"$app\"}[$__range])))",
        "{{outcome}}"}},
      "none", 8, 6));
  panels.push_back(layout.Panel(
      "stat", "Rollbacks in the time range", "Releases made by `slipway rollback`.",
      {{"sum(round(increase(slipway_rollbacks_total{app=\"$app\"}[$__range])))", "rollbacks"}},
      "none", 4, 6));
  panels.push_back(layout.Panel(
      "timeseries", "Deploys and rollbacks",
      "Releases finished per outcome, and rollbacks, in each interval.",
      {{"sum by (outcome) (increase(slipway_deploys_total{app=\"$app\"}[$__rate_interval]))",
        "{{outcome}}"},
       {"sum(increase(slipway_rollbacks_total{app=\"$app\"}[$__rate_interval]))", "rollbacks"},
       {"slipway_deploy_in_progress{app=\"$app\"}", "deploying"}},
      "short", 12, 6));

  if (!slo.empty()) {
    // Slipway's own SLO numbers (slipway_slo_*, over its fixed 1h, 1d and 30d windows).
    panels.push_back(layout.Row("SLOs"));
    const std::vector<slo::Objective> objectives = slo::ObjectivesOf(slo);
    for (const slo::Objective& o : objectives) {
      const std::string kind = slo::SloKindName(o.kind);
      panels.push_back(layout.Panel(
          "timeseries", "SLI: " + kind,
          fmt::format("{} ({}): the share of good {} over each window, and the target.",
                      o.Describe(), kind,
                      o.kind == slo::SloKind::kAvailability ? "minutes" : "requests"),
          {{fmt::format("slipway_slo_sli_ratio{{app=\"$app\",slo=\"{}\"}}", kind), "{{window}}"},
           {fmt::format("slipway_slo_objective_ratio{{app=\"$app\",slo=\"{}\"}}", kind), "target"}},
          "percentunit", 24 / static_cast<int>(objectives.size()), 8));
    }
    panels.push_back(layout.Panel(
        "stat", "Error budget remaining",
        "The share of each window's error budget left (1 - burn rate); negative when overspent.",
        {{"slipway_slo_error_budget_remaining_ratio{app=\"$app\"}", "{{slo}} {{window}}"}},
        "percentunit", 12, 8));
    // The line: the factor of an ErrorBudgetBurn pair over 1h, the one window /metrics has.
    std::optional<Threshold> threshold;
    if (alerts.builtin.error_budget_burn.enabled) {
      for (const spec::BurnRateWindow& w : alerts.builtin.error_budget_burn.windows) {
        if (w.long_window != std::chrono::hours(1)) continue;
        threshold = Threshold{
            w.burn_rate,
            fmt::format("{} ({}): burn_rate(1h) > {:g} and burn_rate({}) > {:g}",
                        alerts::kErrorBudgetBurn, w.severity, w.burn_rate,
                        FormatDuration(std::chrono::duration_cast<Millis>(w.short_window)),
                        w.burn_rate)};
        break;
      }
    }
    panels.push_back(layout.Panel(
        "timeseries", "Burn rate",
        "How fast each objective spends its error budget over each window: 1 spends it exactly "
        "over the window.",
        {{"slipway_slo_burn_rate{app=\"$app\"}", "{{slo}} over {{window}}"}}, "short", 12, 8,
        threshold));
  }

  json templating = json::array();
  templating.push_back({{"name", "datasource"},
                        {"label", "Data source"},
                        {"type", "datasource"},
                        {"query", "prometheus"},
                        {"current", json::object()},
                        {"hide", 0},
                        {"refresh", 1},
                        {"regex", ""},
                        {"options", json::array()}});
  templating.push_back(
      {{"name", "app"},
       {"label", "app"},
       {"type", "constant"},
       {"query", app},
       {"current", {{"text", app}, {"value", app}, {"selected", false}}},
       {"hide", 2},
       {"options", json::array({{{"text", app}, {"value", app}, {"selected", false}}})}});

  json annotations = json::array();
  annotations.push_back({{"builtIn", 1},
                         {"datasource", {{"type", "grafana"}, {"uid", "-- Grafana --"}}},
                         {"enable", true},
                         {"hide", true},
                         {"iconColor", "rgba(0, 211, 255, 1)"},
                         {"name", "Annotations & Alerts"},
                         {"type", "dashboard"}});
  annotations.push_back({{"datasource", kDatasource},
                         {"enable", true},
                         {"iconColor", "blue"},
                         {"name", "Serving release changed"},
                         {"expr", "changes(slipway_app_serving_release{app=\"$app\"}[2m]) > 0"},
                         {"step", "1m"},
                         {"titleFormat", "serving release changed"},
                         {"textFormat", "release {{value}}"}});

  return {{"uid", "slipway-" + app},
          {"title", "Slipway: " + app},
          {"description", "The Slipway app " + app + ", from Slipway's /metrics."},
          {"tags", {"slipway"}},
          {"timezone", "browser"},
          {"editable", true},
          {"graphTooltip", 1},
          {"schemaVersion", 39},
          {"version", 1},
          {"refresh", "30s"},
          {"time", {{"from", "now-1h"}, {"to", "now"}}},
          {"templating", {{"list", templating}}},
          {"annotations", {{"list", annotations}}},
          {"panels", panels},
          {"links", json::array()}};
}

}  // namespace slipway::monitoring
