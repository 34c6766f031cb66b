"""The load benchmark: gunicorn with the production settings against PostgreSQL, driven by locust.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python benchmarks/load/run.py [--seconds 30] [--workers 4]

Fill the database first (python manage.py migrate; load_demo; generate_load_data --reports 1000000).
Runs, one after the other in the same run: the bare baseline, residents browsing, residents submitting
reports, staff triaging. Prints per scenario: throughput, p50/p95/p99 latency, errors; the overhead
ratio against the baseline; gunicorn's CPU time per request and the share of CPU time the hypervisor
gave to other guests (steal), both from /proc, which explain a slow run on a shared VM; and checks that every report answered with 201 is in the database.
Needs locust (pip install '.[bench]'). Without a Celery worker the scoring tasks wait in Redis.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
TARGET_BROWSE_P95_MS = 200
TARGET_SUBMISSIONS_PER_S = 100


def env_for_site(args) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.load.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain http on the loopback: no TLS in front, so cookies must not be https-only here.
        "SESSION_COOKIE_SECURE": "0", "SECURE_SSL_REDIRECT": "0", "BEHIND_PROXY": "0",
        "REPORT_API_STAFF_RATE": "1000000/hour",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore::UserWarning",  # "No directory at: staticfiles/": static files are not measured
    }


def setup(env: dict, staff_email: str, staff_password: str) -> dict:
    """A known password for the triage account, an API token, and the id range to read from."""
    code = f"""
import json
from rest_framework.authtoken.models import Token
from participation.models import Report
from smartcity.models import Theme, User
from django.db.models import Max, Min
staff = User.objects.get(email={staff_email!r})
staff.set_password({staff_password!r}); staff.save(update_fields=["password"])
admin = User.objects.filter(is_superuser=True).order_by("pk").first()
token, _ = Token.objects.get_or_create(user=admin)
ids = Report.objects.aggregate(lo=Min("pk"), hi=Max("pk"), n=Max("pk"))
print(json.dumps({{"token": token.key, "min": ids["lo"], "max": ids["hi"], "reports": Report.objects.count(),
                  "themes": list(Theme.objects.values_list("pk", flat=True))}}))
