"""Two civil servants acting on one report at the same moment never silently overwrite each other:
the row lock makes the second wait, and then the version check tells them the report changed."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import translation

from participation import workflow
from participation.models import Report, StatusChange
from tests.participation.staff_factories import make_report

pytestmark = pytest.mark.services


def test_select_for_update_serialises_two_concurrent_changes(needs_postgres, transactional_db, admin_user, department_a):
    report = make_report(status=Report.Status.ACCEPTED, department=department_a)
    first_holds_the_lock = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                workflow.change_status(report=report.pk, actor=admin_user, to_status=Report.Status.IN_PROGRESS, version=1)
                first_holds_the_lock.set()
                time.sleep(0.5)  # still inside the transaction: the row stays locked
        finally:
            connection.close()

    def second() -> None:
        first_holds_the_lock.wait(5)
        started = time.monotonic()
        try:
            with translation.override("en"):
                workflow.change_status(report=report.pk, actor=admin_user, to_status=Report.Status.NOT_ACTIONABLE,
                                       message="Not ours.", version=1)
            outcome["second"] = "written"
        except workflow.ReportChanged as error:
            outcome["second"] = error
        finally:
            outcome["waited"] = time.monotonic() - started
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert isinstance(outcome["second"], workflow.ReportChanged)
    assert "in progress" in outcome["second"].message
    assert outcome["waited"] >= 0.3  # it waited for the first transaction instead of reading a stale row
    report.refresh_from_db()
    assert report.status == Report.Status.IN_PROGRESS and report.version == 2
    assert list(StatusChange.objects.filter(report=report).values_list("to_status", flat=True)) == [
        Report.Status.ACCEPTED, Report.Status.IN_PROGRESS]
