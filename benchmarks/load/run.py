"""The load benchmark: gunicorn with the production settings against PostgreSQL, driven by locust.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python benchmarks/load/run.py [--seconds 30] [--workers 4] [--scenarios browsing,queue]
    ... run.py --scale-out [--scenarios browsing]   # one group of web processes behind nginx, then two

Fill the database first (python manage.py migrate; load_demo; generate_load_data --reports 1000000).
Runs, one after the other in the same run (or those named by --scenarios): the bare baseline, residents
browsing, residents submitting through the API and through the web form, the staff's triage queue and its
map. Prints per scenario: throughput, p50/p95/p99 latency, errors; the overhead ratio against the baseline;
gunicorn's CPU time per request, the share of CPU time the hypervisor gave to other guests (steal) and the
share the machine sat idle (then the cores were not the limit), all from /proc, which explain a slow run on a
shared VM; checks that every report answered as received is in the database; weighs the residents' pages on a
first visit (HTML, CSS, JS and fonts). Then each target
(issues #8, #18, #22) with its figure and "pass" or "FAIL"; exits non-zero when one fails.
Static files are collected first (hashed names, as the Docker image does) into --static-root.
--scale-out runs the scenarios behind nginx (deploy/nginx/default.conf.template) with one gunicorn master,
then with two on two ports, against the same PostgreSQL and Redis, and says which resource is the limit.
Needs locust (pip install '.[bench]'). As in docker-compose.yml, the outbox relay runs beside gunicorn
(`manage.py relay_outbox`, OUTBOX_RELAY=1; --no-relay: each request publishes its own tasks): its CPU per report
and how soon it published each new report's scoring are printed too. Without a Celery worker the scoring tasks
wait in Redis.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import pwd
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# (name, user class, which --*-users option sets its users)
SCENARIOS = {
    "baseline": ("baseline (bare view, same SQL)", "Baseline", "browsing_users"),
    "browsing": ("residents browsing", "Browsing", "browsing_users"),
    "submitting": ("residents submitting (API)", "Submitting", "submitting_users"),
    "form": ("residents submitting (web form)", "FormSubmitting", "submitting_users"),
    "queue": ("staff triage queue", "TriageQueue", "triage_users"),
    "map": ("staff queue map", "TriageMap", "triage_users"),
    "triage": ("staff triage (queue, map, report)", "Triage", "triage_users"),
}
DEFAULT_SCENARIOS = "baseline,browsing,submitting,form,queue,map"
# The residents' pages a first visit may land on, weighed without map tiles and photos.
WEIGHED_PAGES = ["/", "/reports/", "/reports/map/", "/reports/{report}/", "/reports/new/"]


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
        # Every simulated resident posts from 127.0.0.1: one client address, so no per-address limit here.
        "ANONYMOUS_REPORTS_PER_HOUR": "100000000",
        # Hashed names from `collectstatic`, as in the Docker image.
        "STATIC_MANIFEST": "1", "STATIC_ROOT": str(args.static_root),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        # As docker-compose.yml: requests only write their outbox rows; the relay (started with gunicorn) publishes.
        "OUTBOX_RELAY": "0" if args.no_relay else "1",
    }


def setup(env: dict, staff_email: str, staff_password: str) -> dict:
    """A known password for the triage account and a session signed in as it, an API token, and the id range to
    read from. The staff scenarios use the session: a sign-in costs about 0.2 s of CPU (the password's hash), which
    the scenario's figures would otherwise count as queue pages."""
    code = f"""
import json
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from rest_framework.authtoken.models import Token
from participation.models import Category, Report, ServiceQuestion
from smartcity.models import Theme, User
from django.db.models import Max, Min
staff = User.objects.get(email={staff_email!r})
staff.set_password({staff_password!r}); staff.save(update_fields=["password"])
session = import_module(settings.SESSION_ENGINE).SessionStore()
session.update({{SESSION_KEY: str(staff.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                HASH_SESSION_KEY: staff.get_session_auth_hash()}})
session.create()
admin = User.objects.filter(is_superuser=True).order_by("pk").first()
token, _ = Token.objects.get_or_create(user=admin)
ids = Report.objects.aggregate(lo=Min("pk"), hi=Max("pk"), n=Max("pk"))
asking = ServiceQuestion.objects.filter(required=True).values("category_id")
category = (Category.objects.choosable().exclude(pk__in=asking).exclude(parent__in=asking)
            .exclude(notice__gt="").order_by("pk").values_list("pk", flat=True).first())
public = Report.objects.public().order_by("-pk").values_list("pk", flat=True).first()
print(json.dumps({{"token": token.key, "min": ids["lo"], "max": ids["hi"], "reports": Report.objects.count(),
                  "themes": list(Theme.objects.values_list("pk", flat=True)), "category": category,
                  "public": public, "session": [settings.SESSION_COOKIE_NAME, session.session_key]}}))
"""
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def stored(env: dict, run: str) -> tuple[set[str], set[str]]:
    """The references (API) and titles (web form) of this run's reports in the database."""
    code = ("import json; from participation.models import Report; print(json.dumps(["
            f"list(Report.objects.filter(reference__startswith='bench-{run}-').values_list('reference', flat=True)), "
            f"list(Report.objects.filter(title__startswith='Losse tegels bench-{run}-').values_list('title', flat=True))]))")
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    references, titles = json.loads(out.strip().splitlines()[-1])
    return set(references), set(titles)


# This run's reports' scoring messages: how many, how many published, and seconds from written to published.
RELAY_DELAYS_SQL = (
    "SELECT count(*), count(m.sent_at),"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.sent_at - m.created_at)),"
    " percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM m.sent_at - m.created_at)),"
    " max(extract(epoch FROM m.sent_at - m.created_at))::float8"
    " FROM participation_report r JOIN smartcity_outboxmessage m ON m.dedupe_key = 'score:report:' || r.id"
    " WHERE r.reference LIKE %s OR r.title LIKE %s"
)


