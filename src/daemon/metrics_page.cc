#include "daemon/metrics_page.h"

#include <sys/resource.h>
#include <unistd.h>

#include "metrics/exposition.h"
#include "runtime/process_usage.h"

namespace slipway::daemon {
namespace {

// The names and meanings of Prometheus's client libraries (process collector), so dashboards
// made for any exporter work.
void WriteOwnProcessMetrics(metrics::ExpositionWriter& out) {
  if (auto usage = runtime::ReadProcessUsage(::getpid())) {
    out.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
                usage->cpu_seconds);
    out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
              static_cast<std::int64_t>(usage->resident_bytes));
    out.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
              static_cast<std::int64_t>(usage->virtual_bytes));
    out.Gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", {},
              usage->start_time_seconds);
  }
  if (auto fds = runtime::CountOpenFds(::getpid())) {
    out.Gauge("process_open_fds", "Number of open file descriptors.", {}, std::int64_t{*fds});
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    out.Gauge("process_max_fds", "Maximum number of open file descriptors.", {},
              static_cast<std::int64_t>(limit.rlim_cur));
  }
}

}  // namespace

std::string RenderMetricsPage(const rollout::Fleet& fleet, slo::SloSampler& slo) {
  metrics::ExpositionWriter out;
  WriteOwnProcessMetrics(out);
  out.Gauge("slipway_build_info", "Always 1; the daemon's version is the label.",
            {{"version", SLIPWAY_VERSION}}, std::int64_t{1});
  fleet.WriteMetrics(out);
  slo.WriteMetrics(out);
  return out.Text();
}

}  // namespace slipway::daemon
