#include "spec/spec_diff.h"

#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/duration.h"
#include "spec/delivery_reader.h"

namespace slipway::spec {

namespace {

// "64Mi" for a whole number of binary units, else the bytes.
std::string Bytes(std::uint64_t n) {
  constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {std::uint64_t{1} << 40, "Ti"}, {1 << 30, "Gi"}, {1 << 20, "Mi"}, {1 << 10, "Ki"}};
  for (const auto& [size, suffix] : kUnits) {
    if (n >= size && n % size == 0) return fmt::format("{}{}", n / size, suffix);
  }
  return std::to_string(n);
}

std::string Bool(bool b) { return b ? "true" : "false"; }

// A list as YAML flow: [a, "b c"].
std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& s = items[i];
    const bool plain = !s.empty() && s.find_first_of(" ,[]{}:\"'#") == std::string::npos;
    out += (i ? ", " : "") + (plain ? s : "\"" + s + "\"");
  }
  return out + "]";
}

class Flattener {
 public:
  std::vector<SpecField> fields;

  void Add(std::string path, std::string value, bool secret = false) {
    fields.push_back({std::move(path), std::move(value), secret});
  }
  void Add(std::string path, Millis d) { Add(std::move(path), FormatDuration(d)); }
  void Add(std::string path, bool b) { Add(std::move(path), Bool(b)); }
  void Add(std::string path, const char* s) { Add(std::move(path), std::string(s)); }
  template <typename N>
  requires std::is_arithmetic_v<N>
  void Add(std::string path, N n) { Add(std::move(path), fmt::format("{}", n)); }

  void Probe(const std::string& prefix, const spec::Probe& p, bool readiness) {
    switch (p.type) {
      case ProbeType::kHttp:
        Add(prefix + ".type", "http");
        Add(prefix + ".path", p.path);
        break;
      case ProbeType::kTcp:
        Add(prefix + ".type", "tcp");
        break;
      case ProbeType::kExec:
        Add(prefix + ".type", "exec");
        Add(prefix + ".command", List(p.command));
        break;
      case ProbeType::kRunning:
        Add(prefix + ".type", "running");
        Add(prefix + ".for", p.running_for);
        break;
    }
    Add(prefix + ".interval", p.interval);
    Add(prefix + ".timeout", p.timeout);
    Add(prefix + ".success_threshold", p.success_threshold);
    Add(prefix + ".failure_threshold", p.failure_threshold);
    if (readiness) Add(prefix + ".startup_timeout", p.startup_timeout);
  }

  void Strategy(const AppSpec& s) {
    Add("strategy.type", StrategyName(s.strategy));
    switch (s.strategy) {
      case Strategy::kRolling:
        Add("strategy.max_surge", s.rolling.max_surge);
        Add("strategy.max_unavailable", s.rolling.max_unavailable);
        Add("strategy.ready_deadline", s.rolling.ready_deadline);
        break;
      case Strategy::kBlueGreen:
        Add("strategy.preview_listen",
            s.blue_green.preview_listen.empty() ? "none" : s.blue_green.preview_listen);
        Add("strategy.auto_promote", s.blue_green.auto_promote
                                         ? FormatDuration(*s.blue_green.auto_promote)
                                         : std::string("never (slipway promote)"));
        Add("strategy.scale_down_delay", s.blue_green.scale_down_delay);
        break;
      case Strategy::kCanary: {
        std::vector<std::string> steps;
        for (const CanaryStep& st : s.canary.steps) {
          switch (st.kind) {
            case CanaryStep::Kind::kWeight:
              steps.push_back(fmt::format("weight {}%", st.weight));
              break;
            case CanaryStep::Kind::kPause:
              steps.push_back(st.pause ? "pause " + FormatDuration(*st.pause) : "pause");
              break;
            case CanaryStep::Kind::kAnalysis:
              steps.push_back("analysis " + FormatDuration(st.analysis));
              break;
          }
        }
        Add("strategy.steps", fmt::format("[{}]", fmt::join(steps, ", ")));
        Add("strategy.header", s.canary.header.empty() ? "none" : s.canary.header);
        Add("strategy.sticky_cookie",
            s.canary.sticky_cookie.empty() ? "none" : s.canary.sticky_cookie);
        break;
      }
    }
    if (s.strategy == Strategy::kRolling) return;
    Add("analysis.interval", s.analysis.interval);
    Add("analysis.window", Millis(s.analysis.window));
    Add("analysis.failure_limit", s.analysis.failure_limit);
    Add("analysis.inconclusive_limit", s.analysis.inconclusive_limit);
    for (const AnalysisCheck& c : s.analysis.checks) {
      std::string v = fmt::format("{} max {} min_samples {}", AnalysisMetricName(c.metric), c.max,
                                  c.min_samples);
      if (c.metric == AnalysisMetric::kMannWhitney) {
        v += fmt::format(" confidence {} min_effect {}", c.confidence, c.min_effect);
      }
      Add("analysis.checks." + c.name, v);
    }
  }

