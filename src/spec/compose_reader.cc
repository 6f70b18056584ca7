// The Compose reader: checks each service's keys (supported, warned, refused, unknown), builds
// the slipway.yaml tree of each active service (x-slipway nodes are taken over as they are, so
// their positions stay those of the Compose file) and validates it with the spec parser.
#include "spec/compose_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/duration.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTopKeys[] = {"version",  "name",    "services", "volumes",
                                         "networks", "secrets", "configs",  "include"};

// Keys of a service Slipway reads (x-slipway and other x- keys are handled apart).
constexpr std::string_view kServiceKeys[] = {"image",
                                             "build",
                                             "command",
                                             "entrypoint",
                                             "environment",
                                             "env_file",
                                             "healthcheck",
                                             "user",
                                             "read_only",
                                             "deploy",
                                             "ports",
                                             "volumes",
                                             "depends_on",
                                             "profiles",
                                             "working_dir",
                                             "stop_signal",
                                             "stop_grace_period",
                                             "cap_add",
                                             "cap_drop",
                                             "network_mode"};

struct KeyNote {
  std::string_view key;
  std::string_view why;
};

// Compose keys that are read and ignored, with a warning saying why.
constexpr KeyNote kWarnedServiceKeys[] = {
    {"restart", "ignored: Slipway supervises every replica and restarts it itself (with back-off)"},
    {"labels", "ignored: Slipway sets its own container labels"},
    {"logging", "ignored: Slipway captures each replica's output (see `slipway logs`)"},
    {"expose", "ignored: each replica listens on its own $PORT"},
    {"init", "ignored: Slipway's containers run the image's entrypoint as PID 1"},
    {"pull_policy", "ignored: a release runs its pinned image and pulls it by digest if absent"},
};

// Compose keys Slipway refuses: it cannot honour them, or they would undo its hardening.
constexpr KeyNote kRefusedServiceKeys[] = {
    {"privileged", "it gives the container every capability and device of the host"},
    {"container_name", "Slipway names the containers (one per replica and release)"},
    {"links", "legacy links are not supported; services reach each other by published ports"},
    {"external_links", "legacy links are not supported"},
    {"extra_hosts", "Slipway does not edit the containers' /etc/hosts"},
    {"networks", "Slipway runs containers on the host or bridge network (see network_mode)"},
    {"secrets", "Compose secrets are not supported (pass them in environment or env_file)"},
    {"configs", "Compose configs are not supported (use a named volume or the image)"},
    {"devices", "host devices are not passed into containers"},
    {"device_cgroup_rules", "host devices are not passed into containers"},
    {"pid", "sharing the host's or another container's PID namespace is not supported"},
    {"ipc", "sharing an IPC namespace is not supported"},
    {"userns_mode", "user namespace modes are not supported"},
    {"cgroup", "cgroup namespace modes are not supported"},
    {"cgroup_parent", "Slipway places containers in Docker's cgroups"},
    {"security_opt", "it would change Slipway's no-new-privileges and default seccomp profile"},
    {"sysctls", "namespaced sysctls are not supported"},
    {"ulimits", "use x-slipway.limits for open_files"},
    {"tmpfs", "tmpfs mounts are not supported (use a named volume)"},
    {"volumes_from", "use named volumes"},
    {"dns", "DNS settings are not supported"},
    {"dns_search", "DNS settings are not supported"},
    {"dns_opt", "DNS settings are not supported"},
    {"hostname", "containers keep Docker's hostnames"},
    {"domainname", "containers keep Docker's hostnames"},
    {"mac_address", "not supported"},
    {"platform", "images run on the host's platform"},
    {"runtime", "containers run with Docker's default runtime"},
    {"isolation", "not supported"},
    {"stdin_open", "replicas have no terminal or stdin"},
    {"tty", "replicas have no terminal or stdin"},
    {"scale", "use deploy.replicas"},
    {"mem_limit", "use deploy.resources.limits.memory"},
    {"memswap_limit", "use deploy.resources.limits.memory"},
    {"mem_reservation", "use deploy.resources.reservations.memory"},
    {"cpus", "use deploy.resources.limits.cpus"},
    {"cpu_shares", "use deploy.resources.limits.cpus"},
    {"cpu_quota", "use deploy.resources.limits.cpus"},
    {"cpu_period", "use deploy.resources.limits.cpus"},
    {"cpuset", "CPU pinning is not supported"},
    {"pids_limit", "use deploy.resources.limits.pids"},
    {"shm_size", "not supported"},
    {"oom_kill_disable", "Slipway relies on the memory limit's OOM kill"},
    {"oom_score_adj", "not supported"},
    {"group_add", "not supported (use user: UID:GID)"},
    {"storage_opt", "not supported"},
    {"blkio_config", "not supported"},
    {"credential_spec", "not supported"},
    {"annotations", "not supported"},
    {"attach", "not supported"},
    {"develop", "compose watch is not supported"},
    {"extends", "not supported: write the service out"},
    {"post_start", "lifecycle hooks are not supported"},
    {"pre_stop", "lifecycle hooks are not supported"},
    {"gpus", "not supported"},
};

constexpr std::string_view kHealthcheckKeys[] = {
    "test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"};
constexpr std::string_view kDeployKeys[] = {"replicas",       "resources",     "mode",
                                            "restart_policy", "update_config", "rollback_config",
                                            "placement",      "labels",        "endpoint_mode"};
constexpr std::string_view kResourcesKeys[] = {"limits", "reservations"};
constexpr std::string_view kLimitKeys[] = {"cpus", "memory", "pids", "devices"};
constexpr std::string_view kReservationKeys[] = {"cpus", "memory", "devices", "generic_resources"};
constexpr std::string_view kPortKeys[] = {"target", "published", "host_ip",     "protocol",
                                          "mode",   "name",      "app_protocol"};
constexpr std::string_view kVolumeMountKeys[] = {"type",   "source", "target", "read_only",
                                                 "volume", "bind",   "tmpfs",  "consistency"};
