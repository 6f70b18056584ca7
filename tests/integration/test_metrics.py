"""The daemon's Prometheus endpoint (`slipway daemon --metrics-listen`) with the real proxy, real
replicas and real traffic: request counts per release, status class and method match what the
clients counted, exactly (also across a deploy under load); the page passes
`promtool check metrics` (also while the load runs); replica, rollout and deploy-history series;
the listener's own answers; refusal of a bad address."""

import collections
import http.client
import re
import shutil
import socket
import subprocess
import unittest

import harness
from harness import Daemon, LoadGen, Workspace, free_port, stop_daemon, wait_until

PROMTOOL = shutil.which("promtool")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
CANARY_PAUSES = """  type: canary
  steps:
    - weight: 10
    - pause: {}
    - weight: 50
    - pause: {}
"""


def scrape(port, path="/metrics", method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        res = conn.getresponse()
        return res.status, res.getheader("Content-Type", ""), res.read().decode()
    finally:
        conn.close()


def parse(text):
    """The samples of a 0.0.4 page: {(name, frozenset(labels.items())): value}."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def select(samples, name, **labels):
    """Samples of `name` whose labels include `labels`, as [(labels dict, value)]."""
    want = set(labels.items())
    return [(dict(k), v) for (n, k), v in samples.items() if n == name and want <= set(k)]


def total(samples, name, **labels):
    return sum(v for _, v in select(samples, name, **labels))


def status_class(status):
    return f"{status // 100}xx"


class MetricsTestCase(unittest.TestCase):
    """A daemon with --metrics-listen on a free port, and a free port for the app."""

    def setUp(self):
        self.ws = Workspace()
        self.metrics_port = free_port()
        self.daemon = Daemon(self.ws, extra_args=["--metrics-listen",
                                                  f"127.0.0.1:{self.metrics_port}"]).start()
        self.port = free_port()

    def tearDown(self):
        stop_daemon(self, self.daemon)
        self.ws.cleanup()

    def deploy(self, version, replicas=2, env=None, strategy_yaml=None, detach=False):
        spec = self.ws.spec(f"{version}.yaml", version=version, replicas=replicas,
                            listen_port=self.port, env=env, strategy_yaml=strategy_yaml)
        res = self.daemon.cli("deploy", *(["--detach"] if detach else []), "-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def page(self):
        status, content_type, text = scrape(self.metrics_port)
        self.assertEqual(status, 200, text)
        self.assertEqual(content_type, "text/plain; version=0.0.4; charset=utf-8")
        return text

    def promtool_check(self, text):
        if not PROMTOOL:
            self.skipTest("promtool is not installed (Debian package `prometheus`; "
                          "scripts/setup installs it)")
        res = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(res.returncode, 0,
                         f"promtool check metrics:\n{res.stdout}{res.stderr}\n--- page ---\n"
                         + text[:4000])

    def counted(self, samples, app="hello"):
        """{(code, method): n} over every release of `app`, zeros left out."""
        out = collections.Counter()
        for labels, v in select(samples, "slipway_http_requests_total", app=app):
            if v:
                out[(labels["code"], labels["method"])] += int(v)
        return dict(out)

    def wait_counted(self, expected, what):
        """The proxy counts a request just after its last byte is written: poll."""
        try:
            wait_until(lambda: self.counted(parse(self.page())) == expected, 10, what)
        except AssertionError:
            self.assertEqual(self.counted(parse(self.page())), expected, what)
        return parse(self.page())


class RequestCountsTest(MetricsTestCase):
    def test_counts_match_the_clients_exactly_and_promtool_passes(self):
        # 20% of GET / and HEAD / answer 500: the clients count which ones.
        self.deploy("v1", env={"FAIL_RATE": "0.2"})
        client = collections.Counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

        def send(method, path, n):
            for _ in range(n):
                conn.request(method, path)
                res = conn.getresponse()
                res.read()
                client[(status_class(res.status), method)] += 1

        send("GET", "/", 500)
        send("GET", "/no-such-page", 37)  # hello's 404
        send("HEAD", "/", 11)
        send("POST", "/", 13)  # hello's 405
        send("DELETE", "/no-such-page", 3)
        conn.close()
        self.assertEqual(client[("4xx", "GET")], 37)
        self.assertGreater(client[("5xx", "GET")], 0)
        self.assertEqual(client[("2xx", "GET")] + client[("5xx", "GET")], 500)

        # Requests the proxy answers itself count for release "none": a smuggling-shaped head
        # is refused with 400 before any backend is picked (and, as the parser refused it,
        # before its method is known: "other").
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400"))
        client[("4xx", "other")] += 3

        samples = self.wait_counted(dict(client), "the counts of every request")
        self.assertEqual(total(samples, "slipway_http_requests_total", release="none"), 3)
        self.assertEqual(total(samples, "slipway_http_requests_total", release="1"),
                         sum(client.values()) - 3)
        # Every status class of a method that has requests is there, zeros included.
        for code in ("1xx", "2xx", "3xx", "4xx", "5xx"):
            self.assertEqual(len(select(samples, "slipway_http_requests_total", app="hello",
                                        release="1", code=code, method="GET")), 1, code)
        # The duration histogram counts the same requests; its buckets are cumulative.
        count = total(samples, "slipway_http_request_duration_seconds_count", release="1")
        self.assertEqual(count, sum(client.values()) - 3)
        buckets = sorted(
            ((float(labels["le"]), v) for labels, v in
             select(samples, "slipway_http_request_duration_seconds_bucket", release="1")))
        self.assertEqual([le for le, _ in buckets],
                         [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")])
        self.assertEqual(buckets[-1][1], count)
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertGreater(total(samples, "slipway_http_request_duration_seconds_sum",
                                 release="1"), 0)
        self.assertEqual(total(samples, "slipway_http_requests_in_flight", release="1"), 0)
        self.assertEqual(total(samples, "slipway_upstream_connect_errors_total", release="1"), 0)

        # Replicas, the deploy history, the daemon itself.
        ready = select(samples, "slipway_replica_ready", app="hello", release="1")
        self.assertEqual(sorted(l["replica"] for l, _ in ready), ["hello-r1-0", "hello-r1-1"])
        self.assertTrue(all(v == 1 for _, v in ready), ready)
        self.assertEqual(total(samples, "slipway_replica_restarts_total", app="hello"), 0)
        self.assertEqual(len(select(samples, "slipway_replica_ejections_total", app="hello")), 2)
        for labels, v in select(samples, "slipway_replica_resident_memory_bytes", app="hello"):
            self.assertGreater(v, 100_000, labels)
        self.assertEqual(len(select(samples, "slipway_replica_cpu_seconds_total", app="hello")), 2)
        self.assertEqual(total(samples, "slipway_deploys_total", app="hello",
                               outcome="succeeded"), 1)
        self.assertEqual(total(samples, "slipway_deploys_total", app="hello", outcome="failed"), 0)
        self.assertEqual(total(samples, "slipway_deploy_duration_seconds_count", app="hello"), 1)
        self.assertEqual(total(samples, "slipway_rollbacks_total", app="hello"), 0)
        self.assertEqual(total(samples, "slipway_app_serving_release", app="hello"), 1)
        self.assertEqual(total(samples, "slipway_deploy_in_progress", app="hello"), 0)
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_open_fds", "process_start_time_seconds"):
            self.assertEqual(len(select(samples, name)), 1, name)
        self.assertGreater(total(samples, "process_resident_memory_bytes"), 1_000_000)
        # Bounded labels: no path ever appears.
        self.assertNotIn("no-such-page", self.page())
        self.promtool_check(self.page())

    def test_only_get_metrics_is_served(self):
        self.assertEqual(scrape(self.metrics_port, "/")[0], 404)
        self.assertEqual(scrape(self.metrics_port, "/metrics/x")[0], 404)
        self.assertEqual(scrape(self.metrics_port, "/metrics", method="POST")[0], 405)
        status, content_type, body = scrape(self.metrics_port, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"))
        # A daemon without apps still has its own process metrics and a valid page.
        samples = parse(self.page())
        self.assertEqual(len(select(samples, "slipway_build_info")), 1)
        self.promtool_check(self.page())


class UnderLoadTest(MetricsTestCase):
    def test_counts_survive_a_deploy_under_load_and_every_scrape_is_valid(self):
        self.deploy("v1")
        load = LoadGen(self.port, rate=300, workers=6).start()
        wait_until(lambda: load.total() > 200, 30, "load to start")
        scrapes = 0
        for version in ("v2", None):
            # Scrapes while requests are in flight: each page is checked whole.
            for _ in range(3):
                self.promtool_check(self.page())
                scrapes += 1
            if version:
                self.deploy(version)
        after = load.total()
        wait_until(lambda: load.total() > after + 200, 30, "load after the deploy")
        summary = load.stop()
        self.assertEqual(summary["socket_errors"], 0, summary)
        self.assertEqual(summary["attempts"], summary["requests"], summary)
        expected = {(status_class(s), "GET"): n for s, n in summary["statuses"].items()}
        samples = self.wait_counted(expected, "the load generator's counts")
        per_release = {l["release"]: v for l, v in
                       select(samples, "slipway_http_requests_total", code="2xx", method="GET")}
        self.assertGreater(per_release.get("1", 0), 0, per_release)  # kept after the deploy
        self.assertGreater(per_release.get("2", 0), 0, per_release)
        self.assertEqual(total(samples, "slipway_deploys_total", outcome="succeeded"), 2)
        self.assertEqual(total(samples, "slipway_app_serving_release"), 2)
        # Old replicas are gone from the per-replica series.
        self.assertEqual({l["release"] for l, _ in select(samples, "slipway_replica_ready")},
                         {"2"})
        print(f"{summary['requests']} requests under load, {scrapes} scrapes, counts exact")

        # A daemon restart resets the proxy's counters but not the deploy history.
        self.daemon.stop()
        self.daemon.start()
        samples = parse(self.page())
        self.assertEqual(total(samples, "slipway_deploys_total", outcome="succeeded"), 2)
        self.assertEqual(total(samples, "slipway_deploy_duration_seconds_count"), 2)

    def test_counters_are_kept_for_the_last_five_releases(self):
        for i in range(1, 8):
            self.deploy(f"v{i}", replicas=1)
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
        wait_until(lambda: total(parse(self.page()), "slipway_http_requests_total",
                                 release="7") == 1, 10, "release 7's request counted")
        samples = parse(self.page())
        releases = {l["release"] for l, _ in select(samples, "slipway_http_requests_total")}
        self.assertEqual(releases, {"3", "4", "5", "6", "7"})
        self.assertEqual(total(samples, "slipway_deploys_total", outcome="succeeded"), 7)
        self.promtool_check(self.page())


class RolloutMetricsTest(MetricsTestCase):
    def test_canary_step_weight_and_abort(self):
        self.deploy("v1", strategy_yaml=CANARY_PAUSES)
        self.deploy("v2", strategy_yaml=CANARY_PAUSES, detach=True)
        wait_until(lambda: total(parse(self.page()), "slipway_rollout_paused", release="2") == 1,
                   60, "the canary to pause at its first pause step")
        samples = parse(self.page())
        self.assertEqual(total(samples, "slipway_rollout_step", app="hello", release="2"), 2)
        self.assertEqual(total(samples, "slipway_rollout_steps", app="hello", release="2"), 4)
        self.assertEqual(total(samples, "slipway_rollout_canary_weight_percent", release="2"), 10)
        self.assertEqual(total(samples, "slipway_deploy_in_progress", app="hello"), 1)
        self.promtool_check(self.page())
        res = self.daemon.cli("abort", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        wait_until(lambda: total(parse(self.page()), "slipway_deploys_total",
                                 outcome="aborted") == 1, 60, "the abort in the history")
        samples = parse(self.page())
        self.assertEqual(select(samples, "slipway_rollout_step"), [])
        self.assertEqual(total(samples, "slipway_deploy_in_progress", app="hello"), 0)
        self.assertEqual(total(samples, "slipway_deploy_duration_seconds_count",
                               outcome="aborted"), 1)


class BadAddressTest(unittest.TestCase):
    def run_daemon(self, ws, address):
        return subprocess.run([harness.SLIPWAY, "daemon", "--state-dir", ws.state_dir,
                               "--metrics-listen", address],
                              capture_output=True, text=True, timeout=60)

    def test_a_bad_or_taken_address_is_refused_with_exit_code_2(self):
        ws = Workspace()
        try:
            for address in ("nonsense", "127.0.0.1:99999", "example.com:9464", "1.2.3.4.5:80"):
                res = self.run_daemon(ws, address)
                self.assertEqual(res.returncode, 2, (address, res.stderr))
                self.assertIn("--metrics-listen", res.stderr)
                self.assertIn(address, res.stderr)
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen(1)
                address = f"127.0.0.1:{taken.getsockname()[1]}"
                res = self.run_daemon(ws, address)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertIn(f"--metrics-listen {address}", res.stderr)
        finally:
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