  void Proxy(const ProxyConfig& p) {
    Add("proxy.listen", p.listen.empty() ? "none" : p.listen);
    if (p.listen.empty()) return;
    Add("proxy.drain_timeout", p.drain_timeout);
    const SecurityHeaders& h = p.security_headers;
    Add("proxy.security_headers.enabled", h.enabled);
    Add("proxy.security_headers.content_security_policy", h.content_security_policy);
    Add("proxy.security_headers.frame_options", h.frame_options);
    Add("proxy.security_headers.referrer_policy", h.referrer_policy);
    Add("proxy.security_headers.override", h.override);
    Add("proxy.hide_headers", List(p.hide_headers));
    Add("proxy.access_log", p.access_log);
    Add("proxy.balancing",
        p.balancing == Balancing::kRoundRobin ? "round-robin" : "least-requests");
    const OutlierDetection& o = p.outlier_detection;
    Add("proxy.outlier_detection.enabled", o.enabled);
    Add("proxy.outlier_detection.consecutive_failures", o.consecutive_failures);
    Add("proxy.outlier_detection.count_5xx", o.count_5xx);
    Add("proxy.outlier_detection.base_ejection", o.base_ejection);
    Add("proxy.outlier_detection.max_ejection", o.max_ejection);
    Add("proxy.outlier_detection.max_ejected_percent", o.max_ejected_percent);
    if (!p.tls.cert.empty()) {
      Add("proxy.tls.cert", p.tls.cert);
      Add("proxy.tls.key", p.tls.key);
      Add("proxy.tls.redirect_http", p.tls.redirect_http.empty() ? "none" : p.tls.redirect_http);
      Add("proxy.tls.hsts", p.tls.hsts);
    }
    Add("proxy.timeouts.header", p.timeouts.header);
    Add("proxy.timeouts.idle", p.timeouts.idle);
    Add("proxy.timeouts.upstream_connect", p.timeouts.upstream_connect);
    Add("proxy.timeouts.upstream_response", p.timeouts.upstream_response);
    Add("proxy.timeouts.total", p.timeouts.total);
    Add("proxy.limits.max_request_body", Bytes(p.limits.max_request_body));
    Add("proxy.limits.max_header_bytes", Bytes(p.limits.max_header_bytes));
    Add("proxy.limits.max_uri_bytes", Bytes(p.limits.max_uri_bytes));
    Add("proxy.limits.max_connections", p.limits.max_connections);
    Add("proxy.gzip", p.gzip);
  }

  void Threshold(const std::string& prefix, const BuiltinThresholdAlert& a) {
    Add(prefix, a.enabled ? fmt::format("> {} over {} for {} ({})", a.threshold,
                                        FormatDuration(Millis(a.window)),
                                        FormatDuration(a.for_duration), a.severity)
                          : std::string("off"));
  }

