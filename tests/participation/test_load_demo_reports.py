"""The demo reports: loaded after the hub's demo, with neighbourhoods, history and links; safe to run again."""
import pytest
from django.core.management import call_command

from participation.models import Report, StatusChange
from smartcity.models import Area

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("remembered_vectors")]


def test_demo_reports_load_once_with_neighbourhoods_history_and_challenges():
    call_command("load_demo", verbosity=0)
    call_command("load_demo_reports", verbosity=0)
    call_command("load_demo_reports", verbosity=0)
    assert Report.objects.filter(reference__startswith="demo-r-").count() == 10
    assert Area.objects.count() == 4
    boulevard = Report.objects.get(reference="demo-r-01")
    assert boulevard.area.slug == "scheveningen" and boulevard.status == Report.Status.IN_PROGRESS
    assert boulevard.societal_challenges.filter(reference="demo-sc-zwerfafval").exists()
    assert StatusChange.objects.filter(report=boulevard, to_status="in_progress").exists()
    assert Report.objects.get(reference="demo-r-04").closed_at is not None
