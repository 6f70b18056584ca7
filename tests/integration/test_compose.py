"""`slipway deploy -f compose.yaml` against a real dockerd started for the test: a Compose file
with three parts (web: a CMD healthcheck run in the container as an exec probe, limits,
published port; worker: no ports and no healthcheck, ready once it ran 5s; a named volume both
mount) deploys in depends_on order; requests through the proxy succeed; the containers carry the
limits and the volume; what the worker wrote to the volume survives a redeploy. A CMD test that
fails (and a CMD-SHELL test in an image without a shell) is refused with its detail. Bad Compose
files (tests/spec/compose-bad) are refused by validate and deploy with their FILE:LINE:COL error
and change nothing."""

import glob
import json
import os
import re
import unittest

from docker_harness import DockerTestCase
from harness import http_get, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSE_BAD = os.path.join(HERE, "..", "spec", "compose-bad")

# hello with a /data directory owned by nobody, so that a new named volume (which Docker fills
# from the image's directory) is writable by the containers' user.
DOCKERFILE = """FROM scratch
COPY hello /hello
COPY --chown=65534:65534 data /data
USER 65534:65534
ENTRYPOINT ["/hello"]
"""


def compose_text(image, port, version, web_test='["CMD", "/hello", "probe"]'):
    return f"""name: shop
services:
  web:
    image: {image}
    environment:
      VERSION: web-{version}
      JOURNAL_FILE: /data/journal
      JOURNAL_READONLY: "1"
    env_file: web.env
    read_only: true
    ports:
      - "{port}:80"
    healthcheck:
      test: {web_test}
      interval: 200ms
      timeout: 1s
      retries: 3
      start_period: 10s
    deploy:
      replicas: 2
      resources:
        limits:
          cpus: "0.5"
          memory: 64M
          pids: 32
        reservations:
          memory: 16M
    volumes:
      - data:/data:ro
    depends_on:
      worker:
        condition: service_healthy
    restart: always
  worker:
    image: {image}
    environment:
      VERSION: worker-{version}
      JOURNAL_FILE: /data/journal
    volumes:
      - data:/data
  debug:
    image: {image}
    profiles: [debug]
volumes:
  data: {{}}
"""


def expectation(path):
    with open(path) as f:
        first = f.readline()
    prefix = "# expect: "
    assert first.startswith(prefix), f"{path}: first line must be '# expect: L:C: message'"
    return first[len(prefix):].rstrip("\n")


