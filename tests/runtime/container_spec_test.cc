// The container-create body: hardened by default, the spec's limits, labels and networking.
#include "runtime/container_spec.h"

#include <gtest/gtest.h>

namespace slipway::runtime {
namespace {

ContainerSpec Hello() {
  ContainerSpec c;
  c.name = "slipway-hello-r3-1";
  c.app = "hello";
  c.release = 3;
  c.replica = 1;
  c.owner = "/var/lib/slipway";
  c.image = "sha256:" + std::string(64, 'a');
  c.env = {{"PORT", "8123"}, {"VERSION", "v3"}};
  c.port = 8123;
  return c;
}

TEST(ContainerSpecTest, IsHardenedByDefault) {
  nlohmann::json body = ContainerCreateBody(Hello(), "tok");
  const auto& host = body["HostConfig"];
  EXPECT_EQ(host["SecurityOpt"], nlohmann::json::array({"no-new-privileges"}));
  EXPECT_EQ(host["CapDrop"], nlohmann::json::array({"ALL"}));
  EXPECT_EQ(host["CapAdd"], nlohmann::json::array());
  EXPECT_EQ(host["RestartPolicy"]["Name"], "no");  // Slipway restarts, with its back-off
  EXPECT_EQ(host["ReadonlyRootfs"], false);
  EXPECT_EQ(host["NetworkMode"], "host");
  EXPECT_FALSE(host.contains("PortBindings"));
  EXPECT_FALSE(host.contains("Memory"));
  EXPECT_FALSE(host.contains("MemoryReservation"));
  EXPECT_FALSE(host.contains("CpuShares"));
  EXPECT_FALSE(host.contains("Mounts"));
  EXPECT_EQ(host["Ulimits"][0]["Name"], "nofile");
  EXPECT_EQ(body["Image"], "sha256:" + std::string(64, 'a'));
  EXPECT_FALSE(body.contains("User")) << "the image's USER, checked at deploy";
  EXPECT_FALSE(body.contains("Entrypoint"));
  EXPECT_FALSE(body.contains("Cmd"));
  EXPECT_EQ(body["Env"], nlohmann::json::array({"PORT=8123", "VERSION=v3"}));
  EXPECT_EQ(body["StopSignal"], "SIGTERM");
  EXPECT_EQ(body["StopTimeout"], 10);
  EXPECT_EQ(body["Labels"]["slipway.app"], "hello");
  EXPECT_EQ(body["Labels"]["slipway.release"], "3");
  EXPECT_EQ(body["Labels"]["slipway.replica"], "1");
  EXPECT_EQ(body["Labels"]["slipway.replica-token"], "tok");
  EXPECT_EQ(body["Labels"]["slipway.owner"], "/var/lib/slipway");
}

TEST(ContainerSpecTest, CarriesLimitsCapabilitiesVolumesAndOverrides) {
  ContainerSpec c = Hello();
  c.limits.memory_bytes = 64 << 20;
  c.limits.cpu = 0.25;
  c.limits.processes = 50;
  c.limits.open_files = 256;
  c.cap_add = {"NET_BIND_SERVICE"};
  c.read_only_rootfs = true;
  c.volumes = {{.name = "data", .target = "/data"},
               {.name = "conf", .target = "/etc/app", .read_only = true}};
  c.entrypoint = "/bin/app";
  c.args = std::vector<std::string>{"--serve"};
  c.user = "1000:1000";
  c.workdir = "/data";
  c.stop_signal = "SIGQUIT";
  c.grace_period = Millis{2500};
  nlohmann::json body = ContainerCreateBody(c, "tok");
  const auto& host = body["HostConfig"];
  EXPECT_EQ(host["Memory"], 64 << 20);
  EXPECT_EQ(host["MemorySwap"], 64 << 20);
  EXPECT_EQ(host["NanoCpus"], 250'000'000);
  EXPECT_EQ(host["PidsLimit"], 50);
  EXPECT_EQ(host["Ulimits"][0]["Soft"], 256);
  EXPECT_EQ(host["CapAdd"], nlohmann::json::array({"NET_BIND_SERVICE"}));
  EXPECT_EQ(host["CapDrop"], nlohmann::json::array({"ALL"}));
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  ASSERT_EQ(host["Mounts"].size(), 2u);
  EXPECT_EQ(
      host["Mounts"][0],
      nlohmann::json(
          {{"Type", "volume"}, {"Source", "data"}, {"Target", "/data"}, {"ReadOnly", false}}));
  EXPECT_EQ(host["Mounts"][1]["ReadOnly"], true);
  EXPECT_EQ(body["Entrypoint"], nlohmann::json::array({"/bin/app"}));
  EXPECT_EQ(body["Cmd"], nlohmann::json::array({"--serve"}));
  EXPECT_EQ(body["User"], "1000:1000");
  EXPECT_EQ(body["WorkingDir"], "/data");
  EXPECT_EQ(body["StopSignal"], "SIGQUIT");
  EXPECT_EQ(body["StopTimeout"], 3);
}

TEST(ContainerSpecTest, ReservationsBecomeMemoryReservationAndCpuShares) {
  ContainerSpec c = Hello();
  c.limits.memory_bytes = 64 << 20;
  c.limits.memory_reservation_bytes = 16 << 20;
  c.limits.cpu_reservation = 0.5;
  nlohmann::json host = ContainerCreateBody(c, "tok")["HostConfig"];
  EXPECT_EQ(host["Memory"], 64 << 20);
  EXPECT_EQ(host["MemoryReservation"], 16 << 20);
  EXPECT_EQ(host["CpuShares"], 512);  // 1024 a core: a container's default weight is one core
  EXPECT_FALSE(host.contains("NanoCpus"));
  c.limits.cpu_reservation = 0.001;  // the kernel's minimum weight
  EXPECT_EQ(ContainerCreateBody(c, "tok")["HostConfig"]["CpuShares"], 2);
}

TEST(ContainerSpecTest, TheFlagsDirectoryIsMountedReadOnly) {
  ContainerSpec c = Hello();
  c.flags_dir = "/var/lib/slipway/flags/hello";
  nlohmann::json host = ContainerCreateBody(c, "tok")["HostConfig"];
  ASSERT_EQ(host["Mounts"].size(), 1u);
  EXPECT_EQ(host["Mounts"][0], (nlohmann::json{{"Type", "bind"},
                                               {"Source", "/var/lib/slipway/flags/hello"},
                                               {"Target", "/run/slipway"},
                                               {"ReadOnly", true}}));
}

TEST(ContainerSpecTest, BridgePublishesThePortOnLoopbackOnly) {
  ContainerSpec c = Hello();
  c.host_network = false;
  nlohmann::json body = ContainerCreateBody(c, "tok");
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "bridge");
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["8123/tcp"],
            nlohmann::json::parse(R"([{"HostIp":"127.0.0.1","HostPort":"8123"}])"));
  EXPECT_TRUE(body["ExposedPorts"].contains("8123/tcp"));
}

TEST(ContainerUserTest, RefusesRootUnlessAllowed) {
  EXPECT_TRUE(IsRootUser(""));
  EXPECT_TRUE(IsRootUser("root"));
  EXPECT_TRUE(IsRootUser("0:0"));
  EXPECT_FALSE(IsRootUser("65534:65534"));
  EXPECT_FALSE(IsRootUser("nobody"));

  EXPECT_EQ(ContainerUser("", false, "65534:65534", "hello:v1").value(), "65534:65534");
  auto refused = ContainerUser("", false, "", "busybox:1");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("image busybox:1 runs as root (its USER is empty)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("allow_root: true"), std::string::npos);
  EXPECT_FALSE(ContainerUser("", false, "root", "x"));
  EXPECT_EQ(ContainerUser("", true, "", "x").value(), "");
  // The spec's user wins over the image's.
  EXPECT_EQ(ContainerUser("1000", false, "", "x").value(), "1000");
  EXPECT_FALSE(ContainerUser("0", false, "65534", "x"));
}

}  // namespace
}  // namespace slipway::runtime
