"""Long-lived and large exchanges through the real proxy: a WebSocket that outlives a deploy of
another app, 100 MiB uploads and downloads streamed with the daemon's memory flat, and TLS
certificates renewed (SIGHUP and `slipway reload-tls`) under load without a failed request."""

import base64
import collections
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest
import zlib

from harness import SLIPWAY, DaemonTestCase, free_port, http_get, proc_status, wait_until

MiB = 1024 * 1024
PIECE = 64 * 1024  # what the client hands http.client per write
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# ---- a minimal RFC 6455 client -------------------------------------------------------------

class WebSocketClosed(Exception):
    pass


class WebSocket:
    """One client WebSocket over a plain socket: the opening handshake checked byte for byte,
    masked client frames, fragmented server messages reassembled, pings answered."""

    OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

    def __init__(self, port, path="/ws", timeout=10, context=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if context is not None:  # wss://
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if not self.status_line.startswith("HTTP/1.1 101"):
            raise AssertionError(f"handshake refused: {head!r}")
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if self.headers.get("sec-websocket-accept") != expected:
            raise AssertionError(f"bad Sec-WebSocket-Accept in {head!r}, want {expected}")

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise WebSocketClosed("connection closed by the server")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload=b"", fin=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)  # a client MUST mask every frame (RFC 6455, 5.3)
        key = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
        self.sock.sendall(head + mask + masked)

    def recv_frame(self):
        b0, b1 = self._take(2)
        if b1 & 0x80:
            raise AssertionError("the server masked a frame (RFC 6455, 5.1 forbids it)")
        if b0 & 0x70:
            raise AssertionError(f"reserved bits set without an extension: {b0:#x}")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._take(n)

    def recv_message(self):
        """(opcode, payload) of the next data message; a close frame gives (OP_CLOSE, body)."""
        opcode, parts = None, []
        while True:
            fin, op, payload = self.recv_frame()
            if op == self.OP_PING:
                self.send_frame(self.OP_PONG, payload)
                continue
            if op == self.OP_PONG:
                continue
            if op == self.OP_CLOSE:
                return op, payload
            if op != self.OP_CONT:
                opcode = op
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def close(self, code=1000):
        """The closing handshake: our close, the server's close back, then the TCP close.
        Returns the status code the server sent."""
        self.send_frame(self.OP_CLOSE, struct.pack("!H", code))
        while True:
            op, payload = self.recv_message()
            if op == self.OP_CLOSE:
                break
        try:
            while True:
                self._fill()  # data after the close frame would be a protocol error
                raise AssertionError(f"bytes after the server's close frame: {self.buf!r}")
        except WebSocketClosed:
            pass
        finally:
            self.sock.close()
        return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


# ---- memory sampling -----------------------------------------------------------------------

def rss_bytes(pid):
    return int(proc_status(pid)["VmRSS"].split()[0]) * 1024


class RssSampler:
    """Samples the VmRSS of the daemon (and of the replica) in a thread while a transfer runs.
    Every 20 ms: a 100 MiB download takes a fraction of a second, and a whole-body buffer freed
    at its end (munmap) would vanish between slower samples."""

    def __init__(self, pid, replica_pid, interval=0.02):
        self.pid = pid
        self.replica_pid = replica_pid
        self.interval = interval
        self.stop_event = threading.Event()
        self.baseline = rss_bytes(pid)
        self.samples = [self.baseline]
        self.replica_baseline = rss_bytes(replica_pid)
        self.replica_samples = [self.replica_baseline]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        self.samples.append(rss_bytes(self.pid))
        self.replica_samples.append(rss_bytes(self.replica_pid))

    def _run(self):
        while not self.stop_event.wait(self.interval):
            self._sample()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(timeout=5)
        self._sample()

    @property
    def peak(self):
        return max(self.samples)

    @property
    def growth(self):
        return self.peak - self.baseline

    @property
    def replica_growth(self):
        return max(self.replica_samples) - self.replica_baseline

    def report(self, what, seconds, nbytes):
        return (f"{what}: {nbytes / MiB:.0f} MiB in {seconds:.2f}s "
                f"({nbytes / MiB / seconds:.0f} MiB/s); daemon VmRSS baseline "
                f"{self.baseline / MiB:.1f} MiB, max {self.peak / MiB:.1f} MiB, growth "
                f"{self.growth / MiB:.1f} MiB over {len(self.samples)} samples; replica VmRSS "
                f"baseline {self.replica_baseline / MiB:.1f} MiB, growth "
                f"{self.replica_growth / MiB:.1f} MiB")


