#include "proxy/gzip_encoder.h"

#define ZLIB_CONST  // next_in is const: zlib never writes the input
#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <new>

namespace slipway::proxy {
namespace {

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

// RFC 9110 5.6.2 tchar.
bool IsTchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTchar); }

// Calls `element(trimmed)` for each element of a comma-separated list (RFC 9110 5.6.1), skipping
// empty ones; commas inside quoted strings do not split. Stops early when `element` returns false.
template <typename F>
void ForEachListElement(std::string_view list, F element) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size()) {
      char c = list[i];
      if (quoted && c == '\\') {
        ++i;  // quoted-pair: the next character is literal
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c != ',' || quoted) continue;
    }
    std::string_view item = TrimOws(list.substr(start, i - start));
    start = i + 1;
    if (!item.empty() && !element(item)) return;
  }
}

// RFC 9110 12.4.2 qvalue, in thousandths: "0", "0.5", "1", "1.000". nullopt when malformed.
std::optional<int> ParseQvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  int whole = s[0] - '0';
  if (s.size() == 1) return whole * 1000;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  int fraction = 0;
  int scale = 100;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    fraction += (c - '0') * scale;
    scale /= 10;
  }
  if (whole == 1 && fraction != 0) return std::nullopt;
  return whole * 1000 + fraction;
}

// "gzip" or "gzip;q=0.5" (whitespace allowed around ';' and '='): the coding and its q in
// thousandths, or nullopt when malformed.
struct Weighted {
  std::string_view coding;
  int q = 1000;
};
std::optional<Weighted> ParseWeightedCoding(std::string_view element) {
  std::size_t semicolon = element.find(';');
  Weighted result{TrimOws(element.substr(0, semicolon))};
  if (!IsToken(result.coding)) return std::nullopt;
  while (semicolon != std::string_view::npos) {
    std::string_view rest = element.substr(semicolon + 1);
    semicolon = rest.find(';');
    std::string_view param = rest.substr(0, semicolon);
    std::size_t equals = param.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    if (!EqualsIgnoreCase(TrimOws(param.substr(0, equals)), "q")) return std::nullopt;
    std::optional<int> q = ParseQvalue(TrimOws(param.substr(equals + 1)));
    if (!q) return std::nullopt;
    result.q = *q;
    element = rest;
  }
  return result;
}

bool HasDirective(std::string_view cache_control, std::string_view directive) {
  bool found = false;
  ForEachListElement(cache_control, [&](std::string_view item) {
    found = EqualsIgnoreCase(TrimOws(item.substr(0, item.find('='))), directive);
    return !found;
  });
  return found;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<int> gzip_q;  // the highest q given to gzip or x-gzip
  std::optional<int> any_q;   // the highest q given to "*"
  bool malformed = false;
  ForEachListElement(accept_encoding, [&](std::string_view item) {
    std::optional<Weighted> coding = ParseWeightedCoding(item);
    if (!coding) {
      malformed = true;
      return false;
    }
    std::optional<int>* slot = nullptr;
    if (EqualsIgnoreCase(coding->coding, "gzip") || EqualsIgnoreCase(coding->coding, "x-gzip")) {
      slot = &gzip_q;
    } else if (coding->coding == "*") {
      slot = &any_q;
    }
    if (slot) *slot = std::max(slot->value_or(0), coding->q);
    return true;
  });
  if (malformed) return false;
  if (gzip_q) return *gzip_q > 0;
  return any_q.value_or(0) > 0;
}

bool IsCompressibleContentType(std::string_view content_type) {
  std::string_view media = TrimOws(content_type.substr(0, content_type.find(';')));
  std::size_t slash = media.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view type = media.substr(0, slash);
  std::string_view subtype = media.substr(slash + 1);
  if (!IsToken(type) || !IsToken(subtype)) return false;
  if (EqualsIgnoreCase(type, "text")) return true;
  if (EqualsIgnoreCase(type, "application")) {
    return EqualsIgnoreCase(subtype, "json") || EqualsIgnoreCase(subtype, "javascript") ||
           EqualsIgnoreCase(subtype, "xml") || EndsWithIgnoreCase(subtype, "+json") ||
           EndsWithIgnoreCase(subtype, "+xml");
  }
  return EqualsIgnoreCase(type, "image") && EqualsIgnoreCase(subtype, "svg+xml");
}

