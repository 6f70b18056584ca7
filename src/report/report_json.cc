#include "report/report_json.h"

#include "report/timestamp.h"

namespace slipway::report {
namespace {

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json TargetJson(Target t) {
  return {{"op", t.op == Target::Op::kGreater ? ">" : "<"}, {"value", t.value}};
}

}  // namespace

nlohmann::json ReportToJson(const DeliveryReport& r, const std::optional<std::string>& app,
                            const std::string& since_text) {
  nlohmann::json in_progress = nlohmann::json::array();
  for (const auto& p : r.in_progress) {
    in_progress.push_back({{"app", p.app},
                           {"number", p.number},
                           {"created_at", p.created_at},
                           {"rollback_of", OrNull(p.rollback_of)}});
  }
  nlohmann::json incidents = nlohmann::json::array();
  for (const auto& i : r.incidents) {
    std::optional<std::int64_t> duration;
    if (i.restored_ms) duration = *i.restored_ms - i.started_ms;
    incidents.push_back(
        {{"app", i.app},
         {"release", i.release},
         {"kind", i.kind},
         {"started_at", FormatTimestampMs(i.started_ms)},
         {"restored_at", i.restored_ms ? nlohmann::json(FormatTimestampMs(*i.restored_ms))
                                       : nlohmann::json(nullptr)},
         {"restored_by", OrNull(i.restored_by)},
         {"duration_ms", OrNull(duration)}});
  }
  const char* na = MarkName(Mark::kNotApplicable);
  nlohmann::json kpis = {
      {"deployment_frequency",
       {{"value", r.per_day},
        {"unit", "per_day"},
        {"per_week", r.per_week},
        {"succeeded", r.succeeded},
        {"target", nullptr},
        {"status", na}}},
      {"lead_time",
       {{"value", OrNull(r.lead_time_p50_ms)},
        {"unit", "ms"},
        {"p50_ms", OrNull(r.lead_time_p50_ms)},
        {"p90_ms", OrNull(r.lead_time_p90_ms)},
        {"samples", r.lead_time_samples},
        {"target", nullptr},
        {"status", na}}},
      {"deploy_success_rate",
       {{"value", OrNull(r.success_rate)},
        {"unit", "ratio"},
        {"succeeded", r.succeeded},
        {"deploys", r.deploys},
        {"target", TargetJson(kSuccessRateTarget)},
        {"status", MarkName(r.success_mark)}}},
      {"change_failure_rate",
       {{"value", OrNull(r.change_failure_rate)},
        {"unit", "ratio"},
        {"failed_changes", r.failed_changes},
        {"changes", r.changes},
        {"target", nullptr},
        {"status", na}}},
      {"mean_time_to_restore",
       {{"value", OrNull(r.mttr_ms)},
        {"unit", "ms"},
        {"incidents", r.incidents.size()},
        {"restored", r.restored_incidents},
        {"open", static_cast<int>(r.incidents.size()) - r.restored_incidents},
        {"target", TargetJson(kMttrTarget)},
        {"status", MarkName(r.mttr_mark)}}},
      {"rollback_duration",
       {{"value", OrNull(r.rollback_max_ms)},
        {"unit", "ms"},
        {"max_ms", OrNull(r.rollback_max_ms)},
        {"mean_ms", OrNull(r.rollback_mean_ms)},
        {"rollbacks", r.rollbacks},
        {"succeeded", r.rollbacks_succeeded},
        {"target", TargetJson(kRollbackTarget)},
        {"status", MarkName(r.rollback_mark)}}},
  };
  return {{"app", OrNull(app)},
          {"apps", r.apps},
          {"window",
           {{"since", FormatTimestampMs(r.window.since_ms)},
            {"until", FormatTimestampMs(r.window.until_ms)},
            {"length", since_text},
            {"days", static_cast<double>(r.window.until_ms - r.window.since_ms) / 86'400'000.0}}},
          {"releases",
           {{"deploys", r.deploys},
            {"succeeded", r.succeeded},
            {"failed", r.failed},
            {"aborted", r.aborted},
            {"rollbacks", r.rollbacks},
            {"in_progress", in_progress}}},
          {"kpis", kpis},
          {"incidents", incidents},
          {"status", MarkName(r.overall)}};
}

}  // namespace slipway::report
