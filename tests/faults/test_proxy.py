"""Slow clients, media and exports (issue 14, findings 4 and 8), against the real stack: gunicorn with
gunicorn.conf.py behind nginx with deploy/nginx/default.conf.template (tests/faults/proxy_stack.py).

- Three clients sending a body at 1 byte/s hold all three sync workers of gunicorn alone and /health
  stops answering; behind nginx, which reads bodies whole before passing them on, it keeps answering.
- A live export read far more slowly than gunicorn's timeout arrives whole: nginx buffers it and
  gunicorn is done in a fraction of the time.
- Photos of public reports and the daily dump leave from disk through nginx; pending photos, the
  matching model and the proxy's internal paths are never served.
"""
from __future__ import annotations

import http.client
import io
import json
import re
import shutil
import socket
import uuid
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from PIL import Image

from participation.models import ReportPhoto
from tests.conftest import ROOT, require_service
from tests.faults.conftest import wait_until
from tests.faults.proxy_stack import TEMPLATE, SlowBodies, WebStack, get, health_answers, nginx_binary, read_slowly
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db(transaction=True)


def _app_env(tmp_path: Path) -> dict:
    db = connection.settings_dict
    return {
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # gunicorn must see the rows this test committed: the test database.
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "OPEN_DATA_DIR": str(tmp_path / "media" / "open-data"),
        "X_ACCEL_REDIRECT": "1",
        "SECURE_SSL_REDIRECT": "0",
        "TRUSTED_PROXY_COUNT": "1",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def start_stack(needs_postgres, tmp_path):
    """start(**options) -> a running WebStack; stopped after the test."""
    require_service(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    require_service(shutil.which("envsubst") is not None, "envsubst is not installed (apt-get install gettext-base)")
    stacks = []

    def start(**options) -> WebStack:
        stack = WebStack(root=tmp_path / f"stack{len(stacks)}", app_env=_app_env(tmp_path), **options)
        stacks.append(stack)
        stack.start()
        return stack

    yield start
    for stack in stacks:
        stack.stop()


# --- Slow clients ------------------------------------------------------------------------------------
def test_three_slow_bodies_block_gunicorn_alone_but_not_behind_the_proxy(start_stack):
    stack = start_stack(workers=3)

    with SlowBodies(stack.proxied):
        # nginx holds the three bodies; gunicorn's workers never see them.
        assert health_answers(stack.proxied, within=3)
        assert health_answers(stack.direct, within=3)

    with SlowBodies(stack.direct):
        # The same attack on gunicorn itself: three sync workers each wait for a body.
        assert not health_answers(stack.direct, within=3)

    assert health_answers(stack.direct, within=15), stack.logs()


def test_a_body_over_djangos_limit_is_refused_by_the_proxy(start_stack):
    stack = start_stack(workers=1)
    with socket.create_connection(("127.0.0.1", stack.nginx_port), timeout=5) as sock:
        sock.sendall(b"POST /reports/new/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                     b"boundary=x\r\nContent-Length: 50000000\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    assert "/reports/new/" not in stack.gunicorn_log.read_text()


def test_the_proxys_body_limit_is_djangos():
    size, unit = re.search(r"client_max_body_size (\d+)([km]?);", TEMPLATE.read_text()).groups()
    assert int(size) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- Exports -----------------------------------------------------------------------------------------
def test_a_big_live_export_read_slowly_through_the_proxy_arrives_whole(start_stack):
    # gunicorn's timeout made short so that the client's read outlasts it by far. The GeoJSON of 30,000
    # reports (about 21 MB) is bigger than what the kernel's socket buffers alone would absorb.
    stack = start_stack(workers=2, gunicorn_timeout=10)
    reports = 30_000
    call_command("generate_load_data", reports=reports, verbosity=0)

    # Each buffered export takes a temp file: at most four at once per client address.
    stalled = []
    for _ in range(4):
        sock = socket.create_connection(("127.0.0.1", stack.nginx_port), timeout=10)
        sock.sendall(b"GET /open-data/reports.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(20).startswith(b"HTTP/1.1 200")  # and then it reads no more
        stalled.append(sock)
    assert get(f"{stack.proxied}/open-data/reports.geojson")[0] == 429
    for sock in stalled:
        sock.close()

    # (Those four are done or killed by now; on a busy machine writing them can outlast the short timeout.)
    log_before = len(stack.gunicorn_log.read_text())
    status, body, seconds = read_slowly(f"{stack.proxied}/open-data/reports.geojson", bytes_per_second=1_000_000)

    assert status == 200
    try:
        features = json.loads(body)["features"]
    except ValueError:
        pytest.fail(f"the export was cut off after {len(body):,} bytes:\n{stack.logs()}")
    assert len(features) == reports
    assert seconds > 2 * stack.gunicorn_timeout
    log = stack.gunicorn_log.read_text()[log_before:]
    assert "WORKER TIMEOUT" not in log
    # gunicorn's own time for the request (the access log's last field): a fraction of the client's.
    [line] = [line for line in log.splitlines() if "GET /open-data/reports.geojson" in line and " 200 " in line]
    assert float(line.split()[-1]) < stack.gunicorn_timeout, line


# --- Media and the dump --------------------------------------------------------------------------------
def _jpeg() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(output, format="JPEG")
    return output.getvalue()


def _photo(stack: WebStack, report, content: bytes) -> str:
    name = f"reports/2026/01/{uuid.uuid4().hex}.jpg"
    path = stack.media_root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    ReportPhoto.objects.create(report=report, image=name, width=64, height=48)
    return f"/media/{name}"


def test_the_proxy_sends_public_photos_and_the_dump_and_nothing_else_from_media(start_stack):
    stack = start_stack(workers=2)
    content = _jpeg()
    public = _photo(stack, make_report(title="Broken bench"), content)
    hidden = _photo(stack, make_report(title="Hidden", is_hidden=True, hidden_reason="a face"), content)
    (stack.media_root / "pending").mkdir()
    (stack.media_root / "pending" / "abc.jpg").write_bytes(content)
    (stack.media_root / "matching").mkdir()
    (stack.media_root / "matching" / "engine.pickle").write_bytes(b"the fitted model")
    dump = "id,url,created_at\n1,https://example.org/reports/1/,2026-01-01T00:00:00Z\n"
    (stack.media_root / "open-data").mkdir()
    (stack.media_root / "open-data" / "reports.csv").write_text(dump)
    (stack.static_root / "site.css").write_text("body { margin: 0 }")

    status, headers, body = get(stack.proxied + public)
    assert (status, body, headers["Content-Type"]) == (200, content, "image/jpeg")
    assert headers["Cache-Control"] == "public, max-age=86400"
    # From disk by nginx (Django's answer had no body): it knows the file's ETag and serves ranges.
    assert "ETag" in headers
    status, headers, body = get(stack.proxied + public, headers={"Range": "bytes=0-9"})
    assert (status, body) == (206, content[:10])

    assert get(stack.proxied + hidden)[0] == 404
    for path in ("/media/pending/abc.jpg", "/media/reports/../pending/abc.jpg", "/media/matching/engine.pickle",
                 "/media/open-data/reports.csv", "/_protected/media/reports/" + public.removeprefix("/media/reports/"),
                 "/_protected/media/pending/abc.jpg", "/_protected/open-data/reports.csv"):
        status, _headers, body = get(stack.proxied + path)
        assert status == 404 and content not in body and b"fitted" not in body and b"example.org" not in body, path

    status, headers, body = get(f"{stack.proxied}/open-data/dump/reports.csv")
    assert (status, body.decode()) == (200, dump)
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="reports.csv"'
    assert get(f"{stack.proxied}/open-data/dump/reports.csv", headers={"Range": "bytes=0-1"})[0] == 206

    status, headers, body = get(f"{stack.proxied}/static/site.css")
    assert (status, body) == (200, b"body { margin: 0 }") and headers["X-Content-Type-Options"] == "nosniff"


def test_django_gets_the_clients_address_and_scheme_only_from_a_trusted_load_balancer(start_stack):
    stack = start_stack(workers=1, trusted_proxy="127.0.0.2")

    def health(source: str, probe: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", stack.nginx_port, timeout=10, source_address=(source, 0))
        conn.request("GET", f"/health?probe={probe}",
                     headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    spoofed = health("127.0.0.1", "client")
    trusted = health("127.0.0.2", "balancer")

    # A client's own headers are replaced: Django sees the peer's address and plain http (no HSTS).
    assert spoofed.status == 200 and spoofed.getheader("Strict-Transport-Security") is None
    # The load balancer's are believed: the client's address and https.
    assert trusted.status == 200 and trusted.getheader("Strict-Transport-Security")
    # gunicorn's access log starts with the X-Forwarded-For it got (written just after the answer).
    log = wait_until(lambda: (text := stack.gunicorn_log.read_text()).count("probe=") == 2 and text.splitlines(),
                     timeout=10, what="both requests in gunicorn's access log")
    assert [line.split()[0] for line in log if "probe=client" in line] == ["127.0.0.1"]
    assert [line.split()[0] for line in log if "probe=balancer" in line] == ["203.0.113.7"]


# --- The production stack file -----------------------------------------------------------------------
def test_docker_compose_publishes_the_proxy_and_not_gunicorn():
    stack = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = stack["services"]
    assert "ports" not in services["web"]
    assert services["proxy"]["ports"]
    assert services["proxy"]["build"]["target"] == "proxy"
    assert "gunicorn.conf.py" in services["web"]["command"]
    assert services["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"
    assert services["web"]["environment"]["X_ACCEL_REDIRECT"] == "1"
