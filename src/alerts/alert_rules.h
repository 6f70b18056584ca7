// AlertRule: one rule as evaluated, built from an app's `alerts` section: the built-in rules that
// are on, then the user's rules. A rule's evaluation yields one AlertSample per alert instance it
// sees (one for an expression; one per recent event for the event rules).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert.h"
#include "alerts/alert_expr.h"
#include "slo/slo_objective.h"
#include "spec/app_spec.h"

namespace slipway::alerts {

// A release that failed, was aborted, or rolled back to an earlier one (for the event rules).
struct ReleaseIncident {
  std::int64_t release = 0;
  bool failed = false;                      // outcome failed: it never served
  bool aborted = false;                     // a canary or blue-green rollout was stopped
  std::optional<std::int64_t> rollback_of;  // `slipway rollback`: redeploys this release
  std::string reason;
  std::string created_by;
  WallTime created_at;
  std::optional<WallTime> finished_at;
};

// What the rules read about one app: the metric functions and the recent incidents.
class AppAlertFacts : public AlertInputs {
 public:
  // Incidents that happened (or were created) at or after `since`, oldest first.
  virtual std::vector<ReleaseIncident> IncidentsSince(WallTime since) = 0;
  // The release whose traffic the proxy metrics are about; nullopt when none serves.
  virtual std::optional<std::int64_t> serving_release() const = 0;
  // How fast `objective` spent its error budget over the `window` ending now (1 = exactly at
  // the rate that spends it over the window); nullopt without events to judge by.
  virtual std::optional<double> BurnRate(const slo::Objective& objective,
                                         std::chrono::seconds window) {
    (void)objective;
    (void)window;
    return std::nullopt;
  }
};

struct AlertSample {
  Labels labels;  // complete: alertname, app, severity, the rule's labels (event: release)
  Labels annotations;
  Truth truth = Truth::kUnknown;
  std::optional<double> value;
  std::optional<AlertMetric> metric;
};

struct AlertRule {
  enum class Kind {
    kExpression,    // `expr` held for `for_duration`
    kDeployFailed,  // a release failed: fires at once, resolves resolve_after later
    kRolledBack,    // a rollback or an aborted rollout: likewise
    // Per SLO and severity: the burn rate above a window pair's factor over both its windows.
    kErrorBudgetBurn,
  };
  Kind kind = Kind::kExpression;
  std::string name;  // alertname
  AlertExpr expr;
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds resolve_after{0};
  Labels labels;       // severity and the rule's own labels
  Labels annotations;  // user rules: as written ({{ $value }} and {{ $labels.X }} expanded)
  bool builtin = false;
  // kErrorBudgetBurn: the app's objectives and the window pairs (each with its severity).
  std::vector<slo::Objective> objectives;
  std::vector<spec::BurnRateWindow> burn_windows;
  // kErrorBudgetBurn: the severities of burn_windows, each once, in the order they first appear
  // (one alert per objective and severity).
  std::vector<std::string> BurnSeverities() const;

  // Expression rules whose inputs are the proxy's metrics say nothing about an app that is not
  // running; those resolve when it stops.
  bool uses_proxy_metrics() const;
  // What the rule checks, for people: the expression, or "release failed to deploy (5m)".
  std::string Describe() const;
  std::vector<AlertSample> Evaluate(const std::string& app, AppAlertFacts& facts,
                                    WallTime now) const;
};

// The rules of an app's `alerts` section: built-in ones that are on, then the user's, in order.
// ErrorBudgetBurn is among them when `slo` has an objective. The spec reader has already checked
// every expression.
std::vector<AlertRule> BuildAlertRules(const spec::AlertsConfig& config,
                                       const spec::SloSpec& slo = {});

// Splits an annotation into its literal runs (`literal`) and its `{{ ... }}` actions (`action`,
// with the inside trimmed of spaces and the action as written), left to right. A `{{` without
// a closing `}}` is literal.
void ScanTemplate(
    std::string_view text, const std::function<void(std::string_view)>& literal,
    const std::function<void(const std::string& inner, std::string_view whole)>& action);

// Expands {{ $value }} and {{ $labels.NAME }} (Prometheus' two common template forms) in an
// annotation; anything else between braces is left as written.
std::string ExpandTemplate(const std::string& text, const Labels& labels,
                           const std::optional<double>& value,
                           const std::optional<AlertMetric>& metric);

}  // namespace slipway::alerts
