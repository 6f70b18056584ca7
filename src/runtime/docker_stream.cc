#include "runtime/docker_stream.h"

#include <time.h>

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

namespace slipway::runtime {

namespace {
constexpr std::size_t kFrameHeader = 8;

bool Digits(std::string_view s, std::size_t at, std::size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}
}  // namespace

void MultiplexDecoder::Feed(std::string_view bytes, const FrameHandler& on_frame) {
  buffer_.append(bytes);
  std::size_t at = 0;
  while (buffer_.size() - at >= kFrameHeader) {
    const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + at);
    std::uint32_t size = (std::uint32_t{h[4]} << 24) | (std::uint32_t{h[5]} << 16) |
                         (std::uint32_t{h[6]} << 8) | std::uint32_t{h[7]};
    if (buffer_.size() - at - kFrameHeader < size) break;
    on_frame(h[0], std::string_view(buffer_).substr(at + kFrameHeader, size));
    at += kFrameHeader + size;
  }
  buffer_.erase(0, at);
}

void LineSplitter::Feed(std::string_view bytes,
                        const std::function<void(std::string_view line)>& on_line) {
  std::size_t start = 0;
  while (start < bytes.size()) {
    std::size_t nl = bytes.find('\n', start);
    if (nl == std::string_view::npos) {
      buffer_.append(bytes.substr(start));
      return;
    }
    if (buffer_.empty()) {
      on_line(bytes.substr(start, nl - start));
    } else {
      buffer_.append(bytes.substr(start, nl - start));
      std::string line = std::move(buffer_);
      buffer_.clear();
      on_line(line);
    }
    start = nl + 1;
  }
}

std::optional<std::string> LineSplitter::Flush() {
  if (buffer_.empty()) return std::nullopt;
  std::string line = std::move(buffer_);
  buffer_.clear();
  return line;
}

std::optional<TimestampedLine> SplitTimestamp(std::string_view line) {
  std::size_t space = line.find(' ');
  std::string_view time = line.substr(0, space);
  if (time.size() < 20 || time[4] != '-' || time[10] != 'T' || time.back() != 'Z') {
    return std::nullopt;
  }
  TimestampedLine out;
  out.time = std::string(time);
  if (space != std::string_view::npos) out.message = std::string(line.substr(space + 1));
  if (!out.message.empty() && out.message.back() == '\r') out.message.pop_back();
  return out;
}

std::optional<std::string> SinceAfter(std::string_view time) {
  // YYYY-MM-DDTHH:MM:SS[.fffffffff]Z
  struct tm tm {};
  int year, month, day, hour, minute, second;
  if (!Digits(time, 0, 4, &year) || !Digits(time, 5, 2, &month) || !Digits(time, 8, 2, &day) ||
      !Digits(time, 11, 2, &hour) || !Digits(time, 14, 2, &minute) ||
      !Digits(time, 17, 2, &second) || time.size() < 20 || time[10] != 'T' || time.back() != 'Z') {
    return std::nullopt;
  }
  long nanos = 0;
  if (time[19] == '.') {
    std::string_view frac = time.substr(20, time.size() - 21);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
    for (std::size_t i = 0; i < 9; ++i) {
      char c = i < frac.size() ? frac[i] : '0';
      if (c < '0' || c > '9') return std::nullopt;
      nanos = nanos * 10 + (c - '0');
    }
  } else if (time.size() != 20) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  long long seconds = static_cast<long long>(timegm(&tm));
  if (++nanos == 1'000'000'000) {
    nanos = 0;
    ++seconds;
  }
  return fmt::format("{}.{:09d}", seconds, nanos);
}

