"""Settings come from the environment, with safe local defaults and a clear error when SECRET_KEY is missing."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "smartcity.settings", **env},
        capture_output=True, text=True, timeout=60,
    )


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_django("print('started')", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "started" not in result.stdout


def test_a_malformed_api_rate_is_refused_at_start_with_its_name():
    result = run_django("print('started')", DEBUG="1", REPORT_API_STAFF_RATE="20000 per hour")
    assert result.returncode != 0
    assert "REPORT_API_STAFF_RATE must look like 100/hour" in result.stderr and "'20000 per hour'" in result.stderr
    assert run_django("print('started')", DEBUG="1", REPORT_API_STAFF_RATE="50/minute").stdout == "started\n"


def test_it_starts_with_local_defaults_when_debug_is_on():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE, s.EMAIL_BACKEND, [c for c, _ in s.LANGUAGES])",
        DEBUG="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 4) == [
        "django.db.backends.sqlite3", "True", "Europe/Amsterdam", "django.core.mail.backends.console.EmailBackend",
        "['nl', 'en', 'sv']\n",
    ]


def test_it_uses_postgres_and_a_redis_broker_when_the_environment_says_so():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)",
        SECRET_KEY="x" * 50, DATABASE_URL="postgres://city@db.example:5432/smartcity", REDIS_URL="redis://cache.example:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "smartcity", "redis://cache.example:6379/1", "False"]


def test_check_deploy_is_clean_under_production_settings():
    # DJANGO_ALLOW_ASYNC_UNSAFE is set for the browser tests; it must never reach a deployment.
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DEBUG="0", SECRET_KEY="k" * 20 + "-production-like-secret-key-with-enough-entropy-4f9a",
        ALLOWED_HOSTS="participatie.example.org", SECURE_SSL_REDIRECT="1", SITE_URL="https://participatie.example.org",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secrets_can_come_from_files_as_docker_secrets_do(tmp_path):
    (tmp_path / "secret_key").write_text("a-key-from-a-file-0123456789-abcdefghijklmnopqrstuvwxyz\n")
    (tmp_path / "database_url").write_text(f"sqlite:///{tmp_path / 'from-file.sqlite3'}\n")
    (tmp_path / "mail").write_text("hunter2\n")
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY, s.DATABASES['default']['NAME'], s.EMAIL_HOST_PASSWORD, sep='|')",
        DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "secret_key"), DATABASE_URL_FILE=str(tmp_path / "database_url"),
        EMAIL_HOST_PASSWORD_FILE=str(tmp_path / "mail"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "a-key-from-a-file-0123456789-abcdefghijklmnopqrstuvwxyz", str(tmp_path / "from-file.sqlite3"), "hunter2"]


def test_a_secret_and_its_file_together_or_a_missing_file_stop_the_start(tmp_path):
    (tmp_path / "key").write_text("x" * 50)
    both = run_django("print('started')", DEBUG="0", SECRET_KEY="y" * 50, SECRET_KEY_FILE=str(tmp_path / "key"))
    assert both.returncode != 0 and "Set SECRET_KEY or SECRET_KEY_FILE, not both" in both.stderr
    missing = run_django("print('started')", DEBUG="1", EMAIL_HOST_PASSWORD_FILE=str(tmp_path / "absent"))
    assert missing.returncode != 0 and "EMAIL_HOST_PASSWORD_FILE: cannot read" in missing.stderr
