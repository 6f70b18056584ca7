"""`slipway plan` with the real CLI and daemon (process driver): before any deploy an app is a
create (exit 1); after the deploy the same spec, or one with re-ordered keys and comments, is
unchanged (exit 0); a changed replica count and env value is an update with exactly those two
lines, the env value never printed (exit 1); a bad spec gets its FILE:LINE:COL error (exit 2)
and the daemon's releases stay as they were; without a daemon plan says it cannot see the state
(exit 3). A two-service Compose file is planned in depends_on order, saying plainly that image
presence is unknown when no Docker engine answers. Against a dockerd started for the test, an
image on the engine is "present" with its ID, a registry digest reference not there is to be
pulled, and one without a registry is refused (exit 2)."""

import json
import os
import re
import unittest

from docker_harness import DockerTestCase, dockerd_path
from test_docker_deploy import docker_spec
from harness import Daemon, DaemonTestCase, Workspace, free_port

SECRET = "howdy-s3cret-value"


def diff_lines(stdout):
    """The field-change lines of a text plan: indented four spaces, not rollout steps."""
    return [line.strip() for line in stdout.splitlines()
            if line.startswith("    ") and not line.startswith("    - ")]


class PlanTest(DaemonTestCase):
    def releases(self):
        res = self.daemon.cli("releases", "hello", "--json")
        return res.returncode, res.stdout

    def plan(self, *args):
        return self.daemon.cli("plan", *args)

    def test_create_deploy_unchanged_update_and_bad_spec(self):
        spec = self.ws.spec("slipway.yaml", replicas=2, listen_port=self.port,
                            env={"GREETING": "hello"})
        res = self.plan(spec)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        lines = res.stdout.splitlines()
        self.assertEqual(lines[0], "+ create hello")
        self.assertIn("    - batch 1: start 2 new", lines)
        self.assertIn("  replicas: 2 started, 0 stopped", lines)
        self.assertEqual(lines[-1], "Plan: 1 to create, 0 to update, 0 unchanged.")
        # The plan changed nothing: the app is still unknown to the daemon.
        self.assertNotEqual(self.releases()[0], 0)

        deploy = self.daemon.cli("deploy", "-f", spec)
        self.assertEqual(deploy.returncode, 0, deploy.stdout + deploy.stderr)

        res = self.plan("-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(res.stdout.splitlines()[0], "= unchanged hello (release 1)")
        self.assertEqual(diff_lines(res.stdout), [])

        # The normalised spec is compared: other key order, comments, a default written out.
        with open(spec) as f:
            text = f.read().splitlines()
        replicas = [line for line in text if line.startswith("replicas:")]
        rest = [line for line in text if not line.startswith("replicas:")]
        reordered = self.ws.write_spec(
            "reordered.yaml",
            "# the same app\n" + "\n".join(rest) + "\n" + replicas[0] + "  # two\n"
            "allow_root: false\n")
        res = self.plan(reordered)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertTrue(res.stdout.startswith("= unchanged hello (release 1)\n"), res.stdout)

        before = self.releases()
        changed = self.ws.spec("slipway.yaml", replicas=3, listen_port=self.port,
                               env={"GREETING": SECRET})
        res = self.plan(changed)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertEqual(res.stdout.splitlines()[0], "~ update hello (release 1 -> new)")
        self.assertEqual(diff_lines(res.stdout),
                         ["env.GREETING: changed (value hidden)", "replicas: 2 -> 3"])
        self.assertIn("    - batch 1: start 2 new\n    - batch 2: stop 1 old, start 1 new\n"
                      "    - batch 3: stop 1 old\n", res.stdout)
        self.assertIn("  replicas: 3 started, 2 stopped", res.stdout)
        self.assertNotIn(SECRET, res.stdout + res.stderr)

        res = self.plan(changed, "--json")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertNotIn(SECRET, res.stdout)
        plan = json.loads(res.stdout)
        self.assertEqual((plan["create"], plan["update"], plan["unchanged"]), (0, 1, 0))
        app = plan["apps"][0]
        self.assertEqual((app["app"], app["action"], app["release"]), ("hello", "update", 1))
        self.assertEqual(app["changes"], [
            {"field": "env.GREETING", "kind": "changed", "secret": True},
            {"field": "replicas", "kind": "changed", "before": "2", "after": "3"}])
        self.assertEqual(app["rollout"]["strategy"], "rolling")
        self.assertEqual(app["refusals"], [])

        bad = self.ws.write_spec("bad.yaml", "app: hello\ncommand: ./hello\nreplicas: lots\n")
        res = self.plan(bad)
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertRegex(res.stderr, re.compile(r"^" + re.escape(bad) + r":3:11: ", re.M))
        self.assertEqual(res.stdout, "")
        self.assertEqual(self.releases(), before)  # nothing changed in the daemon

    def test_deploy_in_progress_would_be_refused(self):
        # A replica that is not ready for a minute keeps the deploy in progress.
        spec = self.ws.spec("slipway.yaml", replicas=1, listen_port=self.port,
                            env={"START_DELAY_MS": "60000"},
                            readiness={"interval": "200ms", "startup_timeout": "90s"})
        deploy = self.daemon.cli("deploy", "--detach", "-f", spec)
        self.assertEqual(deploy.returncode, 0, deploy.stdout + deploy.stderr)
        res = self.plan(spec)
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("  refused: a deploy of hello is in progress (release 1); the daemon "
                      "refuses another until it ends", res.stdout.splitlines())

    def test_compose_two_services_in_dependency_order(self):
        digest = "sha256:" + "ab" * 32
        compose = self.ws.write_spec("compose.yaml", f"""name: shop
services:
  web:
    image: 127.0.0.1:5000/shop/web@{digest}
    ports:
      - "{self.port}:80"
    depends_on: [db]
  db:
    image: 127.0.0.1:5000/shop/db@{digest}
""")
        res = self.plan("-f", compose, "--docker-host",
                        "unix://" + os.path.join(self.ws.dir, "no-docker.sock"))
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        heads = [line for line in res.stdout.splitlines() if line[:1] in "+~="]
        self.assertEqual(heads, ["+ create shop-db (service db)",
                                 "+ create shop-web (service web)"])
        self.assertEqual(res.stdout.splitlines()[0],
                         f"{compose}: 2 apps in deploy order: shop-db, shop-web")
        self.assertEqual(res.stdout.count("  image: image presence unknown: the Docker engine at "
                                          + os.path.join(self.ws.dir, "no-docker.sock")), 2)
        self.assertEqual(res.stdout.splitlines()[-1],
                         "Plan: 2 to create, 0 to update, 0 unchanged.")


@unittest.skipUnless(dockerd_path(), "dockerd is not installed (apt-get install docker.io)")
class PlanImagePresenceTest(DockerTestCase):
    @classmethod
    def set_up_images(cls):
        cls.image_id = cls.engine.build_hello("hello:v1", "v1")

    def plan_image(self, image):
        spec = self.ws.write_spec("slipway.yaml", f"app: boxed\nimage: {image}\nproxy:\n"
                                  f"  listen: 127.0.0.1:{free_port()}\n")
        res = self.daemon.cli("plan", spec, "--json", "--docker-host", self.dockerd.host)
        plan = json.loads(res.stdout)
        return res.returncode, plan["apps"][0]

    def test_present_pull_and_missing(self):
        code, app = self.plan_image(self.image_id)
        self.assertEqual(code, 1)
        self.assertEqual((app["image"]["status"], app["image"]["id"]), ("present", self.image_id))
        self.assertEqual(app["refusals"], [])

        absent = "127.0.0.1:5000/boxed@sha256:" + "cd" * 32
        code, app = self.plan_image(absent)
        self.assertEqual(code, 1)
        self.assertEqual(app["image"]["status"], "pull")
        self.assertEqual(app["image"]["detail"],
                         f"{absent} is not on the Docker engine at {self.dockerd.socket}; "
                         "the deploy pulls it")

        nowhere = "boxed@sha256:" + "cd" * 32
        code, app = self.plan_image(nowhere)
        self.assertEqual(code, 2)
        self.assertEqual(app["image"]["status"], "missing")
        self.assertEqual(app["refusals"], [app["image"]["detail"]])
        self.assertIn("names no registry to pull it from", app["image"]["detail"])

    def test_a_re_pointed_mutable_tag_is_an_update_of_the_image_id(self):
        image_id = self.engine.build_hello("plantag:v1", "one")
        spec = docker_spec(self.ws, "tagged.yaml", "plantag:v1", free_port(), "v1", replicas=1,
                           extra="allow_mutable_tag: true\n")
        res = self.daemon.cli("deploy", "-f", spec, timeout=300)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        res = self.daemon.cli("plan", spec, "--docker-host", self.docker_host)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("= unchanged hello", res.stdout)

        moved = self.engine.build_hello("plantag:v1", "two")  # same tag, other bits
        self.assertNotEqual(moved, image_id)
        res = self.daemon.cli("plan", spec, "--json", "--docker-host", self.docker_host)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        (app,) = json.loads(res.stdout)["apps"]
        self.assertEqual(app["action"], "update")
        self.assertEqual([c for c in app["changes"] if c["field"] == "image_id"],
                         [{"field": "image_id", "kind": "changed", "before": image_id,
                           "after": moved}])



class PlanWithoutDaemonTest(unittest.TestCase):
    def test_no_daemon_no_plan(self):
        ws = Workspace()
        try:
            spec = ws.spec("slipway.yaml", listen_port=8080)
            res = Daemon(ws).cli("plan", spec)
            self.assertEqual(res.returncode, 3, res.stdout + res.stderr)
            self.assertEqual(res.stdout, "")
            self.assertIn("slipway plan: cannot see what the daemon runs, so there is no plan "
                          "(start it with `slipway daemon`)", res.stderr)
        finally:
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
