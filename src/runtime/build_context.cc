#include "runtime/build_context.h"

#include <fnmatch.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace slipway::runtime {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxEntries = 100'000;
constexpr std::uint64_t kMaxBytes = 2ull << 30;

void Octal(char* field, std::size_t width, std::uint64_t value) {
  // width includes the terminating NUL.
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(value));
}

// One ustar header; `name` up to 255 bytes (split into prefix/name at a '/').
Status AppendHeader(std::string& out, const std::string& name, char type, std::uint64_t size,
                    unsigned mode, const std::string& link) {
  char h[512];
  std::memset(h, 0, sizeof h);
  std::string prefix, base = name;
  if (base.size() > 100) {
    auto cut = name.rfind('/', 155);
    if (cut == std::string::npos || name.size() - cut - 1 > 100) {
      return Error{"build context: path too long for tar: " + name};
    }
    prefix = name.substr(0, cut);
    base = name.substr(cut + 1);
  }
  if (link.size() > 100) return Error{"build context: link target too long: " + name};
  std::memcpy(h, base.data(), base.size());
  Octal(h + 100, 8, mode);
  Octal(h + 108, 8, 0);
  Octal(h + 116, 8, 0);
  Octal(h + 124, 12, size);
  Octal(h + 136, 12, 0);
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h + 157, link.data(), link.size());
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  out.append(h, sizeof h);
  return {};
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

Result<std::vector<std::string>> ReadIgnore(const fs::path& dir) {
  std::vector<std::string> patterns;
  std::ifstream in(dir / ".dockerignore");
  if (!in) return patterns;
  int n = 0;
  for (std::string line; std::getline(in, line) && n < 10'000; ++n) {
    auto b = line.find_first_not_of(" \t\r");
    auto e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    line = line.substr(b, e - b + 1);
    if (line[0] == '!') {
      return Error{".dockerignore:" + std::to_string(n + 1) + ": exceptions (" + line +
                   ") are not supported by slipway build"};
    }
    while (line.starts_with("/")) line.erase(0, 1);
    while (line.size() > 1 && line.ends_with("/")) line.pop_back();
    if (line.starts_with("./")) line.erase(0, 2);
    if (!line.empty()) patterns.push_back(line);
  }
  return patterns;
}

bool Ignored(const std::string& rel, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    // The path itself or any leading directory of it.
    for (std::size_t end = rel.find('/');; end = rel.find('/', end + 1)) {
      std::string part = rel.substr(0, end);
      if (fnmatch(p.c_str(), part.c_str(), FNM_PATHNAME) == 0) return true;
      if (end == std::string::npos) break;
    }
  }
  return false;
}

}  // namespace

Result<BuildContext> ArchiveBuildContext(const std::string& dir_text) {
  fs::path dir(dir_text);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{"build context " + dir_text + " is not a directory"};
  auto patterns = ReadIgnore(dir);
  if (!patterns) return patterns.error();
  BuildContext ctx;
  std::vector<fs::path> entries;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (ec) break;
    if (rel == ".git" || Ignored(rel, *patterns)) {
      ctx.ignored.push_back(rel);
      if (it->is_directory() && !it->is_symlink()) it.disable_recursion_pending();
      continue;
    }
    entries.push_back(it->path());
    if (entries.size() > kMaxEntries) return Error{"build context: more than 100000 entries"};
  }
  if (ec) return Error{"build context " + dir_text + ": " + ec.message()};
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    std::string rel = fs::relative(p, dir).generic_string();
    auto st = fs::symlink_status(p, ec);
    if (ec) return Error{"build context: " + rel + ": " + ec.message()};
    unsigned mode = static_cast<unsigned>(st.permissions()) & 07777;
    Status added;
    if (fs::is_symlink(st)) {
      added = AppendHeader(ctx.tar, rel, '2', 0, mode, fs::read_symlink(p, ec).string());
    } else if (fs::is_directory(st)) {
      added = AppendHeader(ctx.tar, rel + "/", '5', 0, mode, "");
    } else if (fs::is_regular_file(st)) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream data;
      data << in.rdbuf();
      if (!in) return Error{"build context: cannot read " + rel};
      std::string bytes = data.str();
      added = AppendHeader(ctx.tar, rel, '0', bytes.size(), mode, "");
      ctx.tar += bytes;
      ctx.tar.append((512 - bytes.size() % 512) % 512, '\0');
      ++ctx.files;
    } else {
      continue;  // sockets, fifos, devices: not build input
    }
    if (!added) return added.error();
    if (ctx.tar.size() > kMaxBytes) return Error{"build context: larger than 2 GiB"};
  }
  ctx.tar.append(1024, '\0');
  ctx.sha256 = Sha256Hex(ctx.tar);
  return ctx;
}

}  // namespace slipway::runtime