bool ShouldCompress(const CompressionCandidate& response, std::uint64_t min_length) {
  if (response.request_method == "HEAD") return false;  // methods are case-sensitive
  unsigned status = response.status;
  if (status < 200 || status == 204 || status == 206 || status == 304) return false;
  if (!IsCompressibleContentType(response.content_type)) return false;
  std::string_view encoding = TrimOws(response.content_encoding);
  if (!encoding.empty() && !EqualsIgnoreCase(encoding, "identity")) return false;
  if (HasDirective(response.cache_control, "no-transform")) return false;
  return !response.content_length || *response.content_length >= min_length;
}

std::string MergeVary(std::string_view existing, std::string_view token) {
  bool listed = false;
  ForEachListElement(existing, [&](std::string_view item) {
    listed = item == "*" || EqualsIgnoreCase(item, token);
    return !listed;
  });
  if (listed) return std::string(existing);
  // Without trailing commas, so "Cookie," gives "Cookie, Accept-Encoding".
  std::string_view kept = TrimOws(existing);
  while (!kept.empty() && (IsOws(kept.back()) || kept.back() == ',')) kept.remove_suffix(1);
  if (kept.empty()) return std::string(token);
  std::string merged;
  merged.reserve(kept.size() + 2 + token.size());
  merged.append(kept).append(", ").append(token);
  return merged;
}

std::string WeakenEtag(std::string_view etag) {
  std::string_view tag = TrimOws(etag);
  if (tag.empty() || tag[0] != '"') return std::string(etag);
  return "W/" + std::string(tag);
}

void GzipEncoder::StreamDeleter::operator()(z_stream_s* stream) const {
  deflateEnd(stream);
  delete stream;
}

GzipEncoder::GzipEncoder(int level) : level_(std::clamp(level, 1, 9)) {}

GzipEncoder::~GzipEncoder() = default;

z_stream_s& GzipEncoder::Stream() {
  if (!stream_) {
    auto stream = std::make_unique<z_stream_s>();  // zero-initialised: zalloc/zfree = defaults
    // windowBits 15 + 16: the largest window, with a gzip header and trailer instead of zlib's.
    int rc = deflateInit2(stream.get(), level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) throw std::bad_alloc();  // the arguments are valid, so only Z_MEM_ERROR
    stream_.reset(stream.release());
  }
  return *stream_;
}

void GzipEncoder::Deflate(std::string_view in, int flush, std::string& out) {
  assert(!finished_);
  z_stream& stream = Stream();
  // avail_in and avail_out are 32-bit: feed larger inputs in pieces.
  constexpr std::size_t kMaxPiece = std::size_t{1} << 30;
  std::size_t offset = 0;
  do {
    std::size_t piece = std::min(in.size() - offset, kMaxPiece);
    bool last = offset + piece == in.size();
    int mode = last ? flush : Z_NO_FLUSH;
    stream.next_in = reinterpret_cast<const Bytef*>(in.data() + offset);
    stream.avail_in = static_cast<uInt>(piece);
    // Room for the whole piece at once in the common case; more only when zlib fills it. The
    // string grows geometrically, so reused buffers stop growing.
    std::size_t room = deflateBound(&stream, static_cast<uLong>(piece)) + 64;
    int rc = Z_OK;
    do {
      std::size_t before = out.size();
      out.resize(before + room);
      stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      stream.avail_out = static_cast<uInt>(room);
      rc = deflate(&stream, mode);
      assert(rc != Z_STREAM_ERROR);
      std::size_t produced = room - stream.avail_out;
      out.resize(before + produced);
      bytes_out_ += produced;
      room = 16 * 1024;
      // Z_FINISH is done only at Z_STREAM_END; otherwise a full output buffer means more waits.
    } while (mode == Z_FINISH ? rc != Z_STREAM_END : stream.avail_out == 0);
    offset += piece;
  } while (offset < in.size());
  bytes_in_ += in.size();
}

void GzipEncoder::Append(std::string_view in, std::string& out) {
  if (in.empty()) return;  // Z_NO_FLUSH with no input produces nothing
  Deflate(in, Z_NO_FLUSH, out);
}

void GzipEncoder::Flush(std::string& out) { Deflate({}, Z_SYNC_FLUSH, out); }

void GzipEncoder::Finish(std::string& out) {
  Deflate({}, Z_FINISH, out);
  finished_ = true;
}

void GzipEncoder::Reset() {
  if (stream_) deflateReset(stream_.get());
  finished_ = false;
  bytes_in_ = 0;
  bytes_out_ = 0;
}

}  // namespace slipway::proxy