def relay_delays(env: dict, run: str) -> dict:
    """How long this run's reports waited between their commit and the relay's publish of their scoring
    (the outbox message's created_at, a moment before the commit, to its sent_at), and how many still wait."""
    code = (f"import json\nfrom django.db import connection\nwith connection.cursor() as cursor:\n"
            f"    cursor.execute({RELAY_DELAYS_SQL!r}, ['bench-{run}-%', 'Losse tegels bench-{run}-%'])\n"
            f"    print(json.dumps(dict(zip(['messages', 'sent', 'p50', 'p95', 'max'], cursor.fetchone()))))\n")
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


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
    out.mkdir(parents=True, exist_ok=True)
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


def collect_static(env: dict, static_root: Path) -> None:
    """Hashed, compressed static files, as the Docker image makes them (skipped when the manifest is newer
    than every source file)."""
    manifest = static_root / "staticfiles.json"
    sources = [ROOT / "static", ROOT / "node_modules"]
    if manifest.exists() and all(manifest.stat().st_mtime > path.stat().st_mtime
                                 for folder in sources[:1] for path in folder.rglob("*")):
        return
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def fetch(url: str) -> tuple[bytes, dict]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), {key.lower(): value for key, value in response.headers.items()}


_FONT_FACE = re.compile(r"@font-face\s*{([^}]*)}", re.S)
_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


def _latin_fonts(css: str, base: str) -> list[str]:
    """The font files a browser fetches for a Latin-script page: @font-face rules without a unicode-range, or
    whose range covers Basic Latin; the first url() of each (the woff2)."""
    urls = []
    for block in _FONT_FACE.findall(css):
        ranges = re.search(r"unicode-range\s*:\s*([^;]+)", block)
        if ranges and not re.search(r"U\+0000?-00FF|U\+0+-", ranges.group(1), re.I):
            continue
        found = _URL.search(block)
        if found:
            urls.append(urllib.parse.urljoin(base, found.group(1)))
    return urls


