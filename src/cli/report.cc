// slipway report [APP] [--since 30d] [--json]
#include <cctype>
#include <cmath>
#include <iostream>
#include <string_view>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "common/duration.h"

namespace slipway::cli {

namespace {

struct ReportOptions {
  std::string app;
  std::string since = "30d";
  bool json = false;
};

// "850ms", "12.3s", "4m12s", "3h05m", "2d04h": short, to the precision a person reads.
std::string Human(std::int64_t ms) {
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000);
  const std::int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86'400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86'400, s % 86'400 / 3600);
}

std::string Ms(const nlohmann::json& v) {
  return v.is_number() ? Human(v.get<std::int64_t>()) : "-";
}

std::string Percent(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.1f}%", v.get<double>() * 100) : "-";
}

// "> 95%", "< 30m"; "-" without a target.
std::string TargetText(const nlohmann::json& kpi) {
  const auto& t = kpi["target"];
  if (!t.is_object()) return "-";
  const std::string op = t.value("op", "");
  const double value = t.value("value", 0.0);
  if (kpi.value("unit", "") == "ratio") return fmt::format("{} {:g}%", op, value * 100);
  return fmt::format("{} {}", op, FormatDuration(Millis(std::llround(value))));
}

std::string MarkText(const nlohmann::json& kpi) {
  if (!kpi["target"].is_object()) return "";
  const std::string status = kpi.value("status", "n/a");
  return status == "pass" ? "PASS" : status == "fail" ? "FAIL" : "n/a";
}

// The query string's escaping of a value (app names and durations rarely need any).
std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

void PrintTable(const nlohmann::json& r) {
  const auto& w = r["window"];
  const std::string scope = r["app"].is_string() ? r["app"].get<std::string>() : "every app";
  std::cout << fmt::format("Delivery report for {}, last {} ({} to {})\n", scope,
                           w.value("length", ""), w.value("since", ""), w.value("until", ""));
  const auto& rel = r["releases"];
  std::cout << fmt::format(
      "{} deploy(s): {} succeeded, {} failed, {} aborted; {} rollback(s); {} in progress\n\n",
      rel.value("deploys", 0), rel.value("succeeded", 0), rel.value("failed", 0),
      rel.value("aborted", 0), rel.value("rollbacks", 0), rel["in_progress"].size());

  const auto& k = r["kpis"];
  const auto& freq = k["deployment_frequency"];
  const auto& lead = k["lead_time"];
  const auto& success = k["deploy_success_rate"];
  const auto& cfr = k["change_failure_rate"];
  const auto& mttr = k["mean_time_to_restore"];
  const auto& rb = k["rollback_duration"];
  struct Row {
    const char* name;
    std::string value;
    const nlohmann::json* kpi;
  };
  const Row rows[] = {
      {"deployment frequency",
       fmt::format("{:.2f}/day, {:.2f}/week", freq.value("value", 0.0),
                   freq.value("per_week", 0.0)),
       &freq},
      {"lead time p50 / p90",
       lead.value("samples", 0) == 0 ? "-"
                                     : fmt::format("{} / {} ({} change(s))", Ms(lead["p50_ms"]),
                                                   Ms(lead["p90_ms"]), lead.value("samples", 0)),
       &lead},
      {"deploy success rate",
       fmt::format("{} ({} of {})", Percent(success["value"]), success.value("succeeded", 0),
                   success.value("deploys", 0)),
       &success},
      {"change failure rate",
       fmt::format("{} ({} of {} change(s))", Percent(cfr["value"]), cfr.value("failed_changes", 0),
                   cfr.value("changes", 0)),
       &cfr},
      {"mean time to restore",
       fmt::format("{} ({} incident(s), {} open)", Ms(mttr["value"]), mttr.value("incidents", 0),
                   mttr.value("open", 0)),
       &mttr},
      {"rollback duration",
       rb.value("rollbacks", 0) == 0
           ? "- (no rollback)"
           : fmt::format("max {}, mean {} ({} of {} succeeded)", Ms(rb["max_ms"]),
                         Ms(rb["mean_ms"]), rb.value("succeeded", 0), rb.value("rollbacks", 0)),
       &rb},
  };
  auto print_row = [](std::string_view name, std::string_view value, std::string_view target,
                      std::string_view mark) {
    std::string line = fmt::format("{:<22} {:<44} {:<8} {}", name, value, target, mark);
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << "\n";
  };
  print_row("KPI", "VALUE", "TARGET", "");
  for (const auto& row : rows) {
    print_row(row.name, row.value, TargetText(*row.kpi), MarkText(*row.kpi));
  }
  const std::string overall = r.value("status", "n/a");
  std::cout << "\nTargets: " << (overall == "fail" ? "FAIL" : "PASS") << "\n";

  if (!r["incidents"].empty()) {
    std::cout << "\nIncidents (failed changes):\n";
    for (const auto& i : r["incidents"]) {
      std::string restored = i["restored_at"].is_string()
                                 ? fmt::format("restored {} after {}", i.value("restored_at", ""),
                                               Ms(i["duration_ms"]))
                                 : std::string("still open");
      if (i["restored_by"].is_number()) {
        restored += fmt::format(" by release {}", i["restored_by"].get<std::int64_t>());
      }
      std::cout << fmt::format("  {} release {} {}: served from {}, {}\n", i.value("app", ""),
                               i.value("release", 0), i.value("kind", ""),
                               i.value("started_at", ""), restored);
    }
  }
  if (!rel["in_progress"].empty()) {
    std::cout << "\nIn progress (not counted):\n";
    for (const auto& p : rel["in_progress"]) {
      std::cout << fmt::format("  {} release {} created {}\n", p.value("app", ""),
                               p.value("number", 0), p.value("created_at", ""));
    }
  }
}

}  // namespace

void RegisterReport(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand(
      "report",
      "Delivery KPIs from the release history (docs/report.md): deployment frequency, lead\n"
      "time, deploy success rate, change failure rate, time to restore, rollbacks; with the\n"
      "targets and PASS/FAIL.");
  cmd->add_option("app", opt->app, "app name (default: every app, pooled)");
  cmd->add_option("--since", opt->since, "the window: this long until now (30d, 12h, 2w)")
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "print JSON");
  cmd->callback([&ctx, opt] {
    // Checked here too, so that a typo is exit 2 without asking the daemon.
    auto since = ParseDuration(opt->since);
    if (!since || since->count() <= 0) {
      std::cerr << fmt::format(
          "slipway: --since: \"{}\" is not a duration (e.g. 30d, 12h, 90m; units ms s m h d w)\n",
          opt->since);
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::string target = "/v1/report?since=" + Escape(opt->since);
    if (!opt->app.empty()) target += "&app=" + Escape(opt->app);
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "GET", target);
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    if (opt->json) {
      std::cout << res->body.dump(2) << "\n";
      return;
    }
    PrintTable(res->body);
  });
}

}  // namespace slipway::cli
