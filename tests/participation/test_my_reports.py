"""My reports: the resident's reports, supports and follows; a JSON export; deleting the account."""
import json

import pytest
from django.urls import reverse

from participation.models import Comment, Follow, Report, ReporterContact, Support
from smartcity.models import User
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def test_my_reports_lists_what_i_reported_supported_and_follow(client, resident):
    make_report(title="Mine", author=resident)
    supported = make_report(title="Supported by me")
    supported.add_support(user=resident)
    followed = make_report(title="Followed by me")
    Follow.objects.create(report=followed, user=resident)
    make_report(title="Someone else's")
    client.force_login(resident)
    html = client.get(reverse("participation:my-reports")).content.decode()
    assert "Mine" in html and "Supported by me" in html and "Followed by me" in html
    assert "Someone else&#x27;s" not in html


def test_my_reports_without_an_account_offers_to_send_the_links_and_shows_nobody_s_reports(client, resident):
    make_report(title="Mine", author=resident)
    response = client.get(reverse("participation:my-reports"))
    html = response.content.decode()
    assert response.status_code == 200 and "Send me my reports" in html and "Mine" not in html
    assert "/accounts/login/" in html


def test_the_export_holds_all_my_data_and_nobody_elses(client, resident, civil_servant):
    mine = make_report(title="Mine", author=resident)
    ReporterContact.objects.create(report=mine, email=resident.email)
    Comment.objects.create(report=mine, author=resident, text="Still broken")
    make_report(title="Other", author=civil_servant).add_support(user=resident)
    client.force_login(resident)
    response = client.get(reverse("participation:my-export"))
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["account"]["email"] == "resident@example.org"
    assert [report["title"] for report in data["reports"]] == ["Mine"]
    assert data["reports"][0]["contact_email"] == "resident@example.org"
    assert [comment["text"] for comment in data["comments"]] == ["Still broken"]
    assert len(data["supports"]) == 1


def test_deleting_my_account_keeps_my_reports_public_but_anonymous(client, resident, civil_servant):
    mine = make_report(title="Mine", author=resident)
    ReporterContact.objects.create(report=mine, email=resident.email, name="Rosa")
    Comment.objects.create(report=mine, author=resident, text="Still broken")
    other = make_report(title="Other")
    other.add_support(user=resident)
    other.add_support(user=civil_servant)
    client.force_login(resident)
    assert client.get(reverse("participation:account-delete")).status_code == 200
    response = client.post(reverse("participation:account-delete"), {"confirm": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(email="resident@example.org").exists()
    mine.refresh_from_db()
    assert mine.author is None and Report.objects.public().filter(pk=mine.pk).exists()
    contact = ReporterContact.objects.get(report=mine)
    assert (contact.email, contact.name) == ("", "") and contact.erased_at is not None
    assert Comment.objects.get().author is None
    other.refresh_from_db()
    assert other.support_count == 1 == Support.objects.filter(report=other).count()
    assert "Send me my reports" in client.get(reverse("participation:my-reports")).content.decode()  # logged out


def test_my_reports_needs_the_same_few_queries_however_many_reports(client, resident, theme,
                                                                   django_assert_max_num_queries):
    from smartcity.models import Area

    area = Area.objects.create(slug="centrum", name="Centrum", geometry={}, min_longitude=0, min_latitude=0,
                               max_longitude=1, max_latitude=1)
    for index in range(10):
        make_report(title=f"Mine {index}", author=resident, theme=theme, area=area)
        other = make_report(title=f"Other {index}", theme=theme, area=area)
        other.add_support(user=resident)
        Follow.objects.create(report=make_report(title=f"Followed {index}", theme=theme, area=area), user=resident)
    client.force_login(resident)
    with django_assert_max_num_queries(10):
        html = client.get(reverse("participation:my-reports")).content.decode()
    assert "Mine 9" in html and "Other 9" in html and "Followed 9" in html
