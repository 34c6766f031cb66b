"""Real Celery worker processes execute the hub's tasks through Redis."""
import time
from pathlib import Path

import pytest
from django.core import mail

from matching import services
from matching.models import MatchingRun, Suggestion, TextVector
from participation.models import Report
from smartcity.models import DepartmentChallenge, SocietalChallenge
from smartcity.tasks import send_email

pytestmark = pytest.mark.services


def wait_for(condition, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"not done within {seconds} s; worker log:\n" + (log.read_text()[-4000:] if log.exists() else "(none)"))


def test_a_worker_process_sends_the_email_task_through_redis(celery_worker_process, tmp_path):
    celery_worker_process(EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                          EMAIL_FILE_PATH=str(tmp_path / "mail"))
    send_email.delay(to=["resident@example.org"], subject="Status changed", body="Resolved.")

    def sent() -> list[Path]:  # whole messages: the file backend creates the file, then writes, then 79 dashes
        mails = (tmp_path / "mail").glob("*.log") if (tmp_path / "mail").exists() else []
        return [mail for mail in mails if mail.read_text().endswith("-" * 79 + "\n")]

    wait_for(lambda: bool(sent()), 180, tmp_path / "worker.log")
    content = sent()[0].read_text()
    assert "Subject: Status changed" in content and "resident@example.org" in content
    assert mail.outbox == []  # not run in-process: the worker did it


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_runs_the_full_matching_pipeline_on_postgres(needs_postgres, celery_worker_process, tmp_path,
                                                                      department_a, department_b):
    flooding = SocietalChallenge.objects.create(
        title="Wateroverlast bij hevige regenbuien", reference="sc-flood",
        description="Bij zware regenbuien kan het riool het regenwater niet afvoeren. Straten en kelders lopen onder.")
    SocietalChallenge.objects.create(
        title="Eenzaamheid onder ouderen", reference="sc-lonely",
        description="Ouderen wonen alleen, ontmoetingsplekken verdwijnen en buurthuizen sluiten.")
    DepartmentChallenge.objects.create(department=department_a, title="Riool overbelast bij extreme neerslag",
                                       description="Bij extreme neerslag raakt het riool vol en stroomt regenwater de kelders in.")
    DepartmentChallenge.objects.create(department=department_b, title="Onderdoorgangen lopen onder bij wolkbreuken",
                                       description="Bij wolkbreuken lopen onderdoorgangen onder water en staan auto's vast.")
    for i, (title, text) in enumerate([
        ("Straat blank", "Na de regenbui stond de straat onder water, de putten konden het regenwater niet aan."),
        ("Kelder onder water", "Bij elke hevige bui loopt onze kelder onder water omdat het riool overloopt."),
        ("Buurvrouw alleen", "Mijn buurvrouw is oud en woont alleen, sinds het buurthuis dicht is ziet ze niemand."),
    ]):
        Report.objects.create(title=title, description=text, latitude=52.07 + i / 1000, longitude=4.3)

    celery_worker_process(MATCHING_SEMANTIC="1")
    run = services.matching_run_start(by=None)  # committed at once: no transaction around a transactional test
    wait_for(lambda: MatchingRun.objects.get(pk=run.pk).status in ("done", "failed"), 240, tmp_path / "worker.log")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.counts["items"] == 5
    assert Suggestion.objects.of_type("report").filter(societal_challenge=flooding).count() >= 1
    # the worker kept the fitted model, as arrays and JSON in MATCHING_MODEL_DIR (never in MEDIA_ROOT)
    assert {path.name for path in (tmp_path / "matching-model").iterdir()} == {"engine.npz", "engine.json"}
    assert not (tmp_path / "media" / "matching").exists()
    # the worker encoded every text once for the semantic channel: 2 challenges, 2 department challenges, 3 reports
    assert TextVector.objects.count() == 7
