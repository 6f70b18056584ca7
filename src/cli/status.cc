// slipway status [APP] [--json]
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {

std::string Str(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

void PrintRollout(const nlohmann::json& r);

void PrintApp(const nlohmann::json& a) {
  std::cout << fmt::format("{:<16} release {:<5} {:<8} ready {}/{}  listen {}", Str(a, "app"),
                           Str(a, "current_release"), Str(a, "desired_state"),
                           Str(a, "ready_replicas", "0"), Str(a, "desired_replicas", "0"),
                           Str(a, "listen"));
  if (a.contains("deploying_release") && !a["deploying_release"].is_null()) {
    std::cout << fmt::format("  (deploying release {})", a["deploying_release"].dump());
  }
  std::cout << "\n";
  if (a.contains("rollout")) PrintRollout(a["rollout"]);
  const auto& replicas = a.value("replicas", nlohmann::json::array());
  if (replicas.empty()) return;
  std::cout << fmt::format("  {:<22} {:>7} {:>6} {:<10} {:>8} {:>9}  {}\n", "REPLICA", "PID",
                           "PORT", "STATE", "RESTARTS", "REQUESTS", "LIMITS");
  for (const auto& r : replicas) {
    std::string limits = "-";
    if (r.contains("limits")) {
      const auto& l = r["limits"];
      std::vector<std::string> applied;
      if (l.value("memory_applied", false)) applied.push_back("memory");
      if (l.value("cpu_applied", false)) applied.push_back("cpu");
      if (l.value("pids_applied", false)) applied.push_back("pids");
      limits = fmt::format("cgroup {}: {}", l.value("cgroup", "none"),
                           applied.empty() ? "none" : fmt::format("{}", fmt::join(applied, ",")));
      if (!l.value("note", "").empty()) limits += " (" + l.value("note", "") + ")";
    }
    std::cout << fmt::format("  {:<22} {:>7} {:>6} {:<10} {:>8} {:>9}  {}\n", Str(r, "name"),
                             Str(r, "pid"), Str(r, "port"), Str(r, "state"), Str(r, "restarts"),
                             Str(r, "requests"), limits);
    if (r.contains("error")) std::cout << "      error: " << Str(r, "error") << "\n";
    if (r.value("ejected", false)) {
      std::cout << fmt::format(
          "      ejected by the proxy: failing requests (passive health; {} ejection(s))\n",
          Str(r, "ejections"));
    }
  }
}

std::string Percent(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.1f}%", v.get<double>() * 100) : "-";
}

std::string Millis(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.0f} ms", v.get<double>()) : "-";
}

std::string Share(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.3f}%", v.get<double>() * 100) : "no data";
}

std::string BurnRate(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.2f}x", v.get<double>()) : "-";
}

// The SLO block: each objective's value and error budget left over 1h, 1d and 30d.
void PrintSlo(const nlohmann::json& objectives) {
  if (!objectives.is_array() || objectives.empty()) return;
  std::cout << fmt::format("  {:<13} {:>8}  {:>9} {:>9} {:>9}  {:>26}  {:>8}\n", "SLO", "TARGET",
                           "1h", "1d", "30d", "BUDGET LEFT 1h / 1d / 30d", "BURN 1h");
  for (const auto& o : objectives) {
    const auto& w = o.value("windows", nlohmann::json::array());
    auto at = [&w](std::size_t i, const char* key) {
      return i < w.size() && w[i].contains(key) ? w[i][key] : nlohmann::json();
    };
    auto budget = [&](std::size_t i) {
      const nlohmann::json v = at(i, "error_budget_remaining");
      return v.is_number() ? fmt::format("{:.1f}%", v.get<double>() * 100) : std::string("-");
    };
    std::cout << fmt::format(
        "  {:<13} {:>8}  {:>9} {:>9} {:>9}  {:>26}  {:>8}\n", o.value("slo", ""),
        Share(o["target"]), Share(at(0, "sli")), Share(at(1, "sli")), Share(at(2, "sli")),
        fmt::format("{} / {} / {}", budget(0), budget(1), budget(2)), BurnRate(o["burn_rate_1h"]));
    std::cout << "    " << o.value("description", "") << "\n";
  }
}

