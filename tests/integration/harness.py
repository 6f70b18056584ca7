"""Shared pieces of Slipway's integration tests: a workspace readable by `nobody`, a real daemon,
the real CLI, HTTP through the real proxy, and a load generator that counts every status and
socket error. Waits are polls against deadlines, never fixed sleeps."""

import collections
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SLIPWAY = os.environ.get("SLIPWAY_BIN", "")
HELLO = os.environ.get("HELLO_BIN", "")
SPEC_CORPUS = os.environ.get("SPEC_CORPUS", "")


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported if the deadline passes
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_error!r})" if last_error else ""))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/", timeout=5, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read().decode(errors="replace"), dict(res.getheaders())
    finally:
        conn.close()


class Workspace:
    """A temp dir that the `nobody` user can traverse, with the hello binary copied in (the
    build tree may sit in a directory only root can enter)."""

    def __init__(self, prefix="slipway-it-"):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.hello = os.path.join(self.dir, "hello")
        shutil.copy2(HELLO, self.hello)
        os.chmod(self.hello, 0o755)
        self.state_dir = os.path.join(self.dir, "state")

    def write_spec(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def spec(self, name, app="hello", version="v1", replicas=3, listen_port=None, env=None,
             readiness=None, strategy=None, extra="", strategy_yaml=None):
        """A spec for the hello app. `strategy` is a dict of rolling settings; `strategy_yaml`
        replaces the whole strategy block (its lines, indented two spaces)."""
        env = dict(env or {})
        env.setdefault("VERSION", version)
        env_lines = "".join(f"  {k}: \"{v}\"\n" for k, v in env.items())
        readiness = readiness or {"interval": "200ms", "success_threshold": 1,
                                  "startup_timeout": "15s"}
        ready_lines = "".join(f"  {k}: {v}\n" for k, v in readiness.items())
        strategy = strategy or {"max_surge": 1, "max_unavailable": 0, "ready_deadline": "60s"}
        strat_lines = "".join(f"  {k}: {v}\n" for k, v in strategy.items())
        text = (f"app: {app}\n"
                f"command: ./hello\n"
                f"replicas: {replicas}\n"
                f"user: nobody\n"
                f"env:\n{env_lines}"
                f"limits:\n  memory: 256Mi\n  open_files: 256\n  processes: 32\n"
                f"readiness:\n  type: http\n  path: /up\n{ready_lines}"
                f"stop:\n  signal: SIGTERM\n  grace_period: 5s\n"
                + (f"strategy:\n{strategy_yaml}" if strategy_yaml is not None else
                   f"strategy:\n  type: rolling\n{strat_lines}") +
                f"proxy:\n  listen: 127.0.0.1:{listen_port}\n  drain_timeout: 10s\n"
                f"{extra}")
        return self.write_spec(name, text)

    def replica_pids(self):
        """Every live process running this workspace's copy of hello (replicas outlive a killed
        daemon, so tests clean them up by this)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/exe") == self.hello:
                    found.append(int(entry))
            except OSError:
                continue
        return found

    def cleanup(self):
        for pid in self.replica_pids():
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Daemon:
    def __init__(self, workspace, extra_args=()):
        self.ws = workspace
        self.extra_args = list(extra_args)  # after `daemon --state-dir DIR`
        self.proc = None
        self.log_path = os.path.join(workspace.dir, "daemon.log")

    @property
    def socket_path(self):
        return os.path.join(self.ws.state_dir, "slipway.sock")

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([SLIPWAY, "daemon", "--state-dir", self.ws.state_dir,
                                      *self.extra_args],
                                     stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_until(lambda: self.cli("version").stdout.find("daemon ") >= 0
                   and "not running" not in self.cli("version").stdout, 30, "daemon to answer")
        return self

    def cli(self, *args, timeout=120):
        return subprocess.run([SLIPWAY, "--state-dir", self.ws.state_dir, *args],
                              capture_output=True, text=True, timeout=timeout)

    def status(self, app):
        res = self.cli("status", app, "--json")
        if res.returncode != 0:
            raise AssertionError(f"status failed: {res.stderr}")
        return json.loads(res.stdout)

    def stop(self, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not exit within %ss of SIGTERM" % timeout)
        return self.proc.returncode if self.proc else None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class LoadGen:
    """Sends GET / through the proxy from `workers` keep-alive connections at about `rate`
    requests/s in total, for at most `max_seconds`. Counts every status and socket error and
    records which version answered."""

    def __init__(self, port, rate=200, workers=4, max_seconds=300):
        self.port = port
        self.interval = workers / float(rate)
        self.workers = workers
        self.max_seconds = max_seconds
        self.attempts = 0
        self.statuses = collections.Counter()
        self.errors = []
        self.error_times = []  # monotonic time of each socket error and non-2xx answer
        self.versions = collections.Counter()
        self.last_bodies = collections.deque(maxlen=50)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = []
        self.started = 0.0

    def _run(self):
        conn = None
        deadline = time.monotonic() + self.max_seconds
        next_at = time.monotonic()
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            with self.lock:
                self.attempts += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/")
                res = conn.getresponse()
                body = res.read().decode(errors="replace")
                with self.lock:
                    self.statuses[res.status] += 1
                    if not 200 <= res.status < 300:
                        self.error_times.append(time.monotonic())
                    version = body.split(" ")[2] if body.startswith("Hello from ") else "?"
                    self.versions[version] += 1
                    self.last_bodies.append((time.monotonic(), res.status, body.strip()))
                if res.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - every socket error is a counted failure
                with self.lock:
                    self.errors.append(repr(e))
                    self.error_times.append(time.monotonic())
                if conn is not None:
                    conn.close()
                conn = None
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop_event.wait(delay)
            else:
                next_at = time.monotonic()
        if conn is not None:
            conn.close()

    def start(self):
        self.started = time.monotonic()
        for _ in range(self.workers):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def total(self):
        with self.lock:
            return sum(self.statuses.values()) + len(self.errors)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=30)
        elapsed = time.monotonic() - self.started
        with self.lock:
            non_2xx = sum(n for s, n in self.statuses.items() if not 200 <= s < 300)
            return {"attempts": self.attempts,
                    "requests": sum(self.statuses.values()) + len(self.errors),
                    "rate": (sum(self.statuses.values()) / elapsed) if elapsed else 0,
                    "non_2xx": non_2xx, "socket_errors": len(self.errors),
                    "statuses": dict(self.statuses), "errors": self.errors[:5],
                    "versions": dict(self.versions)}


def pids_in_group(pgid):
    """Every live process whose process group is `pgid` (zombies included)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid:
                found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def stop_daemon(test, daemon):
    """Stops `daemon` (SIGTERM) at the end of `test`; prints its log's tail when the test failed
    (or SHOW_DAEMON_LOG is set)."""
    try:
        daemon.stop()
    except AssertionError:
        pass
    if not getattr(test._outcome, "success", True) or os.environ.get("SHOW_DAEMON_LOG"):
        print("---- daemon log (tail) ----\n" + daemon.log()[-8000:])


class DaemonTestCase(unittest.TestCase):
    """Per test: a fresh workspace, a running daemon and a free port for the app's proxy. The
    daemon is stopped (SIGTERM) afterwards; its log is printed when the test failed."""

    def setUp(self):
        self.ws = Workspace()
        self.daemon = Daemon(self.ws).start()
        self.port = free_port()

    def tearDown(self):
        stop_daemon(self, self.daemon)
        self.ws.cleanup()
