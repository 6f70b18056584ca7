// slipway.yaml -> AppSpec. The shape of the file (keys, types, ranges) is read through
// MappingReader; this file holds the schema and the checks that span fields.
#include "spec/spec_parser.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/duration.h"
#include "spec/alerts_reader.h"
#include "spec/delivery_reader.h"
#include "spec/did_you_mean.h"
#include "spec/docker_reader.h"
#include "spec/slo_reader.h"
#include "spec/spec_checks.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kTopLevelKeys[] = {"app",        "command",
                                              "image",      "args",
                                              "env",        "replicas",
                                              "user",       "group",
                                              "allow_root", "workdir",
                                              "limits",     "readiness",
                                              "liveness",   "stop",
                                              "strategy",   "proxy",
                                              "logs",       "analysis",
                                              "flags",      "alerts",
                                              "slo",        "allow_mutable_tag",
                                              "docker",     "reservations",
                                              "build",      "registry"};
constexpr std::string_view kLimitsKeys[] = {"memory", "cpu", "open_files", "processes"};
constexpr std::string_view kReservationsKeys[] = {"memory", "cpu"};
// startup_timeout is recognised in liveness too, so that it gets its own message there.
constexpr std::string_view kProbeKeys[] = {
    "type",           "path",    "command",           "for",
    "interval",       "timeout", "success_threshold", "failure_threshold",
    "startup_timeout"};
constexpr std::string_view kStopKeys[] = {"signal", "grace_period"};
constexpr std::string_view kProxyKeys[] = {"listen",
                                           "drain_timeout",
                                           "security_headers",
                                           "hide_headers",
                                           "access_log",
                                           "balancing",
                                           "outlier_detection",
                                           "tls",
                                           "timeouts",
                                           "limits",
                                           "gzip"};
constexpr std::string_view kBalancings[] = {"least-requests", "round-robin"};
constexpr std::string_view kOutlierKeys[] = {"enabled",      "consecutive_failures",
                                             "count_5xx",    "base_ejection",
                                             "max_ejection", "max_ejected_percent"};
constexpr std::string_view kTlsKeys[] = {"cert", "key", "redirect_http", "hsts"};
constexpr std::string_view kProxyTimeoutKeys[] = {"header", "idle", "upstream_connect",
                                                  "upstream_response", "total"};
constexpr std::string_view kProxyLimitsKeys[] = {"max_request_body", "max_header_bytes",
                                                 "max_uri_bytes", "max_connections"};
constexpr std::string_view kSecurityHeadersKeys[] = {
    "enabled", "content_security_policy", "frame_options", "referrer_policy", "override"};
constexpr std::string_view kFrameOptions[] = {"DENY", "SAMEORIGIN"};
constexpr std::string_view kReferrerPolicies[] = {"no-referrer",
                                                  "no-referrer-when-downgrade",
                                                  "origin",
                                                  "origin-when-cross-origin",
                                                  "same-origin",
                                                  "strict-origin",
                                                  "strict-origin-when-cross-origin",
                                                  "unsafe-url"};
// Headers the proxy itself sets or needs for framing: hiding them would break responses.
constexpr std::string_view kUnhideableHeaders[] = {"Connection", "Content-Length",
                                                   "Transfer-Encoding", "X-Request-ID"};
constexpr std::string_view kLogsKeys[] = {"max_bytes"};

constexpr std::string_view kProbeTypes[] = {"http", "tcp", "exec", "running"};
struct SignalName {
  std::string_view name;
  int number;
};
constexpr SignalName kStopSignals[] = {{"SIGTERM", 15}, {"SIGINT", 2},   {"SIGQUIT", 3},
                                       {"SIGHUP", 1},   {"SIGUSR1", 10}, {"SIGUSR2", 12}};

constexpr const char* kNotAMapping = "expected a mapping with at least `app` and `command`";

bool IsAppName(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 63 || !lower_or_digit(name[0])) return false;
  for (char c : name) {
    if (!lower_or_digit(c) && c != '-') return false;
  }
  return true;
}

