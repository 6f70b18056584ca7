"""A private Docker engine for the docker driver's tests: one dockerd per test class with its
own data root, exec root and socket (no iptables; no bridge unless TestDockerd(bridge=True) gives
it one of its own), spoken to through the Engine API with the standard library (HTTP over its Unix socket).
Images are built here through POST /build from a tar context: examples/hello/Dockerfile plus the
static hello binary. Everything it starts is removed in stop(), also after a failed test."""

import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import unittest
import urllib.parse

from harness import HELLO, Daemon, Workspace, free_port, stop_daemon, wait_until

API = "/v1.41"
HERE = os.path.dirname(os.path.abspath(__file__))
DOCKERFILE = os.path.join(HERE, "..", "..", "examples", "hello", "Dockerfile")
HELLO_STATIC = os.environ.get("HELLO_STATIC_BIN") or os.path.join(
    os.path.dirname(HELLO or "."), "hello-static")


def dockerd_path():
    """dockerd's path, or None when it is not installed (the only reason to skip)."""
    return shutil.which("dockerd") or (
        "/usr/sbin/dockerd" if os.path.exists("/usr/sbin/dockerd") else None)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("docker", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Engine:
    """The Engine API of one dockerd."""

    def __init__(self, socket_path):
        self.socket_path = socket_path

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = _UnixConnection(self.socket_path, timeout)
        try:
            data = body
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, API + path, body=data, headers=hdrs)
            res = conn.getresponse()
            raw = res.read()
            return res.status, raw
        finally:
            conn.close()

    def json(self, method, path, body=None, ok=(200, 201, 204)):
        status, raw = self.request(method, path, body)
        if status not in ok:
            raise AssertionError(f"{method} {path}: HTTP {status}: {raw[:500]!r}")
        return json.loads(raw) if raw.strip() else None

    def ping(self):
        status, raw = self.request("GET", "/_ping", timeout=2)
        return status == 200 and raw == b"OK"

    def build_hello(self, tag, label, dockerfile=None, dirs=()):
        """Builds examples/hello/Dockerfile (or the `dockerfile` text) with the static hello as
        `tag`; a distinct `label` gives each tag its own image ID. `dirs`: empty directories
        put in the context (owned by 65534), e.g. for `COPY data /data`. Returns the image ID."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for d in dirs:
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.uid = info.gid = 65534
                tar.addfile(info)
            if dockerfile is None:
                tar.add(DOCKERFILE, arcname="Dockerfile")
            else:
                data = dockerfile.encode()
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            info = tar.gettarinfo(HELLO_STATIC, arcname="hello")
            info.mode = 0o755
            with open(HELLO_STATIC, "rb") as f:
                tar.addfile(info, f)
        labels = urllib.parse.quote(json.dumps({"org.slipway.test": label}))
        status, raw = self.request(
            "POST", f"/build?t={urllib.parse.quote(tag)}&labels={labels}&rm=1",
            body=buf.getvalue(), headers={"Content-Type": "application/x-tar"}, timeout=120)
        if status != 200:
            raise AssertionError(f"build {tag}: HTTP {status}: {raw[:500]!r}")
        for line in raw.decode().splitlines():
            if line.strip() and "error" in json.loads(line):
                raise AssertionError(f"build {tag}: {line}")
        return self.image_id(tag)

    def push(self, ref):
        """Pushes repo:tag (empty credentials); the manifest digest the push reported."""
        name, tag = ref.rsplit(":", 1)
        status, raw = self.request("POST", f"/images/{name}/push?tag={tag}",
                                   headers={"X-Registry-Auth": "e30="}, timeout=120)
        if status != 200:
            raise AssertionError(f"push {ref}: HTTP {status}: {raw[:500]!r}")
        digest = None
        for line in raw.decode().splitlines():
            obj = json.loads(line) if line.strip() else {}
            if "error" in obj:
                raise AssertionError(f"push {ref}: {line}")
            digest = (obj.get("aux") or {}).get("Digest", digest)
        return digest

    def image_id(self, ref):
        return self.json("GET", f"/images/{ref}/json")["Id"]

    def tag(self, image, repo, tag):
        self.json("POST", f"/images/{image}/tag?repo={repo}&tag={tag}")

    def containers(self, label="slipway.app"):
        filters = urllib.parse.quote(json.dumps({"label": [label]}))
        return self.json("GET", f"/containers/json?all=1&filters={filters}")

    def inspect(self, container):
        return self.json("GET", f"/containers/{container}/json")

    def remove_all(self):
        for c in self.containers():
            self.request("DELETE", f"/containers/{c['Id']}?force=1&v=1")


class TestDockerd:
    """Starts dockerd in a temp dir; stop() kills it and deletes what it made. bridge=True gives
    it a Linux bridge of its own (a free 10.213.N.0/24, no iptables: published ports go through
    docker-proxy), for `docker: {network: bridge}`; stop() deletes the bridge."""

    def __init__(self, bridge=False):
        # Short: the exec root holds Unix sockets (108-byte path limit).
        self.dir = tempfile.mkdtemp(prefix="sw-dk-", dir="/tmp")
        self.socket = os.path.join(self.dir, "docker.sock")
        self.proc = None
        self.engine = Engine(self.socket)
        self.bridge = None
        if bridge:
            self._make_bridge()

    def _make_bridge(self):
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        name = "swbr" + os.path.basename(self.dir)[-6:].replace("_", "0")
        for n in range(10, 250):
            if f"10.213.{n}." not in routes:
                subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
                self.bridge = name
                subprocess.run(["ip", "addr", "add", f"10.213.{n}.1/24", "dev", name],
                               check=True)
                subprocess.run(["ip", "link", "set", name, "up"], check=True)
                return
        raise AssertionError("no free 10.213.N.0/24 for a test bridge")

    @property
    def host(self):
        return "unix://" + self.socket

    def start(self):
        log = open(os.path.join(self.dir, "dockerd.log"), "ab")
        self.proc = subprocess.Popen(
            [dockerd_path(), "--data-root", os.path.join(self.dir, "data"),
             "--exec-root", os.path.join(self.dir, "exec"), "-H", self.host,
             "--pidfile", os.path.join(self.dir, "docker.pid"),
             "--iptables=false", "--ip-forward=false", "--bridge=" + (self.bridge or "none")],
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        try:
            wait_until(lambda: self.proc.poll() is None and os.path.exists(self.socket)
                       and self.engine.ping(), 60, "dockerd to answer /_ping")
        except AssertionError:
            print(self.log()[-4000:])
            self.stop()
            raise
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "dockerd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.engine.remove_all()
            except Exception:  # noqa: BLE001 - the engine may already be unusable
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        # dockerd leaves its network namespace (exec/netns/default) and overlay mounts behind.
        for sub in ("exec", "data"):
            subprocess.run(["umount", "-R", "-l", os.path.join(self.dir, sub)],
                           capture_output=True)
        with open("/proc/mounts") as f:
            for line in f:
                mount = line.split()[1]
                if mount.startswith(self.dir + "/"):
                    subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.bridge:
            subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
            self.bridge = None


def registry_path():
    """docker-registry's path, or None when it is not installed."""
    return shutil.which("docker-registry") or (
        "/usr/bin/docker-registry" if os.path.exists("/usr/bin/docker-registry") else None)


