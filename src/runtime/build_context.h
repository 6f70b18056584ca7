// BuildContext: the tar archive `slipway build` sends to POST /build. Deterministic (entries
// sorted, owner 0:0, mtime 0), so equal directories give equal bytes and the same content
// digest: the image tag when the context is not a clean git checkout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace slipway::runtime {

struct BuildContext {
  std::string tar;                   // ustar archive, the directory's files relative to it
  std::size_t files = 0;             // regular files in it
  std::string sha256;                // hex digest of `tar`
  std::vector<std::string> ignored;  // paths left out by .dockerignore (for the progress line)
};

// Archives `dir`. `.dockerignore` (if present) is honoured for simple patterns: one per line,
// `#` comments, shell globs (`*`, `?`, `[...]`) matched against the whole relative path or any
// leading directory of it (`build` drops build/x/y), a leading `/` and trailing `/` ignored;
// `!` exceptions are refused (an Error), not guessed. `.git` is always left out. Symbolic links
// are stored as links. Bounded: at most 100000 entries and 2 GiB.
Result<BuildContext> ArchiveBuildContext(const std::string& dir);

}  // namespace slipway::runtime
