"""Hiding a report or a comment and confirming a reporter's address are changes of the report workflow
(participation/workflow.py), as status changes are: locked, versioned, recorded, refused for non-staff."""
import pytest
from django.utils import timezone

from participation import workflow
from participation.models import Comment, ReporterContact, StatusChange, Support
from smartcity.models import OutboxMessage
from tests.participation.staff_factories import make_report

pytestmark = pytest.mark.django_db


def test_hiding_a_report_bumps_its_version_keeps_the_reason_in_its_history_and_rescores_it(civil_servant):
    report = make_report()
    OutboxMessage.objects.all().delete()
    workflow.hide(report=report, actor=civil_servant, reason="Personal data in the text")
    report.refresh_from_db()
    assert report.is_hidden and report.hidden_reason == "Personal data in the text" and report.version == 2
    change = report.history.order_by("pk").last()
    assert not change.is_public and "Personal data in the text" in change.message and change.actor == civil_servant
    assert OutboxMessage.objects.filter(task="matching.tasks.score_item").exists()  # hidden: out of the matching
    workflow.hide(report=report, actor=civil_servant, reason="Edited", hidden=False)
    report.refresh_from_db()
    assert not report.is_hidden and report.hidden_reason == "" and report.version == 3


def test_a_resident_cannot_hide_a_report_or_a_comment(resident):
    report = make_report()
    comment = Comment.objects.create(report=report, author=resident, text="Hello")
    with pytest.raises(workflow.WorkflowError):
        workflow.hide(report=report, actor=resident, reason="x")
    with pytest.raises(workflow.WorkflowError):
        workflow.hide_comment(comment=comment, actor=resident, reason="x")
    report.refresh_from_db()
    comment.refresh_from_db()
    assert not report.is_hidden and not comment.is_hidden and StatusChange.objects.filter(report=report).count() == 1


def test_a_contact_address_is_confirmed_once(resident):
    report = make_report()
    ReporterContact.objects.create(report=report, email="rita@example.org")
    assert workflow.confirm_contact(report=report, email="RITA@example.org")
    assert not workflow.confirm_contact(report=report, email="rita@example.org")
    assert ReporterContact.objects.get(report=report).confirmed_at is not None


def test_merging_carries_an_erased_supporter_over_as_one_more_supporter(civil_servant, department_a):
    duplicate = make_report("Lamp out", department=department_a)
    target = make_report("Streetlight broken", department=department_a)
    Support.objects.create(report=duplicate, erased_at=timezone.now())
    Support.objects.create(report=duplicate, email="bo@example.org")
    workflow.merge(report=duplicate, target=target, actor=civil_servant, message="Same lamp.",
                   version=duplicate.version)
    target.refresh_from_db()
    assert target.support_count == 2
    assert sorted(str(s.email) for s in target.supports.all()) == ["None", "bo@example.org"]
