// The byte formats of the Docker Engine API that Slipway reads, apart from HTTP itself (Beast
// decodes chunked bodies): the 8-byte multiplex header of a non-TTY container's log stream,
// newline-separated JSON progress objects of /images/create and /build, and log lines with
// timestamps. Pure functions and small incremental decoders, tested without a daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace slipway::runtime {

// Splits a multiplexed attach/logs stream into frames: [stream(1) 0 0 0 size(4, big endian)]
// followed by `size` payload bytes; stream 1 is stdout, 2 stderr (0 stdin). Input may arrive in
// any pieces; a frame is handed out whole, once its last byte is in.
class MultiplexDecoder {
 public:
  using FrameHandler = std::function<void(int stream, std::string_view payload)>;
  void Feed(std::string_view bytes, const FrameHandler& on_frame);
  // Bytes of an unfinished frame (header included) held back.
  std::size_t pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

// Splits a byte stream into lines (without the '\n'); an unfinished last line is held back.
class LineSplitter {
 public:
  void Feed(std::string_view bytes, const std::function<void(std::string_view line)>& on_line);
  // The held-back partial line, if any, as a final line (end of stream); then empty.
  std::optional<std::string> Flush();

 private:
  std::string buffer_;
};

// One line of `logs?timestamps=1`: "2026-12-01T11:00:00.123456789Z message".
struct TimestampedLine {
  std::string time;  // as Docker wrote it (RFC 3339, nanoseconds, UTC)
  std::string message;
};
// nullopt when the line does not start with a timestamp and a space.
std::optional<TimestampedLine> SplitTimestamp(std::string_view line);

// An RFC 3339 UTC timestamp ("2026-12-01T11:00:00.123456789Z") as Docker's `since` parameter
// wants it ("1796122800.123456789"), moved on by one nanosecond so that the entry with exactly
// that time is not read twice. nullopt when `time` is not of that form.
std::optional<std::string> SinceAfter(std::string_view time);

// The JSON line a container's output becomes in the replica's log file, the shape process
// replicas use too: {"time","app","release","replica","stream","message"}.
std::string LogRecordLine(const std::string& time, const std::string& app, std::int64_t release,
                          int replica, const char* stream, std::string_view message);

// The "time" of a log record line; nullopt when it is not one.
std::optional<std::string> LogRecordTime(std::string_view line);

// What one progress object of /images/create (pull) or /build says, in one readable line:
//   {"status":"Downloading","id":"a1b2","progressDetail":{"current":5,"total":10}}
//     -> "a1b2: Downloading 50% (5 B of 10 B)"
//   {"stream":"Step 1/3 : FROM scratch\n"} -> "Step 1/3 : FROM scratch"
//   {"aux":{"ID":"sha256:..."}} -> "" (nothing to show)
// An {"error": ...} object is not progress: see ProgressError.
std::string DescribeProgress(const nlohmann::json& progress);
// The message of an {"error": "...", "errorDetail": {...}} object; nullopt otherwise.
std::optional<std::string> ProgressError(const nlohmann::json& progress);

// "12.3 MB" style sizes (decimal units, as Docker prints them).
std::string HumanBytes(std::uint64_t bytes);

// Folds the progress objects of a pull (/images/create) into one concise line:
// "pulling REF: 2/3 layers, 4.1 MB" (REF with its digest cut to 12 hex digits). Feed() returns
// the line when it says something new: a layer appeared or finished, or bytes moved and a second
// has passed since the last line; never more often.
class PullProgress {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PullProgress(const std::string& ref);

  std::optional<std::string> Feed(const nlohmann::json& p, Clock::time_point now);
  // "pulling REF: D/N layers, X" (D finished, of N seen so far; X downloaded).
  std::string Line() const;
  // "pulled REF: N/N layers, X" for the end of a pull that succeeded.
  std::string Done() const;

  int layers() const { return static_cast<int>(layers_.size()); }
  int finished() const;
  std::uint64_t bytes() const;

 private:
  struct Layer {
    bool done = false;
    std::uint64_t bytes = 0;  // downloaded so far (the whole layer once downloaded)
    std::uint64_t total = 0;
  };
  std::string ref_;
  std::map<std::string, Layer> layers_;
  std::optional<Clock::time_point> last_line_;
  std::uint64_t last_bytes_ = 0;
  int last_finished_ = -1;
  int last_layers_ = -1;
};

}  // namespace slipway::runtime