constexpr std::string_view kTopVolumeKeys[] = {"name", "external", "driver", "driver_opts",
                                               "labels"};
constexpr std::string_view kDependsKeys[] = {"condition", "restart", "required"};
constexpr std::string_view kBuildKeys[] = {"context",
                                           "dockerfile",
                                           "args",
                                           "target",
                                           "labels",
                                           "cache_from",
                                           "cache_to",
                                           "network",
                                           "shm_size",
                                           "extra_hosts",
                                           "ssh",
                                           "secrets",
                                           "tags",
                                           "platforms",
                                           "no_cache",
                                           "pull",
                                           "dockerfile_inline",
                                           "additional_contexts",
                                           "isolation",
                                           "privileged",
                                           "ulimits"};
// What x-slipway may hold (at the top level: defaults for every service): slipway.yaml keys
// that Compose cannot say.
constexpr std::string_view kXSlipwayKeys[] = {
    "strategy",   "analysis",   "flags",    "alerts", "slo",
    "proxy",      "readiness",  "liveness", "logs",   "allow_mutable_tag",
    "allow_root", "open_files", "registry"};

const KeyNote* FindNote(std::span<const KeyNote> notes, std::string_view key) {
  for (const auto& n : notes) {
    if (n.key == key) return &n;
  }
  return nullptr;
}

// The known keys of a mapping plus every `x-...` key it has (Compose extension fields, which
// Compose tools ignore by definition).
class KnownKeys {
 public:
  KnownKeys(const YAML::Node& map, std::initializer_list<std::span<const std::string_view>> sets) {
    for (auto set : sets) keys_.insert(keys_.end(), set.begin(), set.end());
    if (map.IsMap()) {
      for (const auto& pair : map) {
        YAML::Node key = pair.first;
        if (key.IsScalar() && key.Scalar().starts_with("x-")) extra_.push_back(key.Scalar());
      }
    }
    for (const auto& e : extra_) keys_.push_back(e);
  }
  std::span<const std::string_view> get() const { return keys_; }

 private:
  std::vector<std::string> extra_;
  std::vector<std::string_view> keys_;
};

std::vector<std::string_view> NoteKeys(std::span<const KeyNote> notes) {
  std::vector<std::string_view> keys;
  for (const auto& n : notes) keys.push_back(n.key);
  return keys;
}

// Docker's memory units: b, k, m, g (binary), optionally followed by b; a bare number is bytes.
std::optional<std::uint64_t> ParseComposeBytes(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  std::string unit = text.substr(digits);
  if (unit.size() == 2 && unit[1] == 'b' && unit[0] != 'b') unit.pop_back();
  std::uint64_t scale = 1;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "k") {
    scale = 1ull << 10;
  } else if (unit == "m") {
    scale = 1ull << 20;
  } else if (unit == "g") {
    scale = 1ull << 30;
  } else {
    return std::nullopt;
  }
  auto n = ParseInteger(text.substr(0, digits));
  if (!n || *n <= 0) return std::nullopt;
  return static_cast<std::uint64_t>(*n) * scale;
}

std::string ProjectName(const std::string& text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  while (!out.empty() && out.front() == '-') out.erase(out.begin());
  return out.empty() ? "compose" : out;
}

class ComposeReader {
 public:
  ComposeReader(std::string file, std::string dir, std::vector<std::string> profiles)
      : file_(std::move(file)),
        dir_(std::move(dir)),
        profiles_(std::move(profiles)),
        errors_(file_),
        warnings_(file_) {}

