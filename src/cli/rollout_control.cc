// slipway promote|abort|pause|resume APP: operator control of a canary or blue-green rollout.
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {

struct ControlOptions {
  std::string app;
  bool full = false;
};

void Register(CLI::App& app, Context& ctx, const std::string& verb, const std::string& help) {
  auto opt = std::make_shared<ControlOptions>();
  auto* cmd = app.add_subcommand(verb, help);
  cmd->add_option("app", opt->app, "app name")->required();
  if (verb == "promote") {
    cmd->add_flag("--full", opt->full,
                  "skip every remaining step (canary) or the scale-down delay (blue-green)");
  }
  cmd->callback([&ctx, opt, verb] {
    api::AdminClient client(ctx.SocketPath());
    nlohmann::json body = nlohmann::json::object();
    if (opt->full) body["full"] = true;
    auto res = ctx.Call(client, "POST", fmt::format("/v1/apps/{}/{}", opt->app, verb), body);
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    const auto& rollout = res->body.value("rollout", nlohmann::json());
    if (rollout.is_object()) {
      std::cout << fmt::format(
          "{}: release {} {} (weight {}%){}\n", opt->app, rollout.value("release", 0),
          rollout.value("phase", ""), rollout.value("weight", 0),
          rollout.value("paused", false) ? ", paused: " + rollout.value("pause_reason", "") : "");
    } else {
      std::cout << fmt::format("{}: no rollout runs now; release {} serves\n", opt->app,
                               res->body.value("current_release", nlohmann::json()).dump());
    }
  });
}

}  // namespace

void RegisterRolloutControl(CLI::App& app, Context& ctx) {
  Register(app, ctx, "promote",
           "Canary: skip the current step (with --full: every remaining one).\n"
           "Blue-green: switch all traffic to the new set (with --full: end the scale-down\n"
           "delay now).");
  Register(app, ctx, "abort",
           "Stop the rollout: the new release gets no new requests at once, its replicas\n"
           "drain and stop, and it is marked aborted; the stable release keeps serving.");
  Register(app, ctx, "pause", "Hold the rollout at its current step and weight.");
  Register(app, ctx, "resume", "Continue a paused rollout (past a `pause: {}` step).");
}

}  // namespace slipway::cli