class ComposeDeployTest(DockerTestCase):
    @classmethod
    def set_up_images(cls):
        cls.image = cls.engine.build_hello("shop:v1", "compose", dockerfile=DOCKERFILE,
                                           dirs=("data",))

    def write_compose(self, version):
        self.ws.write_spec("web.env", "GREETING=from-env-file\n")
        return self.ws.write_spec("compose.yaml", compose_text(self.image, self.port, version))

    def test_three_services_deploy_in_order_and_the_volume_survives(self):
        path = self.write_compose("v1")
        res = self.daemon.cli("validate", "-f", path)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("ok (compose project shop: shop-worker (1 replica(s)), shop-web "
                      "(2 replica(s)))", res.stdout)
        self.assertIn("warning: services.web.restart: ignored", res.stderr)
        self.assertIn('warning: services.worker: no healthcheck and no ports: readiness is '
                      '"running for 5s"', res.stderr)

        res = self.daemon.cli("deploy", "-f", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        out = res.stdout
        self.assertLess(out.index("Deploying shop-worker"), out.index("Deploying shop-web"))
        self.assertNotIn("shop-debug", out)  # its profile is not active
        # The worker (which the test image does not make listen anywhere useful) became ready
        # by running 5s; web by its exec probe.
        ready = re.search(r"shop-worker-r1-0 is ready \(after (\d+(?:\.\d+)?)(ms|s)\)", out)
        self.assertTrue(ready, out)
        self.assertGreaterEqual(float(ready.group(1)) / (1000 if ready.group(2) == "ms" else 1), 5)
        self.assertRegex(out, r"shop-web-r1-0 is ready")

        # Through the proxy: the web service answers on the published port.
        for _ in range(10):
            status, body, _ = http_get(self.port)
            self.assertEqual(status, 200)
            self.assertIn("Hello from web-v1", body)
        # The worker wrote to the volume; web (read-only mount) reads it back.
        status, body, _ = http_get(self.port, "/journal")
        self.assertEqual((status, body), (200, "worker-v1 started\n"))

        web = self.daemon.status("shop-web")
        worker = self.daemon.status("shop-worker")
        self.assertEqual(web["ready_replicas"], 2)
        self.assertEqual(worker["ready_replicas"], 1)
        for replica in web["replicas"]:
            info = self.engine.inspect(replica["container"])
            host = info["HostConfig"]
            self.assertEqual(host["Memory"], 64 << 20)
            self.assertEqual(host["NanoCpus"], 500_000_000)
            self.assertEqual(host["PidsLimit"], 32)
            self.assertTrue(host["ReadonlyRootfs"])
            mounts = [(m["Type"], m["Name"], m["Destination"], m["RW"]) for m in info["Mounts"]]
            self.assertEqual(mounts, [("volume", "shop_data", "/data", False)])
            env = info["Config"]["Env"]
            self.assertIn("GREETING=from-env-file", env)
        (wrep,) = worker["replicas"]
        mounts = [(m["Name"], m["RW"]) for m in self.engine.inspect(wrep["container"])["Mounts"]]
        self.assertEqual(mounts, [("shop_data", True)])

        # Redeploy v2: the volume keeps v1's line and gets v2's.
        res = self.daemon.cli("deploy", "-f", self.write_compose("v2"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        wait_until(lambda: "Hello from web-v2" in http_get(self.port)[1], 30, "web v2 serving")
        status, body, _ = http_get(self.port, "/journal")
        self.assertEqual((status, body), (200, "worker-v1 started\nworker-v2 started\n"))

    def deploy_web_test(self, web_test):
        self.ws.write_spec("web.env", "GREETING=from-env-file\n")
        text = compose_text(self.image, self.port, "v1", web_test)
        path = self.ws.write_spec("compose.yaml", text)
        return self.daemon.cli("deploy", "-f", path, timeout=180)

    def test_failing_exec_healthchecks_are_refused_with_their_detail(self):
        res = self.deploy_web_test('["CMD", "/hello", "probe", "/nope"]')
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("readiness probe exec /hello probe /nope: exit 1: probe: GET /nope: "
                      "HTTP 404", res.stderr)
        self.assertEqual(self.daemon.status("shop-web")["ready_replicas"], 0)
        # CMD-SHELL in a FROM-scratch image: there is no /bin/sh to run it.
        res = self.deploy_web_test('["CMD-SHELL", "/hello probe"]')
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        # The engine's own words: 'exit 126: OCI runtime exec failed: ... exec: "/bin/sh": stat
        # /bin/sh: no such file or directory: unknown'.
        self.assertRegex(res.stderr, r"readiness probe exec /bin/sh -c /hello probe: exit \d+: "
                                     r".*stat /bin/sh: no such file or directory")

    def test_bad_compose_files_are_refused_with_their_position(self):
        files = sorted(glob.glob(os.path.join(COMPOSE_BAD, "*.yaml")))
        self.assertGreaterEqual(len(files), 10)
        for path in files:
            with self.subTest(compose=os.path.basename(path)):
                res = self.daemon.cli("validate", "-f", path)
                self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
                errors = [l for l in res.stderr.splitlines() if ": warning: " not in l]
                self.assertEqual(errors, [f"{path}:{expectation(path)}"])
                res = self.daemon.cli("deploy", "-f", path)
                self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
                self.assertIn(f"{path}:{expectation(path)}", res.stderr.splitlines())
                self.assertIn("nothing was deployed", res.stderr)
        self.assertEqual(json.loads(self.daemon.cli("status", "--json").stdout), [])


if __name__ == "__main__":
    unittest.main()