class TestRegistry:
    """A private registry (Debian's docker-registry) on 127.0.0.1:<free port>, storing in a temp
    dir; stop() kills it and deletes the dir. dockerd treats 127.0.0.0/8 registries as insecure
    (plain HTTP) by default."""

    def __init__(self):
        from harness import free_port
        self.dir = tempfile.mkdtemp(prefix="sw-reg-", dir="/tmp")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write("version: 0.1\n"
                    "log:\n  level: warn\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                    "  delete:\n    enabled: true\n"
                    f"http:\n  addr: {self.host}\n")
        log = open(os.path.join(self.dir, "registry.log"), "ab")
        self.proc = subprocess.Popen([registry_path(), "serve", config], stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        try:
            wait_until(lambda: self.proc.poll() is None and self.manifest_digest("none", "x")
                       is not False, 30, "the registry to answer /v2/")
        except AssertionError:
            self.stop()
            raise
        return self

    def manifest_digest(self, repo, tag):
        """The digest the registry serves for repo:tag; None when absent; False when the
        registry does not answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("HEAD", f"/v2/{repo}/manifests/{tag}", headers={
                "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
            res = conn.getresponse()
            res.read()
            if res.status == 200:
                return res.getheader("Docker-Content-Digest")
            return None
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(dockerd_path(), "dockerd is not installed (apt-get install docker.io)")
class DockerTestCase(unittest.TestCase):
    """One private dockerd per test class (cls.dockerd, its engine cls.engine, cls.docker_host
    to pass as --docker-host), and with `use_registry = True` a private registry too
    (cls.registry; the class is skipped without docker-registry), and with `bridge = True` a
    Linux bridge of the dockerd's own. Override set_up_images()
    (a classmethod) to build the class's images once. Per test: a fresh workspace (self.ws), a
    daemon on that dockerd (self.daemon, its log printed when the test failed) and a free port
    (self.port); afterwards every Slipway container (and volume) of the engine is removed.
    Everything is stopped even when a set-up step fails."""

    use_registry = False
    bridge = False  # True: the dockerd gets a Linux bridge of its own (docker: {network: bridge})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.use_registry and not registry_path():
            raise unittest.SkipTest("docker-registry is not installed (apt-get install "
                                    "docker-registry)")
        cls.registry = None
        cls.dockerd = None
        try:
            if cls.use_registry:
                cls.registry = TestRegistry().start()
            cls.dockerd = TestDockerd(bridge=cls.bridge).start()
            cls.engine = cls.dockerd.engine
            cls.docker_host = cls.dockerd.host
            cls.set_up_images()
        except BaseException:
            cls._stop_docker()
            raise

    @classmethod
    def set_up_images(cls):
        """Builds the images the class's tests run (once per class); none by default."""

    @classmethod
    def tearDownClass(cls):
        cls._stop_docker()
        super().tearDownClass()

    @classmethod
    def _stop_docker(cls):
        if cls.dockerd is not None:
            cls.dockerd.stop()
        if cls.registry is not None:
            cls.registry.stop()

    def setUp(self):
        self.ws = Workspace()
        self.addCleanup(self.ws.cleanup)
        self.addCleanup(self.remove_containers_and_volumes)
        self.daemon = Daemon(self.ws, ["--docker-host", self.docker_host]).start()
        self.addCleanup(stop_daemon, self, self.daemon)
        self.port = free_port()

    def remove_containers_and_volumes(self):
        self.engine.remove_all()
        for v in (self.engine.json("GET", "/volumes") or {}).get("Volumes") or []:
            self.engine.request("DELETE", f"/volumes/{v['Name']}?force=1")
