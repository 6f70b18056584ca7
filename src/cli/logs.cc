// slipway logs APP [--replica I] [--follow]
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {
struct LogsOptions {
  std::string app;
  int replica = -1;
  bool follow = false;
};
}  // namespace

void RegisterLogs(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<LogsOptions>();
  auto* cmd = app.add_subcommand(
      "logs", "Print the captured stdout/stderr of an app's replicas (serving release).");
  cmd->add_option("app", opt->app, "app name")->required();
  cmd->add_option("--replica", opt->replica, "only replica I (0-based, serving release)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-f,--follow", opt->follow, "keep printing new output (Ctrl-C to stop)");
  cmd->callback([&ctx, opt] {
    api::AdminClient client(ctx.SocketPath());
    auto list = ctx.Call(client, "GET", fmt::format("/v1/apps/{}/logs", opt->app));
    if (!list) return;
    if (list->status != 200) return ctx.FailFrom(*list);
    std::vector<std::string> names;
    for (const auto& n : list->body["current"]) names.push_back(n.get<std::string>());
    if (names.empty()) {
      for (const auto& n : list->body["all"]) names.push_back(n.get<std::string>());
    }
    if (opt->replica >= 0) {
      if (opt->replica >= static_cast<int>(names.size())) {
        std::cerr << fmt::format("slipway: {} has {} replica log(s); no replica {}\n", opt->app,
                                 names.size(), opt->replica);
        ctx.exit_code = kExitFailed;
        return;
      }
      names = {names[static_cast<size_t>(opt->replica)]};
    }
    std::map<std::string, std::uint64_t> offsets;
    const bool prefix = names.size() > 1;
    for (;;) {
      for (const auto& name : names) {
        for (;;) {
          auto res = ctx.Call(
              client, "GET",
              fmt::format("/v1/apps/{}/logs?name={}&offset={}", opt->app, name, offsets[name]));
          if (!res) return;
          if (res->status != 200) return ctx.FailFrom(*res);
          std::string data = res->body.value("data", "");
          offsets[name] = res->body.value("next_offset", offsets[name]);
          if (prefix) {
            size_t start = 0;
            while (start < data.size()) {
              size_t nl = data.find('\n', start);
              size_t end = nl == std::string::npos ? data.size() : nl + 1;
              std::cout << name << " | " << data.substr(start, end - start);
              start = end;
            }
          } else {
            std::cout << data;
          }
          if (data.empty() || offsets[name] >= res->body.value("size", 0ull)) break;
        }
      }
      std::cout.flush();
      if (!opt->follow) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
}

}  // namespace slipway::cli