# ---- upload and download bodies ------------------------------------------------------------

class UploadBody:
    """An iterable body of `total` bytes in PIECE-sized pieces that differ from each other (a
    lost, repeated or reordered piece changes the CRC), CRC-32 computed as they are sent."""

    def __init__(self, total):
        self.total = total
        self.base = os.urandom(PIECE)
        self.crc = 0
        self.sent = 0

    def __iter__(self):
        index = 0
        while self.sent < self.total:
            n = min(PIECE, self.total - self.sent)
            piece = (struct.pack("!Q", index) + self.base[8:])[:n]
            self.crc = zlib.crc32(piece, self.crc)
            self.sent += n
            index += 1
            yield piece


# byte i of a download is i % 256; slices of this cover any offset and read size up to PIECE.
PATTERN = bytes(range(256)) * (PIECE // 256 + 1)


def read_download(res, expected):
    """Reads the body, checking it against the pattern as it comes; returns the byte count."""
    return read_download_from(res, expected, 0)


def read_download_from(res, expected, got):
    """read_download for a body of which `got` bytes were already read (and checked); returns
    the count read here."""
    start_count = got
    while True:
        data = res.read(PIECE)
        if not data:
            return got - start_count
        start = got % 256
        if data != PATTERN[start:start + len(data)]:
            bad = next(i for i in range(len(data)) if data[i] != (got + i) % 256)
            raise AssertionError(f"download byte {got + bad} is {data[bad]}, want "
                                 f"{(got + bad) % 256}")
        got += len(data)
        if got > expected:
            raise AssertionError(f"download longer than {expected} bytes")


# ---- TLS material --------------------------------------------------------------------------

# Shared with tests/proxy/test_certs.cc: our own config, so neither the system's openssl.cnf
# nor its defaults change the result.
OPENSSL_CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata",
                                   "test-openssl.cnf")


class TestCa:
    def __init__(self, dir):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        with open(os.path.join(dir, "openssl.cnf"), "w") as f:
            with open(OPENSSL_CONFIG_FILE) as config:
                f.write(config.read())
        open(os.path.join(dir, "index.txt"), "w").close()
        self._run("openssl req -x509 -config openssl.cnf -extensions ca_ext -newkey ec "
                  "-pkeyopt ec_paramgen_curve:P-256 -noenc -keyout ca.key -out ca.crt "
                  "-days 3650 -subj '/CN=Slipway Test CA'")
        self.ca_file = os.path.join(dir, "ca.crt")

    def _run(self, command):
        res = subprocess.run(command, shell=True, cwd=self.dir, capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0:
            raise AssertionError(f"{command} failed:\n{res.stdout}{res.stderr}")
        return res.stdout

    def server_cert(self, name):
        """Signs a server certificate for localhost/127.0.0.1 (rand_serial: a new serial each
        time). Returns (cert path, key path, DER bytes)."""
        self._run("openssl req -new -config openssl.cnf -newkey ec "
                  f"-pkeyopt ec_paramgen_curve:P-256 -noenc -keyout {name}.key -out {name}.csr "
                  f"-subj '/CN=localhost/O={name}'")
        self._run(f"openssl ca -batch -config openssl.cnf -notext -days 30 -in {name}.csr "
                  f"-out {name}.crt")
        der = subprocess.run(["openssl", "x509", "-in", f"{name}.crt", "-outform", "der"],
                             cwd=self.dir, capture_output=True, check=True, timeout=60).stdout
        return os.path.join(self.dir, f"{name}.crt"), os.path.join(self.dir, f"{name}.key"), der


def replace_file(path, source=None, content=None):
    """Atomic replacement: a reader sees the old file or the new one, never a partial write."""
    tmp = path + ".tmp"
    if source is not None:
        shutil.copyfile(source, tmp)
    else:
        with open(tmp, "wb") as f:
            f.write(content)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


class TlsLoad:
    """GET / on a NEW TLS connection each time, at about `rate`/s for at most `max_seconds`,
    counting failures and which certificate (DER) each connection was given."""

    def __init__(self, port, context, rate=50, max_seconds=90):
        self.port = port
        self.context = context
        self.interval = 1.0 / rate
        self.max_seconds = max_seconds
        self.ok = 0
        self.errors = []
        self.certs = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        next_at = time.monotonic()
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                               timeout=10)
            try:
                conn.request("GET", "/")
                res = conn.getresponse()
                body = res.read()
                der = conn.sock.getpeercert(binary_form=True)
                with self.lock:
                    if res.status == 200 and body.startswith(b"Hello from "):
                        self.ok += 1
                        self.certs[der] = self.certs.get(der, 0) + 1
                    else:
                        self.errors.append(f"{res.status} {body[:100]!r}")
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with self.lock:
                    self.errors.append(repr(e))
            finally:
                conn.close()
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop_event.wait(delay)
            else:
                next_at = time.monotonic()

    def start(self):
        self.thread.start()
        return self

    def count(self):
        with self.lock:
            return self.ok + len(self.errors)

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=30)


