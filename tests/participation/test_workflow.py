"""The report state machine (participation/workflow.py): every transition, the rules around closing and
reopening, history rows in the same transaction, version checks and emails after the commit."""
from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation

from participation import workflow
from participation.models import Report, StatusChange
from tests.participation.staff_factories import make_report

S = Report.Status
ALL = list(S.values)
ALLOWED = {
    (S.NEW, S.ACCEPTED), (S.NEW, S.NOT_ACTIONABLE),
    (S.ACCEPTED, S.IN_PROGRESS), (S.ACCEPTED, S.RESOLVED), (S.ACCEPTED, S.NOT_ACTIONABLE),
    (S.IN_PROGRESS, S.RESOLVED), (S.IN_PROGRESS, S.NOT_ACTIONABLE),
    (S.RESOLVED, S.ACCEPTED),
}
# Duplicate is reached only by merging (tested below); change_status refuses it from every status.
EVERY_PAIR = [(a, b) for a in ALL for b in ALL if b != S.DUPLICATE]


@pytest.fixture(autouse=True)
def english():
    """The workflow's messages are asserted in English, whatever LANGUAGE_CODE is."""
    with translation.override("en"):
        yield


@pytest.fixture
def admin(admin_user):
    return admin_user


def _report_in(status: str, department) -> Report:
    fields = {"status": status, "department": department}
    if status == S.DUPLICATE:
        fields["duplicate_of"] = make_report("The original")
    return make_report(**fields)


@pytest.mark.parametrize("from_status,to_status", EVERY_PAIR)
def test_change_status_follows_the_transition_table(admin, department_a, from_status, to_status):
    report = _report_in(from_status, department_a)
    before = StatusChange.objects.filter(report=report).count()
    if (from_status, to_status) in ALLOWED:
        change = workflow.change_status(report=report, actor=admin, to_status=to_status, message="Because.",
                                        version=report.version)
        report.refresh_from_db()
        assert report.status == to_status and report.version == 2
        assert (change.from_status, change.to_status, change.actor, change.message) == (from_status, to_status, admin, "Because.")
        assert StatusChange.objects.filter(report=report).count() == before + 1
    else:
        with pytest.raises(workflow.WorkflowError) as refused:
            workflow.change_status(report=report, actor=admin, to_status=to_status, message="Because.", version=report.version)
        assert refused.value.message  # a sentence for the civil servant
        report.refresh_from_db()
        assert report.status == from_status and report.version == 1
        assert StatusChange.objects.filter(report=report).count() == before


def test_a_forbidden_transition_says_which_one_in_words(admin, department_a):
    report = make_report(status=S.NOT_ACTIONABLE, department=department_a)
    with pytest.raises(workflow.WorkflowError, match="“not actionable” cannot become “in progress”"):
        workflow.change_status(report=report, actor=admin, to_status=S.IN_PROGRESS, version=1)


@pytest.mark.parametrize("to_status", [S.RESOLVED, S.NOT_ACTIONABLE])
def test_closing_needs_a_public_message(admin, department_a, to_status):
    report = make_report(status=S.ACCEPTED, department=department_a)
    with pytest.raises(workflow.WorkflowError, match="needs a public message"):
        workflow.change_status(report=report, actor=admin, to_status=to_status, message="   ", version=1)
    report.refresh_from_db()
    assert report.status == S.ACCEPTED and report.closed_at is None


def test_closing_sets_closed_at_and_reopening_with_a_reason_clears_it(admin, department_a):
    report = make_report(status=S.IN_PROGRESS, department=department_a)
    workflow.change_status(report=report, actor=admin, to_status=S.RESOLVED, message="Fixed the stone.", version=1)
    report.refresh_from_db()
    assert report.closed_at is not None
    with pytest.raises(workflow.WorkflowError, match="Reopening a report needs a reason"):
        workflow.change_status(report=report, actor=admin, to_status=S.ACCEPTED, message="", version=2)
    workflow.change_status(report=report, actor=admin, to_status=S.ACCEPTED, message="It came loose again.", version=2)
    report.refresh_from_db()
    assert report.status == S.ACCEPTED and report.closed_at is None and report.version == 3


def test_a_report_is_accepted_only_with_a_department(admin):
    report = make_report()
    with pytest.raises(workflow.WorkflowError, match="Route the report"):
        workflow.change_status(report=report, actor=admin, to_status=S.ACCEPTED, version=1)


