// slipway logs APP [--replica I] [--release N] [--request-id ID] [--since T] [--until T]
//                  [--source LIST] [--json] [-f]
// The filtering happens in the daemon (GET /v1/apps/APP/logs/lines); this prints what it sends.
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "common/duration.h"
#include "common/ids.h"
#include "report/timestamp.h"

namespace slipway::cli {

namespace {

struct LogsOptions {
  std::string app;
  int replica = -1;
  std::int64_t release = 0;
  std::string request_id;
  std::string since;
  std::string until;
  std::string sources;
  bool json = false;
  bool follow = false;
};

// "10m" (ago) or an RFC 3339 time, as ms since the epoch; nullopt when it is neither.
std::optional<std::int64_t> ParseWhen(const std::string& text, std::int64_t now_ms) {
  if (auto ms = report::ParseTimestampMs(text)) return ms;
  if (auto ago = ParseDuration(text)) return now_ms - ago->count();
  return std::nullopt;
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// `time who what | message`: the replica's name and stream; "proxy access"; "slipway LEVEL".
std::string Readable(const std::string& source, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return text;
  const std::string time = Str(j, "time");
  if (source == "access") {
    return fmt::format("{} proxy access | {} {} {} {}ms request_id={} upstream={}", time,
                       Str(j, "method"), Str(j, "path"), Str(j, "status"), Str(j, "duration_ms"),
                       Str(j, "request_id"), Str(j, "upstream"));
  }
  if (source == "slipway") {
    std::string line = fmt::format("{} slipway {} | {}: {}", time, Str(j, "level"),
                                   Str(j, "component"), Str(j, "message"));
    for (const char* key : {"release", "request_id"}) {
      if (j.contains(key)) line += fmt::format(" {}={}", key, Str(j, key));
    }
    if (j.contains("fields") && j["fields"].is_object()) {
      for (const auto& [k, v] : j["fields"].items()) {
        line += fmt::format(" {}={}", k, v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    return line;
  }
  return fmt::format("{} {}-r{}-{} {} | {}", time, Str(j, "app"), Str(j, "release"),
                     Str(j, "replica"), Str(j, "stream"), Str(j, "message"));
}

std::string Query(const LogsOptions& o, const std::string& since, const std::string& until) {
  std::string q = "sources=" + o.sources;
  if (o.replica >= 0) q += fmt::format("&replica={}", o.replica);
  if (o.release > 0) q += fmt::format("&release={}", o.release);
  if (!o.request_id.empty()) q += "&request_id=" + o.request_id;
  if (!since.empty()) q += "&since=" + since;
  if (!until.empty()) q += "&until=" + until;
  return q;
}

}  // namespace

void RegisterLogs(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<LogsOptions>();
  auto* cmd = app.add_subcommand(
      "logs",
      "Print the output of an app's replicas (serving release by default), one line each:\n"
      "`time replica stream | message`; with --request-id also the proxy's access line and\n"
      "Slipway's own lines for that request, merged by time.");
  cmd->add_option("app", opt->app, "app name")->required();
  cmd->add_option("--replica", opt->replica,
                  "only replica I (0-based; serving release or --release)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--release", opt->release, "only release N")->check(CLI::PositiveNumber);
  cmd->add_option("--request-id", opt->request_id,
                  "only lines that carry or mention this request id (X-Request-Id)");
  cmd->add_option("--since", opt->since,
                  "only lines at or after: a duration ago (10m) or an "
                  "RFC 3339 time");
  cmd->add_option("--until", opt->until, "only lines at or before: a duration ago or a time");
  cmd->add_option("--source", opt->sources,
                  "comma-separated: replica, access (the proxy's access log), slipway (the\n"
                  "daemon's own log); default replica, or all three with --request-id");
  cmd->add_flag("--json", opt->json, "print the JSON lines as they are stored");
  cmd->add_flag("-f,--follow", opt->follow, "keep printing new lines (Ctrl-C to stop)");
  cmd->callback([&ctx, opt] {
    auto bad = [&](const std::string& message) {
      std::cerr << "slipway logs: " << message << "\n";
      ctx.exit_code = kExitBadInput;
    };
    const auto now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    std::string since, until;
    for (auto [text, out, flag] :
         {std::tuple{&opt->since, &since, "--since"}, std::tuple{&opt->until, &until, "--until"}}) {
      if (text->empty()) continue;
      auto ms = ParseWhen(*text, now_ms());
      if (!ms) {
        return bad(
            fmt::format("{} must be a duration (10m) or an RFC 3339 time "
                        "(2026-05-01T12:00:00Z), got \"{}\"",
                        flag, *text));
      }
      *out = report::FormatTimestampMs(*ms);
    }
    if (opt->follow && !until.empty()) return bad("--follow and --until do not go together");
    if (!opt->request_id.empty() && !IsValidRequestId(opt->request_id)) {
      return bad("--request-id is at most 128 letters, digits and '.', '_', ':' or '-'");
    }
    if (opt->sources.empty()) {
      opt->sources = opt->request_id.empty() ? "replica" : "replica,access,slipway";
    }
    api::AdminClient client(ctx.SocketPath());
    // Lines printed at the newest time seen: a follow-up query starts at that time and skips them.
    std::int64_t last_ms = 0;
    std::set<std::string> printed_at_last;
    for (;;) {
      auto res =
          ctx.Call(client, "GET",
                   fmt::format("/v1/apps/{}/logs/lines?{}", opt->app, Query(*opt, since, until)));
      if (!res) return;
      if (res->status != 200) return ctx.FailFrom(*res);
      for (const auto& l : res->body["lines"]) {
        const std::string text = l.value("text", "");
        const std::string source = l.value("source", "");
        auto j = nlohmann::json::parse(text, nullptr, false);
        auto t = j.is_object() ? report::ParseTimestampMs(Str(j, "time")) : std::nullopt;
        std::int64_t ms = t.value_or(last_ms);
        if (ms < last_ms || (ms == last_ms && printed_at_last.contains(text))) continue;
        if (ms > last_ms) printed_at_last.clear();
        last_ms = ms;
        printed_at_last.insert(text);
        std::cout << (opt->json ? text : Readable(source, text)) << "\n";
      }
      std::cout.flush();
      if (!opt->follow) return;
      if (last_ms > 0) since = report::FormatTimestampMs(last_ms);
      if (since.empty()) since = report::FormatTimestampMs(now_ms());
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
}

}  // namespace slipway::cli
