#include "api/log_query.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report/timestamp.h"

namespace slipway::api {

namespace {

std::string StringOf(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::int64_t> IntOf(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

bool NamesReplica(const LogLine& line, const LogFilter& f) {
  const nlohmann::json& r = line.record;
  switch (line.source) {
    case LogSource::kReplica:
      return IntOf(r, "replica") == f.replica;
    case LogSource::kAccess: {
      auto release = IntOf(r, "release");
      return release &&
             StringOf(r, "upstream") == fmt::format("{}-r{}-{}", f.app, *release, *f.replica);
    }
    case LogSource::kSlipway: {
      auto fields = r.find("fields");
      if (fields == r.end() || !fields->is_object()) return false;
      auto release = IntOf(r, "release");
      std::string suffix = release ? fmt::format("{}-r{}-{}", f.app, *release, *f.replica)
                                   : fmt::format("-{}", *f.replica);
      for (const char* key : {"replica", "backend"}) {
        std::string name = StringOf(*fields, key);
        if (!name.empty() && name.ends_with(suffix) && name.starts_with(f.app + "-r")) return true;
      }
      return false;
    }
  }
  return false;
}

// The time of a line that starts the way Slipway writes them ({"time":"2026-05-01T12:00:00.123Z"),
// as text; "" for any other line.
std::string_view LeadingTime(std::string_view text) {
  constexpr std::string_view kPrefix = "{\"time\":\"";
  constexpr std::size_t kLength = 24;  // 2026-05-01T12:00:00.123Z
  if (!text.starts_with(kPrefix) || text.size() < kPrefix.size() + kLength + 1) return {};
  std::string_view time = text.substr(kPrefix.size(), kLength);
  if (time[kLength - 1] != 'Z' || text[kPrefix.size() + kLength] != '"') return {};
  return time;
}

}  // namespace

const char* LogSourceName(LogSource source) {
  switch (source) {
    case LogSource::kReplica:
      return "replica";
    case LogSource::kAccess:
      return "access";
    case LogSource::kSlipway:
      return "slipway";
  }
  return "replica";
}

std::optional<LogLine> ParseLogLine(std::string_view text, LogSource source) {
  if (text.empty() || text.front() != '{') return std::nullopt;
  LogLine line;
  line.record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!line.record.is_object()) return std::nullopt;
  auto time = report::ParseTimestampMs(StringOf(line.record, "time"));
  if (!time) return std::nullopt;
  line.source = source;
  line.time_ms = *time;
  line.text = text;
  return line;
}

bool Matches(const LogLine& line, const LogFilter& f) {
  if (f.since_ms && line.time_ms < *f.since_ms) return false;
  if (f.until_ms && line.time_ms > *f.until_ms) return false;
  const nlohmann::json& r = line.record;
  if (line.source != LogSource::kReplica && StringOf(r, "app") != f.app) return false;
  if (f.release && IntOf(r, "release") != f.release) return false;
  if (f.replica && !NamesReplica(line, f)) return false;
  if (!f.request_id.empty() && StringOf(r, "request_id") != f.request_id &&
      StringOf(r, "message").find(f.request_id) == std::string::npos) {
    return false;
  }
  return true;
}

void ReadLogFile(const std::string& path, LogSource source, const LogFilter& filter,
                 std::vector<LogLine>& out) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return;
  if (filter.since_ms) {
    std::int64_t mtime_ms =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    if (mtime_ms < *filter.since_ms) return;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  // Cheap tests on the text first: most lines of a busy access log are another app's or
  // another request's, and are never parsed.
  const std::string app_key = "\"app\":\"" + filter.app + "\"";
  // Times in Slipway's own form sort as text: most lines outside the window are not parsed.
  const std::string since = filter.since_ms ? report::FormatTimestampMs(*filter.since_ms) : "";
  const std::string until = filter.until_ms ? report::FormatTimestampMs(*filter.until_ms) : "";
  std::string_view rest = data;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view text = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (std::string_view t = LeadingTime(text); !t.empty()) {
      if ((!since.empty() && t < since) || (!until.empty() && t > until)) continue;
    }
    if (source != LogSource::kReplica && text.find(app_key) == std::string_view::npos) continue;
    if (!filter.request_id.empty() && text.find(filter.request_id) == std::string_view::npos) {
      continue;
    }
    std::optional<LogLine> line = ParseLogLine(text, source);
    if (line && Matches(*line, filter)) {
      line->record = nullptr;  // judged: only its time and text are needed from here on
      out.push_back(std::move(*line));
    }
  }
}

std::vector<LogLine> MergeByTime(std::vector<std::vector<LogLine>> sources) {
  std::vector<LogLine> all;
  for (auto& s : sources) {
    // A source is in time order unless the wall clock stepped back; sort it stably anyway.
    std::stable_sort(s.begin(), s.end(),
                     [](const LogLine& a, const LogLine& b) { return a.time_ms < b.time_ms; });
    std::size_t mid = all.size();
    std::move(s.begin(), s.end(), std::back_inserter(all));
    std::inplace_merge(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mid), all.end(),
                       [](const LogLine& a, const LogLine& b) { return a.time_ms < b.time_ms; });
  }
  return all;
}

}  // namespace slipway::api
