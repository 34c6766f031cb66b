"""Comments: logged-in residents only, plain text, and staff may hide comments and reports with a reason."""
import pytest
from django.urls import reverse

from participation.models import Comment, Report, StatusChange
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def test_a_visitor_without_an_account_cannot_comment(client):
    report = make_report()
    response = client.post(reverse("participation:comment-create", args=[report.pk]), {"text": "Hello"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Comment.objects.exists()


def test_a_comment_is_plain_text_escaped_and_without_control_characters(client, resident):
    report = make_report()
    client.force_login(resident)
    client.post(reverse("participation:comment-create", args=[report.pk]),
                {"text": "<script>alert(1)</script>\x07 <b>me too</b>"})
    comment = Comment.objects.get()
    assert comment.text == "<script>alert(1)</script> <b>me too</b>" and comment.author == resident
    html = client.get(report.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<b>me too</b>" not in html


def test_an_empty_comment_gets_a_form_error(client, resident):
    report = make_report()
    client.force_login(resident)
    response = client.post(reverse("participation:comment-create", args=[report.pk]), {"text": "   "})
    assert response.status_code == 400 and not Comment.objects.exists()


def test_staff_hide_a_comment_with_a_reason_that_replaces_it(client, civil_servant, resident):
    report = make_report()
    comment = Comment.objects.create(report=report, author=resident, text="Rude words")
    client.force_login(civil_servant)
    client.post(reverse("participation:comment-hide", args=[comment.pk]), {"reason": "Insulting language"})
    comment.refresh_from_db()
    assert comment.is_hidden and comment.hidden_reason == "Insulting language" and comment.hidden_by == civil_servant
    client.logout()
    html = client.get(report.get_absolute_url()).content.decode()
    assert "Rude words" not in html and "Insulting language" in html


def test_a_resident_cannot_hide_a_comment(client, resident):
    comment = Comment.objects.create(report=make_report(), author=resident, text="Mine")
    client.force_login(resident)
    response = client.post(reverse("participation:comment-hide", args=[comment.pk]), {"reason": "x"})
    assert response.status_code == 404
    comment.refresh_from_db()
    assert not comment.is_hidden


def test_staff_hide_a_report_with_a_recorded_reason_and_it_disappears_from_public_pages(client, civil_servant):
    report = make_report(title="Advertising for a shop")
    client.force_login(civil_servant)
    client.post(reverse("participation:report-hide", args=[report.pk]), {"reason": "Advertising", "action": "hide"})
    report.refresh_from_db()
    assert report.is_hidden and report.hidden_reason == "Advertising"
    assert StatusChange.objects.filter(report=report, is_public=False, message__contains="Advertising").exists()
    assert client.get(report.get_absolute_url()).status_code == 200  # staff still see it
    client.logout()
    assert client.get(report.get_absolute_url()).status_code == 404
    assert "Advertising for a shop" not in client.get(reverse("participation:report-list")).content.decode()


def test_hiding_without_a_reason_is_refused(client, civil_servant):
    report = make_report()
    client.force_login(civil_servant)
    client.post(reverse("participation:report-hide", args=[report.pk]), {"reason": ""})
    assert not Report.objects.get(pk=report.pk).is_hidden


def test_a_commenters_email_address_is_never_shown(client):
    from smartcity.models import User

    nameless = User.objects.create_user(email="nameless@example.org", password="x")
    report = make_report()
    Comment.objects.create(report=report, author=nameless, text="Me too")
    html = client.get(report.get_absolute_url()).content.decode()
    assert "Me too" in html and "nameless@example.org" not in html and "A resident" in html
