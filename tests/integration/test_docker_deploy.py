"""The foundation's deploy scenarios with the docker driver, against a real dockerd started for
the test: v1 deploys as containers (hardened: non-root, no-new-privileges, no capabilities,
limits), v2 rolls out under load with no failed request, an unhealthy v3 is refused while v2
serves, a rollback runs the exact image ID the earlier release pinned (even after its tag moved),
a mutable tag is refused, and `slipway logs` shows a container's output."""

import json
import os
import unittest

from docker_harness import HELLO_STATIC, DockerTestCase
from harness import Daemon, LoadGen, Workspace, free_port, http_get, wait_until


def docker_spec(ws, name, image, port, version, replicas=3, env=None, extra="",
                startup="15s"):
    env = dict(env or {})
    env.setdefault("VERSION", version)
    env_lines = "".join(f"  {k}: \"{v}\"\n" for k, v in env.items())
    return ws.write_spec(name, (
        f"app: hello\n"
        f"image: {image}\n"
        f"replicas: {replicas}\n"
        f"env:\n{env_lines}"
        f"limits:\n  memory: 64Mi\n  cpu: 0.5\n  processes: 32\n  open_files: 256\n"
        f"readiness:\n  type: http\n  path: /up\n  interval: 200ms\n  startup_timeout: {startup}\n"
        f"stop:\n  signal: SIGTERM\n  grace_period: 5s\n"
        f"strategy:\n  type: rolling\n  max_surge: 1\n  max_unavailable: 0\n"
        f"  ready_deadline: 60s\n"
        f"docker:\n  read_only: true\n"
        f"proxy:\n  listen: 127.0.0.1:{port}\n  drain_timeout: 10s\n"
        f"{extra}"))


def slipway_containers(engine, release=None):
    label = "slipway.app=hello" if release is None else f"slipway.release={release}"
    return [c for c in engine.containers(label) if c["State"] == "running"]


