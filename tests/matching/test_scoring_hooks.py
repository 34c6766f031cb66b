"""Scoring after a save is wired in matching/apps.py: a save of a report, department challenge or pilot only
queues a task in the outbox (with the save's transaction), and only when something the engine reads changed.
The spokes do not import matching (tests/test_architecture.py)."""
import pytest

from participation.models import Report
from pilots.models import Pilot
from smartcity.models import DepartmentChallenge, OutboxMessage, Theme

pytestmark = pytest.mark.django_db


def queued() -> list[dict]:
    return list(OutboxMessage.objects.filter(task="matching.tasks.score_item").order_by("pk").values_list("kwargs", flat=True))


def test_a_new_report_is_queued_for_scoring_and_a_status_change_is_not():
    report = Report.objects.create(title="Druk", description="Veel te druk hier.", latitude=52.1, longitude=4.27)
    assert queued() == [{"item_type": "report", "item_id": report.pk}]
    OutboxMessage.objects.all().delete()
    report.status = Report.Status.ACCEPTED
    report.save(update_fields=["status", "updated_at"])
    report.support_count = 3
    report.save()  # a whole save that changes nothing the engine reads
    assert queued() == []
    report.title = "Veel te druk"
    report.save()
    report.is_hidden = True
    report.save(update_fields=["is_hidden"])
    assert len(queued()) == 1  # the same pending item is queued once (the outbox's key)


def test_a_department_challenge_is_queued_when_its_text_department_status_or_themes_change(department_a, department_b):
    challenge = DepartmentChallenge.objects.create(department=department_a, title="Riool", description="Vol.")
    theme = Theme.objects.create(slug="climate", name="Klimaat")
    for change in (lambda: challenge.themes.add(theme), lambda: setattr(challenge, "department", department_b),
                   lambda: setattr(challenge, "status", DepartmentChallenge.Status.CLOSED)):
        OutboxMessage.objects.all().delete()
        change()
        challenge.save()
        assert queued() == [{"item_type": "department_challenge", "item_id": challenge.pk}]
    OutboxMessage.objects.all().delete()
    challenge.target = "Droge kelders"
    challenge.save()
    assert queued() == []


def test_a_pilot_is_queued_when_its_text_or_lead_changes_not_for_its_budget(department_a):
    pilot = Pilot.objects.create(title="Crowd sensors", description="Counting visitors.")
    OutboxMessage.objects.all().delete()
    pilot.budget = 1000
    pilot.save()
    assert queued() == []
    pilot.lead_department = department_a
    pilot.save()
    assert queued() == [{"item_type": "pilot", "item_id": pilot.pk}]


def test_the_state_change_does_not_depend_on_matching(monkeypatch, django_capture_on_commit_callbacks):
    """A scoring task that fails when it runs leaves the report saved (the outbox marks its message tried)."""
    from matching import services

    def broken(**kwargs):
        raise RuntimeError("the engine is down")

    monkeypatch.setattr(services, "matching_score_item", broken)
    with django_capture_on_commit_callbacks(execute=True):
        report = Report.objects.create(title="Druk", description="Veel te druk hier.", latitude=52.1, longitude=4.27)
    assert Report.objects.filter(pk=report.pk).exists()
    message = OutboxMessage.objects.get(task="matching.tasks.score_item")
    assert message.sent_at is None and "the engine is down" in message.last_error