  void Alerts(const AlertsConfig& a) {
    for (const AlertReceiver& r : a.receivers) {
      Add("alerts.receivers." + r.name + ".url", r.url, /*secret=*/true);
      Add("alerts.receivers." + r.name + ".timeout", r.timeout);
    }
    Add("alerts.evaluation_interval", a.evaluation_interval);
    Add("alerts.group_wait", a.group_wait);
    Add("alerts.group_interval", a.group_interval);
    Add("alerts.repeat_interval", a.repeat_interval);
    Add("alerts.retry.initial_backoff", a.retry.initial_backoff);
    Add("alerts.retry.max_backoff", a.retry.max_backoff);
    Add("alerts.retry.give_up_after", a.retry.give_up_after);
    Add("alerts.external_url", a.external_url);
    const BuiltinAlerts& b = a.builtin;
    Threshold("alerts.builtin.error_rate", b.error_rate);
    Threshold("alerts.builtin.latency_p95", b.latency_p95);
    Add("alerts.builtin.crash_looping",
        b.crash_looping.enabled
            ? fmt::format("{} restarts in {} for {} ({})", b.crash_looping.restarts,
                          FormatDuration(Millis(b.crash_looping.window)),
                          FormatDuration(b.crash_looping.for_duration), b.crash_looping.severity)
            : std::string("off"));
    auto event = [this](const std::string& path, const BuiltinEventAlert& e) {
      Add(path, e.enabled ? fmt::format("resolve after {} ({})", FormatDuration(e.resolve_after),
                                        e.severity)
                          : std::string("off"));
    };
    event("alerts.builtin.deploy_failed", b.deploy_failed);
    event("alerts.builtin.rollback", b.rollback);
    std::vector<std::string> windows;
    for (const BurnRateWindow& w : b.error_budget_burn.windows) {
      windows.push_back(fmt::format("{}x over {} and {} ({})", w.burn_rate,
                                    FormatDuration(Millis(w.long_window)),
                                    FormatDuration(Millis(w.short_window)), w.severity));
    }
    Add("alerts.builtin.error_budget_burn",
        b.error_budget_burn.enabled ? fmt::format("{} for {}", List(windows),
                                                  FormatDuration(b.error_budget_burn.for_duration))
                                    : std::string("off"));
    for (const AlertRuleSpec& r : a.rules) {
      const std::string p = "alerts.rules." + r.name;
      Add(p + ".expr", r.expr);
      Add(p + ".for", r.for_duration);
      for (const auto& [k, v] : r.labels) Add(p + ".labels." + k, v);
      for (const auto& [k, v] : r.annotations) Add(p + ".annotations." + k, v);
    }
  }

  void Slo(const SloSpec& s) {
    if (s.availability) {
      Add("slo.availability.target", s.availability->target);
      Add("slo.availability.minute_error_rate", s.availability->minute_error_rate);
    }
    if (s.latency) {
      Add("slo.latency.percentile", s.latency->percentile);
      Add("slo.latency.target", s.latency->target);
      Add("slo.latency.threshold", s.latency->threshold);
    }
    if (s.error_rate) Add("slo.error_rate", *s.error_rate);
  }
};

}  // namespace

const char* ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded:
      return "added";
    case ChangeKind::kRemoved:
      return "removed";
    case ChangeKind::kChanged:
      return "changed";
  }
  return "?";
}

std::vector<SpecField> FlattenAppSpec(const AppSpec& s) {
  Flattener f;
  const bool docker = !s.image.empty();
  f.Add("app", s.app);
  if (docker) {
    f.Add("image", s.image);
    f.Add("allow_mutable_tag", s.allow_mutable_tag);
  }
  // What deploy sends has build: replaced by the digest it built; a plan of a spec that still
  // builds shows where from.
  if (s.build) {
    f.Add("build.context", s.build->context);
    f.Add("build.dockerfile", s.build->dockerfile);
    for (const auto& [key, value] : s.build->args) f.Add("build.args." + key, value);
  }
  if (s.registry) {
    f.Add("registry.server", s.registry->server);
    if (!s.registry->username.empty()) f.Add("registry.username", s.registry->username);
  }
  if (!s.command.empty()) f.Add("command", s.command);
  f.Add("args", docker && !s.args_given ? std::string("(the image's CMD)") : List(s.args));
  for (const auto& [key, value] : s.env) f.Add("env." + key, value, /*secret=*/true);
  f.Add("replicas", s.replicas);
  f.Add("user", docker && !s.user_given ? std::string("(the image's USER)") : s.user);
  if (s.group) f.Add("group", *s.group);
  f.Add("allow_root", s.allow_root);
  f.Add("workdir", docker && !s.workdir_given ? std::string("(the image's WORKDIR)") : s.workdir);
  if (docker) {
    f.Add("docker.network", s.docker.network == DockerNetwork::kBridge ? "bridge" : "host");
    f.Add("docker.read_only", s.docker.read_only);
    f.Add("docker.cap_add", List(s.docker.cap_add));
    for (const VolumeMount& v : s.docker.volumes) {
      f.Add("docker.volumes." + v.name, v.target + (v.read_only ? ":ro" : ""));
    }
  }
  if (s.limits.memory_bytes) f.Add("limits.memory", Bytes(*s.limits.memory_bytes));
  if (s.limits.cpu) f.Add("limits.cpu", *s.limits.cpu);
  f.Add("limits.open_files", s.limits.open_files);
  if (s.limits.processes) f.Add("limits.processes", *s.limits.processes);
  if (s.limits.memory_reservation_bytes) {
    f.Add("reservations.memory", Bytes(*s.limits.memory_reservation_bytes));
  }
  if (s.limits.cpu_reservation) f.Add("reservations.cpu", *s.limits.cpu_reservation);
  f.Probe("readiness", s.readiness, /*readiness=*/true);
  if (s.liveness) f.Probe("liveness", *s.liveness, /*readiness=*/false);
  f.Add("stop.signal", s.stop.signal_name);
  f.Add("stop.grace_period", s.stop.grace_period);
  f.Strategy(s);
  f.Add("progress_deadline.after", s.progress_deadline.after);
  f.Add("progress_deadline.abort", s.progress_deadline.abort);
  for (const auto& [name, value] : s.flags) f.Add("flags." + name, value.ToString());
  f.Proxy(s.proxy);
  f.Alerts(s.alerts);
  f.Slo(s.slo);
  f.Add("log_max_bytes", Bytes(s.log_max_bytes));
  return std::move(f.fields);
}

