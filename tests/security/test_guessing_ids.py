"""Access by guessing ids: nobody reads or changes another department's or another resident's objects by
putting a different number in a URL, in HTML or in the API. The full role matrix is in
tests/participation/test_permission_matrix.py (docs/permissions.md); these are the attacker's-eye cases."""
from __future__ import annotations

import pytest

from participation.models import Comment, Report, ReporterContact, SavedFilter
from smartcity.models import DepartmentChallenge, User
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_resident(db) -> User:
    user = User.objects.create_user(email="neighbour@example.org", password="correct horse battery staple")
    user.emailaddress_set.create(email=user.email, verified=True, primary=True)
    return user


def test_a_civil_servant_cannot_change_another_departments_report_by_its_id(client, other_civil_servant, department_a):
    report = make_report(status=Report.Status.ACCEPTED, department=department_a)
    client.force_login(other_civil_servant)
    for action, data in [("status", {"to_status": "in_progress", "message": "x", "version": report.version}),
                         ("message", {"message": "Hello", "version": report.version}),
                         ("note", {"text": "internal"}),
                         ("route", {"department": department_a.pk, "version": report.version})]:
        response = client.post(f"/staff/reports/{report.pk}/{action}/", data)
        assert response.status_code in (400, 403, 404), action
    report.refresh_from_db()
    assert report.status == Report.Status.ACCEPTED and report.version == 1
    assert not report.history.exists() and not report.notes.exists()


def test_another_departments_reporter_contact_is_not_shown_to_a_civil_servant(client, other_civil_servant, department_a):
    report = make_report(status=Report.Status.ACCEPTED, department=department_a)
    ReporterContact.objects.create(report=report, email="hidden.reporter@example.net", phone="0611112222")
    client.force_login(other_civil_servant)
    html = client.get(f"/staff/reports/{report.pk}/").content.decode()
    assert "hidden.reporter@example.net" not in html and "0611112222" not in html


def test_a_department_challenge_of_another_department_cannot_be_changed_through_the_api(
    token_client_for, other_civil_servant, civil_servant, department_a
):
    challenge = DepartmentChallenge.objects.create(title="Flooded cellars", description="After every storm.",
                                                   department=department_a, created_by=civil_servant)
    response = token_client_for(other_civil_servant).patch(f"/api/v1/department-challenges/{challenge.pk}",
                                                           {"title": "Taken over"}, format="json")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    challenge.refresh_from_db()
    assert challenge.title == "Flooded cellars"


def test_a_resident_cannot_hide_or_delete_others_things_by_id(client, resident, other_resident):
    report = make_report(author=other_resident)
    comment = Comment.objects.create(report=report, author=other_resident, text="Mine.")
    saved = SavedFilter.objects.create(user=other_resident, name="Theirs", query="status=new")
    client.force_login(resident)
    assert client.post(f"/comments/{comment.pk}/hide/", {"reason": "spam"}).status_code in (403, 404)
    assert client.post(f"/reports/{report.pk}/hide/", {"reason": "spam"}).status_code in (403, 404)
    assert client.post(f"/staff/filters/{saved.pk}/delete/").status_code in (302, 403, 404)
    assert not Comment.objects.get(pk=comment.pk).is_hidden and not Report.objects.get(pk=report.pk).is_hidden
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


def test_a_residents_export_holds_only_their_own_reports(client, resident, other_resident):
    mine = make_report(author=resident, title="My own report")
    theirs = make_report(author=other_resident, title="The neighbour's report")
    ReporterContact.objects.create(report=theirs, email="neighbour@example.org")
    client.force_login(resident)
    export = client.get("/my/export.json").json()
    assert [r["id"] for r in export["reports"]] == [mine.pk]
    text = client.get("/my/export.json").content.decode()
    assert "neighbour@example.org" not in text and "The neighbour's report" not in text


def test_hidden_reports_and_made_up_ids_are_404_not_500(client, api_client):
    hidden = make_report(is_hidden=True)
    for path in (f"/reports/{hidden.pk}/", "/reports/999999999/", "/staff/reports/999999999/"):
        assert client.get(path).status_code in (302, 404), path
    for path in (f"/api/v1/reports/{hidden.pk}", "/api/v1/reports/999999999", "/api/v1/department-challenges/0",
                 "/api/v1/reports/99999999999999999999"):
        response = api_client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json", path


def test_signed_links_cannot_be_guessed(client):
    report = make_report()
    for path in (f"/reports/confirm/{report.pk}/", "/reports/confirm/abc:def/", "/reports/unsubscribe/1/",
                 "/reports/support/confirm/x/"):
        response = client.post(path)
        assert response.status_code in (400, 404), path