def test_routing_a_new_report_accepts_it_and_records_both_departments(admin, department_a, department_b):
    report = make_report()
    change = workflow.route(report=report, actor=admin, department=department_a, message="", version=1)
    assert (change.from_status, change.to_status) == (S.NEW, S.ACCEPTED)
    assert (change.from_department, change.to_department) == (None, department_a)
    rerouted = workflow.route(report=report, actor=admin, department=department_b, message="Theirs.", version=2)
    report.refresh_from_db()
    assert report.status == S.ACCEPTED and report.department == department_b
    assert (rerouted.from_department, rerouted.to_department) == (department_a, department_b)


def test_routing_refuses_a_closed_report_and_the_same_department(admin, department_a):
    report = make_report(status=S.ACCEPTED, department=department_a)
    with pytest.raises(workflow.WorkflowError, match="already routed"):
        workflow.route(report=report, actor=admin, department=department_a, version=1)
    closed = make_report(status=S.RESOLVED, department=department_a)
    with pytest.raises(workflow.WorkflowError, match="closed report cannot be routed"):
        workflow.route(report=closed, actor=admin, department=department_a, version=1)


def test_a_stale_version_writes_nothing_and_names_the_new_state(admin, department_a):
    report = make_report()
    workflow.route(report=report, actor=admin, department=department_a, version=1)  # a colleague was first
    with pytest.raises(workflow.ReportChanged) as changed:
        workflow.change_status(report=report, actor=admin, to_status=S.NOT_ACTIONABLE, message="Spam.", version=1)
    assert "accepted" in changed.value.message and "Stadsbeheer" in changed.value.message
    report.refresh_from_db()
    assert report.status == S.ACCEPTED and report.version == 2
    assert not StatusChange.objects.filter(report=report, to_status=S.NOT_ACTIONABLE).exists()


def test_history_rows_cannot_be_changed(admin, department_a):
    change = workflow.route(report=make_report(), actor=admin, department=department_a, version=1)
    change.message = "rewritten"
    with pytest.raises(ValueError):
        change.save()


def test_new_history_rows_are_written_as_bulk_create_writes_them(admin, department_a):
    """StatusChange.objects.append (a new report's rows, one written INSERT): the same values, order and ids."""
    report = make_report("Loose tiles")
    def rows():
        return [StatusChange(report=report, actor=admin, from_status="", to_status=S.NEW, notified_at=report.created_at,
                             created_at=report.created_at),
                StatusChange(report=report, from_status=S.NEW, to_status=S.NEW, to_department=department_a,
                             message="Routed “x” ’", is_public=False, created_at=report.created_at)]
    ormed, written = rows(), rows()
    StatusChange.objects.bulk_create(ormed)
    StatusChange.objects.append(written)
    assert [change.pk for change in written] == sorted(change.pk for change in written) and written[0].pk > ormed[1].pk
    stored = {change.pk: change for change in StatusChange.objects.filter(report=report)}
    for by_orm, by_hand in zip(ormed, written, strict=True):
        assert not by_hand._state.adding and by_hand._state.db == "default"
        for field in StatusChange._meta.concrete_fields:
            if not field.primary_key:
                name = field.attname
                assert getattr(stored[by_hand.pk], name) == getattr(stored[by_orm.pk], name) == getattr(by_hand, name)
    with pytest.raises(ValueError, match="append-only"):
        StatusChange.objects.append([written[0]])
    with pytest.raises(ValueError):
        StatusChange.objects.append([StatusChange(report=Report(title="unsaved"), to_status=S.NEW)])
    assert StatusChange.objects.filter(report=report).count() == 1 + 4  # make_report's own, then ours


def test_a_public_change_is_emailed_to_the_followers_after_the_commit(
    admin, department_a, resident, django_capture_on_commit_callbacks
):
    report = make_report(status=S.ACCEPTED, department=department_a)
    report.follows.create(user=resident)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        workflow.post_message(report=report, actor=admin, message="We fix it on Tuesday.", version=1)
    assert mail.outbox == []  # nothing is sent inside the transaction
    with django_capture_on_commit_callbacks(execute=True):  # the update task queues each email on its own commit
        for callback in callbacks:
            callback()
    assert [message.to for message in mail.outbox] == [[resident.email]]
    assert "We fix it on Tuesday." in mail.outbox[0].body


def test_an_internal_note_is_not_public_and_does_not_change_the_version(admin, department_a):
    report = make_report(status=S.ACCEPTED, department=department_a)
    history = StatusChange.objects.filter(report=report).count()
    note = workflow.add_note(report=report, actor=admin, text="Called the contractor.")
    report.refresh_from_db()
    assert report.notes.get() == note and report.version == 1
    assert StatusChange.objects.filter(report=report).count() == history
