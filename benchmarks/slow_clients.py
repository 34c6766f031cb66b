#!/usr/bin/env python3
"""Slow clients against the production web stack: gunicorn (gunicorn.conf.py: 3 sync workers, 30 s
timeout) behind nginx (deploy/nginx/default.conf.template), both on this machine.

    createdb bench_slow
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_slow
    DEBUG=1 .venv/bin/python manage.py migrate && DEBUG=1 .venv/bin/python manage.py generate_load_data --reports 100000
    .venv/bin/python benchmarks/slow_clients.py [--rate 200k]

Prints: how fast /health answers while three clients send a POST body at 1 byte/s, through the proxy
and at gunicorn directly; then each live export of all reports read with `curl --limit-rate`, through
the proxy (and the CSV once directly, the way the issue found it cut off), with gunicorn's own time
for the request from its access log and whether a worker was killed (WORKER TIMEOUT).
Needs nginx (apt-get install nginx), curl and envsubst.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.proxy_stack import SlowBodies, WebStack, get, nginx_binary  # noqa: E402


def health_seconds(base_url: str, timeout: float = 10) -> str:
    started = time.monotonic()
    try:
        status = get(f"{base_url}/health", timeout=timeout)[0]
    except OSError:
        return f"no answer within {timeout:.0f} s"
    return f"{status} in {time.monotonic() - started:.3f} s"


def curl(url: str, rate: str, out: Path) -> tuple[str, int, float]:
    result = subprocess.run(
        ["curl", "-s", "--limit-rate", rate, "-o", str(out), "-w", "%{http_code} %{size_download} %{time_total}", url],
        capture_output=True, text=True, check=False,
    )
    status, size, seconds = result.stdout.split()
    return status, int(size), float(seconds)


def gunicorn_seconds(log: str, path: str) -> str:
    lines = [line for line in log.splitlines() if f"GET {path}" in line]
    return f"{float(lines[-1].split()[-1]):.1f} s" if lines else "no access log line (worker killed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", default="200k", help="curl --limit-rate for the exports")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--skip-direct", action="store_true", help="do not read the CSV from gunicorn directly")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database filled with generate_load_data.")
    if nginx_binary() is None:
        raise SystemExit("nginx is not installed (apt-get install nginx).")

    with tempfile.TemporaryDirectory(prefix="slow-clients-") as folder:
        root = Path(folder)
        app_env = {
            "DEBUG": "0", "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-key"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATABASE_URL": os.environ["DATABASE_URL"],
            "MEDIA_ROOT": str(root / "media"), "OPEN_DATA_DIR": str(root / "media" / "open-data"),
            "X_ACCEL_REDIRECT": "1", "LOG_LEVEL": "WARNING",
        }
        stack = WebStack(root=root / "stack", app_env=app_env, workers=args.workers)
        stack.start()
        try:
            print(f"gunicorn: {args.workers} sync workers, timeout {stack.gunicorn_timeout} s; nginx in front", flush=True)
            print(f"/health, idle: proxy {health_seconds(stack.proxied)}, direct {health_seconds(stack.direct)}")
            with SlowBodies(stack.proxied):
                print(f"/health, 3 bodies at 1 byte/s through the proxy: proxy {health_seconds(stack.proxied)}")
            with SlowBodies(stack.direct):
                print(f"/health, 3 bodies at 1 byte/s at gunicorn directly: direct {health_seconds(stack.direct)}")
            time.sleep(2)

            runs = [("proxy", stack.proxied, "csv"), ("proxy", stack.proxied, "geojson")]
            if not args.skip_direct:
                runs.append(("direct", stack.direct, "csv"))
            print(f"\n| export | via | HTTP | bytes | client s (at {args.rate}/s) | gunicorn s | WORKER TIMEOUT |")
            print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
            for via, base, fmt in runs:
                path = f"/open-data/reports.{fmt}"
                before = len(stack.gunicorn_log.read_text())
                status, size, seconds = curl(base + path, args.rate, root / f"export.{fmt}")
                time.sleep(1)
                log = stack.gunicorn_log.read_text()[before:]  # this run's lines only
                killed = "WORKER TIMEOUT" in log
                print(f"| {fmt} | {via} | {status} | {size:,} | {seconds:.1f} | {gunicorn_seconds(log, path)} | "
                      f"{'yes' if killed else 'no'} |", flush=True)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
