#include "rollout/release_image.h"

#include <memory>

#include "runtime/container_spec.h"
#include "spec/spec_parser.h"

namespace slipway::rollout {

Result<std::string> AcceptInspectedImage(const spec::AppSpec& spec, const std::string& ref,
                                         const nlohmann::json& image) {
  std::string image_user;
  if (image.contains("Config") && image["Config"].is_object()) {
    image_user = image["Config"].value("User", "");
  }
  std::string user = spec.user_given ? spec.user : "";
  auto checked = runtime::ContainerUser(user, spec.allow_root, image_user, ref);
  if (!checked) return checked.error();
  return image.value("Id", "");
}

Result<std::string> RegistryAuthFor(const spec::AppSpec& spec, const std::string& ref) {
  if (!spec.registry || spec.registry->username.empty()) return std::string();
  const std::string& server = spec.registry->server;
  if (!ref.starts_with(server + "/")) return std::string();
  return runtime::RegistryAuthFromFile(server, spec.registry->username,
                                       spec.registry->password_file);
}

bool NamesRegistry(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return false;
  std::string host = ref.substr(0, slash);
  return host.find('.') != std::string::npos || host.find(':') != std::string::npos ||
         host == "localhost";
}

void ResolveReleaseImage(runtime::DockerEngine& engine, const spec::AppSpec& spec,
                         const std::string& pinned,
                         std::function<void(const std::string& line)> on_progress,
                         std::function<void(Result<std::string>)> done) {
  if (!pinned.empty()) {
    engine.InspectImage(
        pinned, [&engine, spec, pinned, on_progress, done](Result<nlohmann::json> image) {
          if (image) return done(AcceptInspectedImage(spec, pinned, *image));
          std::string gone = "the image this release pinned (" + pinned +
                             ") is not on the Docker engine any more: " + image.error().message;
          // A digest reference names exactly these bits in a registry: pull them back by digest
          // (never by tag), and run them only if they are the pinned image.
          const std::string ref = spec.image;
          if (ref.find("@sha256:") == std::string::npos || !NamesRegistry(ref)) {
            return done(Error{gone});
          }
          auto auth = RegistryAuthFor(spec, ref);
          if (!auth) return done(Error{gone + "; " + auth.error().message});
          engine.PullImage(
              ref, *auth, on_progress, [&engine, spec, ref, pinned, gone, done](Status pulled) {
                if (!pulled)
                  return done(Error{gone + "; pulling " + ref + ": " + pulled.error().message});
                engine.InspectImage(ref, [spec, ref, pinned, done](Result<nlohmann::json> after) {
                  if (!after) return done(after.error());
                  if (after->value("Id", "") != pinned) {
                    return done(Error{ref + " pulled as " + after->value("Id", "") +
                                      ", not the pinned image " + pinned});
                  }
                  done(AcceptInspectedImage(spec, ref, *after));
                });
              });
        });
    return;
  }
  const std::string ref = spec.image;
  if (spec.build && !spec::IsPinnedImageReference(ref)) {
    return done(
        Error{"the spec builds its image (build:) and names no digest: deploy it with "
              "`slipway deploy`, which builds it and sends the digest, or give image: "
              "REPO@sha256:..."});
  }
  engine.InspectImage(ref, [&engine, spec, ref, on_progress, done](Result<nlohmann::json> image) {
    if (image) return done(AcceptInspectedImage(spec, ref, *image));
    const std::string why = image.error().message;
    if (why.find("No such image") == std::string::npos) return done(image.error());
    if (!NamesRegistry(ref)) {
      return done(Error{why + " (the reference names no registry to pull it from; build or "
                              "load the image on this engine first)"});
    }
    auto auth = RegistryAuthFor(spec, ref);
    if (!auth) return done(auth.error());
    engine.PullImage(ref, *auth, on_progress, [&engine, spec, ref, done](Status pulled) {
      if (!pulled) return done(pulled.error());
      engine.InspectImage(ref, [spec, ref, done](Result<nlohmann::json> after) {
        if (!after) return done(after.error());
        done(AcceptInspectedImage(spec, ref, *after));
      });
    });
  });
}

}  // namespace slipway::rollout
