"""The production web stack on this machine: gunicorn with gunicorn.conf.py behind nginx with the
repository's deploy/nginx/default.conf.template, rendered with envsubst as the official nginx image
does, with ports and folders of our own. Used by tests/faults/test_proxy.py and benchmarks/slow_clients.py.
"""
from __future__ import annotations

import http.client
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "default.conf.template"
# The template's variables (the official image substitutes only variables that are set, so nginx's own
# lowercase $names stay; envsubst with this list does the same).
TEMPLATE_VARIABLES = ("NGINX_LISTEN", "NGINX_UPSTREAM", "NGINX_STATIC_ROOT", "NGINX_MEDIA_ROOT",
                      "NGINX_OPEN_DATA_DIR", "NGINX_TRUSTED_PROXY")
# What the official image's /etc/nginx/nginx.conf puts around conf.d/*.conf, with temp folders of our own.
MAIN_CONFIG = """\
{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {root}/access.log;
    client_body_temp_path {root}/temp/body;
    proxy_temp_path {root}/temp/proxy;
    fastcgi_temp_path {root}/temp/fastcgi;
    uwsgi_temp_path {root}/temp/uwsgi;
    scgi_temp_path {root}/temp/scgi;
    include {root}/conf.d/*.conf;
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, *, timeout: float = 10, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET, errors included; raises on no answer within `timeout`."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(url: str, seconds: float = 120) -> None:
    """Wait for a 200 from `url`. A start-up wait, not a speed check: generous, since on a busy
    two-core machine (the rest of the suite beside it) three gunicorn workers can take long to boot."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if get(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")


def render_template(**values: str) -> str:
    """The template with every ${NGINX_...} filled in, by the same envsubst the official image runs."""
    missing = set(TEMPLATE_VARIABLES) - set(values)
    assert not missing, f"no value for {sorted(missing)}"
    rendered = subprocess.run(
        ["envsubst", " ".join(f"${{{name}}}" for name in TEMPLATE_VARIABLES)],
        input=TEMPLATE.read_text(), capture_output=True, text=True, check=True,
        env={**os.environ, **values},
    ).stdout
    assert "${NGINX_" not in rendered, "the template uses a variable that TEMPLATE_VARIABLES does not list"
    return rendered


@dataclass
class WebStack:
    """gunicorn (production config) and nginx in front of it, each on a free port, under `root`."""

    root: Path
    app_env: dict
    workers: int = 3
    gunicorn_timeout: int = 30
    trusted_proxy: str = "192.0.2.1"  # TEST-NET: no load balancer in front unless a test says so
    gunicorn_port: int = field(default_factory=free_port)
    nginx_port: int = field(default_factory=free_port)
    processes: list = field(default_factory=list)

    @property
    def direct(self) -> str:
        return f"http://127.0.0.1:{self.gunicorn_port}"

    @property
    def proxied(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def media_root(self) -> Path:
        return Path(self.app_env["MEDIA_ROOT"])

    @property
    def static_root(self) -> Path:
        return self.root / "static"

    @property
    def gunicorn_log(self) -> Path:
        return self.root / "gunicorn.log"

    def start(self) -> None:
        for folder in ("conf.d", "temp", "static"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        log = open(self.gunicorn_log, "ab")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "smartcity.wsgi:application",
             "--bind", f"127.0.0.1:{self.gunicorn_port}", "--workers", str(self.workers),
             "--timeout", str(self.gunicorn_timeout)],
            cwd=ROOT, env={**os.environ, **self.app_env}, stdout=log, stderr=subprocess.STDOUT,
        ))
        log.close()
        (self.root / "conf.d" / "default.conf").write_text(render_template(
            NGINX_LISTEN=f"127.0.0.1:{self.nginx_port}", NGINX_UPSTREAM=f"127.0.0.1:{self.gunicorn_port}",
            NGINX_STATIC_ROOT=str(self.static_root), NGINX_MEDIA_ROOT=str(self.media_root),
            NGINX_OPEN_DATA_DIR=self.app_env["OPEN_DATA_DIR"], NGINX_TRUSTED_PROXY=self.trusted_proxy,
        ))
        # As root nginx's workers would drop to "nobody", who cannot read a private temporary folder.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (self.root / "nginx.conf").write_text(MAIN_CONFIG.format(root=self.root, user=user))
        with open(self.root / "nginx.stderr", "ab") as stderr:
            self.processes.append(subprocess.Popen(
                [nginx_binary(), "-p", str(self.root), "-c", str(self.root / "nginx.conf")],
                stdout=subprocess.DEVNULL, stderr=stderr,
            ))
        try:
            wait_for(f"{self.direct}/health")
            wait_for(f"{self.proxied}/health")
        except AssertionError:
            self.stop()
            raise AssertionError(f"the stack did not start: {self.logs()}") from None

    def logs(self) -> str:
        parts = []
        for name in ("gunicorn.log", "error.log", "nginx.stderr"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()


class SlowBodies:
    """`count` POSTs to `base_url` whose body arrives at 1 byte per second, until the block ends."""

    def __init__(self, base_url: str, count: int = 3):
        host, port = base_url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.count = count
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)

    def __enter__(self):
        for _ in range(self.count):
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(b"POST /reports/new/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nt")
            self.sockets.append(sock)
        self.thread.start()
        time.sleep(1.5)  # every connection taken and trickling
        return self

    def _drip(self) -> None:
        while not self.stopped.wait(1):
            for sock in self.sockets:
                try:
                    sock.sendall(b"x")
                except OSError:
                    pass

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def health_answers(base_url: str, *, within: float) -> bool:
    try:
        return get(f"{base_url}/health", timeout=within)[0] == 200
    except OSError:  # no answer in time
        return False


def read_slowly(url: str, *, bytes_per_second: int) -> tuple[int, bytes, float]:
    """GET `url` with a small receive window, reading no faster than `bytes_per_second`."""
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(60)
    sock.connect((host, int(port)))
    conn = http.client.HTTPConnection(host, int(port))
    conn.sock = sock
    conn.request("GET", path)
    response = conn.getresponse()
    started, received, chunks = time.monotonic(), 0, []
    while chunk := response.read(64 * 1024):
        chunks.append(chunk)
        received += len(chunk)
        ahead = received / bytes_per_second - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    conn.close()
    return response.status, b"".join(chunks), time.monotonic() - started
