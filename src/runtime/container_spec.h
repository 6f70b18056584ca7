// ContainerSpec: what the runtime needs to run one replica as a Docker container, and the
// container-create body it becomes (hardened by default: no-new-privileges, every capability
// dropped but those listed, Docker's restart policy off because Slipway restarts, limits from
// the spec). Pure data and functions; tested without a daemon.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "runtime/launch_spec.h"
#include "spec/app_spec.h"

namespace slipway::runtime {

// Labels on every container Slipway creates; a restarted daemon finds its containers by them.
inline constexpr char kLabelApp[] = "slipway.app";
inline constexpr char kLabelRelease[] = "slipway.release";
inline constexpr char kLabelReplica[] = "slipway.replica";
inline constexpr char kLabelToken[] = "slipway.replica-token";
inline constexpr char kLabelOwner[] = "slipway.owner";  // the creating daemon's state dir

// Where a container sees its app's flags directory (read-only): a directory, not the file, so
// the daemon's rename of a new file over the old one shows inside the container at once.
inline constexpr char kContainerFlagsDir[] = "/run/slipway";

struct ContainerSpec {
  std::string name;  // the container's name, e.g. "slipway-hello-r3-0"
  std::string app;
  std::int64_t release = 0;
  int replica = 0;
  std::string owner;  // kLabelOwner
  std::string image;  // what to run: an image ID ("sha256:...") or a digest reference
  std::optional<std::string> entrypoint;         // replaces the image's ENTRYPOINT
  std::optional<std::vector<std::string>> args;  // replaces the image's CMD
  std::map<std::string, std::string> env;        // PORT included
  std::string user;                              // "" : the image's USER
  std::string workdir;                           // "" : the image's WORKDIR
  spec::Limits limits;
  bool host_network = true;  // false: bridge, `port` published on 127.0.0.1
  std::uint16_t port = 0;
  bool read_only_rootfs = false;
  std::vector<std::string> cap_add;  // capability names without CAP_
  std::vector<spec::VolumeMount> volumes;
  std::string flags_dir;  // host directory bind-mounted read-only at kContainerFlagsDir; "": none
  std::string stop_signal = "SIGTERM";
  Millis grace_period{10'000};
  std::string log_path;  // the container's output as JSON lines (see LogRecordLine)
  std::uint64_t log_max_bytes = 10 << 20;
};

// The body of POST /containers/create for `spec`, labelled with `token`.
nlohmann::json ContainerCreateBody(const ContainerSpec& spec, const std::string& token);

// Whether `user` (a container's User, "name", "uid" or "uid:gid"; "" means root) is root.
bool IsRootUser(const std::string& user);

// The user a container of `spec` runs as given the image's configured USER, or an Error when
// that is root and `allow_root` is false: "image hello:v1 runs as root (its USER is empty) ...".
Result<std::string> ContainerUser(const std::string& spec_user, bool allow_root,
                                  const std::string& image_user, const std::string& image_ref);

}  // namespace slipway::runtime
