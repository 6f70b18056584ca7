#include "api/report_route.h"

#include <fmt/format.h>

#include "common/duration.h"
#include "report/delivery_report.h"
#include "report/report_json.h"
#include "report/timestamp.h"

namespace slipway::api {
namespace {

constexpr char kDefaultSince[] = "30d";
constexpr Millis kLongestSince{3650LL * 86'400'000};

ApiResponse Fail(int status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

// Every event of one release (the store answers in pages).
Status ReadEvents(state::ReleaseStore& store, const state::Release& r,
                  std::vector<state::Event>& out) {
  std::int64_t after = 0;
  for (;;) {
    auto page = store.EventsSince(r.app, after, r.number);
    if (!page) return page.error();
    if (page->empty()) return Ok();
    after = page->back().id;
    out.insert(out.end(), page->begin(), page->end());
  }
}

// The app's history with the events the report reads: those of its failed and aborted changes
// created in the window (whether they served users).
Result<report::AppHistory> ReadHistory(state::ReleaseStore& store, const std::string& app,
                                       std::int64_t since_ms) {
  report::AppHistory h;
  h.app = app;
  auto releases = store.ListReleases(app);
  if (!releases) return releases.error();
  h.releases = std::move(*releases);
  for (const auto& r : h.releases) {
    if (r.outcome != state::Outcome::kFailed && r.outcome != state::Outcome::kAborted) continue;
    if (r.rollback_of) continue;
    auto created = report::ParseTimestampMs(r.created_at);
    if (created && *created < since_ms) continue;
    if (Status st = ReadEvents(store, r, h.events); !st) return st.error();
  }
  return h;
}

}  // namespace

ApiResponse ReportResponse(state::ReleaseStore& store,
                           const std::map<std::string, std::string>& query, std::int64_t now_ms) {
  const std::string since_text = query.count("since") ? query.at("since") : kDefaultSince;
  auto since = ParseDuration(since_text);
  if (!since || since->count() <= 0) {
    return Fail(400,
                fmt::format("since: \"{}\" is not a duration (e.g. 30d, 12h, 90m)", since_text));
  }
  if (*since > kLongestSince) return Fail(400, "since: at most 3650d");
  const report::Window window{now_ms - since->count(), now_ms};

  std::optional<std::string> app;
  std::vector<std::string> names;
  if (query.count("app") && !query.at("app").empty()) {
    app = query.at("app");
    auto record = store.GetApp(*app);
    if (!record) return Fail(500, record.error().message);
    if (!record->has_value()) return Fail(404, "no app named " + *app);
    names.push_back(*app);
  } else {
    auto apps = store.ListApps();
    if (!apps) return Fail(500, apps.error().message);
    for (const auto& a : *apps) names.push_back(a.name);
  }

  std::vector<report::AppHistory> histories;
  for (const auto& name : names) {
    auto h = ReadHistory(store, name, window.since_ms);
    if (!h) return Fail(500, h.error().message);
    histories.push_back(std::move(*h));
  }
  auto built = report::BuildDeliveryReport(histories, window);
  if (!built) return Fail(500, built.error().message);
  return {200, report::ReportToJson(*built, app, since_text)};
}

}  // namespace slipway::api
