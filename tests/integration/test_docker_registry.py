"""The registry and the build -> deploy flow against a private dockerd (with a bridge of its own)
and a private registry, one of each for the class:
- an image that exists only in the registry is pulled by digest at deploy, with a concise
  progress line in the deploy's output, and serves;
- `docker: {network: bridge}` serves through the proxy, the container's port published on
  127.0.0.1 only;
- a spec with `build:` and `registry:` deploys with one `slipway deploy` (built, pushed, run by
  digest), and `slipway releases` shows that digest; so does a Compose service with `build:`
  and `x-slipway.registry`."""

import json
import os
import re
import shutil
import unittest

from docker_harness import DOCKERFILE, HELLO_STATIC, DockerTestCase, dockerd_path, registry_path
from harness import http_get, wait_until
from test_docker_deploy import docker_spec, slipway_containers


@unittest.skipUnless(dockerd_path() and registry_path(),
                     "needs dockerd and docker-registry (apt-get install docker.io docker-registry)")
class DockerRegistryTest(DockerTestCase):
    use_registry = True
    bridge = True

    def deploy(self, spec, *args):
        res = self.daemon.cli("deploy", "-f", spec, "--docker-host", self.dockerd.host, *args,
                              timeout=300)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return res.stdout

    def test_an_image_only_in_the_registry_is_pulled_by_digest_with_a_progress_line(self):
        repo = f"{self.registry.host}/pulled"
        image_id = self.engine.build_hello(f"{repo}:v1", "pulled")
        digest = self.engine.push(f"{repo}:v1")
        self.assertRegex(digest, r"^sha256:[0-9a-f]{64}$")
        status, raw = self.engine.request("DELETE", f"/images/{image_id}?force=1")
        self.assertEqual(status, 200, raw)
        self.assertEqual(self.engine.request("GET", f"/images/{image_id}/json")[0], 404)

        out = self.deploy(docker_spec(self.ws, "pulled.yaml", f"{repo}@{digest}", self.port,
                                      "pulled", replicas=1))
        shown = f"{repo}@{digest[:19]}..."
        # One folded line per layer event, never Docker's raw per-layer lines.
        self.assertRegex(out, rf"  pulling {re.escape(shown)}: [01]/1 layers, [0-9.]+ [kM]?B\n")
        self.assertRegex(out, rf"pulled {re.escape(shown)}: 1/1 layers, [0-9.]+ [kM]?B\n")
        self.assertNotIn("Pulling fs layer", out)
        self.assertIn(f"runs image {image_id} ({repo}@{digest})", out)
        self.assertIn("Hello from pulled", http_get(self.port)[1])
        self.assertEqual(self.engine.image_id(f"{repo}@{digest}"), image_id)

    def test_bridge_network_serves_through_the_proxy_published_on_loopback_only(self):
        self.engine.build_hello("bridged:v1", "bridged")
        image_id = self.engine.image_id("bridged:v1")
        spec = docker_spec(self.ws, "bridge.yaml", image_id, self.port, "bridged", replicas=2,
                           env={"HOST": "0.0.0.0"})
        with open(spec) as f:
            text = f.read()
        with open(spec, "w") as f:
            f.write(text.replace("docker:\n  read_only: true\n",
                                 "docker:\n  read_only: true\n  network: bridge\n"))
        self.deploy(spec)
        self.assertIn("Hello from bridged", http_get(self.port)[1])
        running = slipway_containers(self.engine)
        self.assertEqual(len(running), 2)
        for c in running:
            info = self.engine.inspect(c["Id"])
            self.assertEqual(info["HostConfig"]["NetworkMode"], "bridge")
            bindings = info["HostConfig"]["PortBindings"]
            self.assertEqual(len(bindings), 1, bindings)
            (container_port, host), = bindings.items()
            self.assertEqual([b["HostIp"] for b in host], ["127.0.0.1"], bindings)
            published = info["NetworkSettings"]["Ports"][container_port]
            self.assertEqual({p["HostIp"] for p in published}, {"127.0.0.1"}, published)
            # The replica answers on the published loopback port: the proxy's backend.
            host_port = int(published[0]["HostPort"])
            self.assertEqual(container_port, f"{host_port}/tcp")
            self.assertEqual(http_get(host_port, "/up")[0], 200)

    def test_a_spec_with_build_and_registry_deploys_with_one_command_by_digest(self):
        ctx = os.path.join(self.ws.dir, "app")
        os.makedirs(os.path.join(ctx, "docker"))
        # A Dockerfile that is not at the context's root, and a build argument it uses.
        with open(DOCKERFILE) as f:
            text = f.read()
        with open(os.path.join(ctx, "docker", "Dockerfile.web"), "w") as f:
            f.write(text.replace("FROM scratch\n",
                                 "FROM scratch\nARG FLAVOUR\nLABEL org.slipway.flavour=$FLAVOUR\n"))
        shutil.copy(HELLO_STATIC, os.path.join(ctx, "hello"))
        os.chmod(os.path.join(ctx, "hello"), 0o755)
        spec = os.path.join(ctx, "slipway.yaml")
        with open(spec, "w") as f:
            f.write("app: built\n"
                    "build:\n  context: .\n  dockerfile: docker/Dockerfile.web\n"
                    "  args: {FLAVOUR: mint}\n"
                    f"registry: {self.registry.host}\n"
                    "env: {VERSION: built}\n"
                    "readiness: {type: http, path: /up, interval: 200ms}\n"
                    f"proxy: {{listen: 127.0.0.1:{self.port}}}\n")
        out = self.deploy(spec)
        repo = f"{self.registry.host}/built"
        m = re.search(rf"^image: {re.escape(repo)}@(sha256:[0-9a-f]{{64}})$", out, re.M)
        self.assertTrue(m, out)
        digest = m.group(1)
        tag = re.search(rf"Pushed {re.escape(repo)}:(ctx-[0-9a-f]{{12}}): {digest}", out)
        self.assertTrue(tag, out)
        self.assertEqual(self.registry.manifest_digest("built", tag.group(1)), digest)
        self.assertIn("OK: release 1 of built is serving.", out)
        self.assertIn("Hello from built", http_get(self.port)[1])
        image = self.engine.json("GET", f"/images/{repo}@{digest}/json")
        self.assertEqual(image["Config"]["Labels"]["org.slipway.flavour"], "mint")

        res = self.daemon.cli("releases", "built")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn(f"{repo}@{digest}", res.stdout)
        res = self.daemon.cli("releases", "built", "--json")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        (release,) = json.loads(res.stdout)
        self.assertEqual((release["image"], release["image_id"]),
                         (f"{repo}@{digest}", image["Id"]))

        # --no-build with a spec that names no digest is refused before anything changes.
        res = self.daemon.cli("deploy", "-f", spec, "--no-build")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("--no-build needs image: REPO@sha256:...", res.stderr)

    def test_a_compose_service_with_build_is_built_pushed_and_deployed_by_digest(self):
        ctx = os.path.join(self.ws.dir, "shop")
        os.makedirs(ctx)
        shutil.copy(DOCKERFILE, os.path.join(ctx, "Dockerfile"))
        shutil.copy(HELLO_STATIC, os.path.join(ctx, "hello"))
        os.chmod(os.path.join(ctx, "hello"), 0o755)
        compose = os.path.join(ctx, "compose.yaml")
        with open(compose, "w") as f:
            f.write("name: shop\n"
                    f"x-slipway:\n  registry: {self.registry.host}\n"
                    "services:\n  web:\n    build: .\n    image: web:dev\n"
                    "    environment: {VERSION: composed}\n"
                    f"    ports: [\"127.0.0.1:{self.port}:8080\"]\n")
        res = self.daemon.cli("deploy", "-f", compose, "--docker-host", self.dockerd.host,
                              timeout=300)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("services.web.image: the tag dev is not used", res.stderr)
        repo = f"{self.registry.host}/web"
        m = re.search(rf"^image: {re.escape(repo)}@(sha256:[0-9a-f]{{64}})$", res.stdout, re.M)
        self.assertTrue(m, res.stdout)
        self.assertIn("OK: release 1 of shop-web is serving.", res.stdout)
        self.assertIn("Hello from composed", http_get(self.port)[1])
        (release,) = json.loads(self.daemon.cli("releases", "shop-web", "--json").stdout)
        self.assertEqual(release["image"], f"{repo}@{m.group(1)}")


if __name__ == "__main__":
    unittest.main()