bool IsEnvName(std::string_view name) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || !letter(name[0])) return false;
  for (char c : name) {
    if (!letter(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Why `path` cannot serve as a file the daemon reads, or "" when it can. Opening it is the only
// honest readability check (permissions, ACLs, a dangling link); O_NONBLOCK so a FIFO cannot hang.
std::string UnreadableFileProblem(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::string("cannot be read: ") + std::strerror(errno);
  struct stat st;
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot be read: ") + std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    problem = "is a directory, not a file";
  } else if (!S_ISREG(st.st_mode)) {
    problem = "is not a regular file";
  }
  ::close(fd);
  return problem;
}

// yaml-cpp's message for a tab says nothing about tabs in some positions ("illegal map value");
// a tab in the indentation of the reported line is almost always the cause.
std::string TabHint(std::string_view text, const YAML::Mark& mark) {
  if (mark.line < 0) return {};
  std::size_t begin = 0;
  for (int line = 0; line < mark.line; ++line) {
    begin = text.find('\n', begin);
    if (begin == std::string_view::npos) return {};
    ++begin;
  }
  for (std::size_t i = begin; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i) {
    if (text[i] == '\t') return " (YAML indentation must use spaces, not tabs)";
  }
  return {};
}

class SpecReader {
 public:
  SpecReader(std::string base_dir, DiagnosticList& diagnostics)
      : base_dir_(std::move(base_dir)), diagnostics_(diagnostics) {}

  AppSpec Read(const YAML::Node& root) {
    AppSpec spec;
    MappingReader top(root, "", kTopLevelKeys, diagnostics_);
    top.Require("app");
    // An image brings its own entrypoint: `command` then only replaces it.
    const bool has_image = top.Find("image") != nullptr || top.Find("build") != nullptr;
    if (!has_image) top.Require("command");
    if (auto app = top.String("app")) ReadAppName(*app, spec);
    ReadDocker(top, spec, base_dir_, diagnostics_);
    if (auto command = top.String("command")) {
      if (has_image) {
        ReadImageCommand(*command, spec);
      } else {
        ReadCommand(*command, spec);
      }
    }
    if (auto args = top.StringList("args")) {
      spec.args = std::move(*args);
      spec.args_given = true;
    }
    if (auto env = top.Mapping("env", {})) ReadEnv(*env, spec);
    if (auto replicas = top.Integer("replicas", 1, 100)) {
      spec.replicas = static_cast<int>(*replicas);
    }
    ReadIdentity(top, spec);
    if (auto workdir = top.String("workdir")) {
      if (workdir->value.empty() || workdir->value[0] != '/') {
        diagnostics_.Add(workdir->mark,
                         "workdir: " + Quoted(workdir->value) + " must be an absolute path");
      } else {
        spec.workdir = workdir->value;
        spec.workdir_given = true;
      }
    }
    if (auto limits = top.Mapping("limits", kLimitsKeys)) ReadLimits(*limits, spec.limits);
    if (auto reservations = top.Mapping("reservations", kReservationsKeys)) {
      ReadReservations(*reservations, spec.limits);
    }
    if (auto readiness = top.Mapping("readiness", kProbeKeys)) {
      ReadProbe(*readiness, spec.readiness, /*is_readiness=*/true);
    }
    if (auto liveness = top.Mapping("liveness", kProbeKeys)) {
      spec.liveness.emplace();
      ReadProbe(*liveness, *spec.liveness, /*is_readiness=*/false);
    }
    if (auto stop = top.Mapping("stop", kStopKeys)) ReadStop(*stop, spec.stop);
    if (auto proxy = top.Mapping("proxy", kProxyKeys)) ReadProxy(*proxy, spec.proxy);
    ReadDelivery(top, spec, diagnostics_);  // strategy, analysis, flags; after proxy.listen
    ReadAlerts(top, spec, diagnostics_);
    ReadSlo(top, spec, diagnostics_);
    if (auto logs = top.Mapping("logs", kLogsKeys)) {
      if (auto max = logs->ByteSize("max_bytes", 4ull << 10, 1ull << 30)) spec.log_max_bytes = *max;
    }
    return spec;
  }

 private:
  void ReadAppName(const Text& app, AppSpec& spec) {
    if (!IsAppName(app.value)) {
      diagnostics_.Add(app.mark, "app: " + Quoted(app.value) +
                                     " is not a valid app name (1 to 63 lowercase letters, digits "
                                     "and '-', starting with a letter or digit)");
      return;
    }
    spec.app = app.value;
  }

  void ReadCommand(const Text& command, AppSpec& spec) {
    if (command.value.empty()) {
      diagnostics_.Add(command.mark, "command: must not be empty");
      return;
    }
    // A PATH search at parse time would depend on the environment of whoever runs `validate`,
    // not of the daemon that starts the process.
    if (command.value.find('/') == std::string::npos) {
      diagnostics_.Add(command.mark, "command: " + Quoted(command.value) +
                                         " must be a path (e.g. ./" + command.value +
                                         " or /usr/bin/" + command.value +
                                         "); Slipway does no PATH lookup");
      return;
    }
    std::filesystem::path path(command.value);
    if (path.is_relative()) path = std::filesystem::path(base_dir_) / path;
    spec.command = path.lexically_normal().string();
  }

  // With an image the command is a path inside it, taken as written (no base directory).
  void ReadImageCommand(const Text& command, AppSpec& spec) {
    if (command.value.empty() || command.value[0] != '/') {
      diagnostics_.Add(command.mark, "command: " + Quoted(command.value) +
                                         " must be an absolute path inside the image (e.g. "
                                         "/hello), or left out to run the image's ENTRYPOINT");
      return;
    }
    spec.command = command.value;
  }

  void ReadEnv(const MappingReader& env, AppSpec& spec) {
    for (const Field& var : env.fields()) {
      if (var.name == "PORT") {
        diagnostics_.Add(var.key.Mark(),
                         "env: PORT is reserved; Slipway assigns PORT to each replica");
        continue;
      }
      if (!IsEnvName(var.name)) {
        diagnostics_.Add(var.key.Mark(),
                         "env: " + Quoted(var.name) +
                             " is not a valid variable name (letters, digits and '_', not "
                             "starting with a digit)");
        continue;
      }
      if (!var.value.IsScalar()) {
        std::string hint = var.value.IsNull() ? " (write \"\" for an empty value)" : "";
        diagnostics_.Add(var.ValueMark(),
                         var.path + ": expected a string, got " + Describe(var.value) + hint);
        continue;
      }
      spec.env[var.name] = var.value.Scalar();
    }
  }

  void ReadIdentity(MappingReader& top, AppSpec& spec) {
    auto allow_root = top.Bool("allow_root");
    if (allow_root) spec.allow_root = *allow_root;
    // An allow_root that is present but invalid is already reported; don't add a root error.
    bool allow_root_known = allow_root || !top.Find("allow_root");
    if (auto user = top.String("user")) {
      if (user->value.empty()) {
        diagnostics_.Add(user->mark, "user: must not be empty");
      } else if ((user->value == "root" || user->value == "0") && !spec.allow_root &&
                 allow_root_known) {
        diagnostics_.Add(user->mark,
                         "user: running as root requires `allow_root: true` (default user: "
                         "nobody)");
      } else {
        spec.user = user->value;
        spec.user_given = true;
      }
    }
    if (auto group = top.String("group")) {
      if (group->value.empty()) {
        diagnostics_.Add(group->mark, "group: must not be empty");
      } else {
        spec.group = group->value;
      }
    }
  }

  void ReadLimits(MappingReader& limits, Limits& out) {
    if (auto memory =
            limits.ByteSize("memory", 4ull << 20, std::numeric_limits<std::uint64_t>::max())) {
      out.memory_bytes = *memory;
    }
    if (auto cpu = limits.Number("cpu", 0.01, 1024)) out.cpu = *cpu;
    if (auto files = limits.Integer("open_files", 16, 1'048'576)) {
      out.open_files = static_cast<std::uint64_t>(*files);
    }
    if (auto processes = limits.Integer("processes", 1, 100'000)) {
      out.processes = static_cast<std::uint64_t>(*processes);
    }
  }

  // After ReadLimits: a reservation above the limit of the same resource is refused.
  void ReadReservations(MappingReader& reservations, Limits& out) {
    if (auto memory = reservations.ByteSize("memory", 1ull << 20,
                                            std::numeric_limits<std::uint64_t>::max())) {
      if (out.memory_bytes && *memory > *out.memory_bytes) {
        diagnostics_.Add(reservations.Find("memory")->ValueMark(),
                         "reservations.memory: " + FormatByteSize(*memory) +
                             " is more than limits.memory (" + FormatByteSize(*out.memory_bytes) +
                             ")");
      } else {
        out.memory_reservation_bytes = *memory;
      }
    }
    if (auto cpu = reservations.Number("cpu", 0.01, 1024)) {
      if (out.cpu && *cpu > *out.cpu) {
        diagnostics_.Add(reservations.Find("cpu")->ValueMark(),
                         "reservations.cpu: " + FormatNumber(*cpu) + " is more than limits.cpu (" +
                             FormatNumber(*out.cpu) + ")");
      } else {
        out.cpu_reservation = *cpu;
      }
    }
  }

  void ReadProbe(MappingReader& probe, Probe& out, bool is_readiness) {
    if (auto type = probe.String("type")) {
      if (type->value == "http") {
        out.type = ProbeType::kHttp;
      } else if (type->value == "tcp") {
        out.type = ProbeType::kTcp;
      } else if (type->value == "exec") {
        out.type = ProbeType::kExec;
      } else if (type->value == "running") {
        out.type = ProbeType::kRunning;
        if (!is_readiness) {
          diagnostics_.Add(type->mark,
                           probe.path() +
                               ".type: a running probe only makes sense for readiness (a "
                               "replica that exits is restarted anyway); use http, tcp or exec");
        }
      } else {
        diagnostics_.Add(type->mark, probe.path() + ".type: " +
                                         UnknownName("probe type", type->value, kProbeTypes));
      }
    }
    ReadProbeCommand(probe, out);
    if (const Field* f = probe.Find("for"); f && out.type != ProbeType::kRunning) {
      diagnostics_.Add(f->key.Mark(), probe.path() + ".for: only running probes have `for`");
    } else if (auto running_for = probe.Duration("for", 0ms, 1h)) {
      out.running_for = *running_for;
    }
    if (auto path = probe.String("path")) {
      if (out.type != ProbeType::kHttp) {
        diagnostics_.Add(path->mark, probe.path() + ".path: only http probes have a path");
      } else if (path->value.empty() || path->value[0] != '/') {
        diagnostics_.Add(path->mark,
                         probe.path() + ".path: " + Quoted(path->value) + " must start with '/'");
      } else {
        out.path = path->value;
      }
    }
    if (auto interval = probe.Duration("interval", 100ms, 1h)) out.interval = *interval;
    if (auto timeout = probe.Duration("timeout", 10ms, 1min)) out.timeout = *timeout;
    if (auto n = probe.Integer("success_threshold", 1, 100)) {
      out.success_threshold = static_cast<int>(*n);
    }
    if (auto n = probe.Integer("failure_threshold", 1, 100)) {
      out.failure_threshold = static_cast<int>(*n);
    }
    if (is_readiness) {
      if (auto startup = probe.Duration("startup_timeout", 1s, 1h)) out.startup_timeout = *startup;
      if (out.type == ProbeType::kRunning && out.running_for >= out.startup_timeout) {
        diagnostics_.Add(probe.mark(), probe.path() + ": for (" + FormatDuration(out.running_for) +
                                           ") must be shorter than startup_timeout (" +
                                           FormatDuration(out.startup_timeout) + ")");
      }
    } else if (const Field* startup = probe.Find("startup_timeout")) {
      diagnostics_.Add(
          startup->key.Mark(),
          probe.path() + ": startup_timeout applies only to readiness (move it there)");
    }
  }

  // exec: `command` is a list (argv, run as is) or a string (run by /bin/sh -c); required.
  void ReadProbeCommand(MappingReader& probe, Probe& out) {
    const Field* f = probe.Find("command");
    if (out.type != ProbeType::kExec) {
      if (f)
        diagnostics_.Add(f->key.Mark(), probe.path() + ".command: only exec probes have a command");
      return;
    }
    if (!f) {
      diagnostics_.Add(probe.mark(), probe.path() +
                                         ": an exec probe needs a command (a list such "
                                         "as [\"/hello\", \"probe\"] or a shell string)");
      return;
    }
    if (f->value.IsScalar()) {
      if (auto text = probe.String("command")) {
        if (text->value.empty()) {
          diagnostics_.Add(text->mark, probe.path() + ".command: must not be empty");
        } else {
          out.command = {"/bin/sh", "-c", text->value};
        }
      }
      return;
    }
    if (auto argv = probe.StringList("command")) {
      if (argv->empty() || (*argv)[0].empty()) {
        diagnostics_.Add(f->ValueMark(),
                         probe.path() + ".command: needs at least the program to run");
      } else {
        out.command = std::move(*argv);
      }
    }
  }

  void ReadStop(MappingReader& stop, StopConfig& out) {
    if (auto signal = stop.String("signal")) {
      std::string name = signal->value.starts_with("SIG") ? signal->value : "SIG" + signal->value;
      const SignalName* found = nullptr;
      for (const SignalName& candidate : kStopSignals) {
        if (candidate.name == name) found = &candidate;
      }
      if (found != nullptr) {
        out.signal = found->number;
        out.signal_name = std::string(found->name);
      } else {
        std::array<std::string_view, std::size(kStopSignals)> names;
        for (std::size_t i = 0; i < names.size(); ++i) names[i] = kStopSignals[i].name;
        diagnostics_.Add(signal->mark,
                         "stop.signal: " + UnknownName("signal", signal->value, names, name));
      }
    }
    if (auto grace = stop.Duration("grace_period", 0ms, 1h)) out.grace_period = *grace;
  }

  void ReadProxy(MappingReader& proxy, ProxyConfig& out) {
    if (auto listen = proxy.String("listen")) {
      std::string problem = ListenProblem(listen->value);
      if (listen->value == "none") {
        out.listen.clear();  // no listener: a worker (only rolling; see delivery_reader.cc)
      } else if (problem.empty()) {
        out.listen = listen->value;
      } else {
        diagnostics_.Add(listen->mark, "proxy.listen: " + problem);
      }
    }
    if (auto drain = proxy.Duration("drain_timeout", 0ms, 1h)) out.drain_timeout = *drain;
    if (auto headers = proxy.Mapping("security_headers", kSecurityHeadersKeys)) {
      ReadSecurityHeaders(*headers, out.security_headers);
    }
    ReadHideHeaders(proxy, out);
    if (auto access_log = proxy.Bool("access_log")) out.access_log = *access_log;
    if (auto balancing = proxy.String("balancing")) {
      if (balancing->value == "least-requests") {
        out.balancing = Balancing::kLeastRequests;
      } else if (balancing->value == "round-robin") {
        out.balancing = Balancing::kRoundRobin;
      } else {
        diagnostics_.Add(
            balancing->mark,
            "proxy.balancing: " + UnknownName("balancing policy", balancing->value, kBalancings));
      }
    }
    if (auto outlier = proxy.Mapping("outlier_detection", kOutlierKeys)) {
      ReadOutlierDetection(*outlier, *proxy.Find("outlier_detection"), out.outlier_detection);
    }
    if (auto tls = proxy.Mapping("tls", kTlsKeys)) ReadTls(*tls, out);
    if (auto timeouts = proxy.Mapping("timeouts", kProxyTimeoutKeys)) {
      ReadProxyTimeouts(*timeouts, *proxy.Find("timeouts"), out.timeouts);
    }
    if (auto limits = proxy.Mapping("limits", kProxyLimitsKeys)) {
      ReadProxyLimits(*limits, *proxy.Find("limits"), out.limits);
    }
    if (auto gzip = proxy.Bool("gzip")) out.gzip = *gzip;
  }

  void ReadOutlierDetection(MappingReader& outlier, const Field& field, OutlierDetection& out) {
    if (auto enabled = outlier.Bool("enabled")) out.enabled = *enabled;
    if (auto n = outlier.Integer("consecutive_failures", 1, 100)) {
      out.consecutive_failures = static_cast<int>(*n);
    }
    if (auto count = outlier.Bool("count_5xx")) out.count_5xx = *count;
    auto base = outlier.Duration("base_ejection", 100ms, 1h);
    auto max = outlier.Duration("max_ejection", 100ms, 24h);
    if (base) out.base_ejection = *base;
    if (max) out.max_ejection = *max;
    if (auto percent = outlier.Integer("max_ejected_percent", 0, 100)) {
      out.max_ejected_percent = static_cast<int>(*percent);
    }
    // Only when neither part was itself invalid: one problem, one message.
    const bool base_ok = base || !outlier.Find("base_ejection");
    const bool max_ok = max || !outlier.Find("max_ejection");
    if (base_ok && max_ok && out.max_ejection < out.base_ejection) {
      diagnostics_.Add(field.key.Mark(), outlier.path() + ": max_ejection " +
                                             DurationNote(out.max_ejection, max.has_value()) +
                                             " must be at least base_ejection " +
                                             DurationNote(out.base_ejection, base.has_value()));
    }
  }

  void ReadTls(MappingReader& tls, ProxyConfig& out) {
    // Half a TLS setup is a mistake, not plain HTTP: both files, or no `tls` at all.
    tls.Require("cert");
    tls.Require("key");
    auto cert = ReadableFile(tls, "cert");
    auto key = ReadableFile(tls, "key");
    if (cert && key) {
      out.tls.cert = std::move(*cert);
      out.tls.key = std::move(*key);
    }
    if (auto redirect = tls.String("redirect_http")) {
      std::string problem = ListenProblem(redirect->value);
      if (!problem.empty()) {
        diagnostics_.Add(redirect->mark, tls.path() + ".redirect_http: " + problem);
      } else if (redirect->value == out.listen) {
        diagnostics_.Add(redirect->mark, tls.path() + ".redirect_http: " + Quoted(redirect->value) +
                                             " is proxy.listen itself; the redirect needs an "
                                             "address of its own (e.g. port 80 next to 443)");
      } else {
        out.tls.redirect_http = redirect->value;
      }
    }
    if (auto hsts = tls.String("hsts")) {
      std::string lower = hsts->value;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!IsHeaderValue(hsts->value)) {
        diagnostics_.Add(hsts->mark, tls.path() + ".hsts: " + Quoted(hsts->value) +
                                         " is not a valid header value (printable ASCII on one "
                                         "line, no leading or trailing spaces)");
      } else if (!hsts->value.empty() && lower.find("max-age=") == std::string::npos) {
        diagnostics_.Add(hsts->mark, tls.path() + ".hsts: " + Quoted(hsts->value) +
                                         " has no max-age=SECONDS, which RFC 6797 requires (or "
                                         "\"\" to send none)");
      } else {
        out.tls.hsts = hsts->value;
      }
    }
  }

  // A path to a file the proxy will read, resolved like `command` against the spec's directory.
  // Only its readability is checked here; the proxy parses the PEM when it loads it.
  std::optional<std::string> ReadableFile(MappingReader& map, std::string_view key) {
    auto text = map.String(key);
    if (!text) return std::nullopt;
    const std::string where = map.path() + "." + std::string(key) + ": ";
    if (text->value.empty()) {
      diagnostics_.Add(text->mark, where + "must not be empty");
      return std::nullopt;
    }
    std::filesystem::path path(text->value);
    const bool relative = path.is_relative();
    if (relative) path = std::filesystem::path(base_dir_) / path;
    path = path.lexically_normal();
    std::string problem = UnreadableFileProblem(path);
    if (!problem.empty()) {
      diagnostics_.Add(text->mark, where + Quoted(text->value) +
                                       (relative ? " (relative to the spec file) " : " ") +
                                       problem);
      return std::nullopt;
    }
    return path.string();
  }

  void ReadProxyTimeouts(MappingReader& timeouts, const Field& field, ProxyTimeouts& out) {
    if (auto header = timeouts.Duration("header", 100ms, 1h)) out.header = *header;
    if (auto idle = timeouts.Duration("idle", 100ms, 1h)) out.idle = *idle;
    if (auto connect = timeouts.Duration("upstream_connect", 100ms, 1min)) {
      out.upstream_connect = *connect;
    }
    auto response = timeouts.Duration("upstream_response", 100ms, 1h);
    auto total = timeouts.Duration("total", 100ms, 24h);
    if (response) out.upstream_response = *response;
    if (total) out.total = *total;
    const bool response_ok = response || !timeouts.Find("upstream_response");
    const bool total_ok = total || !timeouts.Find("total");
    if (response_ok && total_ok && out.total < out.upstream_response) {
      diagnostics_.Add(field.key.Mark(),
                       timeouts.path() + ": total " + DurationNote(out.total, total.has_value()) +
                           " must be at least upstream_response " +
                           DurationNote(out.upstream_response, response.has_value()));
    }
  }

  void ReadProxyLimits(MappingReader& limits, const Field& field, ProxyLimits& out) {
    if (auto body = limits.ByteSize("max_request_body", 1ull << 10, 1ull << 40)) {
      out.max_request_body = *body;
    }
    auto header = limits.ByteSize("max_header_bytes", 1ull << 10, 1ull << 20);
    auto uri = limits.ByteSize("max_uri_bytes", 256, 1ull << 20);
    if (header) out.max_header_bytes = static_cast<std::uint32_t>(*header);
    if (uri) out.max_uri_bytes = static_cast<std::uint32_t>(*uri);
    if (auto connections = limits.Integer("max_connections", 1, 1'000'000)) {
      out.max_connections = static_cast<std::uint32_t>(*connections);
    }
    const bool header_ok = header || !limits.Find("max_header_bytes");
    const bool uri_ok = uri || !limits.Find("max_uri_bytes");
    if (header_ok && uri_ok && out.max_uri_bytes > out.max_header_bytes) {
      auto note = [](std::uint64_t bytes, bool written) {
        return "(" + FormatByteSize(bytes) + (written ? ")" : ", the default)");
      };
      diagnostics_.Add(field.key.Mark(), limits.path() + ": max_uri_bytes " +
                                             note(out.max_uri_bytes, uri.has_value()) +
                                             " must not exceed max_header_bytes " +
                                             note(out.max_header_bytes, header.has_value()) +
                                             ": the request target is part of the head");
    }
  }

  void ReadSecurityHeaders(MappingReader& headers, SecurityHeaders& out) {
    const std::string& path = headers.path();
    if (auto enabled = headers.Bool("enabled")) out.enabled = *enabled;
    if (auto replace = headers.Bool("override")) out.override = *replace;
    if (auto csp = headers.String("content_security_policy")) {
      if (!IsHeaderValue(csp->value)) {
        diagnostics_.Add(csp->mark, path + ".content_security_policy: " + Quoted(csp->value) +
                                        " is not a valid header value (printable ASCII on one "
                                        "line, no leading or trailing spaces)");
      } else {
        out.content_security_policy = csp->value;
      }
    }
    if (auto frame = headers.String("frame_options")) {
      if (frame->value.empty() || std::find(std::begin(kFrameOptions), std::end(kFrameOptions),
                                            frame->value) != std::end(kFrameOptions)) {
        out.frame_options = frame->value;
      } else {
        diagnostics_.Add(frame->mark, path + ".frame_options: " +
                                          UnknownName("frame option", frame->value, kFrameOptions) +
                                          " (or \"\" to send none)");
      }
    }
    if (auto referrer = headers.String("referrer_policy")) {
      if (referrer->value.empty() ||
          std::find(std::begin(kReferrerPolicies), std::end(kReferrerPolicies), referrer->value) !=
              std::end(kReferrerPolicies)) {
        out.referrer_policy = referrer->value;
      } else {
        diagnostics_.Add(referrer->mark,
                         path + ".referrer_policy: " +
                             UnknownName("referrer policy", referrer->value, kReferrerPolicies) +
                             " (or \"\" to send none)");
      }
    }
  }

  void ReadHideHeaders(MappingReader& proxy, ProxyConfig& out) {
    const Field* field = proxy.Find("hide_headers");
    auto names = proxy.StringList("hide_headers");
    if (!names) return;
    bool all_valid = true;
    for (std::size_t i = 0; i < names->size(); ++i) {
      const std::string& name = (*names)[i];
      const YAML::Mark mark =
          field->value.IsSequence() ? field->value[i].Mark() : field->ValueMark();
      const std::string where = "proxy.hide_headers[" + std::to_string(i) + "]: ";
      if (!IsHeaderName(name)) {
        diagnostics_.Add(mark, where + Quoted(name) + " is not a header name");
        all_valid = false;
        continue;
      }
      for (std::string_view managed : kUnhideableHeaders) {
        if (EqualsIgnoreCase(name, managed)) {
          diagnostics_.Add(
              mark, where + std::string(managed) + " is managed by the proxy and cannot be hidden");
          all_valid = false;
        }
      }
    }
    if (all_valid) out.hide_headers = std::move(*names);
  }

  std::string base_dir_;
  DiagnosticList& diagnostics_;
};

}  // namespace

std::string Diagnostic::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

ParseOutcome ParseAppSpec(std::string_view yaml_text, const std::string& file,
                          const std::string& base_dir) {
  DiagnosticList diagnostics(file);
  ParseOutcome outcome;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    diagnostics.Add(e.mark, "invalid YAML: " + e.msg + TabHint(yaml_text, e.mark));
    outcome.diagnostics = diagnostics.TakeSorted();
    return outcome;
  }
  // A trailing `---` yields an empty extra document; only a second one with content is wrong.
  for (std::size_t i = 1; i < documents.size(); ++i) {
    if (!documents[i].IsNull()) {
      diagnostics.Add(documents[i].Mark(),
                      "a second YAML document starts here; slipway.yaml holds one app");
      break;
    }
  }
  if (documents.empty() || !documents[0].IsMap()) {
    diagnostics.AddAt(1, 1, kNotAMapping);
  } else {
    AppSpec spec = SpecReader(base_dir, diagnostics).Read(documents[0]);
    if (diagnostics.empty()) outcome.spec = std::move(spec);
  }
  outcome.diagnostics = diagnostics.TakeSorted();
  return outcome;
}

ParseOutcome ParseAppSpecNode(const YAML::Node& root, const std::string& file,
                              const std::string& base_dir) {
  DiagnosticList diagnostics(file);
  ParseOutcome outcome;
  if (!root.IsMap()) {
    diagnostics.AddAt(1, 1, kNotAMapping);
  } else {
    AppSpec spec = SpecReader(base_dir, diagnostics).Read(root);
    if (diagnostics.empty()) outcome.spec = std::move(spec);
  }
  outcome.diagnostics = diagnostics.TakeSorted();
  return outcome;
}

ParseOutcome ParseAppSpecFile(const std::string& path) {
  auto cannot_read = [&path](int error) {
    ParseOutcome outcome;
    outcome.diagnostics.push_back(
        Diagnostic{path, 1, 1, std::string("cannot read: ") + std::strerror(error)});
    return outcome;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot_read(errno);
  std::string text;
  char buffer[16 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return cannot_read(error);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  std::string base_dir = ec ? std::string(".") : absolute.parent_path().string();
  return ParseAppSpec(text, path, base_dir);
}

}  // namespace slipway::spec
