"""Staff correct a report's category and theme on the staff page: a history row, and the counts follow."""
import pytest

from participation import workflow
from participation.models import Category, Report, StatusChange
from smartcity.models import Theme
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def categories(db):
    safety = Theme.objects.create(slug="safety", name="Safety")
    mobility = Theme.objects.create(slug="mobility", name="Mobility")
    lighting = Category.objects.create(slug="lighting", name="Street lighting", theme=safety)
    roads = Category.objects.create(slug="roads", name="Roads", theme=mobility)
    return {"safety": safety, "mobility": mobility, "lighting": lighting, "roads": roads}


def test_a_triager_changes_the_category_and_the_theme_follows_with_a_history_row(client, civil_servant, categories):
    civil_servant.is_triager = True
    civil_servant.save()
    report = make_report(category=categories["lighting"], theme=categories["safety"])
    client.force_login(civil_servant)
    response = client.post(f"/staff/reports/{report.pk}/category/",
                           {"category": categories["roads"].pk, "theme": "", "version": report.version})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.category == categories["roads"] and report.theme == categories["mobility"]
    change = StatusChange.objects.filter(report=report).last()
    assert "Street lighting → Roads" in change.message and "Safety → Mobility" in change.message
    assert not change.is_public and change.actor == civil_servant
    # the statistics count by theme: the report moved
    assert Report.objects.filter(theme=categories["mobility"]).count() == 1


def test_a_theme_can_be_set_apart_from_the_category(civil_servant, categories):
    civil_servant.is_triager = True
    civil_servant.save()
    report = make_report(category=categories["lighting"], theme=categories["safety"])
    workflow.change_category(report=report, actor=civil_servant, category=categories["lighting"],
                             theme=categories["mobility"], version=report.version)
    report.refresh_from_db()
    assert report.theme == categories["mobility"] and report.category == categories["lighting"]


def test_another_departments_civil_servant_cannot_change_a_routed_report(client, other_civil_servant, department_a,
                                                                         categories):
    report = make_report(category=categories["lighting"], department=department_a)
    client.force_login(other_civil_servant)
    response = client.post(f"/staff/reports/{report.pk}/category/",
                           {"category": categories["roads"].pk, "version": report.version})
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.category == categories["lighting"]


def test_nothing_changed_is_refused_and_a_stale_version_is_noticed(civil_servant, categories):
    civil_servant.is_triager = True
    civil_servant.save()
    report = make_report(category=categories["lighting"], theme=categories["safety"])
    with pytest.raises(workflow.WorkflowError):
        workflow.change_category(report=report, actor=civil_servant, category=categories["lighting"], theme=None,
                                 version=report.version)
    with pytest.raises(workflow.ReportChanged):
        workflow.change_category(report=report, actor=civil_servant, category=categories["roads"], theme=None,
                                 version=report.version + 1)
