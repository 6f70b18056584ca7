#include "runtime/container_spec.h"

#include <algorithm>
#include <cmath>

namespace slipway::runtime {

nlohmann::json ContainerCreateBody(const ContainerSpec& spec, const std::string& token) {
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  nlohmann::json labels{{kLabelApp, spec.app},
                        {kLabelRelease, std::to_string(spec.release)},
                        {kLabelReplica, std::to_string(spec.replica)},
                        {kLabelToken, token},
                        {kLabelOwner, spec.owner}};
  nlohmann::json body{
      {"Image", spec.image},
      {"Env", env},
      {"Labels", labels},
      {"StopSignal", spec.stop_signal},
      {"StopTimeout",
       std::max<long>(1, static_cast<long>(std::ceil(spec.grace_period.count() / 1000.0)))},
      {"AttachStdin", false},
      {"AttachStdout", false},
      {"AttachStderr", false},
      {"Tty", false},
      {"OpenStdin", false}};
  if (spec.entrypoint) body["Entrypoint"] = nlohmann::json::array({*spec.entrypoint});
  if (spec.args) body["Cmd"] = *spec.args;
  if (!spec.user.empty()) body["User"] = spec.user;
  if (!spec.workdir.empty()) body["WorkingDir"] = spec.workdir;

  nlohmann::json cap_add = nlohmann::json::array();
  for (const std::string& cap : spec.cap_add) cap_add.push_back(cap);
  nlohmann::json host{{"RestartPolicy", {{"Name", "no"}}},
                      {"SecurityOpt", nlohmann::json::array({"no-new-privileges"})},
                      {"CapDrop", nlohmann::json::array({"ALL"})},
                      {"CapAdd", cap_add},
                      {"ReadonlyRootfs", spec.read_only_rootfs},
                      {"Init", false},
                      {"LogConfig", {{"Type", "json-file"}, {"Config", nlohmann::json::object()}}},
                      {"Ulimits", nlohmann::json::array({{{"Name", "nofile"},
                                                          {"Soft", spec.limits.open_files},
                                                          {"Hard", spec.limits.open_files}}})}};
  if (spec.limits.memory_bytes) {
    host["Memory"] = *spec.limits.memory_bytes;
    host["MemorySwap"] = *spec.limits.memory_bytes;  // no swap beyond the limit
  }
  if (spec.limits.cpu) {
    host["NanoCpus"] = static_cast<std::int64_t>(std::llround(*spec.limits.cpu * 1e9));
  }
  if (spec.limits.memory_reservation_bytes) {
    host["MemoryReservation"] = *spec.limits.memory_reservation_bytes;
  }
  // A relative weight, 1024 per core (Docker's default for a container is 1024: one core).
  if (spec.limits.cpu_reservation) {
    host["CpuShares"] =
        std::clamp<std::int64_t>(std::llround(*spec.limits.cpu_reservation * 1024), 2, 262'144);
  }
  if (spec.limits.processes) host["PidsLimit"] = *spec.limits.processes;
  nlohmann::json mounts = nlohmann::json::array();
  for (const spec::VolumeMount& v : spec.volumes) {
    mounts.push_back(
        {{"Type", "volume"}, {"Source", v.name}, {"Target", v.target}, {"ReadOnly", v.read_only}});
  }
  if (!spec.flags_dir.empty()) {
    mounts.push_back({{"Type", "bind"},
                      {"Source", spec.flags_dir},
                      {"Target", kContainerFlagsDir},
                      {"ReadOnly", true}});
  }
  if (!mounts.empty()) host["Mounts"] = mounts;
  const std::string port = std::to_string(spec.port) + "/tcp";
  if (spec.host_network) {
    host["NetworkMode"] = "host";
  } else {
    host["NetworkMode"] = "bridge";
    host["PortBindings"] = {
        {port, nlohmann::json::array(
                   {{{"HostIp", "127.0.0.1"}, {"HostPort", std::to_string(spec.port)}}})}};
    body["ExposedPorts"] = {{port, nlohmann::json::object()}};
  }
  body["HostConfig"] = host;
  return body;
}

bool IsRootUser(const std::string& user) {
  std::string who = user.substr(0, user.find(':'));
  return who.empty() || who == "root" || who == "0";
}

Result<std::string> ContainerUser(const std::string& spec_user, bool allow_root,
                                  const std::string& image_user, const std::string& image_ref) {
  if (!spec_user.empty()) {
    if (IsRootUser(spec_user) && !allow_root) {
      return Error{"user: running as root requires `allow_root: true`"};
    }
    return spec_user;
  }
  if (IsRootUser(image_user) && !allow_root) {
    return Error{"image " + image_ref + " runs as root (its USER is " +
                 (image_user.empty() ? std::string("empty") : "\"" + image_user + "\"") +
                 "): set `user:` to a non-root user (e.g. \"65534:65534\"), build the image with "
                 "a non-root USER, or set `allow_root: true`"};
  }
  return image_user;
}

}  // namespace slipway::runtime
