"""Anonymous pages kept whole in the cache (smartcity/pagecache.py, issue #22): a change shows at once, a
signed-in page is never kept nor served from there, every visitor gets their own CSRF token, and the
headers tell browsers and shared caches what they may keep."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from participation import workflow
from participation.models import Report
from tests.participation.conftest import _fresh_cache  # noqa: F401  (autouse: every test starts with an empty cache)
from tests.participation.staff_factories import make_report

S = Report.Status


@pytest.fixture(autouse=True)
def _pages_cached(settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 300


@pytest.fixture
def triager(civil_servant):
    civil_servant.is_triager = True
    civil_servant.save()
    return civil_servant


def _visitor() -> Client:
    """A first-time visitor: no cookies."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _reads_reports(client: Client, url: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, any("participation_report" in query["sql"] for query in queries.captured_queries)


@pytest.mark.django_db(transaction=True)  # real commits: the version moves after the staff change's commit
def test_a_cached_public_page_changes_right_after_the_staff_change_that_affects_it(triager, department_a):
    report = make_report("Loose paving stone at the tram stop", department=department_a)
    detail, listing = reverse("participation:report-detail", args=[report.pk]), reverse("participation:report-list")
    for url in (detail, listing):
        _, read = _reads_reports(_visitor(), url)
        assert read
        page, read = _reads_reports(_visitor(), url)
        assert not read, "the second visitor gets the page from the cache"
        assert "Loose paving stone" in page.content.decode()
    report.refresh_from_db()

    workflow.change_status(report=report, actor=triager, to_status=S.ACCEPTED, message="We will fix it this week.",
                           version=report.version)

    page, read = _reads_reports(_visitor(), detail)
    assert read and "We will fix it this week." in page.content.decode()
    page, read = _reads_reports(_visitor(), f"{listing}?status={S.ACCEPTED}")
    assert read and "Loose paving stone" in page.content.decode()
    page, read = _reads_reports(_visitor(), f"{listing}?status={S.NEW}")
    assert "Loose paving stone" not in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_write_past_the_models_shows_at_once_too(triager):
    """`QuerySet.update()` sends no signal; the counter of supports is written that way."""
    report = make_report("Broken bench")
    detail = reverse("participation:report-detail", args=[report.pk])
    _visitor().get(detail)
    assert not _reads_reports(_visitor(), detail)[1]
    Report.objects.filter(pk=report.pk).update(title="Broken bench by the pond")
    page, read = _reads_reports(_visitor(), detail)
    assert read and "Broken bench by the pond" in page.content.decode()


def test_a_signed_in_page_is_never_kept_nor_served_from_the_cache(triager):
    report = make_report("Graffiti on the library")
    url = reverse("participation:report-detail", args=[report.pk])
    anonymous = _visitor().get(url)
    assert "Log out" not in anonymous.content.decode()
    assert "private" in anonymous["Cache-Control"]  # it sets this visitor's CSRF cookie

    client = _visitor()
    client.force_login(triager)
    signed_in = client.get(url)
    assert "Log out" in signed_in.content.decode() and "Staff workspace" in signed_in.content.decode()
    cache_control = {part.strip() for part in signed_in["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control and "public" not in cache_control
    assert {"Cookie", "Accept-Language"} <= {part.strip() for part in signed_in["Vary"].split(",")}

    # ... and what a signed-in visitor saw never goes to anonymous ones.
    client.get(reverse("participation:report-list"))
    page = _visitor().get(reverse("participation:report-list"))
    assert "Log out" not in page.content.decode() and "Staff workspace" not in page.content.decode()


def test_api_answers_to_a_token_are_private(triager):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=triager)
    response = _visitor().get("/api/v1/reports", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}


def test_each_visitor_of_a_cached_page_gets_a_csrf_token_of_their_own_that_works(db):
    report = make_report("Overflowing bin")
    url = reverse("participation:report-detail", args=[report.pk])
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tokens, read = [], []
    for visitor in (first, second):
        with CaptureQueriesContext(connection) as queries:
            page = visitor.get(url)
        read.append(any("participation_report" in query["sql"] for query in queries.captured_queries))
        found = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()))
        assert len(found) == 1 and re.fullmatch(r"[A-Za-z0-9]{64}", next(iter(found)))
        tokens.append(found.pop())
        assert "csrftoken" in page.cookies
    assert read == [True, False]
    assert tokens[0] != tokens[1]
    # The second page came from the cache; its token goes with the second visitor's cookie.
    response = second.post(reverse("set_language"), {"language": "nl", "next": url, "csrfmiddlewaretoken": tokens[1]})
    assert response.status_code == 302
    assert second.post(reverse("set_language"), {"language": "nl", "next": url,
                                                 "csrfmiddlewaretoken": "x" * 64}).status_code == 403