std::string FieldChange::ToString() const {
  if (secret) return fmt::format("{}: {} (value hidden)", path, ChangeKindName(kind));
  switch (kind) {
    case ChangeKind::kAdded:
      return fmt::format("{}: added ({})", path, after);
    case ChangeKind::kRemoved:
      return fmt::format("{}: removed (was {})", path, before);
    case ChangeKind::kChanged:
      break;
  }
  return fmt::format("{}: {} -> {}", path, before.empty() ? "\"\"" : before,
                     after.empty() ? "\"\"" : after);
}

std::vector<FieldChange> DiffAppSpecs(const AppSpec& before, const AppSpec& after) {
  const std::vector<SpecField> old_fields = FlattenAppSpec(before);
  const std::vector<SpecField> new_fields = FlattenAppSpec(after);
  std::unordered_map<std::string, std::size_t> old_at, new_at;
  for (std::size_t i = 0; i < old_fields.size(); ++i) old_at.emplace(old_fields[i].path, i);
  for (std::size_t i = 0; i < new_fields.size(); ++i) new_at.emplace(new_fields[i].path, i);

  std::vector<FieldChange> out;
  auto removed = [&out](const SpecField& f) {
    out.push_back({f.path, ChangeKind::kRemoved, f.secret ? "" : f.value, "", f.secret});
  };
  // Both lists come in the same field order, so a merge keeps every change where it belongs.
  // In a gap between two common fields, the removed ones come before the added ones.
  std::size_t next_old = 0;
  auto flush_removed_before = [&](std::size_t end) {
    for (; next_old < end; ++next_old) {
      if (!new_at.count(old_fields[next_old].path)) removed(old_fields[next_old]);
    }
  };
  for (std::size_t i = 0; i < new_fields.size(); ++i) {
    const SpecField& n = new_fields[i];
    auto it = old_at.find(n.path);
    if (it == old_at.end()) {
      std::size_t gap_end = old_fields.size();
      for (std::size_t j = i + 1; j < new_fields.size(); ++j) {
        if (auto common = old_at.find(new_fields[j].path); common != old_at.end()) {
          gap_end = common->second;
          break;
        }
      }
      flush_removed_before(gap_end);
      out.push_back({n.path, ChangeKind::kAdded, "", n.secret ? "" : n.value, n.secret});
      continue;
    }
    flush_removed_before(it->second);
    next_old = std::max(next_old, it->second + 1);
    const SpecField& o = old_fields[it->second];
    if (o.value == n.value) continue;
    const bool secret = o.secret || n.secret;
    out.push_back(
        {n.path, ChangeKind::kChanged, secret ? "" : o.value, secret ? "" : n.value, secret});
  }
  flush_removed_before(old_fields.size());
  return out;
}

}  // namespace slipway::spec