void PrintRollout(const nlohmann::json& r) {
  std::string step;
  if (r.value("steps", 0) > 0) {
    step = fmt::format(", step {}/{} ({})", r.value("step", 0), r.value("steps", 0),
                       r.value("step_text", "promotion"));
  }
  std::cout << fmt::format("  rollout: release {} {} {}{}, weight {}%", r.value("release", 0),
                           r.value("strategy", ""), r.value("phase", ""), step,
                           r.value("weight", 0));
  if (r.contains("time_left_ms")) {
    std::cout << fmt::format(", {:.1f} s left", r["time_left_ms"].get<double>() / 1000);
  }
  std::cout << "\n";
  if (r.value("paused", false)) std::cout << "  PAUSED: " << r.value("pause_reason", "") << "\n";
  for (const auto& rel : r.value("releases", nlohmann::json::array())) {
    std::cout << fmt::format("    release {:<4} {:<7} {:>7.1f} req/s  errors {:>6}  p95 {}\n",
                             rel.value("release", 0), rel.value("role", ""),
                             rel.value("requests_per_second", 0.0), Percent(rel["error_rate"]),
                             Millis(rel["p95_ms"]));
  }
  if (r.contains("analysis")) {
    const auto& a = r["analysis"];
    std::cout << "  analysis: " << a.value("summary", "") << "\n";
    for (const auto& c : a.value("checks", nlohmann::json::array())) {
      std::cout << fmt::format("    {:<13} {:<24} {}\n", c.value("verdict", ""),
                               c.value("name", ""), c.value("message", ""));
    }
  }
}

}  // namespace

void RegisterStatus(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto watch = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("status", "Show apps, their serving release and replicas.");
  cmd->add_option("app", *name, "only this app");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->add_flag("--watch", *watch,
                "refresh every second while a rollout runs (step, weight, traffic per release, "
                "analysis); ends when no rollout is left");
  cmd->callback([&ctx, name, json, watch] {
    api::AdminClient client(ctx.SocketPath());
    if (*watch) {
      const bool tty = ::isatty(STDOUT_FILENO) != 0;
      for (;;) {
        auto res = ctx.Call(client, "GET", name->empty() ? "/v1/apps" : "/v1/apps/" + *name);
        if (!res) return;
        if (res->status != 200) return ctx.FailFrom(*res);
        nlohmann::json apps =
            name->empty() ? res->body["apps"] : nlohmann::json::array({res->body});
        if (tty) std::cout << "\033[H\033[2J";
        bool running = false;
        for (const auto& a : apps) {
          PrintApp(a);
          running = running || a.contains("rollout");
        }
        std::cout << (tty ? "" : "--\n");
        std::cout.flush();
        if (!running) return;
        std::this_thread::sleep_for(std::chrono::seconds(1));  // a display refresh, not control
      }
    }
    auto res = ctx.Call(client, "GET", name->empty() ? "/v1/apps" : "/v1/apps/" + *name);
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    nlohmann::json apps = name->empty() ? res->body["apps"] : nlohmann::json::array({res->body});
    nlohmann::json slo = nlohmann::json::array();
    if (!name->empty()) {
      auto objectives = ctx.Call(client, "GET", "/v1/apps/" + *name + "/slo");
      if (!objectives) return;
      if (objectives->status != 200) return ctx.FailFrom(*objectives);
      slo = objectives->body.value("objectives", nlohmann::json::array());
    }
    if (*json) {
      if (name->empty()) {
        std::cout << apps.dump(2) << "\n";
      } else {
        nlohmann::json body = res->body;
        body["slo"] = slo;
        std::cout << body.dump(2) << "\n";
      }
      return;
    }
    if (apps.empty()) std::cout << "no apps yet: deploy one with `slipway deploy -f FILE`\n";
    for (const auto& a : apps) PrintApp(a);
    PrintSlo(slo);
  });
}

}  // namespace slipway::cli
