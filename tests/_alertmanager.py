"""A real Prometheus Alertmanager for the tests, and two small local servers in front of it.

The fixtures (``tests/conftest.py`` imports them, so every test module can use them):

* ``alertmanager_factory``: makes :class:`Alertmanager` processes (not started) on free
  127.0.0.1 ports, each with a minimal config and its own ``--storage.path`` in ``tmp_path``
  and clustering disabled; all are stopped after the test.
* ``alertmanager``: one of them, started and ready (``/-/ready``).

The binary is ``$SEAD_ALERTMANAGER``, else ``prometheus-alertmanager`` (Debian's name) or
``alertmanager`` on ``PATH``. Without it a test is skipped with how to install it, or fails
when ``CI`` is set.

:class:`Proxy` forwards ``POST /api/v2/alerts`` to an upstream Alertmanager, can answer with
errors instead, and records what it forwarded; :class:`Blackhole` accepts connections and never
answers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

INSTALL = "install with: apt-get install prometheus-alertmanager"

CONFIG = """\
global:
  resolve_timeout: 5m
route:
  receiver: "null"
  group_wait: 1h
receivers:
  - name: "null"
"""

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def find_binary() -> str | None:
    env = os.environ.get("SEAD_ALERTMANAGER")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in ("prometheus-alertmanager", "alertmanager"):
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, data=None, timeout=5.0):
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(
        url,
        data=body,
        method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with _NO_PROXY.open(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else None


class Alertmanager:
    """One Alertmanager process on 127.0.0.1 (``start`` / ``stop``, ``alerts()``)."""

    def __init__(self, binary, workdir, port=None):
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self._fixed_port = port is not None
        self.proc = None
        os.makedirs(workdir, exist_ok=True)
        self.config = os.path.join(workdir, "alertmanager.yml")
        with open(self.config, "w") as f:
            f.write(CONFIG)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0):
        for _ in range(3):
            if self._start_once(timeout):
                return self
            if self._fixed_port:
                break
            self.port = free_port()  # lost a race for the port: try another
        raise RuntimeError(f"Alertmanager did not become ready:\n{self._log()}")

    def _start_once(self, timeout):
        storage = os.path.join(self.workdir, "data")
        self.logfile = os.path.join(self.workdir, "alertmanager.log")
        with open(self.logfile, "w") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config}",
                    f"--storage.path={storage}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with _NO_PROXY.open(self.url + "/-/ready", timeout=1.0) as resp:
                    if resp.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        self.stop()
        return False

    def _log(self):
        try:
            with open(self.logfile) as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def alerts(self, **params):
        """``GET /api/v2/alerts`` (active, unresolved alerts) as a list of dicts."""
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return http_json(self.url + "/api/v2/alerts" + (f"?{q}" if q else ""))

    def wait_for(self, predicate, timeout=5.0):
        """Poll ``alerts()`` until ``predicate(alerts)`` is true; return the alerts."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.alerts()
            if predicate(got) or time.monotonic() > deadline:
                return got
            time.sleep(0.05)


@pytest.fixture
def alertmanager_binary():
    path = find_binary()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"Alertmanager binary not found (CI is set); {INSTALL}")
        pytest.skip(INSTALL)
    return path


@pytest.fixture
def alertmanager_factory(tmp_path, alertmanager_binary):
    made = []

    def make(port=None):
        am = Alertmanager(alertmanager_binary, str(tmp_path / f"am{len(made)}"), port)
        made.append(am)
        return am

    yield make
    for am in made:
        am.stop()


@pytest.fixture
def alertmanager(alertmanager_factory):
    return alertmanager_factory().start()


class Proxy:
    """A local HTTP server in front of an Alertmanager.

    ``mode`` is ``"forward"`` (pass ``POST /api/v2/alerts`` upstream and record the alerts
    that upstream acknowledged in ``delivered``) or an HTTP status to answer with;
    ``fail_next`` answers 503 to that many posts before going back to ``mode``. Every post
    is counted in ``posts``.
    """

    def __init__(self, upstream_url: str | None):
        self.upstream = upstream_url
        self.mode = "forward"
        self.fail_next = 0
        self.posts = 0
        self.delivered: list[dict] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.posts += 1
                    if proxy.fail_next > 0:
                        proxy.fail_next -= 1
                        status = 503
                    else:
                        status = proxy.mode
                if status == "forward":
                    req = urllib.request.Request(
                        proxy.upstream + self.path,
                        data=body,
                        method="POST",
                        headers={"Content-Type": "application/json"},
                    )
                    try:
                        with _NO_PROXY.open(req, timeout=5) as resp:
                            code, out = resp.status, resp.read()
                    except urllib.error.HTTPError as exc:
                        code, out = exc.code, exc.read()
                    except OSError:
                        code, out = 502, b"upstream down"
                    if code == 200:
                        with proxy.lock:
                            proxy.delivered.extend(json.loads(body))
                else:
                    code, out = int(status), b'"test proxy says no"'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Blackhole:
    """A listening socket that never accepts: connections hang until the client times out."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()