  ComposeOutcome Read(const std::string& text) {
    ComposeOutcome outcome;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      errors_.Add(e.mark, "invalid YAML: " + e.msg);
      return Finish(outcome);
    }
    if (!root.IsMap()) {
      errors_.AddAt(1, 1, "a Compose file is a mapping with a `services:` key");
      return Finish(outcome);
    }
    KnownKeys top_keys(root, {kTopKeys});
    MappingReader top(root, "", top_keys.get(), errors_);
    top.Require("services");
    project_ = ProjectName(fs::path(dir_).filename().string());
    if (auto name = top.String("name")) project_ = ProjectName(name->value);
    outcome.project = project_;
    for (const Field& f : top.fields()) {
      if (f.name == "version") {
        warnings_.Add(f.key.Mark(),
                      "warning: version: obsolete in the Compose specification; "
                      "ignored");
      } else if (f.name == "networks" || f.name == "secrets" || f.name == "configs" ||
                 f.name == "include") {
        errors_.Add(
            f.key.Mark(),
            f.name + ": not supported by Slipway" +
                (f.name == "networks" ? " (containers run on the host or bridge network)" : ""));
      } else if (f.name == "x-slipway") {
        top_x_ = ReadXSlipway(f);
      }
    }
    if (const Field* volumes = top.Find("volumes")) ReadTopVolumes(*volumes);
    const Field* services = top.Find("services");
    if (services && !services->value.IsMap()) {
      errors_.Add(services->ValueMark(),
                  "services: expected a mapping of services, got " + Describe(services->value));
    } else if (services) {
      ReadServices(*services);
    }
    if (errors_.empty()) outcome.services = Ordered();
    return Finish(outcome);
  }

 private:
  struct Dependency {
    std::string service;
    YAML::Mark mark;
  };
  struct Service {
    std::string name;
    YAML::Mark mark;
    bool active = true;
    std::vector<std::string> profiles;
    std::vector<Dependency> depends_on;
    ComposeService out;
  };

  ComposeOutcome Finish(ComposeOutcome& outcome) {
    outcome.errors = errors_.TakeSorted();
    outcome.warnings = warnings_.TakeSorted();
    if (!outcome.errors.empty()) outcome.services.clear();
    return std::move(outcome);
  }

  void Warn(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    warnings_.Add(mark, "warning: " + path + ": " + message);
  }
  void Fail(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    errors_.Add(mark, path + ": " + message);
  }

  // x-slipway: a mapping of slipway.yaml keys; returned by key, nodes as written.
  std::map<std::string, Field> ReadXSlipway(const Field& field) {
    std::map<std::string, Field> out;
    if (!field.value.IsMap()) {
      if (!field.value.IsNull()) {
        Fail(field.ValueMark(), field.path, "expected a mapping, got " + Describe(field.value));
      }
      return out;
    }
    MappingReader x(field.value, field.path, kXSlipwayKeys, errors_);
    for (const Field& f : x.fields()) out.emplace(f.name, f);
    return out;
  }

  void ReadTopVolumes(const Field& field) {
    if (field.value.IsNull()) return;
    if (!field.value.IsMap()) {
      Fail(field.ValueMark(), "volumes",
           "expected a mapping of named volumes, got " + Describe(field.value));
      return;
    }
    MappingReader volumes(field.value, "volumes", {}, errors_);
    for (const Field& v : volumes.fields()) {
      std::string docker_name = project_ + "_" + v.name;
      if (v.value.IsMap()) {
        KnownKeys keys(v.value, {kTopVolumeKeys});
        MappingReader vol(v.value, v.path, keys.get(), errors_);
        bool external = vol.Bool("external").value_or(false);
        if (auto name = vol.String("name"))
          docker_name = name->value;
        else if (external)
          docker_name = v.name;
        if (auto driver = vol.String("driver"); driver && driver->value != "local") {
          Fail(driver->mark, v.path + ".driver",
               Quoted(driver->value) + " is not supported (only Docker's local driver)");
        }
        if (const Field* opts = vol.Find("driver_opts")) {
          Fail(opts->key.Mark(), opts->path, "not supported (volumes use the local driver as is)");
        }
        if (const Field* labels = vol.Find("labels")) {
          Warn(labels->key.Mark(), labels->path, "ignored: Slipway does not label volumes");
        }
      } else if (!v.value.IsNull()) {
        Fail(v.ValueMark(), v.path, "expected a mapping or nothing, got " + Describe(v.value));
      }
      volumes_[v.name] = docker_name;
    }
  }

  void ReadServices(const Field& services_field) {
    MappingReader services(services_field.value, "services", {}, errors_);
    for (const Field& f : services.fields()) {
      Service s;
      s.name = f.name;
      s.mark = f.key.Mark();
      if (!f.value.IsMap()) {
        Fail(f.ValueMark(), f.path, "expected a mapping, got " + Describe(f.value));
        continue;
      }
      ReadService(f, s);
      services_.push_back(std::move(s));
    }
    // Dependencies: known, active, no cycles.
    std::map<std::string, const Service*> by_name;
    for (const auto& s : services_) by_name[s.name] = &s;
    for (const auto& s : services_) {
      if (!s.active) continue;
      for (const auto& d : s.depends_on) {
        auto it = by_name.find(d.service);
        if (it == by_name.end()) {
          Fail(d.mark, "services." + s.name + ".depends_on",
               "no service " + Quoted(d.service) + " in this file");
        } else if (!it->second->active) {
          Fail(d.mark, "services." + s.name + ".depends_on",
               "service " + Quoted(d.service) + " is not active (it needs one of the profiles " +
                   JoinProfiles(it->second->profiles) + "; pass --profile)");
        }
      }
    }
    if (errors_.empty()) FindCycle(by_name);
  }

  static std::string JoinProfiles(const std::vector<std::string>& p) {
    std::string out;
    for (const auto& x : p) out += (out.empty() ? "" : ", ") + x;
    return out;
  }

  void FindCycle(const std::map<std::string, const Service*>& by_name) {
    std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
    std::vector<std::string> path;
    std::function<bool(const Service&)> visit = [&](const Service& s) -> bool {
      state[s.name] = 1;
      path.push_back(s.name);
      for (const auto& d : s.depends_on) {
        int st = state[d.service];
        if (st == 1) {
          std::string cycle;
          auto from = std::find(path.begin(), path.end(), d.service);
          for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
          Fail(d.mark, "services." + s.name + ".depends_on",
               "dependency cycle: " + cycle + d.service);
          return true;
        }
        if (st == 0 && visit(*by_name.at(d.service))) return true;
      }
      path.pop_back();
      state[s.name] = 2;
      return false;
    };
    for (const auto& s : services_) {
      if (s.active && state[s.name] == 0 && visit(s)) return;
    }
  }

  std::vector<ComposeService> Ordered() {
    std::vector<ComposeService> out;
    std::set<std::string> placed;
    // Bounded: each pass places at least one service (there is no cycle).
    for (std::size_t pass = 0; pass <= services_.size(); ++pass) {
      for (auto& s : services_) {
        if (!s.active || placed.contains(s.name)) continue;
        bool ready = std::all_of(s.depends_on.begin(), s.depends_on.end(),
                                 [&](const Dependency& d) { return placed.contains(d.service); });
        if (!ready) continue;
        placed.insert(s.name);
        out.push_back(std::move(s.out));
      }
    }
    return out;
  }

  // build: -> slipway.yaml build: {context, dockerfile, args}; `slipway deploy` builds it and
  // deploys the digest. With image: the image names the repository (a tag is dropped: builds
  // are tagged git-<commit> / ctx-<digest>); a digest in image: is what --no-build deploys.
  void ReadBuild(const Field& build, const Field* image, YAML::Node& out,
                 std::map<std::string, YAML::Mark>& origin) {
    YAML::Node to(YAML::NodeType::Map);
    if (build.value.IsScalar()) {
      to["context"] = build.value.Scalar();
    } else if (build.value.IsMap()) {
      MappingReader b(build.value, build.path, kBuildKeys, errors_);
      for (const Field& f : b.fields()) {
        if (f.name == "context" || f.name == "dockerfile") {
          to[f.name] = f.value;
        } else if (f.name == "args") {
          ReadBuildArgs(f, to);
        } else if (std::find(std::begin(kBuildKeys), std::end(kBuildKeys), f.name) !=
                   std::end(kBuildKeys)) {
          Fail(f.key.Mark(), f.path,
               "not supported by Slipway's build (it reads context, dockerfile and args)");
        }
      }
    } else {
      Fail(build.ValueMark(), build.path,
           "expected a context path or a mapping, got " + Describe(build.value));
      return;
    }
    out["build"] = to;
    origin["build"] = build.key.Mark();
    if (!image || !image->value.IsScalar()) return;
    const std::string ref = image->value.Scalar();
    auto slash = ref.rfind('/');
    auto colon = ref.rfind(':');
    if (ref.find('@') == std::string::npos && colon != std::string::npos &&
        (slash == std::string::npos || colon > slash)) {
      Warn(image->ValueMark(), image->path,
           "the tag " + ref.substr(colon + 1) +
               " is not used: slipway deploy tags the build git-<commit> or ctx-<digest>");
      out["image"] = ref.substr(0, colon);
    }
  }

  void ReadBuildArgs(const Field& args, YAML::Node& to) {
    if (args.value.IsMap()) {
      to["args"] = args.value;
      return;
    }
    YAML::Node map(YAML::NodeType::Map);
    if (args.value.IsSequence()) {
      for (const auto& item : args.value) {
        std::string kv = item.IsScalar() ? item.Scalar() : "";
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          Fail(item.Mark(), args.path,
               "expected NAME=VALUE (an ARG without a value would come from the CLI's "
               "environment, which Slipway does not pass on)");
          continue;
        }
        map[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    } else {
      Fail(args.ValueMark(), args.path,
           "expected a mapping or a list of NAME=VALUE, got " + Describe(args.value));
      return;
    }
    to["args"] = map;
  }

  void ReadService(const Field& field, Service& s) {
    const std::string path = field.path;
    std::vector<std::string_view> warned = NoteKeys(kWarnedServiceKeys);
    std::vector<std::string_view> refused = NoteKeys(kRefusedServiceKeys);
    KnownKeys keys(field.value, {kServiceKeys, warned, refused});
    MappingReader svc(field.value, path, keys.get(), errors_);
    for (const Field& f : svc.fields()) {
      if (const KeyNote* n = FindNote(kWarnedServiceKeys, f.name)) {
        Warn(f.key.Mark(), f.path, std::string(n->why));
      } else if (const KeyNote* n = FindNote(kRefusedServiceKeys, f.name)) {
        Fail(f.key.Mark(), f.path, "not supported by Slipway: " + std::string(n->why));
      }
    }
    if (auto profiles = svc.StringList("profiles")) {
      s.profiles = *profiles;
      if (!s.profiles.empty()) {
        s.active = std::any_of(s.profiles.begin(), s.profiles.end(), [&](const std::string& p) {
          return std::find(profiles_.begin(), profiles_.end(), p) != profiles_.end();
        });
      }
    }
    ReadDependsOn(svc, s);
    if (!s.active) return;

    // The slipway.yaml tree, and where in the Compose file each of its keys comes from.
    YAML::Node out(YAML::NodeType::Map);
    std::map<std::string, YAML::Mark> origin;
    const std::string app = project_ + "-" + ProjectName(s.name);
    out["app"] = app;
    origin["app"] = s.mark;

    const Field* image = svc.Find("image");
    const Field* build = svc.Find("build");
    if (image) {
      out["image"] = image->value;
      origin["image"] = image->ValueMark();
    }
    if (build) {
      ReadBuild(*build, image, out, origin);
    } else if (!image) {
      Fail(s.mark, path, "missing required field \"image\"");
    }

    if (const Field* entry = svc.Find("entrypoint")) {
      auto words = CommandWords(*entry);
      if (words && words->size() != 1) {
        Fail(entry->ValueMark(), entry->path,
             "one path only (e.g. [\"/hello\"]); put its arguments in command:");
      } else if (words) {
        out["command"] = (*words)[0];
        origin["command"] = entry->ValueMark();
      }
    }
    if (const Field* command = svc.Find("command")) {
      if (auto words = CommandWords(*command)) {
        YAML::Node args(YAML::NodeType::Sequence);
        for (const auto& w : *words) args.push_back(w);
        out["args"] = args;
        origin["args"] = command->ValueMark();
      }
    }
    ReadEnvironment(svc, out, origin);
    if (auto user = svc.String("user")) {
      auto colon = user->value.find(':');
      out["user"] = user->value.substr(0, colon);
      if (colon != std::string::npos) out["group"] = user->value.substr(colon + 1);
      origin["user"] = origin["group"] = user->mark;
    }
    if (auto workdir = svc.String("working_dir")) {
      out["workdir"] = workdir->value;
      origin["workdir"] = workdir->mark;
    }
    YAML::Node docker(YAML::NodeType::Map);
    if (auto ro = svc.Bool("read_only")) docker["read_only"] = *ro;
    if (auto mode = svc.String("network_mode")) {
      if (mode->value == "host" || mode->value == "bridge") {
        docker["network"] = mode->value;
      } else {
        Fail(mode->mark, path + ".network_mode",
             Quoted(mode->value) + " is not supported (host or bridge)");
      }
    }
    if (auto caps = svc.StringList("cap_add")) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (auto c : *caps) list.push_back(c.starts_with("CAP_") ? c.substr(4) : c);
      docker["cap_add"] = list;
      origin["docker"] = svc.Find("cap_add")->ValueMark();
    }
    if (const Field* drop = svc.Find("cap_drop")) {
      auto caps = svc.StringList("cap_drop");
      if (caps && std::find(caps->begin(), caps->end(), "ALL") == caps->end()) {
        Warn(drop->key.Mark(), drop->path, "Slipway drops every capability not in cap_add already");
      }
    }
    ReadVolumes(svc, docker);
    if (docker.size() > 0) {
      out["docker"] = docker;
      if (!origin.contains("docker")) origin["docker"] = s.mark;
    }
    YAML::Node stop(YAML::NodeType::Map);
    if (auto sig = svc.String("stop_signal")) {
      stop["signal"] = sig->value;
      origin["stop"] = sig->mark;
    }
    if (auto grace = svc.String("stop_grace_period")) {
      stop["grace_period"] = grace->value;
      origin["stop"] = grace->mark;
    }
    if (stop.size() > 0) out["stop"] = stop;
    ReadDeploy(svc, out, origin);
    ReadHealthcheck(svc, out, origin);
    ReadPorts(svc, out, origin);

    // x-slipway: the top level's as defaults, the service's own replace them key by key.
    std::map<std::string, Field> x = top_x_;
    if (const Field* own = svc.Find("x-slipway")) {
      for (auto& [k, v] : ReadXSlipway(*own)) x.insert_or_assign(k, v);
    }
    for (const auto& [key, f] : x) {
      if (key == "open_files") {
        if (!out["limits"]) out["limits"] = YAML::Node(YAML::NodeType::Map);
        out["limits"]["open_files"] = f.value;
      } else if (key == "proxy" && out["proxy"] && f.value.IsMap()) {
        if (f.value["listen"]) {
          Fail(f.value["listen"].Mark(), f.path + ".listen",
               "conflicts with ports: (the listener is the published port)");
        }
        YAML::Node proxy = out["proxy"];
        for (const auto& pair : f.value) proxy[pair.first] = pair.second;
      } else {
        out[key] = f.value;
      }
      origin[key] = f.key.Mark();
    }
    if (!errors_.empty()) return;  // the translation of a wrong service says little more

    ParseOutcome parsed = ParseAppSpecNode(out, file_, dir_);
    for (const Diagnostic& d : parsed.diagnostics) {
      if (d.line == 1 && d.column == 1) {
        // Made in memory: report it where its key came from.
        std::string_view msg = d.message;
        std::string key(msg.substr(0, msg.find_first_of(".:[ ")));
        auto it = origin.find(key);
        YAML::Mark at = it != origin.end() ? it->second : s.mark;
        errors_.Add(at, path + ": " + d.message);
      } else {
        errors_.AddAt(d.line, d.column, path + ": " + d.message);
      }
    }
    if (!parsed.spec) return;
    YAML::Emitter emitter;
    emitter << out;
    s.out.service = s.name;
    s.out.spec = std::move(*parsed.spec);
    s.out.spec_yaml = std::string(emitter.c_str()) + "\n";
    for (const auto& d : s.depends_on) s.out.depends_on.push_back(d.service);
    // What the daemon will parse must be what was validated here.
    ParseOutcome again = ParseAppSpec(s.out.spec_yaml, file_, dir_);
    if (!again.spec) {
      Fail(s.mark, path,
           "internal: the translated slipway.yaml does not parse: " +
               (again.diagnostics.empty() ? "" : again.diagnostics[0].ToString()));
    }
  }

  // command/entrypoint: a list, or a string split at spaces (quotes: use the list form).
  std::optional<std::vector<std::string>> CommandWords(const Field& f) {
    std::vector<std::string> words;
    if (f.value.IsSequence()) {
      for (const auto& w : f.value) {
        if (!w.IsScalar()) {
          Fail(w.Mark(), f.path, "expected a list of strings, got " + Describe(w));
          return std::nullopt;
        }
        words.push_back(w.Scalar());
      }
    } else if (f.value.IsScalar()) {
      const std::string& text = f.value.Scalar();
      if (text.find_first_of("\"'\\$") != std::string::npos) {
        Fail(f.ValueMark(), f.path,
             "quotes, escapes and $ are not interpreted here; write the list form [\"a\", \"b\"]");
        return std::nullopt;
      }
      std::istringstream in(text);
      for (std::string w; in >> w;) words.push_back(w);
    } else {
      Fail(f.ValueMark(), f.path, "expected a string or a list, got " + Describe(f.value));
      return std::nullopt;
    }
    if (words.empty()) {
      Fail(f.ValueMark(), f.path, "must not be empty");
      return std::nullopt;
    }
    return words;
  }

  void ReadDependsOn(MappingReader& svc, Service& s) {
    const Field* f = svc.Find("depends_on");
    if (!f || f->value.IsNull()) return;
    if (f->value.IsSequence()) {
      for (const auto& d : f->value) {
        if (!d.IsScalar()) {
          Fail(d.Mark(), f->path, "expected service names, got " + Describe(d));
          continue;
        }
        s.depends_on.push_back({d.Scalar(), d.Mark()});
      }
      return;
    }
    if (!f->value.IsMap()) {
      Fail(f->ValueMark(), f->path, "expected a list or a mapping, got " + Describe(f->value));
      return;
    }
    MappingReader deps(f->value, f->path, {}, errors_);
    for (const Field& d : deps.fields()) {
      s.depends_on.push_back({d.name, d.key.Mark()});
      if (d.value.IsNull()) continue;
      if (!d.value.IsMap()) {
        Fail(d.ValueMark(), d.path, "expected a mapping, got " + Describe(d.value));
        continue;
      }
      MappingReader dep(d.value, d.path, kDependsKeys, errors_);
      if (auto cond = dep.String("condition")) {
        if (cond->value == "service_completed_successfully") {
          Fail(cond->mark, d.path + ".condition",
               "\"service_completed_successfully\" is not supported: Slipway runs long-lived "
               "services, not one-off jobs");
        } else if (cond->value != "service_healthy" && cond->value != "service_started") {
          Fail(cond->mark, d.path + ".condition",
               Quoted(cond->value) + " is not a condition (service_healthy, service_started)");
        }
      }
      if (const Field* restart = dep.Find("restart")) {
        Warn(restart->key.Mark(), restart->path,
             "ignored: Slipway does not restart dependents when a dependency is redeployed");
      }
      if (auto required = dep.Bool("required"); required && !*required) {
        Warn(dep.Find("required")->key.Mark(), d.path + ".required",
             "ignored: the dependency is deployed first all the same");
      }
    }
  }

  void ReadEnvironment(MappingReader& svc, YAML::Node& out,
                       std::map<std::string, YAML::Mark>& origin) {
    std::map<std::string, std::string> env;
    YAML::Mark mark;
    bool any = false;
    if (const Field* files = svc.Find("env_file")) {
      any = true;
      mark = files->ValueMark();
      std::vector<YAML::Node> entries;
      if (files->value.IsSequence()) {
        for (const auto& e : files->value) entries.push_back(e);
      } else {
        entries.push_back(files->value);
      }
      for (const auto& e : entries) {
        YAML::Node p = e.IsMap() ? e["path"] : e;
        bool required = !(e.IsMap() && e["required"] && e["required"].Scalar() == "false");
        if (!p || !p.IsScalar()) {
          Fail(e.Mark(), files->path, "expected a file path, got " + Describe(e));
          continue;
        }
        fs::path file = p.Scalar();
        if (file.is_relative()) file = fs::path(dir_) / file;
        std::ifstream in(file);
        if (!in) {
          if (required) Fail(p.Mark(), files->path, "cannot read " + Quoted(file.string()));
          continue;
        }
        int n = 0;
        for (std::string line; std::getline(in, line) && n < 100000; ++n) {
          auto start = line.find_first_not_of(" \t");
          if (start == std::string::npos || line[start] == '#') continue;
          line = line.substr(start);
          if (line.starts_with("export ")) line = line.substr(7);
          auto eq = line.find('=');
          if (eq == std::string::npos || eq == 0) {
            Fail(p.Mark(), files->path,
                 file.string() + ":" + std::to_string(n + 1) + ": expected KEY=VALUE");
            continue;
          }
          std::string value = line.substr(eq + 1);
          if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
              value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
          }
          env[line.substr(0, eq)] = value;
        }
      }
    }
    if (const Field* e = svc.Find("environment")) {
      any = true;
      mark = e->ValueMark();
      if (e->value.IsSequence()) {
        for (const auto& item : e->value) {
          std::string text = item.IsScalar() ? item.Scalar() : "";
          auto eq = text.find('=');
          if (eq == std::string::npos || eq == 0) {
            Fail(item.Mark(), e->path,
                 Quoted(text) +
                     " has no value: write KEY=VALUE (Slipway does not pass the CLI's "
                     "environment on)");
            continue;
          }
          env[text.substr(0, eq)] = text.substr(eq + 1);
        }
      } else if (e->value.IsMap()) {
        MappingReader vars(e->value, e->path, {}, errors_);
        for (const Field& v : vars.fields()) {
          if (!v.value.IsScalar()) {
            Fail(v.ValueMark(), v.path,
                 "has no value (Slipway does not pass the CLI's environment on)");
            continue;
          }
          env[v.name] = v.value.Scalar();
        }
      } else if (!e->value.IsNull()) {
        Fail(e->ValueMark(), e->path, "expected a mapping or a list, got " + Describe(e->value));
      }
    }
    if (!any || env.empty()) return;
    YAML::Node node(YAML::NodeType::Map);
    for (const auto& [k, v] : env) node[k] = v;
    out["env"] = node;
    origin["env"] = mark;
  }

  void ReadVolumes(MappingReader& svc, YAML::Node& docker) {
    const Field* f = svc.Find("volumes");
    if (!f || f->value.IsNull()) return;
    if (!f->value.IsSequence()) {
      Fail(f->ValueMark(), f->path, "expected a list, got " + Describe(f->value));
      return;
    }
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& v : f->value) {
      std::string source, target;
      bool read_only = false;
      YAML::Mark mark = v.Mark();
      if (v.IsScalar()) {
        std::vector<std::string> parts;
        std::stringstream in(v.Scalar());
        for (std::string p; std::getline(in, p, ':');) parts.push_back(p);
        if (parts.empty()) {  // "" (or a tag with no value): nothing to split
          Fail(mark, f->path, "an empty volume; write NAME:/path");
          continue;
        }
        if (parts.size() == 1) {
          Fail(mark, f->path,
               Quoted(v.Scalar()) + " is an anonymous volume; name it (NAME:" + v.Scalar() +
                   ") and declare it under the top-level volumes");
          continue;
        }
        source = parts[0];
        target = parts[1];
        if (parts.size() >= 3) {
          if (parts[2] == "ro") {
            read_only = true;
          } else if (parts[2] != "rw") {
            Fail(mark, f->path, "mode " + Quoted(parts[2]) + " is not supported (ro or rw)");
            continue;
          }
        }
      } else if (v.IsMap()) {
        MappingReader m(v, f->path, kVolumeMountKeys, errors_);
        auto type = m.String("type");
        if (type && type->value != "volume") {
          Fail(type->mark, f->path + ".type",
               Quoted(type->value) + " mounts are not supported (named volumes only)");
          continue;
        }
        auto s = m.String("source");
        auto t = m.String("target");
        if (!s || !t) {
          Fail(mark, f->path, "needs source (a named volume) and target");
          continue;
        }
        source = s->value;
        target = t->value;
        read_only = m.Bool("read_only").value_or(false);
      } else {
        Fail(mark, f->path, "expected NAME:/PATH or a mapping, got " + Describe(v));
        continue;
      }
      if (source.starts_with("/") || source.starts_with(".") || source.starts_with("~")) {
        Fail(mark, f->path,
             "bind mount " + Quoted(source) +
                 " is not supported: host paths stay out of containers; use a "
                 "named volume");
        continue;
      }
      auto it = volumes_.find(source);
      if (it == volumes_.end()) {
        Fail(mark, f->path,
             "volume " + Quoted(source) + " is not declared under the top-level volumes");
        continue;
      }
      YAML::Node m(YAML::NodeType::Map);
      m["name"] = it->second;
      m["target"] = target;
      if (read_only) m["read_only"] = true;
      list.push_back(m);
    }
    if (list.size() > 0) docker["volumes"] = list;
  }

  void ReadDeploy(MappingReader& svc, YAML::Node& out, std::map<std::string, YAML::Mark>& origin) {
    auto deploy = svc.Mapping("deploy", kDeployKeys);
    if (!deploy) return;
    if (auto replicas = deploy->Integer("replicas", 1, 100)) {
      out["replicas"] = *replicas;
      origin["replicas"] = deploy->Find("replicas")->ValueMark();
    }
    if (auto mode = deploy->String("mode"); mode && mode->value != "replicated") {
      Fail(mode->mark, deploy->path() + ".mode",
           Quoted(mode->value) + " is not supported (replicated, on this host)");
    }
    for (std::string_view key : {"placement", "endpoint_mode"}) {
      if (const Field* f = deploy->Find(key)) {
        Fail(f->key.Mark(), f->path, "not supported: Slipway deploys to this host");
      }
    }
    if (const Field* f = deploy->Find("restart_policy")) {
      Warn(f->key.Mark(), f->path, "ignored: Slipway restarts failed replicas itself");
    }
    for (std::string_view key : {"update_config", "rollback_config"}) {
      if (const Field* f = deploy->Find(key)) {
        Warn(f->key.Mark(), f->path, "ignored: say how to roll out in x-slipway.strategy");
      }
    }
    if (const Field* f = deploy->Find("labels")) {
      Warn(f->key.Mark(), f->path, "ignored: Slipway sets its own container labels");
    }
    auto resources = deploy->Mapping("resources", kResourcesKeys);
    if (!resources) return;
    // `cpus` and `memory` read the same in limits and reservations.
    auto read_cpus_and_memory = [this](MappingReader& m) {
      YAML::Node node(YAML::NodeType::Map);
      if (auto cpus = m.Number("cpus", 0.01, 1024)) node["cpu"] = *cpus;
      if (auto memory = m.String("memory")) {
        if (auto bytes = ParseComposeBytes(memory->value)) {
          node["memory"] = *bytes;
        } else {
          Fail(memory->mark, m.path() + ".memory",
               Quoted(memory->value) + " is not a size (examples: 64m, 512M, 1g)");
        }
      }
      return node;
    };
    if (auto limits = resources->Mapping("limits", kLimitKeys)) {
      YAML::Node node = read_cpus_and_memory(*limits);
      if (auto pids = limits->Integer("pids", 1, 1 << 22)) node["processes"] = *pids;
      if (const Field* f = limits->Find("devices")) {
        Fail(f->key.Mark(), f->path, "not supported: host devices are not passed into containers");
      }
      if (node.size() > 0) {
        out["limits"] = node;
        origin["limits"] = limits->mark();
      }
    }
    // Reservations: what a replica keeps under contention (see `reservations:` in the spec).
    if (auto reservations = resources->Mapping("reservations", kReservationKeys)) {
      YAML::Node node = read_cpus_and_memory(*reservations);
      for (std::string_view key : {"devices", "generic_resources"}) {
        if (const Field* f = reservations->Find(key)) {
          Warn(f->key.Mark(), f->path,
               "not reserved: Slipway runs on this host only and passes no devices or generic "
               "resources into containers");
        }
      }
      if (node.size() > 0) {
        out["reservations"] = node;
        origin["reservations"] = reservations->mark();
      }
    }
  }

  // A service without a healthcheck: a TCP connect to $PORT when it publishes a port, else (a
  // worker, which need not listen) "running for 5s" without exiting.
  static YAML::Node DefaultProbe(bool has_ports) {
    YAML::Node probe(YAML::NodeType::Map);
    if (has_ports) {
      probe["type"] = "tcp";
    } else {
      probe["type"] = "running";
      probe["for"] = "5s";
    }
    return probe;
  }

  void ReadHealthcheck(MappingReader& svc, YAML::Node& out,
                       std::map<std::string, YAML::Mark>& origin) {
    const Field* ports = svc.Find("ports");
    const bool has_ports = ports && !ports->value.IsNull();
    YAML::Node probe = DefaultProbe(has_ports);
    origin["readiness"] = svc.mark();
    auto hc = svc.Mapping("healthcheck", kHealthcheckKeys);
    if (!hc) {
      if (!has_ports) {
        Warn(svc.mark(), svc.path(),
             "no healthcheck and no ports: readiness is \"running for 5s\" (each replica is "
             "ready once its container has run 5s without exiting)");
      }
      out["readiness"] = probe;
      return;
    }
    origin["readiness"] = hc->mark();
    const std::string path = hc->path();
    const std::string running_note =
        "readiness is \"running for 5s\" (each replica is ready once its container has run 5s "
        "without exiting)";
    probe = DefaultProbe(false);
    if (auto disable = hc->Bool("disable"); disable && *disable) {
      Warn(hc->Find("disable")->key.Mark(), path + ".disable", "disabled: " + running_note);
      out["readiness"] = probe;
      return;
    }
    probe = DefaultProbe(has_ports);
    if (const Field* test = hc->Find("test")) {
      std::string text;
      std::string kind = "CMD-SHELL";
      std::vector<std::string> argv;
      if (test->value.IsSequence()) {
        for (std::size_t i = 0; i < test->value.size(); ++i) {
          std::string w = test->value[i].IsScalar() ? test->value[i].Scalar() : "";
          if (i == 0) {
            kind = w;
          } else {
            argv.push_back(w);
            text += (text.empty() ? "" : " ") + w;
          }
        }
      } else if (test->value.IsScalar()) {
        text = test->value.Scalar();
      }
      // A test that fetches http://localhost[:PORT]/PATH becomes an HTTP probe of PATH on the
      // replica's $PORT: replicas do not listen on the container port, CMD (exec) form does not
      // expand $PORT, and the image need not ship curl or wget. Every other test runs as written.
      static const std::regex kLocalUrl(
          R"(https?://(localhost|127\.0\.0\.1)(:(\d+|\$\{?PORT\}?))?(/[^\s'"]*)?)");
      std::smatch m;
      if (kind == "NONE") {
        Warn(test->key.Mark(), path + ".test", "NONE: " + running_note);
        probe = DefaultProbe(false);
      } else if (kind != "CMD" && kind != "CMD-SHELL") {
        Fail(test->ValueMark(), path + ".test",
             "expected [\"CMD\", ...], [\"CMD-SHELL\", \"...\"], [\"NONE\"] or a string");
      } else if (text.empty()) {
        Fail(test->ValueMark(), path + ".test", "the test has no command");
      } else if (std::regex_search(text, m, kLocalUrl)) {
        probe["type"] = "http";
        probe["path"] = m[4].matched ? m[4].str() : "/";
      } else {
        probe = YAML::Node(YAML::NodeType::Map);
        probe["type"] = "exec";
        if (kind == "CMD") {
          YAML::Node command(YAML::NodeType::Sequence);
          for (const std::string& w : argv) command.push_back(w);
          probe["command"] = command;
        } else {
          probe["command"] = text;  // run by /bin/sh -c, as Docker does
        }
      }
    }
    auto interval = hc->Duration("interval", Millis(100), Millis(3'600'000));
    if (interval) probe["interval"] = FormatDuration(*interval);
    if (auto timeout = hc->Duration("timeout", Millis(100), Millis(600'000))) {
      probe["timeout"] = FormatDuration(*timeout);
    }
    auto retries = hc->Integer("retries", 1, 100);
    if (retries) probe["failure_threshold"] = *retries;
    auto start = hc->Duration("start_period", Millis(0), Millis(3'600'000));
    // Compose ignores failures during start_period; Slipway's budget to become ready is that
    // plus the retries, and at least its default of 30s.
    Millis budget =
        start.value_or(Millis(0)) + interval.value_or(Millis(30'000)) * retries.value_or(3);
    probe["startup_timeout"] = FormatDuration(std::max(budget, Millis(30'000)));
    if (const Field* f = hc->Find("start_interval")) {
      Warn(f->key.Mark(), f->path, "ignored: Slipway probes at `interval` from the start");
    }
    out["readiness"] = probe;
  }

  void ReadPorts(MappingReader& svc, YAML::Node& out, std::map<std::string, YAML::Mark>& origin) {
    YAML::Node proxy(YAML::NodeType::Map);
    proxy["listen"] = "none";
    out["proxy"] = proxy;
    origin["proxy"] = svc.mark();
    const Field* f = svc.Find("ports");
    if (!f || f->value.IsNull()) return;
    if (!f->value.IsSequence()) {
      Fail(f->ValueMark(), f->path, "expected a list, got " + Describe(f->value));
      return;
    }
    if (f->value.size() > 1) {
      Fail(f->value[1].Mark(), f->path,
           "Slipway fronts a service with one proxy listener: publish one port");
      return;
    }
    for (const auto& p : f->value) {
      std::string host_ip = "127.0.0.1", published, target, protocol = "tcp";
      if (p.IsScalar()) {
        std::string text = p.Scalar();
        if (auto slash = text.find('/'); slash != std::string::npos) {
          protocol = text.substr(slash + 1);
          text = text.substr(0, slash);
        }
        std::vector<std::string> parts;
        std::stringstream in(text);
        for (std::string x; std::getline(in, x, ':');) parts.push_back(x);
        if (parts.size() == 3) {
          host_ip = parts[0];
          published = parts[1];
          target = parts[2];
        } else if (parts.size() == 2) {
          published = parts[0];
          target = parts[1];
        } else {
          target = text;
        }
      } else if (p.IsMap()) {
        MappingReader m(p, f->path, kPortKeys, errors_);
        if (auto t = m.String("target")) target = t->value;
        if (auto pub = m.String("published")) published = pub->value;
        if (auto ip = m.String("host_ip")) host_ip = ip->value;
        if (auto proto = m.String("protocol")) protocol = proto->value;
        if (auto mode = m.String("mode"); mode && mode->value != "host") {
          Fail(mode->mark, f->path + ".mode",
               Quoted(mode->value) + " is not supported (host: the proxy listens on this host)");
        }
      } else {
        Fail(p.Mark(), f->path, "expected HOST:CONTAINER or a mapping, got " + Describe(p));
        return;
      }
      if (protocol != "tcp") {
        Fail(p.Mark(), f->path,
             Quoted(protocol) +
                 " is not supported: the proxy speaks HTTP "
                 "over TCP");
        return;
      }
      if (published.empty()) {
        Fail(p.Mark(), f->path,
             "no host port: Slipway's proxy listens on a host port; write "
             "HOST:CONTAINER (e.g. 8080:" +
                 target + ")");
        return;
      }
      if (published.find('-') != std::string::npos || !ParseInteger(published)) {
        Fail(p.Mark(), f->path, "host port " + Quoted(published) + " must be one port number");
        return;
      }
      proxy["listen"] = host_ip + ":" + published;
      origin["proxy"] = p.Mark();
      Warn(p.Mark(), f->path,
           "the proxy listens on " + host_ip + ":" + published + "; container port " + target +
               " is not used: each replica listens on its own $PORT");
    }
  }

  std::string file_;
  std::string dir_;
  std::vector<std::string> profiles_;
  DiagnosticList errors_;
  DiagnosticList warnings_;
  std::string project_;
  std::map<std::string, Field> top_x_;
  std::map<std::string, std::string> volumes_;  // Compose name -> Docker volume name
  std::vector<Service> services_;
};

}  // namespace

ComposeOutcome ReadComposeFile(const std::string& path, const std::vector<std::string>& profiles) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  std::string dir = ec ? std::string(".") : absolute.parent_path().string();
  if (!in) {
    ComposeOutcome outcome;
    outcome.errors.push_back(Diagnostic{path, 1, 1, "cannot read the file"});
    return outcome;
  }
  std::stringstream text;
  text << in.rdbuf();
  return ComposeReader(path, dir, profiles).Read(text.str());
}

bool LooksLikeComposeFile(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (name == "compose.yaml" || name == "compose.yml" || name.starts_with("docker-compose") ||
      name.starts_with("compose.")) {
    return true;
  }
  try {
    YAML::Node root = YAML::LoadFile(path);
    return root.IsMap() && root["services"] && !root["app"];
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace slipway::spec