def test_pages_are_kept_per_language(db):
    report = make_report("Loose kerb")
    url = reverse("participation:report-detail", args=[report.pk])
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(url)
    dutch = Client(HTTP_ACCEPT_LANGUAGE="nl").get(url)
    assert english.content != dutch.content
    assert 'lang="nl"' in dutch.content.decode() and 'lang="en"' in english.content.decode()


def test_an_address_with_a_long_query_string_is_answered_but_not_kept(db):
    make_report("Loose kerb")
    url = reverse("participation:report-list") + "?status=new&from=" + "x" * 300
    assert _reads_reports(_visitor(), url)[1]
    assert _reads_reports(_visitor(), url)[1]
    short = reverse("participation:report-list") + "?status=new"
    assert _reads_reports(_visitor(), short)[1]
    assert not _reads_reports(_visitor(), short)[1]


@pytest.mark.django_db(transaction=True)
def test_the_report_form_reads_its_categories_again_only_after_one_changes():
    from participation.models import Category

    Category.objects.create(slug="waste", name="Afval", name_en="Waste")
    form = reverse("participation:report-create")

    def categories_read() -> tuple[str, bool]:
        with CaptureQueriesContext(connection) as queries:
            page = _visitor().get(form)
        assert page.status_code == 200
        return page.content.decode(), any('FROM "participation_category"' in query["sql"]
                                          for query in queries.captured_queries)

    html, read = categories_read()
    assert read and ">Waste<" in html
    html, read = categories_read()
    assert not read and ">Waste<" in html, "kept"
    Category.objects.filter(slug="waste").update(name_en="Rubbish")  # past the models: no signal
    html, read = categories_read()
    assert read and ">Rubbish<" in html and ">Waste<" not in html


@pytest.mark.django_db(transaction=True)
def test_a_transaction_moves_the_pages_version_once_now_and_once_at_its_commit(monkeypatch, settings):
    """However many writes it has, a plain create beside a bulk_create (which Django wraps in an
    atomic(savepoint=False)) included: two writes to Redis per transaction, not two per kind of write."""
    from django.db import transaction

    from participation.models import StatusChange
    from smartcity import pagecache
    from smartcity.celery import app

    settings.OUTBOX_RELAY, app.conf.task_always_eager = True, False  # the report's scoring is not run on commit here
    bumps: list[str] = []
    monkeypatch.setattr(pagecache, "bump", bumps.append)
    with transaction.atomic():
        report = make_report("Broken bench")
        StatusChange.objects.bulk_create([StatusChange(report=report, to_status=S.NEW),
                                          StatusChange(report=report, from_status=S.NEW, to_status=S.ACCEPTED)])
        Report.objects.filter(pk=report.pk).update(title="Broken bench by the pond")
        assert bumps == [pagecache.PUBLIC_PAGES]
    assert bumps == [pagecache.PUBLIC_PAGES] * 2
    with transaction.atomic():
        with transaction.atomic():  # a savepoint: its own pair, as it may roll back alone
            StatusChange.objects.create(report=report, to_status=S.NEW)
        StatusChange.objects.bulk_create([StatusChange(report=report, to_status=S.NEW)])
    assert bumps == [pagecache.PUBLIC_PAGES] * 6


@pytest.mark.django_db(transaction=True)
def test_the_maps_geojson_is_kept_from_the_second_ask_of_its_box_on(triager):
    """A map view's box seldom comes twice: its GeoJSON is packed and stored only once the same address was asked
    before (issue #22, browsing's misses); from then on it is served from the cache, until the next write."""
    report = make_report("Loose paving stone at the tram stop")
    url = reverse("participation:report-geojson") + "?bbox=4.20000,52.00000,4.40000,52.20000"
    assert _reads_reports(_visitor(), url)[1]
    assert _reads_reports(_visitor(), url)[1], "the first ask only marks the address"
    page, read = _reads_reports(_visitor(), url)
    assert not read and "Loose paving stone" in page.content.decode()
    Report.objects.filter(pk=report.pk).update(title="Loose paving stones by the tram stop")
    page, read = _reads_reports(_visitor(), url)
    assert read and "Loose paving stones by the tram stop" in page.content.decode()
    # Another box is another address: asked once, not kept.
    assert _reads_reports(_visitor(), url.replace("4.40000", "4.39000"))[1]
    assert _reads_reports(_visitor(), url.replace("4.40000", "4.39000"))[1]