def page_weights(host: str, report: int | None) -> list[dict]:
    """Per residents' page, as a first visit loads it (empty browser cache): the HTML as sent, and the CSS,
    JS and fonts it names, each as sent compressed (gzip, which WhiteNoise and nginx's gzip_static serve)
    and uncompressed. Map tiles, photos and other images are left out."""
    weights = []
    for template in WEIGHED_PAGES:
        if "{report}" in template and report is None:
            continue
        page_url = host + template.format(report=report)
        html, _ = fetch(page_url)
        text = html.decode()
        assets = re.findall(r'<link[^>]+rel="(?:stylesheet|preload|modulepreload)"[^>]*href="([^"]+)"', text)
        assets += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="(?:stylesheet|preload|modulepreload)"', text)
        assets += re.findall(r'<script[^>]+src="([^"]+)"', text)
        raw, sent, seen = len(html), len(gzip.compress(html, 6)), set()
        pending = [urllib.parse.urljoin(page_url, url) for url in assets]
        while pending:
            url = pending.pop()
            if url in seen or not url.startswith(host):
                continue
            seen.add(url)
            body, headers = fetch(url)
            raw += len(body)
            font = url.rsplit("?", 1)[0].endswith((".woff2", ".woff"))
            sent += len(body) if font else len(gzip.compress(body, 9))  # fonts are compressed already
            if url.rsplit("?", 1)[0].endswith(".css"):
                pending += _latin_fonts(body.decode(errors="replace"), url)
        weights.append({"page": template.format(report=report), "files": len(seen) + 1, "raw": raw, "sent": sent})
    return weights


