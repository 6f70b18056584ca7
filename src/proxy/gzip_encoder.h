// Response compression: whether to gzip a response (pure functions over header values, so they
// are tested without Beast) and a streaming gzip encoder over zlib.
//
// When the proxy compresses a response it removes Content-Length, sets Content-Encoding: gzip,
// sets Vary to MergeVary(vary, "Accept-Encoding"), weakens a strong ETag (WeakenEtag: the bytes
// differ from the upstream's, RFC 9110 8.8.3), and frames the body chunked (HTTP/1.1) or
// close-delimited (HTTP/1.0). Internal to the proxy module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct z_stream_s;  // zlib's z_stream; zlib.h stays out of this header

namespace slipway::proxy {

// True when the request's Accept-Encoding (RFC 9110 12.5.3) gives gzip (or x-gzip) a q-value
// above 0, directly or through "*" when gzip is not named. Names and "q" are case-insensitive
// and whitespace around ",", ";" and "=" is allowed. False for "" (absent or empty: identity
// only, as most servers read an absent header) and for a malformed value (any element that is
// not `token [; q=qvalue]`): identity is always safe.
bool AcceptsGzip(std::string_view accept_encoding);

// What ShouldCompress looks at. Header values are the raw field values, "" when absent; a
// header given more than once is passed with its values joined by ", ".
struct CompressionCandidate {
  std::string_view request_method;
  unsigned status = 0;
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view cache_control;
  std::optional<std::uint64_t> content_length;  // nullopt: unknown (chunked or close-delimited)
};

inline constexpr std::uint64_t kDefaultMinCompressLength = 256;

// Whether the proxy should gzip this response (ask AcceptsGzip about the request too). No for:
// HEAD; 1xx, 204, 206 and 304; a Content-Type that is not text/*, application/json,
// application/javascript, application/xml, image/svg+xml, application/*+json or
// application/*+xml (parameters such as charset ignored); any Content-Encoding other than
// identity (already encoded); Cache-Control: no-transform; a known Content-Length below
// `min_length` (the gzip framing would cost more than it saves). An unknown length is yes.
bool ShouldCompress(const CompressionCandidate& response,
                    std::uint64_t min_length = kDefaultMinCompressLength);

// The media type (before any parameters) is one that compresses well; see ShouldCompress.
bool IsCompressibleContentType(std::string_view content_type);

// `existing` (a Vary field value, "" when absent) with `token` added unless it already lists it
// (case-insensitive) or is "*". MergeVary("Cookie", "Accept-Encoding") == "Cookie,
// Accept-Encoding".
std::string MergeVary(std::string_view existing, std::string_view token);

// A strong entity tag made weak (`"x"` -> `W/"x"`); a weak one or "" is returned as it is.
std::string WeakenEtag(std::string_view etag);

// Streaming gzip (RFC 1952) encoder. Output is appended to the caller's string, so a
// connection's write buffer is the only buffer. zlib's state (about 256 KiB at windowBits 15,
// memLevel 8: window, hash chains, pending output) is allocated on first use and reused across
// Reset(), so an encoder that is never used costs nothing and a reused one allocates nothing per
// response. Not thread-safe: one encoder per response in flight.
class GzipEncoder {
 public:
  // Level 5, measured on 64 KiB bodies (one core, CPU time): 1-3% larger than level 6 (HTML
  // 10909 vs 10685 bytes, JS 14792 vs 14609, JSON 9690 vs 9394) at 1.3-1.5x its speed (HTML 119
  // vs 94 MB/s, JS 77 vs 50, JSON 124 vs 87). Level 1 is 2x faster again but 15-20% larger.
  static constexpr int kDefaultLevel = 5;

  // `level`: zlib's 1 (fastest) to 9 (smallest); other values are clamped into that range.
  explicit GzipEncoder(int level = kDefaultLevel);
  ~GzipEncoder();
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;

  // Compresses `in`, appending whatever compressed bytes zlib emits so far (often none: zlib
  // buffers until it has a block's worth). Requires !finished().
  void Append(std::string_view in, std::string& out);
  // Appends everything compressed so far, ending on a byte boundary (Z_SYNC_FLUSH, 4-5 bytes of
  // overhead), so a client can decode all the input it was given. Call it when the proxy is
  // about to wait for more body from the upstream (a streamed response, text/event-stream),
  // not between pieces already at hand: measured on 64 KiB of HTML/JS, a flush every 16 KiB
  // costs under 1% of the compressed size, one every 1 KiB 12%.
  void Flush(std::string& out);
  // Appends the rest of the stream and the gzip trailer. Requires !finished().
  void Finish(std::string& out);
  // Readies the encoder for another response, keeping zlib's memory.
  void Reset();

  bool finished() const { return finished_; }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const;
  };

  z_stream_s& Stream();  // initialises zlib's state on first use
  void Deflate(std::string_view in, int flush, std::string& out);

  const int level_;
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
  bool finished_ = false;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
};

}  // namespace slipway::proxy
