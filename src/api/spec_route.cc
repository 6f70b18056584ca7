#include "api/spec_route.h"

namespace slipway::api {
namespace {

ApiResponse Fail(int status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

}  // namespace

ApiResponse AppSpecResponse(state::ReleaseStore& store, const std::string& app) {
  auto record = store.GetApp(app);
  if (!record) return Fail(500, record.error().message);
  if (!record->has_value()) return Fail(404, "no app named " + app);
  std::optional<std::int64_t> number = (*record)->current_release;
  const bool serving = number.has_value();
  if (!number) {
    auto releases = store.ListReleases(app);
    if (!releases) return Fail(500, releases.error().message);
    if (!releases->empty()) number = releases->back().number;
  }
  if (!number) return Fail(404, app + " has no release");
  auto release = store.GetRelease(app, *number);
  if (!release) return Fail(500, release.error().message);
  if (!release->has_value()) return Fail(404, app + " has no release " + std::to_string(*number));
  const state::Release& r = **release;
  return {200,
          {{"app", app},
           {"release", r.number},
           {"serving", serving},
           {"spec_file", r.spec_file},
           {"base_dir", r.base_dir},
           {"spec_yaml", r.spec_yaml},
           // docker: the image the release pinned, so a client can tell a re-pointed tag.
           {"image_id", r.image_id}}};
}

}  // namespace slipway::api
