// `image:` and the `docker:` block: what selects the docker driver and how it is configured.
#include <gtest/gtest.h>

#include "spec/docker_reader.h"
#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

const std::string kId = "sha256:" + std::string(64, 'a');

AppSpec ParseOk(const std::string& text) {
  ParseOutcome outcome = ParseAppSpec(text, "app.yaml", "/srv");
  for (const Diagnostic& d : outcome.diagnostics) ADD_FAILURE() << d.ToString();
  return outcome.spec.value_or(AppSpec{});
}

TEST(DockerSpecTest, AnImageNeedsNoCommandAndKeepsTheImagesDefaults) {
  AppSpec spec = ParseOk("app: hello\nimage: " + kId + "\n");
  EXPECT_EQ(spec.image, kId);
  EXPECT_EQ(spec.command, "");
  EXPECT_FALSE(spec.args_given);
  EXPECT_FALSE(spec.user_given);
  EXPECT_FALSE(spec.workdir_given);
  EXPECT_FALSE(spec.allow_mutable_tag);
  EXPECT_EQ(spec.docker.network, DockerNetwork::kHost);
  EXPECT_FALSE(spec.docker.read_only);
  EXPECT_TRUE(spec.docker.cap_add.empty());
  EXPECT_TRUE(spec.docker.volumes.empty());
  EXPECT_EQ(spec.image_id, "") << "the parser never pins; the rollout does";
}

TEST(DockerSpecTest, EveryDockerOption) {
  AppSpec spec = ParseOk(
      "app: hello\n"
      "image: registry.example.com:5000/team/hello@sha256:" +
      std::string(64, 'b') +
      "\n"
      "command: /bin/hello\n"
      "args: [--serve]\n"
      "user: \"1000\"\n"
      "workdir: /data\n"
      "docker:\n"
      "  network: bridge\n"
      "  read_only: true\n"
      "  cap_add: [net_bind_service, CAP_CHOWN, NET_BIND_SERVICE]\n"
      "  volumes:\n"
      "    - {name: data, target: /data}\n"
      "    - name: conf\n"
      "      target: /etc/hello\n"
      "      read_only: true\n");
  EXPECT_EQ(spec.command, "/bin/hello") << "a path inside the image, not resolved on the host";
  EXPECT_EQ(spec.args, std::vector<std::string>{"--serve"});
  EXPECT_TRUE(spec.args_given);
  EXPECT_TRUE(spec.user_given);
  EXPECT_EQ(spec.user, "1000");
  EXPECT_TRUE(spec.workdir_given);
  EXPECT_EQ(spec.docker.network, DockerNetwork::kBridge);
  EXPECT_TRUE(spec.docker.read_only);
  EXPECT_EQ(spec.docker.cap_add, (std::vector<std::string>{"NET_BIND_SERVICE", "CHOWN"}));
  ASSERT_EQ(spec.docker.volumes.size(), 2u);
  EXPECT_EQ(spec.docker.volumes[0].name, "data");
  EXPECT_EQ(spec.docker.volumes[0].target, "/data");
  EXPECT_FALSE(spec.docker.volumes[0].read_only);
  EXPECT_TRUE(spec.docker.volumes[1].read_only);
}

TEST(DockerSpecTest, AMutableTagOnlyWhenAllowed) {
  AppSpec spec = ParseOk("app: hello\nimage: hello:v2\nallow_mutable_tag: true\n");
  EXPECT_EQ(spec.image, "hello:v2");
  EXPECT_TRUE(spec.allow_mutable_tag);
  ParseOutcome refused = ParseAppSpec("app: hello\nimage: busybox\n", "app.yaml", "/srv");
  ASSERT_EQ(refused.diagnostics.size(), 1u);
  EXPECT_NE(refused.diagnostics[0].ToString().find("\"busybox\" is a mutable tag"),
            std::string::npos)
      << refused.diagnostics[0].ToString();
}

TEST(DockerSpecTest, PinnedReferences) {
  EXPECT_TRUE(IsPinnedImageReference(kId));
  EXPECT_TRUE(IsPinnedImageReference("hello@" + kId));
  EXPECT_TRUE(IsPinnedImageReference("127.0.0.1:5000/hello:v1@" + kId));
  EXPECT_FALSE(IsPinnedImageReference("hello:v1"));
  EXPECT_FALSE(IsPinnedImageReference("hello"));
  EXPECT_FALSE(IsPinnedImageReference("sha256:abc"));
  EXPECT_FALSE(IsPinnedImageReference("hello@sha256:" + std::string(64, 'A')));
}

