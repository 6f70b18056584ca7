// slipway plan [SPEC | -f compose.yaml [--profile P]] [--json] [--docker-host unix:///PATH]: what
// a deploy of these specs would change, without changing anything (docs/cli.md#plan). Reads the
// files exactly as deploy does, asks the daemon what each app runs now (GET /v1/apps,
// GET /v1/apps/APP/spec), and prints per app, in deploy order, create / update (a field diff of
// the normalised specs) / unchanged, the rollout steps, image presence and what the deploy would
// be refused for. Exits 0 when nothing would change, 1 when something would, 2 for an invalid
// spec or a deploy that would be refused, 3 without a daemon (a plan needs the current state).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "cli/cli_context.h"
#include "rollout/release_image.h"
#include "rollout/rollout_outline.h"
#include "runtime/docker_engine.h"
#include "spec/compose_reader.h"
#include "spec/spec_diff.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

struct PlanOptions {
  std::string positional;
  std::string file;
  std::vector<std::string> profiles;
  bool json = false;
  std::string docker_host = runtime::DockerEngine::DefaultHost();
};

// One app the deploy would send: the YAML the daemon would receive, parsed as the daemon would.
struct Target {
  std::string service;  // Compose service; "" for a slipway.yaml
  std::string spec_yaml;
  spec::AppSpec spec;
};

struct ImageCheck {
  std::string status;  // "present", "pull", "missing", "unknown", "build"
  std::string id;      // present: the image ID
  std::string detail;  // one readable line
};

struct AppPlan {
  Target target;
  std::string pinned_image_id;  // the serving release's image ("" : none or a process app)
  std::string action;           // "create", "update", "unchanged"
  std::optional<std::int64_t> release;
  std::vector<std::string> state_changes;  // "desired state: stopped -> running"
  std::vector<spec::FieldChange> changes;
  rollout::RolloutOutline rollout;
  std::optional<ImageCheck> image;
  std::vector<std::string> refusals;
  std::vector<std::string> notes;
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The targets in deploy order, with deploy's own diagnostics on stderr; nullopt (exit 2) when
// deploy would refuse the files.
std::optional<std::vector<Target>> ReadTargets(Context& ctx, const std::string& file,
                                               const std::vector<std::string>& profiles) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path abs = fs::absolute(file, ec);
  const std::string dir = abs.parent_path().string();
  auto fail = [&ctx](std::string why) -> std::optional<std::vector<Target>> {
    std::cerr << why << "\n";
    ctx.exit_code = kExitBadInput;
    return std::nullopt;
  };
  std::vector<std::pair<std::string, std::string>> sent;  // service, spec_yaml
  if (spec::LooksLikeComposeFile(file)) {
    spec::ComposeOutcome compose = spec::ReadComposeFile(file, profiles);
    for (const auto& w : compose.warnings) std::cerr << w.ToString() << "\n";
    for (const auto& d : compose.errors) std::cerr << d.ToString() << "\n";
    if (!compose.ok()) {
      return fail(
          fmt::format("slipway: {} has {} problem(s); no plan", file, compose.errors.size()));
    }
    if (compose.services.empty()) {
      return fail(fmt::format("slipway: {}: no active service (check --profile); no plan", file));
    }
    for (const auto& s : compose.services) sent.emplace_back(s.service, s.spec_yaml);
  } else {
    auto parsed = spec::ParseAppSpecFile(file);
    if (!parsed.spec) {
      for (const auto& d : parsed.diagnostics) std::cerr << d.ToString() << "\n";
      return fail(
          fmt::format("slipway: {} has {} problem(s); no plan", file, parsed.diagnostics.size()));
    }
    sent.emplace_back("", ReadText(file));
  }
  std::vector<Target> out;
  for (auto& [service, yaml] : sent) {
    // What the daemon parses: the text deploy sends, with the absolute file and its directory.
    auto parsed = spec::ParseAppSpec(yaml, abs.string(), dir);
    if (!parsed.spec) {
      for (const auto& d : parsed.diagnostics) std::cerr << d.ToString() << "\n";
      return fail(fmt::format("slipway: {} does not parse as the daemon reads it; no plan", file));
    }
    out.push_back({service, std::move(yaml), std::move(*parsed.spec)});
  }
  return out;
}

