#include "spec/docker_reader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "spec/did_you_mean.h"
#include "spec/spec_checks.h"

namespace slipway::spec {
namespace {

constexpr std::string_view kDockerKeys[] = {"network", "read_only", "cap_add", "volumes"};
constexpr std::string_view kVolumeKeys[] = {"name", "target", "read_only"};
constexpr std::string_view kNetworks[] = {"host", "bridge"};
constexpr std::string_view kBuildKeys[] = {"context", "dockerfile", "args"};
// `password` is known only to be refused with its own message.
constexpr std::string_view kRegistryKeys[] = {"server", "username", "password_file", "password"};
constexpr std::string_view kCapabilities[] = {
    "AUDIT_CONTROL",   "AUDIT_READ",   "AUDIT_WRITE",
    "BLOCK_SUSPEND",   "BPF",          "CHECKPOINT_RESTORE",
    "CHOWN",           "DAC_OVERRIDE", "DAC_READ_SEARCH",
    "FOWNER",          "FSETID",       "IPC_LOCK",
    "IPC_OWNER",       "KILL",         "LEASE",
    "LINUX_IMMUTABLE", "MAC_ADMIN",    "MAC_OVERRIDE",
    "MKNOD",           "NET_ADMIN",    "NET_BIND_SERVICE",
    "NET_BROADCAST",   "NET_RAW",      "PERFMON",
    "SETFCAP",         "SETGID",       "SETPCAP",
    "SETUID",          "SYSLOG",       "SYS_ADMIN",
    "SYS_BOOT",        "SYS_CHROOT",   "SYS_MODULE",
    "SYS_NICE",        "SYS_PACCT",    "SYS_PTRACE",
    "SYS_RAWIO",       "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG",  "WAKE_ALARM"};
// Capabilities that amount to control of the host (or of every container on it): refused.
constexpr std::string_view kRefusedCapabilities[] = {
    "AUDIT_CONTROL",   "BPF",        "CHECKPOINT_RESTORE", "DAC_READ_SEARCH",
    "LINUX_IMMUTABLE", "MAC_ADMIN",  "MAC_OVERRIDE",       "NET_ADMIN",
    "PERFMON",         "SYSLOG",     "SYS_ADMIN",          "SYS_BOOT",
    "SYS_MODULE",      "SYS_PTRACE", "SYS_RAWIO",          "SYS_TIME"};

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsDigest(std::string_view s) {
  return s.starts_with("sha256:") && s.size() == 7 + 64 && IsHex(s.substr(7));
}

// Docker's reference grammar, loosely: lowercase name components separated by '/', an optional
// registry host[:port] first, then :tag and/or @digest. Returns the problem or "".
std::string ReferenceProblem(std::string_view ref) {
  if (ref.empty()) return "must not be empty";
  if (IsDigest(ref)) return "";
  for (char c : ref) {
    if (std::isspace(static_cast<unsigned char>(c))) return "must not contain spaces";
  }
  std::string_view name = ref;
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    if (!IsDigest(ref.substr(at + 1))) {
      return "has a malformed digest (expected @sha256: and 64 lowercase hex digits)";
    }
    name = ref.substr(0, at);
  }
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = name.substr(colon + 1);
    if (tag.empty() || tag.size() > 128) return "has an empty or overlong tag";
    for (char c : tag) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
        return "has an invalid tag";
      }
    }
    name = name.substr(0, colon);
  }
  if (name.empty()) return "has no repository name";
  // The part before the first '/' may be a registry (it has a '.' or ':' or is localhost).
  std::string_view path = name;
  if (auto first = name.find('/'); first != std::string_view::npos) {
    std::string_view host = name.substr(0, first);
    if (host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos ||
        host == "localhost") {
      path = name.substr(first + 1);
    }
  }
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/';
    if (!ok) return "must be lowercase (letters, digits, '.', '_', '-' and '/')";
  }
  return "";
}

// The part before the first '/' names a registry when it has a '.' or ':' or is localhost.
bool HasRegistryHost(std::string_view ref) {
  auto slash = ref.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view host = ref.substr(0, slash);
  return host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos ||
         host == "localhost";
}