TEST(DockerSpecTest, RootStillNeedsAllowRoot) {
  ParseOutcome refused =
      ParseAppSpec("app: hello\nimage: " + kId + "\nuser: root\n", "app.yaml", "/srv");
  ASSERT_EQ(refused.diagnostics.size(), 1u);
  EXPECT_NE(refused.diagnostics[0].message.find("allow_root: true"), std::string::npos);
  AppSpec spec = ParseOk("app: hello\nimage: " + kId + "\nuser: \"0\"\nallow_root: true\n");
  EXPECT_EQ(spec.user, "0");
}

TEST(DockerSpecTest, BuildWithARegistryNamesTheRepositoryUnderIt) {
  AppSpec spec = ParseOk(
      "app: hello\n"
      "build: {context: app, dockerfile: docker/Dockerfile.web, args: {VERSION: \"2\"}}\n"
      "registry: {server: \"127.0.0.1:5000\", username: ci, password_file: reg.pass}\n");
  ASSERT_TRUE(spec.build);
  EXPECT_EQ(spec.build->context, "/srv/app");
  EXPECT_EQ(spec.build->dockerfile, "docker/Dockerfile.web");
  EXPECT_EQ(spec.build->args, (std::map<std::string, std::string>{{"VERSION", "2"}}));
  ASSERT_TRUE(spec.registry);
  EXPECT_EQ(spec.registry->server, "127.0.0.1:5000");
  EXPECT_EQ(spec.registry->username, "ci");
  EXPECT_EQ(spec.registry->password_file, "/srv/reg.pass");
  EXPECT_EQ(spec.image, "127.0.0.1:5000/hello") << "the app's name is the default repository";
  EXPECT_EQ(spec.command, "") << "build: selects the docker driver";

  AppSpec plain = ParseOk("app: hello\nbuild: .\nimage: team/web\nregistry: reg.local:5000\n");
  EXPECT_EQ(plain.build->context, "/srv");
  EXPECT_EQ(plain.build->dockerfile, "Dockerfile");
  EXPECT_EQ(plain.image, "reg.local:5000/team/web");
  EXPECT_EQ(plain.registry->username, "");
  // A digest (what --no-build deploys) and a reference naming its own registry stay as written.
  const std::string pinned = "other.io/web@" + kId;
  EXPECT_EQ(ParseOk("app: hello\nbuild: .\nimage: " + pinned + "\nregistry: r:1\n").image, pinned);
  EXPECT_EQ(ParseOk("app: hello\nimage: web@" + kId + "\nregistry: r:1\n").image, "r:1/web@" + kId);
  EXPECT_EQ(ParseOk("app: hello\nimage: " + kId + "\nregistry: r:1\n").image, kId);
}

TEST(DockerSpecTest, BuildAndRegistryMistakes) {
  auto first = [](const std::string& text) {
    ParseOutcome o = ParseAppSpec(text, "app.yaml", "/srv");
    return o.diagnostics.empty() ? std::string("(none)") : o.diagnostics[0].ToString();
  };
  EXPECT_EQ(first("app: hello\nbuild: .\nimage: web:v1\n"),
            "app.yaml:3:8: image: \"web:v1\" has a tag; with build: image names only the "
            "repository (the build tags it git-<commit> or ctx-<digest>)");
  EXPECT_EQ(first("app: hello\nbuild: {dockerfile: ../Dockerfile}\n"),
            "app.yaml:2:21: build.dockerfile: \"../Dockerfile\" must be a relative path inside "
            "the build context");
  EXPECT_EQ(first("app: hello\nbuild: .\nregistry: {server: r:1, username: u, password: x}\n"),
            "app.yaml:3:38: registry.password: a password is never written in the spec; put it "
            "in a file only the daemon's user can read and name it in registry.password_file");
  EXPECT_EQ(first("app: hello\nbuild: .\nregistry: {server: r:1, username: u}\n"),
            "app.yaml:3:35: registry.username: needs registry.password_file (the file holding "
            "the password)");
  EXPECT_EQ(first("app: hello\nbuild: .\nregistry: http://r:1\n"),
            "app.yaml:3:11: registry: \"http://r:1\" is not a registry host[:port] (e.g. "
            "127.0.0.1:5000; lowercase, no scheme or path)");
  EXPECT_EQ(first("app: hello\ncommand: ./hello\nregistry: r:1\n"),
            "app.yaml:3:1: registry: applies only with `image:` or `build:`");
  EXPECT_EQ(first("app: hello\nbuild: {args: {1X: a}}\n"),
            "app.yaml:2:16: build.args: \"1X\" is not a valid ARG name (letters, digits and "
            "'_', not starting with a digit)");
}

}  // namespace
}  // namespace slipway::spec