// Asks the Docker engine this CLI reaches whether the image is there, and checks it as the
// deploy will (AcceptInspectedImage).
ImageCheck CheckImage(const std::string& docker_host, const spec::AppSpec& spec) {
  const std::string& ref = spec.image;
  auto socket = runtime::DockerEngine::SocketPathOf(docker_host);
  if (!socket) {
    return {"unknown", "", "image presence unknown: " + socket.error().message};
  }
  boost::asio::io_context io;
  runtime::DockerEngine engine(io, *socket);
  Result<nlohmann::json> inspected = Error{"no answer"};
  engine.InspectImage(ref, [&inspected](Result<nlohmann::json> r) { inspected = std::move(r); });
  io.run();
  if (inspected) {
    auto accepted = rollout::AcceptInspectedImage(spec, ref, *inspected);
    if (!accepted) return {"refused", "", accepted.error().message};
    return {"present", *accepted,
            fmt::format("{} is present on the Docker engine at {} ({})", ref, *socket, *accepted)};
  }
  const std::string why = inspected.error().message;
  if (why.find("No such image") == std::string::npos) {
    return {"unknown", "",
            fmt::format("image presence unknown: the Docker engine at {} did not answer: {}",
                        *socket, why)};
  }
  if (!rollout::NamesRegistry(ref)) {
    return {"missing", "",
            fmt::format("{} is not on the Docker engine at {} and names no registry to pull it "
                        "from; build or load it first",
                        ref, *socket)};
  }
  return {"pull", "",
          fmt::format("{} is not on the Docker engine at {}; the deploy pulls it", ref, *socket)};
}

// The plan of one app against what the daemon reports; nullopt after a transport failure.
std::optional<AppPlan> PlanApp(Context& ctx, api::AdminClient& client, Target target,
                               const nlohmann::json* status, const nlohmann::json& all_apps,
                               const std::string& docker_host) {
  AppPlan plan;
  plan.target = std::move(target);
  const spec::AppSpec& next = plan.target.spec;
  std::optional<int> serving_replicas;
  plan.action = "create";
  if (status != nullptr) {
    auto res = ctx.Call(client, "GET", "/v1/apps/" + next.app + "/spec");
    if (!res) return std::nullopt;
    const bool stopped = status->value("desired_state", "running") == "stopped";
    if (res->status == 200 && res->body.value("serving", false)) {
      const nlohmann::json& body = res->body;
      plan.release = body.value("release", std::int64_t{0});
      plan.pinned_image_id = body.value("image_id", "");
      auto old = spec::ParseAppSpec(body.value("spec_yaml", ""), body.value("spec_file", ""),
                                    body.value("base_dir", ""));
      if (!old.spec) {
        plan.notes.push_back(fmt::format(
            "the spec of release {} no longer parses; every field is shown as new", *plan.release));
        plan.changes = spec::DiffAppSpecs(spec::AppSpec{}, next);
      } else {
        plan.changes = spec::DiffAppSpecs(*old.spec, next);
        if (!stopped) serving_replicas = old.spec->replicas;
      }
      if (stopped) {
        plan.state_changes.push_back("desired state: stopped -> running");
        serving_replicas.reset();  // a deploy after a stop starts from nothing
      }
      plan.action = plan.changes.empty() && plan.state_changes.empty() ? "unchanged" : "update";
    } else if (res->status == 200) {
      plan.notes.push_back(fmt::format("release {} exists but none serves; this deploy creates it",
                                       res->body.value("release", std::int64_t{0})));
    } else if (res->status != 404) {
      plan.notes.push_back("the daemon did not give the serving spec: " +
                           res->body.value("error", fmt::format("HTTP {}", res->status)));
    }
    if (!status->value("deploying_release", nlohmann::json()).is_null()) {
      plan.refusals.push_back(fmt::format(
          "a deploy of {} is in progress (release {}); the daemon refuses another until it ends",
          next.app, status->value("deploying_release", nlohmann::json()).dump()));
    }
  }
  // Another app listening where this one wants to: the proxy could not bind it.
  const std::string& listen = next.proxy.listen;
  if (!listen.empty() && !listen.ends_with(":0")) {
    for (const auto& other : all_apps) {
      if (other.value("app", "") != next.app && other.value("listen", "") == listen) {
        plan.refusals.push_back(fmt::format("proxy.listen {} is where {} serves already", listen,
                                            other.value("app", "")));
      }
    }
  }
  plan.rollout = rollout::OutlineRollout(next, serving_replicas);
  if (next.build) {
    // deploy builds it first: what it will run is not known until then.
    std::string where = next.registry ? ", pushes it to " + next.registry->server : "";
    plan.image = ImageCheck{"build", "",
                            fmt::format("deploy builds {} from {} ({}){} and runs it by digest",
                                        next.image.empty() ? next.app : next.image,
                                        next.build->context, next.build->dockerfile, where)};
  } else if (!next.image.empty()) {
    plan.image = CheckImage(docker_host, next);
    if (plan.image->status == "missing" || plan.image->status == "refused") {
      plan.refusals.push_back(plan.image->detail);
    }
    // The same reference can name other bits: a mutable tag re-pointed since the release.
    if (plan.image->status == "present" && !plan.pinned_image_id.empty() &&
        plan.image->id != plan.pinned_image_id &&
        std::none_of(plan.changes.begin(), plan.changes.end(),
                     [](const spec::FieldChange& c) { return c.path == "image"; })) {
      plan.changes.push_back({.path = "image_id",
                              .kind = spec::ChangeKind::kChanged,
                              .before = plan.pinned_image_id,
                              .after = plan.image->id});
      if (plan.action == "unchanged") plan.action = "update";
    }
  }
  return plan;
}