"""
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def stored_references(env: dict, run: str) -> set[str]:
    code = ("from participation.models import Report; "
            f"print(' '.join(Report.objects.filter(reference__startswith='bench-{run}-').values_list('reference', flat=True)))")
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return set(out.split())


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url} within {seconds} s")


def locust(user_class: str, users: int, seconds: int, host: str, env: dict, out: Path) -> dict:
    prefix = out / user_class
    subprocess.run(
        [PYTHON, "-m", "locust", "-f", str(ROOT / "benchmarks/load/locustfile.py"), "--headless", "--only-summary",
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host, "--csv", str(prefix),
         "--loglevel", "ERROR", user_class],
        cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return rows


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and its children so far, from /proc (Linux); 0 elsewhere.
    A stable figure on a shared machine, where throughput moves with what else is running."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(entry.name) == root or int(fields[1]) == root:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the whole machine so far, from /proc/stat (Linux); (0, 0) elsewhere.
    Steal is time the hypervisor gave to other guests: on a shared VM it explains slow runs."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    return fields[7], sum(fields)


def summary(name: str, row: dict) -> dict:
    def number(key: str) -> float:
        return float(row[key]) if row[key] not in ("", "N/A") else 0.0

    return {"scenario": name, "requests": int(row["Request Count"]), "errors": int(row["Failure Count"]),
            "rps": number("Requests/s"), "p50": number("50%"), "p95": number("95%"), "p99": number("99%")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30, help="length of each scenario")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--browsing-users", type=int, default=8)
    parser.add_argument("--submitting-users", type=int, default=8)
    parser.add_argument("--triage-users", type=int, default=4)
    parser.add_argument("--staff-email", default="triage@example.org")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database filled with generate_load_data.")

    env = env_for_site(args)
    password = secrets.token_urlsafe(16)
    facts = setup(env, args.staff_email, password)
    host = f"http://127.0.0.1:{args.port}"
    run = secrets.token_hex(4)
    out = Path(tempfile.mkdtemp(prefix="bench-load-"))
    submitted = out / "submitted.txt"
    submitted.touch()
    bench_env = {**env, "BENCH_MIN_ID": str(facts["min"]), "BENCH_MAX_ID": str(facts["max"]),
                 "BENCH_THEMES": ",".join(map(str, facts["themes"])), "BENCH_TOKEN": facts["token"],
                 "BENCH_SUBMITTED": str(submitted), "BENCH_RUN": run,
                 "BENCH_STAFF_EMAIL": args.staff_email, "BENCH_STAFF_PASSWORD": password}

    gunicorn = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "smartcity.wsgi", "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}",
         "--access-logfile", "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    results = []
    try:
        wait_for(f"{host}/health")
        print(f"{facts['reports']:,} reports in the database; gunicorn with {args.workers} workers; "
              f"{args.seconds} s per scenario; results in {out}", flush=True)
        for name, user_class, users in [("baseline (bare view, same SQL)", "Baseline", args.browsing_users),
                                        ("residents browsing", "Browsing", args.browsing_users),
                                        ("residents submitting", "Submitting", args.submitting_users),
                                        ("staff triage queue", "Triage", args.triage_users)]:
            before, (steal, total) = cpu_seconds(gunicorn.pid), cpu_ticks()
            rows = locust(user_class, users, args.seconds, host, bench_env, out)
            results.append(summary(name, rows["Aggregated"]))
            results[-1]["cpu_ms"] = (cpu_seconds(gunicorn.pid) - before) * 1000 / max(results[-1]["requests"], 1)
            steal_after, total_after = cpu_ticks()
            results[-1]["steal"] = (steal_after - steal) / max(total_after - total, 1) * 100
            for endpoint, row in rows.items():
                if endpoint != "Aggregated":
                    results.append(summary(f"  {endpoint}", row))
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    print(f"\n{'scenario':34} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
          f" {'server CPU ms/req':>18} {'steal %':>8}")
    for r in results:
        cpu = f"{r['cpu_ms']:>18.1f} {r['steal']:>8.0f}" if "cpu_ms" in r else ""
        print(f"{r['scenario']:34} {r['requests']:>9} {r['rps']:>8.1f} {r['p50']:>8.0f} {r['p95']:>8.0f} {r['p99']:>8.0f} {r['errors']:>7}"
              f"{cpu}")
    by_name = {r["scenario"]: r for r in results}
    baseline, browsing = by_name["baseline (bare view, same SQL)"], by_name["residents browsing"]
    submitting = by_name["residents submitting"]
    answered = set(submitted.read_text().split())
    stored = stored_references(env, run)
    missing = answered - stored
    ratio = browsing["rps"] / baseline["rps"] if baseline["rps"] else 0
    print(f"\nbrowsing throughput / baseline throughput: {ratio:.2f} (target >= 0.5)")
    print(f"browsing p95: {browsing['p95']:.0f} ms (target < {TARGET_BROWSE_P95_MS} ms)")
    print(f"submissions: {submitting['rps']:.1f}/s with {submitting['errors']} errors (target >= {TARGET_SUBMISSIONS_PER_S}/s, 0 errors)")
    # The database may hold a few more: requests still in flight when locust stopped got no answer.
    print(f"reports answered 201: {len(answered)}; of those in the database afterwards: {len(answered & stored)}"
          f" ({'all there' if not missing else f'{len(missing)} MISSING'}; {len(stored)} stored in all)")
    met = (ratio >= 0.5 and browsing["p95"] < TARGET_BROWSE_P95_MS and submitting["rps"] >= TARGET_SUBMISSIONS_PER_S
           and submitting["errors"] == 0 and not missing)
    print("targets met" if met else "targets NOT all met")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
