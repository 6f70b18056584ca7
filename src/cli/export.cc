// slipway export prometheus-rules|grafana-dashboard [APP] [--spec FILE] [-o FILE]: an app's alert
// rules as a Prometheus rule file, or a Grafana dashboard of its metrics (docs/alerts.md#export,
// docs/grafana.md). From the spec of the app's serving release (GET /v1/apps/APP/spec; its
// newest release while none serves), or from a spec file without a daemon.
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "monitoring/grafana_dashboard.h"
#include "monitoring/promql_rules.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

struct ExportOptions {
  std::string app;
  std::string spec_file;  // --spec: no daemon
  std::string output;     // -o: else stdout
};

struct Source {
  spec::AppSpec spec;
  std::string origin;  // "release 3 of hello (serving)", "the spec file slipway.yaml"
};

void PrintDiagnostics(const std::vector<spec::Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) std::cerr << d.ToString() << "\n";
}

std::optional<Source> LoadSpec(Context& ctx, const ExportOptions& opt) {
  if (!opt.spec_file.empty()) {
    auto parsed = spec::ParseAppSpecFile(opt.spec_file);
    if (!parsed.spec) {
      PrintDiagnostics(parsed.diagnostics);
      std::cerr << fmt::format("slipway: {} has {} problem(s); nothing was exported\n",
                               opt.spec_file, parsed.diagnostics.size());
      ctx.exit_code = kExitBadInput;
      return std::nullopt;
    }
    if (!opt.app.empty() && opt.app != parsed.spec->app) {
      std::cerr << fmt::format("slipway: {} is the spec of {}, not {}\n", opt.spec_file,
                               parsed.spec->app, opt.app);
      ctx.exit_code = kExitBadInput;
      return std::nullopt;
    }
    return Source{std::move(*parsed.spec), "the spec file " + opt.spec_file};
  }
  if (opt.app.empty()) {
    std::cerr << "slipway: name the app (slipway export ... APP), or give --spec FILE\n";
    ctx.exit_code = kExitBadInput;
    return std::nullopt;
  }
  api::AdminClient client(ctx.SocketPath());
  auto res = ctx.Call(client, "GET", "/v1/apps/" + opt.app + "/spec");
  if (!res) return std::nullopt;
  if (res->status != 200) {
    ctx.FailFrom(*res);
    return std::nullopt;
  }
  const nlohmann::json& body = res->body;
  const std::int64_t release = body.value("release", std::int64_t{0});
  auto parsed = spec::ParseAppSpec(body.value("spec_yaml", ""), body.value("spec_file", ""),
                                   body.value("base_dir", ""));
  if (!parsed.spec) {
    PrintDiagnostics(parsed.diagnostics);
    std::cerr << fmt::format("slipway: the spec of release {} of {} no longer parses\n", release,
                             opt.app);
    ctx.exit_code = kExitFailed;
    return std::nullopt;
  }
  return Source{std::move(*parsed.spec),
                fmt::format("release {} of {} ({})", release, opt.app,
                            body.value("serving", false) ? "serving" : "newest; none serves")};
}

void Write(Context& ctx, const ExportOptions& opt, const std::string& text) {
  if (opt.output.empty() || opt.output == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(opt.output, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << fmt::format("slipway: cannot write {}\n", opt.output);
    ctx.exit_code = kExitFailed;
  }
}

CLI::App* AddExport(CLI::App& parent, const std::string& name, const std::string& help,
                    std::shared_ptr<ExportOptions> opt) {
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("app", opt->app, "the app (optional with --spec)");
  cmd->add_option("--spec", opt->spec_file,
                  "export from this spec file instead of the daemon's serving release");
  cmd->add_option("-o,--output", opt->output, "write to FILE instead of stdout");
  return cmd;
}

}  // namespace

void RegisterExport(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "export", "Export an app's alert rules and metrics for Prometheus and Grafana.");
  cmd->require_subcommand(1);

  auto rules = std::make_shared<ExportOptions>();
  AddExport(*cmd, "prometheus-rules",
            "The app's alert rules as a Prometheus rule file (YAML; `promtool check rules`).",
            rules)
      ->callback([&ctx, rules] {
        auto source = LoadSpec(ctx, *rules);
        if (!source) return;
        Write(ctx, *rules,
              monitoring::RuleFileYaml(monitoring::ExportRuleGroup(source->spec), source->origin));
      });

  auto dashboard = std::make_shared<ExportOptions>();
  AddExport(*cmd, "grafana-dashboard",
            "A Grafana dashboard (JSON) of the app's metrics, with its alert thresholds.",
            dashboard)
      ->callback([&ctx, dashboard] {
        auto source = LoadSpec(ctx, *dashboard);
        if (!source) return;
        const spec::AppSpec& spec = source->spec;
        Write(ctx, *dashboard,
              monitoring::GrafanaDashboard(spec.app, spec.alerts, spec.slo).dump(2) + "\n");
      });
}

}  // namespace slipway::cli
