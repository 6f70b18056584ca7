// Prints a release's deploy events as they happen and waits for its outcome.
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {

// "2026-11-24T18:01:07.123Z" -> "18:01:07.123"
std::string ClockTime(const std::string& at) {
  auto t = at.find('T');
  if (t == std::string::npos) return at;
  std::string s = at.substr(t + 1);
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  return s;
}

}  // namespace

int FollowRelease(Context& ctx, api::AdminClient& client, const std::string& app,
                  std::int64_t release) {
  std::int64_t cursor = 0;
  int wait_ms = 2000;  // long poll: the daemon answers at the app's next event
  auto print_new = [&]() -> bool {
    auto res = ctx.Call(client, "GET",
                        fmt::format("/v1/apps/{}/events?release={}&after={}&wait_ms={}", app,
                                    release, cursor, wait_ms));
    if (!res) return false;
    for (const auto& e : res->body.value("events", nlohmann::json::array())) {
      cursor = e.value("id", cursor);
      std::cout << "  " << ClockTime(e.value("at", "")) << "  " << e.value("message", "") << "\n";
    }
    std::cout.flush();
    return true;
  };
  for (;;) {
    if (!print_new()) return ctx.exit_code;
    auto res = ctx.Call(client, "GET", fmt::format("/v1/apps/{}/releases/{}", app, release));
    if (!res) return ctx.exit_code;
    if (res->status != 200) {
      ctx.FailFrom(*res);
      return ctx.exit_code;
    }
    std::string outcome = res->body.value("outcome", "");
    if (outcome == "deploying") {
      // A paused rollout waits for an operator: say how to go on instead of waiting here.
      auto app_res = ctx.Call(client, "GET", fmt::format("/v1/apps/{}", app));
      if (!app_res) return ctx.exit_code;
      const auto& rollout = app_res->body.value("rollout", nlohmann::json());
      if (rollout.is_object() && rollout.value("release", 0) == release &&
          rollout.value("paused", false)) {
        wait_ms = 0;
        if (!print_new()) return ctx.exit_code;
        std::cout << fmt::format(
            "PAUSED: release {} of {} at {}% of the traffic: {}\n"
            "  `slipway promote {}` or `slipway resume {}` goes on, `slipway abort {}` stops "
            "it;\n  `slipway status {} --watch` follows it.\n",
            release, app, rollout.value("weight", 0), rollout.value("pause_reason", ""), app, app,
            app, app);
        return kExitOk;
      }
    }
    if (outcome != "deploying") {
      wait_ms = 0;
      if (!print_new()) return ctx.exit_code;
      if (outcome == "succeeded") {
        std::cout << fmt::format("OK: release {} of {} is serving.\n", release, app);
        return kExitOk;
      }
      std::cerr << fmt::format("{}: release {} of {} {}: {}\n",
                               outcome == "aborted" ? "ABORTED" : "FAILED", release, app, outcome,
                               res->body.value("reason", ""));
      return kExitFailed;
    }
  }
}

}  // namespace slipway::cli