class Site:
    """gunicorn (one master per group, --workers each), optionally behind nginx."""

    def __init__(self, args, env: dict, groups: int = 1, proxy: bool = False):
        self.args, self.env, self.groups, self.proxy = args, env, groups, proxy
        self.ports = [args.port + 1 + index for index in range(groups)] if proxy else [args.port]
        self.masters: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self.relay: subprocess.Popen | None = None
        self.root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.args.port}"

    def __enter__(self) -> Site:
        log = "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null"
        for port in self.ports:
            self.masters.append(subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "smartcity.wsgi", "--workers", str(self.args.workers),
                 "--bind", f"127.0.0.1:{port}", "--access-logfile", log, "--log-level", "warning"],
                cwd=ROOT, env=self.env))
        if self.env.get("OUTBOX_RELAY") == "1":
            log = self.root / "relay.log"
            with open(log, "w") as out:
                self.relay = subprocess.Popen([PYTHON, "manage.py", "relay_outbox"], cwd=ROOT, env=self.env, stdout=out)
        if self.proxy:
            self.nginx = self._start_nginx()
        wait_for(f"{self.host}/health")
        if self.relay:  # the first reports must not wait for the relay to start
            deadline = time.monotonic() + 60
            while "relay started" not in log.read_text():
                if time.monotonic() > deadline or self.relay.poll() is not None:
                    raise SystemExit(f"the outbox relay did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        return self

    def _start_nginx(self) -> subprocess.Popen:
        sys.path.insert(0, str(ROOT))
        from tests.faults.proxy_stack import MAIN_CONFIG, nginx_binary, render_template

        if nginx_binary() is None:
            raise SystemExit("--scale-out needs nginx (apt-get install nginx)")
        for folder in ("conf.d", "temp", "media"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        # The template names one upstream server; a second group is one more `server` line in that block.
        upstream = ";\n    server ".join(f"127.0.0.1:{port}" for port in self.ports)
        (self.root / "conf.d" / "default.conf").write_text(render_template(
            NGINX_LISTEN=f"127.0.0.1:{self.args.port}", NGINX_UPSTREAM=upstream,
            NGINX_STATIC_ROOT=str(self.args.static_root), NGINX_MEDIA_ROOT=str(self.root / "media"),
            NGINX_OPEN_DATA_DIR=str(self.root / "media"), NGINX_TRUSTED_PROXY="127.0.0.1"))
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (self.root / "nginx.conf").write_text(MAIN_CONFIG.format(root=self.root, user=user)
                                              .replace(f"access_log {self.root}/access.log", "access_log off"))
        return subprocess.Popen([nginx_binary(), "-p", str(self.root), "-c", str(self.root / "nginx.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu(self) -> float:
        return sum(cpu_seconds(master.pid) for master in self.masters)

    def relay_cpu(self) -> float:
        return cpu_seconds(self.relay.pid) if self.relay else 0.0

    def __exit__(self, *exc) -> None:
        # gunicorn first: its workers finish the requests in hand, and the relay must still publish what they commit
        # (stopped together, a report committed in the last moment kept its scoring unpublished: 4 of 4,986 once).
        for master in self.masters:
            master.terminate()
        for master in self.masters:
            master.wait(timeout=30)
        if self.relay:
            time.sleep(2)  # ten of its batches (OUTBOX_RELAY_GATHER_SECONDS, 0.2 s)
        others = [process for process in (self.nginx, self.relay) if process]
        for process in others:
            process.terminate()
        for process in others:
            process.wait(timeout=30)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this benchmark's database (by the name in its
    command line), by process id: other databases on the same server are other people's work."""
    database = urllib.parse.urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/")
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                words = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().split()
                if database in words:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return found


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def run_scenarios(site: Site, names: list[str], args, bench_env: dict, out: Path) -> list[dict]:
    results = []
    for key in names:
        name, user_class, users_option = SCENARIOS[key]
        users = getattr(args, users_option) * (site.groups if args.scale_out else 1)
        if args.warmup:
            # Each worker's first requests load templates, translations and URLs: not what is measured.
            locust(user_class, users, args.warmup, site.host, bench_env, out / f"warmup-{key}-{site.groups}")
        before, db_before, (steal, total) = site.cpu(), postgres_cpu(), cpu_ticks()
        relay_before, (all_before, idle_before) = site.relay_cpu(), cpu_ticks_all()
        rows = locust(user_class, users, args.seconds, site.host, bench_env, out / f"{key}-{site.groups}")
        result = summary(name, rows["Aggregated"])
        result.update(key=key, users=users, cpu_ms=(site.cpu() - before) * 1000 / max(result["requests"], 1),
                      db_ms=_spent(db_before, postgres_cpu()) * 1000 / max(result["requests"], 1),
                      relay_ms=(site.relay_cpu() - relay_before) * 1000 / max(result["requests"], 1))
        steal_after, total_after = cpu_ticks()
        result["steal"] = (steal_after - steal) / max(total_after - total, 1) * 100
        all_after, idle_after = cpu_ticks_all()
        # Idle (and waiting on the disk) while locust pressed: the cores were not the limit then.
        result["idle"] = (idle_after - idle_before) / max(all_after - all_before, 1) * 100
        results.append(result)
        for endpoint, row in rows.items():
            if endpoint != "Aggregated" and not endpoint.startswith(("log in", "report form (page)")):
                results.append({**summary(f"  {endpoint}", row), "endpoint_of": key})
    return results


def print_table(results: list[dict]) -> None:
    print(f"\n{'scenario':38} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
          f" {'server CPU ms/req':>18} {'DB CPU ms/req':>14} {'steal %':>8} {'idle %':>7}")
    for r in results:
        cpu = (f"{r['cpu_ms']:>18.1f} {r['db_ms']:>14.1f} {r['steal']:>8.0f} {r['idle']:>7.0f}"
               if "cpu_ms" in r else "")
        print(f"{r['scenario']:38} {r['requests']:>9} {r['rps']:>8.1f} {r['p50']:>8.0f} {r['p95']:>8.0f} {r['p99']:>8.0f}"
              f" {r['errors']:>7}{cpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30, help="length of each scenario")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (per group)")
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--browsing-users", type=int, default=8)
    parser.add_argument("--submitting-users", type=int, default=8)
    parser.add_argument("--triage-users", type=int, default=4)
    parser.add_argument("--staff-email", default="triage@example.org")
    parser.add_argument("--scenarios", default=None,
                        help=f"comma-separated, of {', '.join(SCENARIOS)} (default {DEFAULT_SCENARIOS}; "
                             "with --scale-out: browsing)")
    parser.add_argument("--scale-out", action="store_true",
                        help="behind nginx: one group of --workers, then two groups (two gunicorn masters), "
                             "users per scenario times the groups")
    parser.add_argument("--static-root", type=Path, default=ROOT / "var" / "bench-static",
                        help="where collectstatic writes the hashed files")
    parser.add_argument("--no-weight", action="store_true", help="skip weighing the residents' pages")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of each scenario run first, not measured")
    parser.add_argument("--no-relay", action="store_true",
                        help="without the outbox relay: each request publishes its tasks itself after the commit")
    args = parser.parse_args()
    names = (args.scenarios or ("browsing" if args.scale_out else DEFAULT_SCENARIOS)).split(",")
    if unknown := [name for name in names if name not in SCENARIOS]:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database filled with generate_load_data.")

    env = env_for_site(args)
    collect_static(env, args.static_root)
    password = secrets.token_urlsafe(16)
    facts = setup(env, args.staff_email, password)
    run = secrets.token_hex(4)
    out = Path(tempfile.mkdtemp(prefix="bench-load-"))
    submitted, submitted_form = out / "submitted.txt", out / "submitted-form.txt"
    submitted.touch()
    submitted_form.touch()
    bench_env = {**env, "BENCH_MIN_ID": str(facts["min"]), "BENCH_MAX_ID": str(facts["max"]),
                 "BENCH_THEMES": ",".join(map(str, facts["themes"])), "BENCH_TOKEN": facts["token"],
                 "BENCH_SUBMITTED": str(submitted), "BENCH_SUBMITTED_FORM": str(submitted_form), "BENCH_RUN": run,
                 "BENCH_CATEGORY": str(facts["category"] or ""),
                 "BENCH_STAFF_EMAIL": args.staff_email, "BENCH_STAFF_PASSWORD": password,
                 "BENCH_STAFF_SESSION": "=".join(facts["session"])}
    print(f"{facts['reports']:,} reports in the database; gunicorn with {args.workers} workers"
          f"{' per group, behind nginx' if args.scale_out else ''}; {args.seconds} s per scenario; results in {out}",
          flush=True)

    if args.scale_out:
        sys.exit(scale_out(args, env, names, bench_env, out))

    with Site(args, env) as site:
        weights = [] if args.no_weight else page_weights(site.host, facts["public"])
        results = run_scenarios(site, names, args, bench_env, out)
    print_table(results)
    if weights:
        print(f"\n{'first visit of a residents page':38} {'files':>6} {'KB as sent':>11} {'KB unpacked':>12}")
        for weight in weights:
            print(f"{weight['page']:38} {weight['files']:>6} {weight['sent'] / 1024:>11.1f} {weight['raw'] / 1024:>12.1f}")

    by_key = {r["key"]: r for r in results if "key" in r}
    by_endpoint = {r["scenario"].strip(): r for r in results if "endpoint_of" in r}
    checks: list[tuple[str, str, bool | None]] = []  # (target, figure, met; None: shown, not a target)

    def check(target: str, figure: str, met: bool | None) -> None:
        checks.append((target, figure, met))

    if "browsing" in by_key:
        browsing = by_key["browsing"]
        if "baseline" in by_key and by_key["baseline"]["rps"]:
            ratio = browsing["rps"] / by_key["baseline"]["rps"]
            check("browsing throughput >= 0.8 x the bare baseline", f"{ratio:.2f} x", ratio >= 0.8)
        check("browsing p95 < 100 ms", f"{browsing['p95']:.0f} ms", browsing["p95"] < 100)
        check("browsing server CPU <= 8 ms/request", f"{browsing['cpu_ms']:.1f} ms", browsing["cpu_ms"] <= 8)
        check("browsing: no errors", f"{browsing['errors']}", browsing["errors"] == 0)
    if weights:
        heaviest = max(weights, key=lambda weight: weight["sent"])
        check("residents' pages < 200 KB on a first visit (as sent)",
              f"{heaviest['sent'] / 1024:.0f} KB ({heaviest['page']})", heaviest["sent"] < 200 * 1024)
    answered, answered_form = set(submitted.read_text().split()), set(submitted_form.read_text().splitlines())
    references, titles = stored(env, run) if {"submitting", "form"} & set(by_key) else (set(), set())
    for key, label, answered_here, stored_here in [("submitting", "POST /api/v1/reports", answered, references),
                                                   ("form", "the web form (no photos)", answered_form, titles)]:
        if key not in by_key:
            continue
        result = by_key[key]
        check(f"{label}: >= 200 reports/s", f"{result['rps']:.1f}/s", result["rps"] >= 200)
        check(f"{label}: server CPU <= 8 ms/report", f"{result['cpu_ms']:.1f} ms", result["cpu_ms"] <= 8)
        if result["relay_ms"]:
            check(f"{label}: the outbox relay's CPU per report (its own process)", f"{result['relay_ms']:.1f} ms", None)
        missing = answered_here - stored_here
        # The database may hold a few more: requests still in flight when locust stopped got no answer.
        check(f"{label}: 0 errors, every report answered as received is stored",
              f"{result['errors']} errors; {len(answered_here & stored_here)} of {len(answered_here)} stored"
              f" ({len(stored_here)} in all)", result["errors"] == 0 and not missing)
    if not args.no_relay and {"submitting", "form"} & set(by_key):
        delays = relay_delays(env, run)
        if delays["sent"]:
            check("new reports' scoring published by the relay: p50 / p95 / max", f"{delays['p50'] * 1000:.0f} / "
                  f"{delays['p95'] * 1000:.0f} / {delays['max'] * 1000:.0f} ms after written", None)
        check("new reports' scoring messages all published", f"{delays['sent']} of {delays['messages']}",
              delays["sent"] == delays["messages"])
    for key, endpoint, label in [("queue", "triage queue", "staff queue"), ("map", "triage queue map", "staff map")]:
        if key in by_key:
            p95 = by_endpoint.get(endpoint, by_key[key])["p95"]
            check(f"{label} p95 < 150 ms (issue #18: < 200 ms)", f"{p95:.0f} ms", p95 < 150)
            if "baseline" in by_key:
                check(f"{label} p95 beside the bare baseline's p95", f"{p95:.0f} vs {by_key['baseline']['p95']:.0f} ms",
                      None)
    if "queue" in by_key:
        check("staff queue server CPU <= 20 ms/page", f"{by_key['queue']['cpu_ms']:.1f} ms",
              by_key["queue"]["cpu_ms"] <= 20)

    print(f"\n{'target':62} {'figure':>34}  result")
    for target, figure, met in checks:
        print(f"{target:62} {figure:>34}  {'info' if met is None else 'pass' if met else 'FAIL'}")
    met = all(met is not False for _, _, met in checks)
    print("targets met" if met else "targets NOT all met")
    sys.exit(0 if met else 1)


def scale_out(args, env: dict, names: list[str], bench_env: dict, out: Path) -> int:
    """The scenarios behind nginx with one group of web processes, then two, against one PostgreSQL and one
    Redis: throughput per group count, and where the CPU went (web, PostgreSQL, the rest of the machine)."""
    rows = []
    for groups in (1, 2):
        with Site(args, env, groups=groups, proxy=True) as site:
            # Each scenario's idle share is its own, measured while locust pressed (run_scenarios).
            rows += [{**r, "groups": groups} for r in run_scenarios(site, names, args, bench_env, out) if "key" in r]
    print(f"\n{'scenario':30} {'groups':>6} {'workers':>8} {'users':>6} {'req/s':>8} {'p95 ms':>8} {'errors':>7}"
          f" {'web CPU ms/req':>15} {'DB CPU ms/req':>14} {'machine idle %':>15} {'steal %':>8}")
    for r in rows:
        print(f"{r['scenario']:30} {r['groups']:>6} {r['groups'] * args.workers:>8} {r['users']:>6} {r['rps']:>8.1f}"
              f" {r['p95']:>8.0f} {r['errors']:>7} {r['cpu_ms']:>15.1f} {r['db_ms']:>14.1f} {r['idle']:>15.0f}"
              f" {r['steal']:>8.0f}")
    cores = os.cpu_count() or 1
    for key in names:
        one, two = (next(r for r in rows if r["key"] == key and r["groups"] == groups) for groups in (1, 2))
        growth = two["rps"] / one["rps"] if one["rps"] else 0
        db_limit = 1000 / two["db_ms"] if two["db_ms"] else float("inf")
        machine_limit = 1000 * cores / max(two["cpu_ms"] + two["db_ms"], 0.001)
        print(f"\n{one['scenario']}: 2 groups / 1 group = {growth:.2f} x throughput.")
        print(f"  PostgreSQL spends {two['db_ms']:.1f} ms of CPU per request: at most ~{db_limit:,.0f} req/s per "
              f"database core, whatever the number of web groups.")
        print(f"  Web + database spend {two['cpu_ms'] + two['db_ms']:.1f} ms per request: this machine's {cores} "
              f"cores cap the whole at ~{machine_limit:,.0f} req/s (machine idle {two['idle']:.0f}% with 2 groups).")
        if two["idle"] < 10:
            print("  The limit here is the machine's CPU (web and database share it): more groups on more machines "
                  "raise it until the database's cores are full, then PostgreSQL is the limit.")
    return 0


def cpu_ticks_all() -> tuple[int, int]:
    """(total, idle) CPU ticks of the whole machine so far, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    return sum(fields), fields[3] + fields[4]


if __name__ == "__main__":
    main()