std::string LogRecordLine(const std::string& time, const std::string& app, std::int64_t release,
                          int replica, const char* stream, std::string_view message) {
  nlohmann::ordered_json j{{"time", time},       {"app", app},
                           {"release", release}, {"replica", replica},
                           {"stream", stream},   {"message", std::string(message)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<std::string> LogRecordTime(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("time") || !j["time"].is_string()) return std::nullopt;
  return j["time"].get<std::string>();
}

std::string HumanBytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1000 && unit < 4) {
    v /= 1000;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string DescribeProgress(const nlohmann::json& p) {
  if (!p.is_object()) return "";
  if (p.contains("stream") && p["stream"].is_string()) {
    std::string s = p["stream"].get<std::string>();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  if (!p.contains("status") || !p["status"].is_string()) return "";
  std::string line;
  if (p.contains("id") && p["id"].is_string()) line = p["id"].get<std::string>() + ": ";
  line += p["status"].get<std::string>();
  if (p.contains("progressDetail") && p["progressDetail"].is_object()) {
    const auto& d = p["progressDetail"];
    std::uint64_t current = d.value("current", std::uint64_t{0});
    std::uint64_t total = d.value("total", std::uint64_t{0});
    if (total > 0) {
      line += fmt::format(" {}% ({} of {})", current * 100 / total, HumanBytes(current),
                          HumanBytes(total));
    } else if (current > 0) {
      line += " " + HumanBytes(current);
    }
  }
  return line;
}

std::optional<std::string> ProgressError(const nlohmann::json& p) {
  if (!p.is_object()) return std::nullopt;
  if (p.contains("error") && p["error"].is_string()) return p["error"].get<std::string>();
  if (p.contains("errorDetail") && p["errorDetail"].is_object() &&
      p["errorDetail"].contains("message")) {
    return p["errorDetail"]["message"].get<std::string>();
  }
  return std::nullopt;
}

PullProgress::PullProgress(const std::string& ref) : ref_(ref) {
  if (auto at = ref_.find("@sha256:"); at != std::string::npos && ref_.size() > at + 8 + 12) {
    ref_ = ref_.substr(0, at + 8 + 12) + "...";
  }
}

std::optional<std::string> PullProgress::Feed(const nlohmann::json& p, Clock::time_point now) {
  if (!p.is_object() || !p.contains("id") || !p["id"].is_string() || !p.contains("status") ||
      !p["status"].is_string()) {
    return std::nullopt;
  }
  const std::string status = p["status"].get<std::string>();
  const std::string id = p["id"].get<std::string>();
  // Layer statuses; others ("Pulling from hello", with the tag as id) are not about a layer.
  static constexpr std::string_view kLayerStatuses[] = {
      "Pulling fs layer",  "Waiting",    "Downloading",   "Verifying Checksum",
      "Download complete", "Extracting", "Pull complete", "Already exists"};
  bool is_layer = false;
  for (auto s : kLayerStatuses) is_layer = is_layer || status == s;
  if (!is_layer) return std::nullopt;
  Layer& layer = layers_[id];
  if (p.contains("progressDetail") && p["progressDetail"].is_object()) {
    const auto& d = p["progressDetail"];
    std::uint64_t current = d.value("current", std::uint64_t{0});
    std::uint64_t total = d.value("total", std::uint64_t{0});
    if (status == "Downloading") {
      layer.bytes = std::max(layer.bytes, current);
      layer.total = std::max(layer.total, total);
    }
  }
  if (status == "Download complete" && layer.total > 0) layer.bytes = layer.total;
  if (status == "Pull complete" || status == "Already exists") layer.done = true;
  const int done = finished();
  const std::uint64_t moved = bytes();
  const bool news = done != last_finished_ || layers() != last_layers_;
  const bool second = !last_line_ || now - *last_line_ >= std::chrono::seconds(1);
  if (!news && !(moved != last_bytes_ && second)) return std::nullopt;
  last_finished_ = done;
  last_layers_ = layers();
  last_bytes_ = moved;
  last_line_ = now;
  return Line();
}

int PullProgress::finished() const {
  int n = 0;
  for (const auto& [id, layer] : layers_) n += layer.done ? 1 : 0;
  return n;
}

std::uint64_t PullProgress::bytes() const {
  std::uint64_t n = 0;
  for (const auto& [id, layer] : layers_) n += layer.bytes;
  return n;
}

std::string PullProgress::Line() const {
  return fmt::format("pulling {}: {}/{} layers, {}", ref_, finished(), layers(),
                     HumanBytes(bytes()));
}

std::string PullProgress::Done() const {
  return fmt::format("pulled {}: {}/{} layers, {}", ref_, finished(), layers(),
                     HumanBytes(bytes()));
}

}  // namespace slipway::runtime
