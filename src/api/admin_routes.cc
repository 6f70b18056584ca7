#include "api/admin_routes.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/log_query.h"
#include "api/report_route.h"
#include "api/spec_route.h"
#include "report/timestamp.h"

namespace slipway::api {

namespace fs = std::filesystem;

namespace {

ApiResponse Fail(int status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

ApiResponse FromRefusal(const rollout::Refusal& r) {
  ApiResponse res = Fail(r.http_status, r.message);
  if (!r.diagnostics.empty()) {
    nlohmann::json diags = nlohmann::json::array();
    for (const auto& d : r.diagnostics) {
      diags.push_back({{"file", d.file},
                       {"line", d.line},
                       {"column", d.column},
                       {"message", d.message},
                       {"text", d.ToString()}});
    }
    res.body["diagnostics"] = std::move(diags);
  }
  return res;
}

std::optional<std::int64_t> ToInt(const std::string& s) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) return {};
  return std::stoll(s);
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string StringField(const nlohmann::json& body, const char* key) {
  if (!body.is_object() || !body.contains(key) || !body[key].is_string()) return "";
  return body[key].get<std::string>();
}

// Lists <log_dir>/<app>/*.log (current files, not rotated copies), sorted.
std::vector<fs::path> LogFiles(const std::string& log_dir, const std::string& app) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(log_dir) / app, ec)) {
    if (entry.path().extension() == ".log") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

ApiResponse ReadLog(const fs::path& file, std::uint64_t offset, std::uint64_t max) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Fail(404, "cannot open " + file.string());
  in.seekg(0, std::ios::end);
  std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
  // The file was rotated (or truncated) since the last read: start over.
  if (offset > size) offset = 0;
  std::uint64_t n = std::min<std::uint64_t>(size - offset, max);
  std::string data(n, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(data.data(), static_cast<std::streamsize>(n));
  return {200,
          {{"name", file.stem().string()},
           {"data", data},
           {"next_offset", offset + n},
           {"size", size}}};
}

// `GET /v1/apps/APP/logs/lines`: the lines of the app's replica logs (and, when asked, of the
// access log and Slipway's own log) that pass the query's filter, merged by time; the newest
// `limit` of them. docs/logs.md.
ApiResponse LogLines(const std::map<std::string, std::string>& query, const std::string& log_dir,
                     const std::string& app, const std::vector<std::string>& serving_logs) {
  auto param = [&](const char* key) {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  LogFilter f;
  f.app = app;
  f.request_id = param("request_id");
  for (const char* key : {"since", "until"}) {
    std::string v = param(key);
    if (v.empty()) continue;
    auto ms = report::ParseTimestampMs(v);
    if (!ms) return Fail(400, fmt::format("{} must be an RFC 3339 time, got \"{}\"", key, v));
    (std::string_view(key) == "since" ? f.since_ms : f.until_ms) = *ms;
  }
  if (std::string v = param("release"); !v.empty()) {
    f.release = ToInt(v);
    if (!f.release) return Fail(400, "release must be a number");
  }
  if (std::string v = param("replica"); !v.empty()) {
    auto n = ToInt(v);
    if (!n || *n > 100000) return Fail(400, "replica must be a number");
    f.replica = static_cast<int>(*n);
  }
  auto limit = ToInt(param("limit").empty() ? "5000" : param("limit"));
  if (!limit || *limit < 1 || *limit > 100000) {
    return Fail(400, "limit must be a number from 1 to 100000");
  }
  bool want[3] = {true, false, false};
  if (std::string v = param("sources"); !v.empty()) {
    want[0] = false;
    for (std::string_view rest = v; !rest.empty();) {
      const std::string s(rest.substr(0, rest.find(',')));
      rest.remove_prefix(std::min(rest.size(), s.size() + 1));
      if (s == "replica") {
        want[0] = true;
      } else if (s == "access") {
        want[1] = true;
      } else if (s == "slipway") {
        want[2] = true;
      } else {
        return Fail(400, "sources are replica, access and slipway; got \"" + s + "\"");
      }
    }
  }

  // Replica logs: of one release when asked; of the serving release for a plain listing; of every
  // release when looking for a request or a time (it may have been served by any).
  std::vector<std::string> names;
  const bool plain = f.request_id.empty() && !f.since_ms && !f.until_ms && !f.release;
  if (plain) {
    for (const auto& path : serving_logs) names.push_back(fs::path(path).stem().string());
  }
  if (names.empty()) {
    for (const auto& file : LogFiles(log_dir, app)) {
      const std::string name = file.stem().string();
      if (!f.release || name.starts_with(fmt::format("{}-r{}-", app, *f.release))) {
        names.push_back(name);
      }
    }
  }
  if (f.replica) {
    std::erase_if(names, [&](const std::string& n) {
      return !n.ends_with("-" + std::to_string(*f.replica));
    });
    if (names.empty() && want[0]) {
      return Fail(404, fmt::format("{} has no replica {}{}", app, *f.replica,
                                   f.release ? fmt::format(" in release {}", *f.release) : ""));
    }
  }
  std::vector<std::vector<LogLine>> sources;
  auto read = [&](const std::string& base, LogSource source) {
    std::vector<LogLine> lines;
    // The rotated copy first; spdlog names Slipway's own "slipway.1.log".
    std::string rotated = base + ".1";
    if (source == LogSource::kSlipway) rotated = base.substr(0, base.size() - 4) + ".1.log";
    ReadLogFile(rotated, source, f, lines);
    ReadLogFile(base, source, f, lines);
    if (lines.size() > static_cast<std::size_t>(*limit)) {
      lines.erase(lines.begin(), lines.end() - *limit);
    }
    sources.push_back(std::move(lines));
  };
  if (want[0]) {
    for (const auto& name : names)
      read((fs::path(log_dir) / app / (name + ".log")).string(), LogSource::kReplica);
  }
  if (want[1]) read((fs::path(log_dir) / "access.log").string(), LogSource::kAccess);
  if (want[2]) read((fs::path(log_dir) / "slipway.log").string(), LogSource::kSlipway);
  std::vector<LogLine> merged = MergeByTime(std::move(sources));
  const bool truncated = merged.size() > static_cast<std::size_t>(*limit);
  if (truncated) merged.erase(merged.begin(), merged.end() - *limit);
  nlohmann::json lines = nlohmann::json::array();
  for (const LogLine& l : merged) {
    lines.push_back({{"source", LogSourceName(l.source)}, {"text", l.text}});
  }
  return {200, {{"lines", std::move(lines)}, {"truncated", truncated}}};
}

}  // namespace

nlohmann::json ReleaseToJson(const state::Release& r, bool with_spec) {
  nlohmann::json j = {{"app", r.app},
                      {"number", r.number},
                      {"outcome", state::OutcomeName(r.outcome)},
                      {"reason", r.reason},
                      {"created_by", r.created_by},
                      {"created_at", r.created_at},
                      {"finished_at", r.finished_at},
                      {"spec_file", r.spec_file},
                      {"rollback_of", r.rollback_of ? nlohmann::json(*r.rollback_of) : nullptr}};
  if (!r.image_id.empty()) j["image_id"] = r.image_id;
  // The image reference the release's spec names (for a built image: the digest it pushed).
  try {
    YAML::Node image = YAML::Load(r.spec_yaml)["image"];
    if (image && image.IsScalar()) j["image"] = image.Scalar();
  } catch (const YAML::Exception&) {
  }
  if (with_spec) j["spec_yaml"] = r.spec_yaml;
  return j;
}

Handler MakeAdminRoutes(boost::asio::io_context& io, rollout::Fleet& fleet,
                        state::ReleaseStore& store, std::string log_dir) {
  return [&io, &fleet, &store, log_dir](const ApiRequest& req, Responder respond) {
    const std::vector<std::string> p = Split(req.path);
    const bool get = req.method == "GET";
    const bool post = req.method == "POST";
    auto releases_of = [&](const std::string& app) -> ApiResponse {
      auto list = store.ListReleases(app);
      if (!list) return Fail(500, list.error().message);
      if (list->empty()) return Fail(404, "no app named " + app);
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : *list) arr.push_back(ReleaseToJson(r, false));
      return {200, {{"releases", arr}}};
    };

    if (p.size() < 2 || p[0] != "v1") return respond(Fail(404, "no such endpoint: " + req.path));
    if (get && p.size() == 2 && p[1] == "version") {
      return respond({200, {{"version", SLIPWAY_VERSION}}});
    }
    if (post && p.size() == 2 && p[1] == "deploy") {
      rollout::DeployRequest dr{StringField(req.body, "spec_yaml"),
                                StringField(req.body, "spec_file"),
                                StringField(req.body, "base_dir"), req.peer};
      if (dr.spec_yaml.empty()) return respond(Fail(400, "spec_yaml is required"));
      if (dr.spec_file.empty()) dr.spec_file = "slipway.yaml";
      auto out = fleet.Deploy(dr);
      if (out.refusal) return respond(FromRefusal(*out.refusal));
      return respond({202, {{"release", ReleaseToJson(*out.value, false)}}});
    }
    if (post && p.size() == 3 && p[1] == "tls" && p[2] == "reload") {
      Status st = fleet.ReloadCertificates();
      if (!st) return respond(Fail(422, st.error().message));
      return respond({200, {{"reloaded", true}}});
    }
    if (get && p.size() == 2 && p[1] == "report") {
      // The window ends now, by the wall clock: release records are wall-clock times.
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      return respond(ReportResponse(
          store, req.query, std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
    }
    if (p[1] != "apps") return respond(Fail(404, "no such endpoint: " + req.path));
    if (get && p.size() == 2) return respond({200, {{"apps", fleet.AppsJson(std::nullopt)}}});
    if (p.size() < 3) return respond(Fail(404, "no such endpoint: " + req.path));
    const std::string& app = p[2];
    if (!fleet.Known(app)) return respond(Fail(404, "no app named " + app));

    if (get && p.size() == 3) {
      auto status = fleet.AppsJson(app);
      return respond({200, status.empty() ? nlohmann::json::object() : status[0]});
    }
    if (get && p.size() == 4 && p[3] == "releases") return respond(releases_of(app));
    if (get && p.size() == 4 && p[3] == "spec") return respond(AppSpecResponse(store, app));
    if (get && p.size() == 5 && p[3] == "releases") {
      auto n = ToInt(p[4]);
      if (!n) return respond(Fail(400, "release must be a number"));
      auto r = store.GetRelease(app, *n);
      if (!r) return respond(Fail(500, r.error().message));
      if (!r->has_value()) return respond(Fail(404, fmt::format("{} has no release {}", app, *n)));
      return respond({200, ReleaseToJson(**r, true)});
    }
    if (get && p.size() == 4 && p[3] == "events") {
      auto after = ToInt(req.query.count("after") ? req.query.at("after") : "0");
      auto release = ToInt(req.query.count("release") ? req.query.at("release") : "0");
      auto wait_ms = ToInt(req.query.count("wait_ms") ? req.query.at("wait_ms") : "0");
      if (!after || !release || !wait_ms) {
        return respond(Fail(400, "after, release and wait_ms must be numbers"));
      }
      auto query = [&store, app, after = *after, release = *release]() -> ApiResponse {
        auto events = store.EventsSince(app, after, release);
        if (!events) return Fail(500, events.error().message);
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& e : *events) {
          arr.push_back({{"id", e.id},
                         {"release", e.release},
                         {"at", e.at},
                         {"kind", e.kind},
                         {"message", e.message}});
        }
        return {200, {{"events", arr}}};
      };
      ApiResponse now = query();
      if (*wait_ms == 0 || now.status != 200 || !now.body["events"].empty()) {
        return respond(std::move(now));
      }
      // Long poll: answer at the app's next event, or empty after wait_ms (at most 30 s).
      struct Wait {
        explicit Wait(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        Responder respond;
        bool answered = false;
      };
      auto wait = std::make_shared<Wait>(io);
      wait->respond = std::move(respond);
      auto answer = [wait, query] {
        if (wait->answered) return;
        wait->answered = true;
        wait->timer.cancel();
        wait->respond(query());
      };
      wait->timer.expires_after(std::chrono::milliseconds(std::min<std::int64_t>(*wait_ms, 30000)));
      wait->timer.async_wait([answer](boost::system::error_code) { answer(); });
      fleet.OnNextEvent(app, answer);
      return;
    }
    if (post && p.size() == 4 && p[3] == "rollback") {
      std::optional<std::int64_t> to;
      if (req.body.is_object() && req.body.contains("to") && !req.body["to"].is_null()) {
        if (!req.body["to"].is_number_integer()) {
          return respond(Fail(400, "to must be a release number"));
        }
        to = req.body["to"].get<std::int64_t>();
      }
      auto out = fleet.Rollback(app, to, req.peer);
      if (out.refusal) return respond(FromRefusal(*out.refusal));
      return respond({202, {{"release", ReleaseToJson(*out.value, false)}}});
    }
    // Control of a canary or blue-green rollout.
    if (post && p.size() == 4 &&
        (p[3] == "promote" || p[3] == "abort" || p[3] == "pause" || p[3] == "resume")) {
      std::optional<rollout::Refusal> refusal;
      if (p[3] == "promote") {
        const bool full = req.body.is_object() && req.body.value("full", false);
        refusal = fleet.Promote(app, full, req.peer);
      } else if (p[3] == "abort") {
        refusal = fleet.Abort(app, req.peer);
      } else if (p[3] == "pause") {
        refusal = fleet.Pause(app, req.peer);
      } else {
        refusal = fleet.Resume(app, req.peer);
      }
      if (refusal) return respond(FromRefusal(*refusal));
      auto status = fleet.AppsJson(app);
      return respond({200, status.empty() ? nlohmann::json::object() : status[0]});
    }
    if (get && p.size() == 4 && p[3] == "flags") {
      return respond({200, {{"flags", fleet.FlagsJson(app)}}});
    }
    if ((req.method == "PUT" || post) && p.size() == 5 && p[3] == "flags") {
      if (!req.body.is_object() || !req.body.contains("value")) {
        return respond(Fail(400, "value is required (true, false or a percentage)"));
      }
      const nlohmann::json& v = req.body["value"];
      std::string value = v.is_boolean()  ? (v.get<bool>() ? "true" : "false")
                          : v.is_string() ? v.get<std::string>()
                                          : v.dump();
      if (auto refusal = fleet.SetFlag(app, p[4], value, req.peer)) {
        return respond(FromRefusal(*refusal));
      }
      return respond({200, {{"flags", fleet.FlagsJson(app)}}});
    }
    if (get && p.size() == 4 && p[3] == "analysis") {
      std::optional<std::int64_t> release;
      if (req.query.count("release")) {
        release = ToInt(req.query.at("release"));
        if (!release) return respond(Fail(400, "release must be a number"));
      }
      auto limit = ToInt(req.query.count("limit") ? req.query.at("limit") : "50");
      if (!limit || *limit < 1 || *limit > 10000) {
        return respond(Fail(400, "limit must be a number from 1 to 10000"));
      }
      return respond(
          {200, {{"analysis", fleet.AnalysisJson(app, release, static_cast<int>(*limit))}}});
    }
    if (post && p.size() == 4 && p[3] == "stop") {
      auto refusal = fleet.Stop(app, req.peer, [respond, app] {
        respond({200, {{"stopped", app}}});
      });
      if (refusal) respond(FromRefusal(*refusal));
      return;
    }
    if (get && p.size() == 5 && p[3] == "logs" && p[4] == "lines") {
      return respond(LogLines(req.query, log_dir, app, fleet.ReplicaLogs(app)));
    }
    if (get && p.size() == 4 && p[3] == "logs") {
      auto files = LogFiles(log_dir, app);
      auto name = req.query.count("name") ? req.query.at("name") : "";
      if (name.empty()) {
        // Current replicas first (in order), then older files.
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& path : fleet.ReplicaLogs(app)) arr.push_back(fs::path(path).stem());
        nlohmann::json all = nlohmann::json::array();
        for (const auto& f : files) all.push_back(f.stem());
        return respond({200, {{"current", arr}, {"all", all}}});
      }
      for (const auto& f : files) {
        if (f.stem() == name) {
          auto offset = ToInt(req.query.count("offset") ? req.query.at("offset") : "0");
          if (!offset) return respond(Fail(400, "offset must be a number"));
          return respond(ReadLog(f, static_cast<std::uint64_t>(*offset), 1 << 20));
        }
      }
      return respond(Fail(404, fmt::format("{} has no replica log named {}", app, name)));
    }
    respond(Fail(404, fmt::format("no such endpoint: {} {}", req.method, req.path)));
  };
}

}  // namespace slipway::api
