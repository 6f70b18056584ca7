#include "runtime/subreaper.h"

#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace slipway::runtime {

constexpr log::Logger kLog{"runtime"};

void BecomeSubreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    kLog.Warn("PR_SET_CHILD_SUBREAPER failed", {{"error", std::strerror(errno)}});
  }
}

}  // namespace slipway::runtime