class DockerDeployTest(DockerTestCase):
    @classmethod
    def set_up_images(cls):
        cls.v1_id = cls.engine.build_hello("hello:v1", "v1")
        cls.v2_id = cls.engine.build_hello("hello:v2", "v2")

    def deploy(self, path):
        return self.daemon.cli("deploy", "-f", path)

    def test_deploy_update_refuse_unhealthy_rollback_by_digest(self):
        self.assertNotEqual(self.v1_id, self.v2_id)
        # v1: by tag, which the release resolves and pins.
        res = self.deploy(docker_spec(self.ws, "v1.yaml", "hello:v1", self.port, "v1",
                                      extra="allow_mutable_tag: true\n"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn(f"runs image {self.v1_id}", res.stdout)
        self.assertIn("Hello from v1", http_get(self.port)[1])
        status = self.daemon.status("hello")
        self.assertEqual(status["ready_replicas"], 3)
        v1_containers = sorted(r["container"] for r in status["replicas"])
        self.assertEqual(len(set(v1_containers)), 3)
        for replica in status["replicas"]:
            self.assertEqual(replica["driver"], "docker")
            info = self.engine.inspect(replica["container"])
            host = info["HostConfig"]
            self.assertEqual(info["Image"], self.v1_id)
            self.assertEqual(info["Config"]["User"], "65534:65534")  # the image's USER
            self.assertEqual(info["Name"], f"/slipway-{replica['name']}")
            self.assertEqual(host["SecurityOpt"], ["no-new-privileges"])
            self.assertEqual(host["CapDrop"], ["ALL"])
            self.assertFalse(host.get("CapAdd"))
            self.assertTrue(host["ReadonlyRootfs"])
            self.assertEqual(host["RestartPolicy"]["Name"], "no")
            self.assertEqual(host["NetworkMode"], "host")
            self.assertEqual(host["Memory"], 64 << 20)
            self.assertEqual(host["NanoCpus"], 500_000_000)
            self.assertEqual(host["PidsLimit"], 32)
            labels = info["Config"]["Labels"]
            self.assertEqual(labels["slipway.app"], "hello")
            self.assertEqual(labels["slipway.release"], "1")
            self.assertEqual(labels["slipway.replica"], str(replica["index"]))
            self.assertEqual(len(labels["slipway.replica-token"]), 32)
            # The process really runs as nobody, without privileges to gain or capabilities.
            with open(f"/proc/{info['State']['Pid']}/status") as f:
                proc = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            self.assertEqual(proc["Uid"].split()[0], "65534")
            self.assertEqual(proc["NoNewPrivs"], "1")
            self.assertEqual(int(proc["CapEff"], 16), 0)

        # The container's output reaches `slipway logs`, as the same records as a process's.
        def logged():
            out = self.daemon.cli("logs", "hello", "--json").stdout
            return out if "hello v1 listening on 127.0.0.1:" in out else None
        out = wait_until(logged, 15, "the containers' output in slipway logs")
        record = json.loads(next(line for line in out.splitlines() if "listening" in line))
        self.assertEqual((record["app"], record["release"], record["stream"]),
                         ("hello", 1, "stdout"))

        # A mutable tag without allow_mutable_tag: refused before anything is stored.
        res = self.deploy(docker_spec(self.ws, "tag.yaml", "hello:v2", self.port, "v2"))
        self.assertNotEqual(res.returncode, 0)
        self.assertIn('image: "hello:v2" is a mutable tag', res.stdout + res.stderr)

        # v2 by image ID under load: no failed request.
        load = LoadGen(self.port, rate=150, workers=6).start()
        wait_until(lambda: load.total() > 100, 30, "load to start")
        res = self.deploy(docker_spec(self.ws, "v2.yaml", self.v2_id, self.port, "v2"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        # v3 never becomes ready: refused, v2 keeps serving.
        res = self.deploy(docker_spec(self.ws, "v3.yaml", self.v2_id, self.port, "v3",
                                      env={"UNHEALTHY": "1"}, startup="3s"))
        self.assertNotEqual(res.returncode, 0, res.stdout)
        self.assertIn("did not become ready", res.stdout + res.stderr)
        after = load.total()
        wait_until(lambda: load.total() > after + 100, 30, "load after the refused deploy")
        summary = load.stop()
        print(f"docker v2 deploy + refused v3 under load: {summary['requests']} requests at "
              f"{summary['rate']:.0f}/s, {summary['non_2xx']} non-2xx, "
              f"{summary['socket_errors']} socket errors")
        self.assertGreaterEqual(summary["rate"], 100, summary)
        self.assertEqual(summary["non_2xx"], 0, summary)
        self.assertEqual(summary["socket_errors"], 0, summary)
        self.assertEqual(summary["attempts"], summary["requests"], summary)
        self.assertIn("v2", summary["versions"])
        self.assertIn("Hello from v2", http_get(self.port)[1])
        self.assertEqual(self.daemon.status("hello")["current_release"], 2)
        self.assertEqual({c["ImageID"] for c in slipway_containers(self.engine)}, {self.v2_id})
        self.assertEqual(slipway_containers(self.engine, release=1), [], "v1's containers went")

        # The tag v1 now names v2's image; the rollback still runs release 1's image ID.
        self.engine.tag(self.v2_id, "hello", "v1")
        self.assertEqual(self.engine.image_id("hello:v1"), self.v2_id)
        res = self.daemon.cli("rollback", "hello", "--to", "1")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        wait_until(lambda: self.daemon.status("hello")["current_release"] == 4
                   and self.daemon.status("hello")["ready_replicas"] == 3, 60,
                   "the rollback release to serve")
        self.assertIn("Hello from v1", http_get(self.port)[1])
        running = slipway_containers(self.engine)
        self.assertEqual(len(running), 3)
        for c in running:
            self.assertEqual(self.engine.inspect(c["Id"])["Image"], self.v1_id)
        releases = json.loads(self.daemon.cli("releases", "hello", "--json").stdout)
        self.assertEqual([(r["outcome"], r.get("image_id")) for r in releases],
                         [("succeeded", self.v1_id), ("succeeded", self.v2_id),
                          ("failed", self.v2_id), ("succeeded", self.v1_id)])

        # A graceful daemon stop removes every container it ran.
        self.daemon.stop()
        self.assertEqual(self.engine.containers(), [])


    def test_flag_set_reaches_a_running_container_and_reservations_are_set(self):
        extra = ("flags:\n  new_checkout: false\n  beta_banner: 25%\n"
                 "reservations:\n  memory: 16Mi\n  cpu: 0.25\n")
        # Where daemons before the per-app directory kept the file (and what the replicas they
        # started still read when adopted): it becomes a symlink to the live file.
        legacy = os.path.join(self.ws.state_dir, "flags", "hello.json")
        os.makedirs(os.path.dirname(legacy), exist_ok=True)
        with open(legacy, "w") as f:
            f.write('{"new_checkout": true}\n')
        res = self.deploy(docker_spec(self.ws, "flags.yaml", self.v1_id, self.port, "v1",
                                      replicas=1, extra=extra))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        [container] = slipway_containers(self.engine)
        info = self.engine.inspect(container["Id"])
        self.assertIn("SLIPWAY_FLAGS_FILE=/run/slipway/flags.json", info["Config"]["Env"])
        self.assertIn("SLIPWAY_FLAG_NEW_CHECKOUT=false", info["Config"]["Env"])
        flags_dir = os.path.join(self.ws.state_dir, "flags", "hello")
        self.assertEqual([(m["Type"], m["Source"], m["Destination"], m["RW"])
                          for m in info["Mounts"]], [("bind", flags_dir, "/run/slipway", False)])
        self.assertEqual(os.listdir(flags_dir), ["flags.json"], "only this app's flags")
        self.assertEqual(info["HostConfig"]["MemoryReservation"], 16 << 20)
        self.assertEqual(info["HostConfig"]["CpuShares"], 256)
        self.assertEqual(json.loads(http_get(self.port, "/flags")[1]),
                         {"new_checkout": False, "beta_banner": 25})

        res = self.daemon.cli("flag", "set", "hello", "new_checkout", "true")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        # The rename shows inside the container at once: the directory is mounted, not the file.
        self.assertEqual(json.loads(http_get(self.port, "/flags")[1]),
                         {"new_checkout": True, "beta_banner": 25})
        self.assertEqual(os.readlink(legacy), "hello/flags.json")
        with open(legacy) as f:
            self.assertEqual(json.load(f), {"new_checkout": True, "beta_banner": 25})
        after = self.engine.inspect(container["Id"])
        self.assertEqual((after["Id"], after["RestartCount"], after["State"]["StartedAt"]),
                         (info["Id"], 0, info["State"]["StartedAt"]), "no container restart")
        self.assertEqual([c["Id"] for c in slipway_containers(self.engine)], [container["Id"]])

    def test_root_images_and_broken_entrypoints_fail_their_deploy_clearly(self):
        root_image = self.engine.build_hello(
            "hello:root", "root", dockerfile='FROM scratch\nCOPY hello /hello\n'
                                             'ENTRYPOINT ["/hello"]\n')
        res = self.deploy(docker_spec(self.ws, "root.yaml", root_image, self.port, "v1"))
        self.assertNotEqual(res.returncode, 0, res.stdout)
        self.assertIn(f"image {root_image} runs as root (its USER is empty)", res.stdout)
        self.assertEqual(self.engine.containers(), [], "nothing was created")
        # The spec may name a non-root user for such an image.
        res = self.deploy(docker_spec(self.ws, "uid.yaml", root_image, self.port, "v1",
                                      replicas=1, extra='user: "65534:65534"\n'))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        container = self.daemon.status("hello")["replicas"][0]["container"]
        self.assertEqual(self.engine.inspect(container)["Config"]["User"], "65534:65534")
        # An entrypoint that is not in the image: the first start fails, with Docker's words.
        res = self.deploy(docker_spec(self.ws, "bad.yaml", self.v1_id, self.port, "v2",
                                      replicas=1, extra="command: /no/such/binary\n"))
        self.assertNotEqual(res.returncode, 0, res.stdout)
        self.assertIn("start container slipway-hello-r3-0", res.stdout)
        self.assertIn("/no/such/binary", res.stdout)
        self.assertIn("Hello from v1", http_get(self.port)[1], "release 2 keeps serving")
        self.assertEqual(len(slipway_containers(self.engine)), 1)


class DockerEngineMissingTest(unittest.TestCase):
    """A docker app on a daemon whose engine cannot be reached fails its deploy, clearly."""

    def test_deploy_fails_with_the_engine_named(self):
        ws = Workspace()
        missing = os.path.join(ws.dir, "no-docker.sock")
        daemon = Daemon(ws, ["--docker-host", "unix://" + missing]).start()
        try:
            sha = "sha256:" + "0" * 64
            res = daemon.cli("deploy", "-f", docker_spec(ws, "v1.yaml", sha, free_port(), "v1"))
            self.assertNotEqual(res.returncode, 0, res.stdout)
            self.assertIn(f"cannot reach the Docker engine at {missing}", res.stdout + res.stderr)
            releases = json.loads(daemon.cli("releases", "hello", "--json").stdout)
            self.assertEqual([r["outcome"] for r in releases], ["failed"])
        finally:
            daemon.stop()
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
