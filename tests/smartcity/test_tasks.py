"""A real Celery worker process executes the hub's tasks through Redis."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core import mail

from smartcity.tasks import send_email

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(needs_redis, settings, tmp_path):
    """A Celery worker on its own queue, writing mail to files in tmp_path."""
    queue = f"test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "insecure-key-for-tests-only"),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    log = open(tmp_path / "worker.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "smartcity", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield queue, tmp_path
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.mark.services
def test_a_worker_process_sends_the_email_task_through_redis(worker):
    queue, tmp_path = worker
    send_email.apply_async(kwargs={"to": ["resident@example.org"], "subject": "Status changed", "body": "Resolved."}, queue=queue)
    deadline = time.monotonic() + 60
    files: list[Path] = []
    while time.monotonic() < deadline and not files:
        time.sleep(0.25)
        files = list((tmp_path / "mail").glob("*.log")) if (tmp_path / "mail").exists() else []
    assert files, "the worker did not send the email within 60 s:\n" + (tmp_path / "worker.log").read_text()[-3000:]
    content = files[0].read_text()
    assert "Subject: Status changed" in content and "resident@example.org" in content
    assert mail.outbox == []  # not run in-process: the worker did it

