"""The demo tells one story (issue #17): a report on its way is routed to a department, and each pilot's gate
answers speak of that pilot."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from participation.models import Report
from pilots.models import GateAnswer

pytestmark = pytest.mark.django_db


def test_reports_on_their_way_are_routed_and_gate_answers_belong_to_their_pilot(settings):
    settings.MATCHING_SEMANTIC = False
    for command in ("load_demo", "load_demo_reports", "load_demo_pilots"):
        call_command(command, verbosity=0)
    on_their_way = Report.objects.filter(status__in=[Report.Status.ACCEPTED, Report.Status.IN_PROGRESS,
                                                     Report.Status.RESOLVED])
    assert on_their_way.exists() and not on_their_way.filter(department__isnull=True).exists()
    values = GateAnswer.objects.filter(criterion__key="value").select_related("gate__pilot")
    assert len({answer.answer for answer in values}) == len({answer.gate.pilot_id for answer in values}) > 1