nlohmann::json ToJson(const AppPlan& p) {
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : p.changes) {
    nlohmann::json j = {{"field", c.path}, {"kind", spec::ChangeKindName(c.kind)}};
    if (c.secret) {
      j["secret"] = true;
    } else {
      if (c.kind != spec::ChangeKind::kAdded) j["before"] = c.before;
      if (c.kind != spec::ChangeKind::kRemoved) j["after"] = c.after;
    }
    changes.push_back(std::move(j));
  }
  nlohmann::json out = {{"app", p.target.spec.app},
                        {"action", p.action},
                        {"release", p.release ? nlohmann::json(*p.release) : nlohmann::json()},
                        {"state_changes", p.state_changes},
                        {"changes", changes},
                        {"rollout",
                         {{"strategy", p.rollout.strategy},
                          {"summary", p.rollout.summary},
                          {"steps", p.rollout.steps},
                          {"replicas_started", p.rollout.started},
                          {"replicas_stopped", p.rollout.stopped}}},
                        {"refusals", p.refusals},
                        {"notes", p.notes}};
  if (!p.target.service.empty()) out["service"] = p.target.service;
  if (p.image) {
    out["image"] = {{"ref", p.target.spec.image},
                    {"status", p.image->status},
                    {"id", p.image->id},
                    {"detail", p.image->detail}};
  }
  return out;
}

void PrintText(const AppPlan& p) {
  const std::string& app = p.target.spec.app;
  const std::string service = p.target.service.empty() ? "" : " (service " + p.target.service + ")";
  if (p.action == "create") {
    std::cout << fmt::format("+ create {}{}\n", app, service);
  } else if (p.action == "update") {
    std::cout << fmt::format("~ update {}{} (release {} -> new)\n", app, service, *p.release);
  } else {
    std::cout << fmt::format("= unchanged {}{} (release {})\n", app, service, *p.release);
  }
  for (const auto& s : p.state_changes) std::cout << "    " << s << "\n";
  for (const auto& c : p.changes) {
    if (p.action == "update") std::cout << "    " << c.ToString() << "\n";
  }
  for (const auto& n : p.notes) std::cout << "  note: " << n << "\n";
  if (p.action == "unchanged") {
    std::cout << "  a deploy would still start a new release of the same spec:\n";
  }
  std::cout << "  rollout: " << p.rollout.summary << "\n";
  for (const auto& s : p.rollout.steps) std::cout << "    - " << s << "\n";
  std::cout << fmt::format("  replicas: {} started, {} stopped\n", p.rollout.started,
                           p.rollout.stopped);
  if (p.image) std::cout << "  image: " << p.image->detail << "\n";
  for (const auto& r : p.refusals) std::cout << "  refused: " << r << "\n";
}