def tls_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def peer_der(port, context):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


# ---- the tests -----------------------------------------------------------------------------

class ProxyStreamsTest(DaemonTestCase):
    def deploy(self, path):
        res = self.daemon.cli("deploy", "-f", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def upload(self, conn, body, chunked):
        """POST /upload of `body` on `conn` (then closed); returns the app's JSON answer."""
        try:
            headers = ({"Transfer-Encoding": "chunked"} if chunked
                       else {"Content-Length": str(body.total)})
            conn.request("POST", "/upload", body=body, headers=headers, encode_chunked=chunked)
            res = conn.getresponse()
            text = res.read().decode()
            self.assertEqual(res.status, 200, text)
            return json.loads(text)
        finally:
            conn.close()

    def download(self, conn, nbytes):
        """GET /download of `nbytes` on `conn` (then closed), checked; returns the count read."""
        try:
            conn.request("GET", f"/download?bytes={nbytes}")
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertEqual(res.getheader("Content-Length"), str(nbytes))
            return read_download(res, nbytes)
        finally:
            conn.close()

    def deploy_tls(self, ca, cert, key, redirect_port=None):
        extra = f"  tls:\n    cert: {cert}\n    key: {key}\n"
        if redirect_port:
            extra += f"    redirect_http: 127.0.0.1:{redirect_port}\n"
        self.deploy(self.ws.spec("tls.yaml", replicas=2, listen_port=self.port, extra=extra))

    def test_websocket_survives_a_deploy_of_another_app(self):
        port_b = free_port()
        self.deploy(self.ws.spec("a.yaml", app="a", version="v1", replicas=2,
                                 listen_port=self.port))
        self.deploy(self.ws.spec("b1.yaml", app="b", version="b1", replicas=2,
                                 listen_port=port_b))
        self.assertIn("Hello from b1", http_get(port_b)[1])

        ws = WebSocket(self.port)
        sent = received = 0
        pending = collections.deque()  # sent, echo not yet read

        def send(opcode, payload):
            nonlocal sent
            ws.send_frame(opcode, payload)
            pending.append((opcode, payload))
            sent += 1

        def receive_all():
            nonlocal received
            while pending:
                opcode, payload = pending.popleft()
                op, echo = ws.recv_message()
                self.assertEqual(op, opcode, f"message {received + 1}: opcode {op}, {echo!r}")
                self.assertEqual(echo, b"v1:" + payload,
                                 f"message {received + 1} lost or out of order")
                received += 1

        def exchange(opcode, payload):
            send(opcode, payload)
            receive_all()

        # Both kinds of data frame, and every payload length encoding (7-bit, 16-bit, 64-bit).
        exchange(WebSocket.OP_TEXT, b"hello")
        exchange(WebSocket.OP_BINARY, bytes(range(256)) * 4)
        exchange(WebSocket.OP_TEXT, b"x" * 70000)

        # B's new replicas start slowly, so the deploy (two replicas, one at a time) lasts a
        # few seconds of the socket's life.
        deploy_b = subprocess.Popen(
            [SLIPWAY, "--state-dir", self.ws.state_dir,
             "deploy", "-f", self.ws.spec("b2.yaml", app="b", version="b2", replicas=2,
                                          listen_port=port_b, env={"START_DELAY_MS": 1500})],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        during = 0
        started = time.monotonic()
        try:
            # About every 50 ms, a burst of three messages sent back to back (so several are in
            # the tunnel at once), then their echoes; for as long as B's deploy runs (at most
            # 1800 bursts, 90 s).
            bursts = 0
            while deploy_b.poll() is None and bursts < 1800:
                for _ in range(3):
                    send(WebSocket.OP_TEXT, f"during-deploy-{during}".encode())
                    during += 1
                receive_all()
                bursts += 1
                time.sleep(0.05)
        finally:
            out, _ = deploy_b.communicate(timeout=120)
        deploy_seconds = time.monotonic() - started
        self.assertEqual(deploy_b.returncode, 0, out)
        self.assertIn("Hello from b2", http_get(port_b)[1])
        for i in range(20):  # and after it, on the same socket
            exchange(WebSocket.OP_TEXT, f"after-deploy-{i}".encode())

        code = ws.close(1000)
        print(f"WebSocket to app a across a deploy of app b ({deploy_seconds:.1f}s): "
              f"{sent} sent, {received} echoed in order ({during} during the deploy), "
              f"close code {code}")
        self.assertEqual(sent, received)
        self.assertGreaterEqual(bursts, 5, "the deploy was too quick to overlap the socket")
        self.assertEqual(code, 1000)
        self.assertEqual(http_get(self.port)[0], 200)

    def test_100_mib_upload_and_download_stream(self):
        self.deploy(self.ws.spec("v1.yaml", replicas=1, listen_port=self.port))
        pid = self.daemon.proc.pid
        replica_pid = self.daemon.status("hello")["replicas"][0]["pid"]
        total = 100 * MiB
        # Growth of the daemon's (and the replica's) RSS while 100 MiB move: buffering a body
        # whole would add at least 100 MiB; streaming through fixed relay buffers adds a few.
        # The bound leaves room for ASan's allocator (quarantine, shadow memory) but not for a
        # whole body.
        bound = 32 * MiB

        def upload(body, chunked):
            return self.upload(http.client.HTTPConnection("127.0.0.1", self.port, timeout=60),
                               body, chunked)

        def download(nbytes):
            return self.download(http.client.HTTPConnection("127.0.0.1", self.port, timeout=60),
                                 nbytes)

        # Warm-up: the first transfers touch code and allocator pools for the first time.
        for chunked in (False, True):
            small = UploadBody(4 * MiB + 12345)
            self.assertEqual(upload(small, chunked), {"bytes": small.total, "crc32": small.crc})
        self.assertEqual(download(4 * MiB + 77), 4 * MiB + 77)

        reports = []
        for what, chunked in (("upload, Content-Length", False), ("upload, chunked", True)):
            body = UploadBody(total)
            with RssSampler(pid, replica_pid) as rss:
                started = time.monotonic()
                answer = upload(body, chunked)
                seconds = time.monotonic() - started
            reports.append(rss.report(what, seconds, total))
            print(reports[-1])
            self.assertEqual(body.sent, total)
            self.assertEqual(answer, {"bytes": total, "crc32": body.crc}, what)
            self.assertLess(rss.growth, bound, reports[-1])
            self.assertLess(rss.replica_growth, bound, reports[-1])

        with RssSampler(pid, replica_pid) as rss:
            started = time.monotonic()
            got = download(total)
            seconds = time.monotonic() - started
        reports.append(rss.report("download", seconds, total))
        print(reports[-1])
        self.assertEqual(got, total)
        self.assertLess(rss.growth, bound, reports[-1])
        self.assertLess(rss.replica_growth, bound, reports[-1])

        # Backpressure: the client stops reading for a while after 1 MiB. A proxy that went on
        # reading the replica would have to hold what it read; one that streams waits.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            with RssSampler(pid, replica_pid) as rss:
                started = time.monotonic()
                conn.request("GET", f"/download?bytes={total}")
                res = conn.getresponse()
                self.assertEqual(res.status, 200)
                first = res.read(MiB)
                self.assertEqual(first, PATTERN[:256] * (MiB // 256))
                stalled_at = len(rss.samples)
                wait_until(lambda: len(rss.samples) >= stalled_at + 50, 30,
                           "the sampler to watch a stalled client for about 1 s")
                got = len(first) + read_download_from(res, total, len(first))
                seconds = time.monotonic() - started
        finally:
            conn.close()
        reports.append(rss.report("download, client stalled ~1 s after 1 MiB", seconds, total))
        print(reports[-1])
        self.assertEqual(got, total)
        self.assertLess(rss.growth, bound, reports[-1])
        self.assertLess(rss.replica_growth, bound, reports[-1])

    def test_tls_reload_under_load(self):
        ca = TestCa(os.path.join(self.ws.dir, "tls"))
        first_cert, first_key, first_der = ca.server_cert("first")
        second_cert, second_key, second_der = ca.server_cert("second")
        third_cert, third_key, third_der = ca.server_cert("third")
        self.assertEqual(len({first_der, second_der, third_der}), 3)
        live_cert = os.path.join(ca.dir, "live.crt")
        live_key = os.path.join(ca.dir, "live.key")
        replace_file(live_cert, first_cert)
        replace_file(live_key, first_key)
        redirect_port = free_port()
        self.deploy_tls(ca, live_cert, live_key, redirect_port)
        context = tls_context(ca.ca_file)

        # TLS 1.3, ALPN http/1.1, HSTS; this connection stays open through every reload.
        keep = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=10)
        keep.request("GET", "/")
        res = keep.getresponse()
        body = res.read().decode()
        self.assertEqual(res.status, 200, body)
        self.assertTrue(body.startswith("Hello from v1"), body)
        self.assertEqual(keep.sock.version(), "TLSv1.3")
        self.assertEqual(keep.sock.selected_alpn_protocol(), "http/1.1")
        self.assertIn("max-age=", res.getheader("Strict-Transport-Security") or "")
        self.assertEqual(keep.sock.getpeercert(binary_form=True), first_der)
        keep_sock = keep.sock

        status, _, headers = http_get(redirect_port, "/path?q=1")
        self.assertEqual(status, 308)
        self.assertEqual(headers.get("Location"), f"https://127.0.0.1:{self.port}/path?q=1")

        def keep_alive_request():
            keep.request("GET", "/")
            res = keep.getresponse()
            body = res.read().decode()
            self.assertEqual(res.status, 200, body)
            self.assertIs(keep.sock, keep_sock, "the long-lived connection was reopened")
            self.assertEqual(keep.sock.getpeercert(binary_form=True), first_der)
            # A WebSocket over TLS, open through every reload, also keeps its certificate.
            echoes.append(f"after reload {len(echoes)}".encode())
            wss.send_frame(WebSocket.OP_TEXT, echoes[-1])
            self.assertEqual(wss.recv_message(), (WebSocket.OP_TEXT, b"v1:" + echoes[-1]))
            self.assertEqual(wss.sock.getpeercert(binary_form=True), first_der)

        def more_load():
            before = load.count()
            wait_until(lambda: load.count() >= before + 15, 30, "TLS load to go on")

        wss = WebSocket(self.port, context=context)
        echoes = []
        load = TlsLoad(self.port, context).start()
        try:
            more_load()

            # Renewal 1: files replaced, then SIGHUP.
            replace_file(live_cert, second_cert)
            replace_file(live_key, second_key)
            sighup_at = time.monotonic()
            self.daemon.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: peer_der(self.port, context) == second_der, 15,
                       "new connections to get the certificate renewed by SIGHUP")
            sighup_seconds = time.monotonic() - sighup_at
            keep_alive_request()
            more_load()

            # Renewal 2: files replaced, then `slipway reload-tls`.
            replace_file(live_cert, third_cert)
            replace_file(live_key, third_key)
            res = self.daemon.cli("reload-tls")
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertEqual(peer_der(self.port, context), third_der,
                             "reload-tls returned before new connections got the new cert")
            keep_alive_request()
            more_load()

            # A broken renewal: refused, named, and the last good certificate keeps serving.
            replace_file(live_cert, content=b"this is not a certificate\n")
            res = self.daemon.cli("reload-tls")
            broken_output = (res.stdout + res.stderr).strip()
            broken_exit = res.returncode
            self.assertNotEqual(broken_exit, 0, broken_output)
            self.assertIn(live_cert, broken_output)
            self.assertEqual(peer_der(self.port, context), third_der)
            keep_alive_request()
            more_load()
            self.assertEqual(wss.close(1000), 1000)
        finally:
            load.stop()
            keep.close()
            wss.sock.close()
        with load.lock:
            certs = {("first" if d == first_der else "second" if d == second_der
                      else "third" if d == third_der else "other"): n
                     for d, n in load.certs.items()}
            errors = list(load.errors)
            ok = load.ok
        print(f"TLS reload under load: {ok} requests on new TLS connections, {len(errors)} "
              f"failed; certificates served {certs}; SIGHUP picked up in "
              f"{sighup_seconds:.2f}s; reload-tls of a garbage cert: exit {broken_exit}, "
              f"{broken_output!r}; long-lived HTTPS and WSS connections answered after each "
              f"of {len(echoes)} reloads on their first certificate")
        self.assertEqual(errors, [])
        self.assertEqual(set(certs), {"first", "second", "third"}, certs)

    def test_a_body_streaming_from_a_retired_replica_holds_its_drain(self):
        self.deploy(self.ws.spec("v1.yaml", replicas=1, listen_port=self.port))
        old = self.daemon.status("hello")["replicas"][0]
        total = 64 * MiB
        # A client that reads the head and a little, then stops reading: the body cannot
        # finish until the client goes on, which it does only once the old replica has left
        # the pool. Small receive buffers keep most of the body in the replica.
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET /download?bytes={total} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        res = http.client.HTTPResponse(sock)
        res.begin()
        self.assertEqual(res.status, 200)
        first = res.read(PIECE)
        self.assertEqual(first, PATTERN[:len(first)])
        deploy = subprocess.Popen(
            [SLIPWAY, "--state-dir", self.ws.state_dir, "deploy", "-f",
             self.ws.spec("v2.yaml", version="v2", replicas=1, listen_port=self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            def drain_event():
                for line in self.daemon.log().splitlines():
                    if '"replica.draining"' in line:
                        event = json.loads(line)
                        if event["message"].startswith(old["name"] + " "):
                            return event["message"]
                return None
            drained = wait_until(drain_event, 60, f"{old['name']} to leave the pool")
            in_flight = int(re.search(r"\((\d+) in flight\)", drained).group(1))
            got = len(first) + read_download_from(res, total, len(first))
        finally:
            sock.close()
            out, _ = deploy.communicate(timeout=120)
        self.assertEqual(deploy.returncode, 0, out)
        with open(old["log"], errors="replace") as f:
            replica_log = f.read()
        stop_line = next((line for line in replica_log.splitlines() if "got SIGTERM" in line),
                         "")
        print(f"body from a retired replica: {got} of {total} bytes; drain event {drained!r}; "
              f"replica: {stop_line!r}")
        self.assertGreaterEqual(in_flight, 1, f"the drain did not count the streaming body: "
                                              f"{drained}")
        self.assertEqual(got, total, "the body was cut short")
        self.assertIn("(0 requests in flight)", stop_line,
                      "the replica was stopped before its body was sent")

    def test_bodies_and_websocket_over_tls(self):
        ca = TestCa(os.path.join(self.ws.dir, "tls"))
        cert, key, _ = ca.server_cert("server")
        self.deploy_tls(ca, cert, key)
        context = tls_context(ca.ca_file)

        def connect():
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=context,
                                               timeout=60)

        total = 16 * MiB + 3  # not a multiple of any buffer size
        timings = []
        for chunked in (False, True):
            body = UploadBody(total)
            started = time.monotonic()
            self.assertEqual(self.upload(connect(), body, chunked),
                             {"bytes": total, "crc32": body.crc})
            timings.append(f"upload ({'chunked' if chunked else 'Content-Length'}) "
                           f"{time.monotonic() - started:.2f}s")
        started = time.monotonic()
        self.assertEqual(self.download(connect(), total), total)
        timings.append(f"download {time.monotonic() - started:.2f}s")

        ws = WebSocket(self.port, context=context)
        for i in range(50):
            payload = os.urandom(i * 1000)  # up to ~49 KB: frames span TLS records
            ws.send_frame(WebSocket.OP_BINARY, payload)
            self.assertEqual(ws.recv_message(), (WebSocket.OP_BINARY, b"v1:" + payload), i)
        self.assertEqual(ws.close(1000), 1000)
        print(f"over TLS: {total / MiB:.0f} MiB " + ", ".join(timings) +
              "; 50 WebSocket messages echoed")


if __name__ == "__main__":
    unittest.main()