bool IsArgName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsVolumeName(std::string_view name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

class DockerReader {
 public:
  DockerReader(AppSpec& spec, const std::string& base_dir, DiagnosticList& diagnostics)
      : spec_(spec), base_dir_(base_dir), diagnostics_(diagnostics) {}

  void Read(MappingReader& top) {
    if (auto allow = top.Bool("allow_mutable_tag")) spec_.allow_mutable_tag = *allow;
    const Field* build = top.Find("build");
    const bool has_image = top.Find("image") != nullptr || build != nullptr;
    if (const Field* registry = top.Find("registry")) {
      if (has_image) {
        ReadRegistry(*registry);
      } else {
        diagnostics_.Add(registry->key.Mark(), "registry: applies only with `image:` or `build:`");
      }
    }
    if (build) ReadBuild(*build);
    if (auto image = top.String("image")) {
      ReadImage(*image, build != nullptr);
    } else if (build && !top.Find("image")) {
      spec_.image = Qualified(spec_.app.empty() ? "app" : spec_.app);
    }
    if (const Field* block = top.Find("docker"); block && !has_image) {
      diagnostics_.Add(block->key.Mark(),
                       "docker: applies only to an app with `image:` or `build:` (the docker "
                       "driver)");
      return;
    }
    if (const Field* allow = top.Find("allow_mutable_tag"); allow && !has_image) {
      diagnostics_.Add(allow->key.Mark(), "allow_mutable_tag: applies only with `image:`");
    }
    if (auto docker = top.Mapping("docker", kDockerKeys)) ReadBlock(*docker);
  }

 private:
  // An image name without a registry host, under registry.server when one is configured (an
  // image ID stays as it is).
  std::string Qualified(const std::string& ref) const {
    if (!spec_.registry || IsDigest(ref) || HasRegistryHost(ref)) return ref;
    return spec_.registry->server + "/" + ref;
  }

  void ReadImage(const Text& image, bool built) {
    std::string problem = ReferenceProblem(image.value);
    if (!problem.empty()) {
      diagnostics_.Add(image.mark, "image: " + Quoted(image.value) + " " + problem);
      return;
    }
    if (built && !IsPinnedImageReference(image.value)) {
      // The repository the build is tagged and pushed as; the build picks the tag.
      auto slash = image.value.rfind('/');
      auto colon = image.value.rfind(':');
      if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        diagnostics_.Add(image.mark, "image: " + Quoted(image.value) +
                                         " has a tag; with build: image names only the "
                                         "repository (the build tags it git-<commit> or "
                                         "ctx-<digest>)");
        return;
      }
      spec_.image = Qualified(image.value);
      return;
    }
    if (!IsPinnedImageReference(image.value) && !spec_.allow_mutable_tag) {
      std::string name = image.value;
      auto colon = name.rfind(':');
      if (colon != std::string::npos &&
          (name.rfind('/') == std::string::npos || colon > name.rfind('/'))) {
        name.resize(colon);
      }
      diagnostics_.Add(image.mark,
                       "image: " + Quoted(image.value) + " is a mutable tag; pin it by digest (" +
                           name +
                           "@sha256:...) or image ID (sha256:...), or set `allow_mutable_tag: "
                           "true` to resolve and pin it at deploy");
      return;
    }
    spec_.image = Qualified(image.value);
  }

  void ReadRegistry(const Field& field) {
    RegistryConfig out;
    YAML::Mark server_mark = field.ValueMark();
    if (field.value.IsScalar()) {
      out.server = field.value.Scalar();
    } else if (field.value.IsMap()) {
      MappingReader registry(field.value, field.path, kRegistryKeys, diagnostics_);
      registry.Require("server");
      if (const Field* password = registry.Find("password")) {
        diagnostics_.Add(password->key.Mark(),
                         "registry.password: a password is never written in the spec; put it in "
                         "a file only the daemon's user can read and name it in "
                         "registry.password_file");
        return;
      }
      auto server = registry.String("server");
      if (!server) return;
      out.server = server->value;
      server_mark = server->mark;
      auto username = registry.String("username");
      auto password_file = registry.String("password_file");
      if (username && username->value.empty()) {
        diagnostics_.Add(username->mark, "registry.username: must not be empty");
        return;
      }
      if (username && !password_file) {
        diagnostics_.Add(username->mark,
                         "registry.username: needs registry.password_file (the file holding "
                         "the password)");
        return;
      }
      if (password_file && !username) {
        diagnostics_.Add(password_file->mark, "registry.password_file: needs registry.username");
        return;
      }
      if (username) {
        out.username = username->value;
        std::filesystem::path file(password_file->value);
        if (password_file->value.empty()) {
          diagnostics_.Add(password_file->mark, "registry.password_file: must not be empty");
          return;
        }
        if (file.is_relative()) file = std::filesystem::path(base_dir_) / file;
        out.password_file = file.lexically_normal().string();
      }
    } else {
      diagnostics_.Add(field.ValueMark(),
                       "registry: expected host[:port] or {server, username, password_file}, "
                       "got " +
                           Describe(field.value));
      return;
    }
    const std::string& server = out.server;
    bool ok = !server.empty() && server.find('/') == std::string::npos &&
              std::none_of(server.begin(), server.end(), [](char c) {
                return std::isspace(static_cast<unsigned char>(c)) ||
                       std::isupper(static_cast<unsigned char>(c));
              });
    if (!ok) {
      diagnostics_.Add(server_mark, "registry: " + Quoted(server) +
                                        " is not a registry host[:port] (e.g. 127.0.0.1:5000; "
                                        "lowercase, no scheme or path)");
      return;
    }
    spec_.registry = std::move(out);
  }

  void ReadBuild(const Field& field) {
    BuildConfig out;
    std::string context = ".";
    if (field.value.IsScalar()) {
      context = field.value.Scalar();
    } else if (field.value.IsMap()) {
      MappingReader build(field.value, field.path, kBuildKeys, diagnostics_);
      if (auto c = build.String("context")) context = c->value;
      if (auto dockerfile = build.String("dockerfile")) {
        std::filesystem::path f(dockerfile->value);
        bool escapes =
            f.empty() || f.is_absolute() ||
            std::any_of(f.begin(), f.end(), [](const auto& part) { return part == ".."; });
        if (escapes) {
          diagnostics_.Add(dockerfile->mark,
                           "build.dockerfile: " + Quoted(dockerfile->value) +
                               " must be a relative path inside the build context");
          return;
        }
        out.dockerfile = f.lexically_normal().string();
      }
      if (auto args = build.Mapping("args", {})) {
        for (const Field& arg : args->fields()) {
          if (!IsArgName(arg.name)) {
            diagnostics_.Add(arg.key.Mark(), "build.args: " + Quoted(arg.name) +
                                                 " is not a valid ARG name (letters, digits and "
                                                 "'_', not starting with a digit)");
            continue;
          }
          if (!arg.value.IsScalar()) {
            diagnostics_.Add(arg.ValueMark(),
                             arg.path + ": expected a string, got " + Describe(arg.value));
            continue;
          }
          out.args[arg.name] = arg.value.Scalar();
        }
      }
    } else {
      diagnostics_.Add(field.ValueMark(),
                       "build: expected a context directory or {context, dockerfile, args}, got " +
                           Describe(field.value));
      return;
    }
    if (context.empty()) {
      diagnostics_.Add(field.ValueMark(), "build.context: must not be empty");
      return;
    }
    std::filesystem::path dir(context);
    if (dir.is_relative()) dir = std::filesystem::path(base_dir_) / dir;
    out.context = dir.lexically_normal().string();
    while (out.context.size() > 1 && out.context.back() == '/') out.context.pop_back();
    spec_.build = std::move(out);
  }

  void ReadBlock(MappingReader& docker) {
    if (auto network = docker.String("network")) {
      if (network->value == "host") {
        spec_.docker.network = DockerNetwork::kHost;
      } else if (network->value == "bridge") {
        spec_.docker.network = DockerNetwork::kBridge;
      } else {
        diagnostics_.Add(network->mark,
                         "docker.network: " + UnknownName("network", network->value, kNetworks));
      }
    }
    if (auto read_only = docker.Bool("read_only")) spec_.docker.read_only = *read_only;
    if (const Field* caps = docker.Find("cap_add")) ReadCapabilities(*caps);
    if (const Field* volumes = docker.Find("volumes")) ReadVolumes(*volumes);
  }

  void ReadCapabilities(const Field& caps) {
    if (!caps.value.IsSequence()) {
      diagnostics_.Add(caps.ValueMark(),
                       "docker.cap_add: expected a list of capabilities (e.g. [NET_BIND_SERVICE]), "
                       "got " +
                           Describe(caps.value));
      return;
    }
    for (std::size_t i = 0; i < caps.value.size(); ++i) {
      YAML::Node item = caps.value[i];
      if (!item.IsScalar()) {
        diagnostics_.Add(item.Mark(),
                         "docker.cap_add: expected a capability name, got " + Describe(item));
        continue;
      }
      std::string name = item.Scalar();
      std::string upper;
      for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (upper.starts_with("CAP_")) upper = upper.substr(4);
      if (std::find(std::begin(kCapabilities), std::end(kCapabilities), upper) ==
          std::end(kCapabilities)) {
        diagnostics_.Add(item.Mark(), "docker.cap_add: " +
                                          UnknownName("capability", name, kCapabilities, upper));
        continue;
      }
      if (std::find(std::begin(kRefusedCapabilities), std::end(kRefusedCapabilities), upper) !=
          std::end(kRefusedCapabilities)) {
        diagnostics_.Add(item.Mark(), "docker.cap_add: " + upper +
                                          " is refused by policy: it gives control of the host, "
                                          "not only of the container");
        continue;
      }
      if (std::find(spec_.docker.cap_add.begin(), spec_.docker.cap_add.end(), upper) ==
          spec_.docker.cap_add.end()) {
        spec_.docker.cap_add.push_back(upper);
      }
    }
  }

  void ReadVolumes(const Field& volumes) {
    if (!volumes.value.IsSequence()) {
      diagnostics_.Add(
          volumes.ValueMark(),
          "docker.volumes: expected a list of {name, target}, got " + Describe(volumes.value));
      return;
    }
    for (std::size_t i = 0; i < volumes.value.size(); ++i) {
      const std::string path = "docker.volumes[" + std::to_string(i) + "]";
      YAML::Node node = volumes.value[i];
      if (!node.IsMap()) {
        diagnostics_.Add(node.Mark(),
                         path + ": expected {name: VOLUME, target: /PATH}, got " + Describe(node));
        continue;
      }
      MappingReader volume(node, path, kVolumeKeys, diagnostics_);
      volume.Require("name");
      volume.Require("target");
      VolumeMount out;
      bool ok = true;
      if (auto name = volume.String("name")) {
        if (!IsVolumeName(name->value)) {
          diagnostics_.Add(name->mark, path + ".name: " + Quoted(name->value) +
                                           " is not a volume name (letters, digits, '_', '.', "
                                           "'-', starting with a letter or digit)");
          ok = false;
        }
        out.name = name->value;
      } else {
        ok = false;
      }
      if (auto target = volume.String("target")) {
        if (target->value.empty() || target->value[0] != '/') {
          diagnostics_.Add(target->mark, path + ".target: " + Quoted(target->value) +
                                             " must be an absolute path inside the container");
          ok = false;
        } else if (target->value == "/") {
          diagnostics_.Add(target->mark, path + ".target: a volume cannot replace /");
          ok = false;
        }
        out.target = target->value;
      } else {
        ok = false;
      }
      if (auto read_only = volume.Bool("read_only")) out.read_only = *read_only;
      if (ok) spec_.docker.volumes.push_back(out);
    }
  }

  AppSpec& spec_;
  const std::string& base_dir_;
  DiagnosticList& diagnostics_;
};

}  // namespace

bool IsPinnedImageReference(std::string_view ref) {
  if (IsDigest(ref)) return true;
  auto at = ref.find('@');
  return at != std::string_view::npos && IsDigest(ref.substr(at + 1));
}

void ReadDocker(MappingReader& top, AppSpec& spec, const std::string& base_dir,
                DiagnosticList& diagnostics) {
  DockerReader(spec, base_dir, diagnostics).Read(top);
}

}  // namespace slipway::spec