void RunPlan(Context& ctx, PlanOptions opt) {
  if (!opt.positional.empty() && !opt.file.empty() && opt.positional != opt.file) {
    std::cerr << "slipway plan: give the spec once (SPEC or -f FILE)\n";
    ctx.exit_code = kExitBadInput;
    return;
  }
  const std::string file =
      !opt.file.empty() ? opt.file : (!opt.positional.empty() ? opt.positional : "slipway.yaml");
  auto targets = ReadTargets(ctx, file, opt.profiles);
  if (!targets) return;

  api::AdminClient client(ctx.SocketPath());
  auto res = client.Call("GET", "/v1/apps", nullptr);
  if (!res) {
    std::cerr << fmt::format(
        "slipway plan: {}\nslipway plan: cannot see what the daemon runs, so there is no plan "
        "(start it with `slipway daemon`)\n",
        res.error().message);
    ctx.exit_code = kExitNoDaemon;
    return;
  }
  if (res->status != 200) return ctx.FailFrom(*res);
  const nlohmann::json all_apps = res->body.value("apps", nlohmann::json::array());
  std::vector<AppPlan> plans;
  for (Target& t : *targets) {
    const nlohmann::json* status = nullptr;
    for (const auto& a : all_apps) {
      if (a.value("app", "") == t.spec.app) status = &a;
    }
    auto plan = PlanApp(ctx, client, std::move(t), status, all_apps, opt.docker_host);
    if (!plan) return;
    plans.push_back(std::move(*plan));
  }

  std::map<std::string, int> counts = {{"create", 0}, {"update", 0}, {"unchanged", 0}};
  std::size_t refusals = 0;
  for (const auto& p : plans) {
    ++counts[p.action];
    refusals += p.refusals.size();
  }
  if (opt.json) {
    nlohmann::json apps = nlohmann::json::array();
    for (const auto& p : plans) apps.push_back(ToJson(p));
    std::cout << nlohmann::json{{"file", file},
                                {"apps", apps},
                                {"create", counts["create"]},
                                {"update", counts["update"]},
                                {"unchanged", counts["unchanged"]},
                                {"refused", refusals}}
                     .dump(2)
              << "\n";
  } else {
    if (plans.size() > 1) {
      std::string order;
      for (const auto& p : plans) order += (order.empty() ? "" : ", ") + p.target.spec.app;
      std::cout << fmt::format("{}: {} apps in deploy order: {}\n", file, plans.size(), order);
    }
    for (const auto& p : plans) PrintText(p);
    std::cout << fmt::format("Plan: {} to create, {} to update, {} unchanged.\n", counts["create"],
                             counts["update"], counts["unchanged"]);
    if (refusals) {
      std::cout << fmt::format("The deploy would be refused: {} problem(s) above.\n", refusals);
    }
  }
  if (refusals) {
    ctx.exit_code = kExitBadInput;
  } else if (counts["create"] + counts["update"] > 0) {
    ctx.exit_code = kExitPlanChanges;
  }
}

}  // namespace

void RegisterPlan(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand(
      "plan",
      "Show what `slipway deploy` of a spec or Compose file would change, changing nothing:\n"
      "per app create / update (a field diff) / unchanged, the rollout steps, image presence.\n"
      "Exits 0 when nothing would change, 1 when something would, 2 when the spec is invalid\n"
      "or the deploy would be refused, 3 when the daemon is not running.");
  cmd->add_option("spec", opt->positional, "the app spec or Compose file (default slipway.yaml)");
  cmd->add_option("-f,--file", opt->file, "the app spec, or a Compose file (compose.yaml)");
  cmd->add_option("--profile", opt->profiles, "Compose: activate services of this profile");
  cmd->add_flag("--json", opt->json, "print the plan as JSON");
  cmd->add_option("--docker-host", opt->docker_host,
                  "the Docker engine asked whether images are present")
      ->capture_default_str();
  cmd->callback([&ctx, opt] { RunPlan(ctx, *opt); });
}

}  // namespace slipway::cli
