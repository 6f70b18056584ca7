"""`slipway build --push` against a private dockerd and registry: the image is built from the
app's Dockerfile through the Engine API, tagged immutably (ctx-<digest> by default, never
latest), pushed, and its digest printed; a deploy runs it by digest. Then the tag is re-pointed
in the registry (a different image pushed under the same tag) and the local image removed:
`slipway rollback` still runs exactly the first digest, pulled back by digest."""

import os
import re
import shutil
import unittest

from docker_harness import DOCKERFILE, HELLO_STATIC, DockerTestCase
from harness import http_get, wait_until
from test_docker_deploy import docker_spec


class DockerBuildTest(DockerTestCase):
    use_registry = True

    def setUp(self):
        super().setUp()
        self.ctx = os.path.join(self.ws.dir, "app")
        os.makedirs(self.ctx)
        shutil.copy(DOCKERFILE, os.path.join(self.ctx, "Dockerfile"))
        shutil.copy(HELLO_STATIC, os.path.join(self.ctx, "hello"))
        os.chmod(os.path.join(self.ctx, "hello"), 0o755)
        with open(os.path.join(self.ctx, "notes.txt"), "w") as f:
            f.write("left out by .dockerignore\n")
        with open(os.path.join(self.ctx, ".dockerignore"), "w") as f:
            f.write("# not build input\n*.txt\n")
        self.compose = os.path.join(self.ctx, "compose.yaml")
        with open(self.compose, "w") as f:
            f.write(f"services:\n  web:\n    build: .\n    image: {self.registry.host}/hello\n")

    def build(self, *args):
        res = self.daemon.cli("build", "web", "-f", self.compose, "--docker-host",
                              self.docker_host, *args, timeout=300)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return res.stdout

    def test_build_push_deploy_by_digest_and_rollback_after_the_tag_moved(self):
        repo = f"{self.registry.host}/hello"
        # Default tag: the context's digest (not a git checkout), never latest.
        out = self.build()
        m = re.search(rf"Built (sha256:[0-9a-f]{{64}}) as {re.escape(repo)}:(ctx-[0-9a-f]{{12}})",
                      out)
        self.assertTrue(m, out)
        self.assertIn("(4 files,", out)  # no notes.txt: .dockerignore drops it
        # The same context, the same tag.
        self.assertIn(f"Built {m.group(1)} as {repo}:{m.group(2)}\n", self.build())

        out = self.build("--tag", "v1", "--push")
        d1 = re.search(rf"^image: {re.escape(repo)}@(sha256:[0-9a-f]{{64}})$", out, re.M).group(1)
        self.assertEqual(self.registry.manifest_digest("hello", "v1"), d1)
        id1 = self.engine.image_id(f"{repo}:v1")

        res = self.daemon.cli("deploy", "-f", docker_spec(self.ws, "v1.yaml", f"{repo}@{d1}",
                                                          self.port, "v1", replicas=2))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("Hello from v1", http_get(self.port)[1])

        # Re-point the tag: a different image pushed as v1.
        # The label comes first, so that v2 is no child image of v1 (v1 can then be removed).
        dockerfile = os.path.join(self.ctx, "Dockerfile")
        with open(dockerfile) as f:
            text = f.read()
        with open(dockerfile, "w") as f:
            f.write(text.replace("FROM scratch\n", 'FROM scratch\nLABEL org.slipway.test="v2"\n'))
        out = self.build("--tag", "v1", "--push")
        d2 = re.search(rf"^image: {re.escape(repo)}@(sha256:[0-9a-f]{{64}})$", out, re.M).group(1)
        self.assertNotEqual(d1, d2)
        self.assertEqual(self.registry.manifest_digest("hello", "v1"), d2)
        id2 = self.engine.image_id(f"{repo}:v1")
        self.assertNotEqual(id1, id2)
        res = self.daemon.cli("deploy", "-f", docker_spec(self.ws, "v2.yaml", f"{repo}@{d2}",
                                                          self.port, "v2", replicas=2))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("Hello from v2", http_get(self.port)[1])

        # Release 1's image leaves the engine: the rollback must pull it back by digest.
        for c in self.engine.containers("slipway.release=1"):
            self.engine.request("DELETE", f"/containers/{c['Id']}?force=1")
        status, raw = self.engine.request("DELETE", f"/images/{id1}?force=1")
        self.assertEqual(status, 200, raw)
        self.assertEqual(self.engine.request("GET", f"/images/{id1}/json")[0], 404)

        res = self.daemon.cli("rollback", "hello", "--to", "1")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        # Pulled back by digest (not by the moved tag), with progress lines.
        self.assertIn(f"pulled {repo}@{d1[:19]}...: 1/1 layers", res.stdout)
        wait_until(lambda: "Hello from v1" in http_get(self.port)[1], 30, "v1 serving again")
        running = [c for c in self.engine.containers("slipway.app=hello")
                   if c["State"] == "running"]
        self.assertEqual(len(running), 2)
        for c in running:
            info = self.engine.inspect(c["Id"])
            self.assertEqual(info["Image"], id1)
        image = self.engine.json("GET", f"/images/{id1}/json")
        self.assertIn(f"{repo}@{d1}", image["RepoDigests"])


if __name__ == "__main__":
    unittest.main()
