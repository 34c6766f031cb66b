"""The triage queue: new reports oldest first, filters, counts per state, overdue reports, saved filters,
bulk actions through the state machine, and a constant number of queries."""
from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from participation import workflow
from participation.models import Report, SavedFilter
from smartcity.models import Area, Theme
from tests.participation.staff_factories import make_report

S = Report.Status
QUEUE = reverse("participation:staff-report-list")


@pytest.fixture
def triager(civil_servant):
    civil_servant.is_triager = True
    civil_servant.save()
    return civil_servant


@pytest.fixture
def staff_client(client, triager):
    client.force_login(triager)
    return client


def _titles(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'href="/staff/reports/\d+/" data-open>([^<]+)</a>', html)


def test_the_queue_shows_new_reports_oldest_first(staff_client, department_a):
    make_report("Yesterday", days_old=1)
    make_report("Last week", days_old=7)
    make_report("Today")
    make_report("Already routed", status=S.ACCEPTED, department=department_a, days_old=30)
    assert _titles(staff_client.get(QUEUE)) == ["Last week", "Yesterday", "Today"]


def test_the_queue_filters_by_theme_neighbourhood_department_status_age_and_text(staff_client, department_a, department_b):
    mobility = Theme.objects.create(slug="mobility", name="Mobility")
    centrum = Area.objects.create(slug="centrum", name="Centrum", geometry={}, min_longitude=0, min_latitude=0,
                                  max_longitude=1, max_latitude=1)
    make_report("Bike rack full", theme=mobility, days_old=3)
    make_report("Graffiti on the bridge", area=centrum)
    make_report("Pothole", status=S.ACCEPTED, department=department_a)
    make_report("Noise at night", status=S.IN_PROGRESS, department=department_b, days_old=40)

    assert _titles(staff_client.get(QUEUE, {"theme": "mobility"})) == ["Bike rack full"]
    assert _titles(staff_client.get(QUEUE, {"neighbourhood": "centrum"})) == ["Graffiti on the bridge"]
    assert _titles(staff_client.get(QUEUE, {"status": "", "department": "stadsbeheer"})) == ["Pothole"]
    assert _titles(staff_client.get(QUEUE, {"status": "", "department": "none"})) == ["Bike rack full", "Graffiti on the bridge"]
    assert _titles(staff_client.get(QUEUE, {"status": "open", "age": "30"})) == ["Noise at night"]
    assert _titles(staff_client.get(QUEUE, {"status": "in_progress"})) == ["Noise at night"]
    assert _titles(staff_client.get(QUEUE, {"status": "", "q": "bridge"})) == ["Graffiti on the bridge"]
    pothole = Report.objects.get(title="Pothole")
    assert _titles(staff_client.get(QUEUE, {"status": "", "q": f"#{pothole.pk}"})) == ["Pothole"]


def test_the_queue_counts_reports_per_state_within_the_other_filters(staff_client, department_a):
    mobility = Theme.objects.create(slug="mobility", name="Mobility")
    make_report("a", theme=mobility)
    make_report("b", theme=mobility)
    make_report("c", theme=mobility, status=S.ACCEPTED, department=department_a)
    make_report("d")  # another theme: not counted when filtering on mobility
    html = staff_client.get(QUEUE, {"theme": "mobility"}).content.decode()
    assert re.search(r'status=new"[^>]*>New <span class="utrecht-badge-counter">2</span>', html)
    assert re.search(r'status=accepted"[^>]*>Accepted <span class="utrecht-badge-counter">1</span>', html)


def test_overdue_reports_stand_out_in_words_not_only_colour(staff_client):
    slow = Theme.objects.create(slug="roads", name="Roads", target_days=5)
    make_report("Within target", theme=slow, days_old=2)
    make_report("Past target", theme=slow, days_old=9)
    make_report("No target", days_old=60)
    response = staff_client.get(QUEUE)
    rows = {title: row for row, title in re.findall(r'(<tr class="utrecht-table__row[^"]*" data-row>.*?href="/staff/reports/\d+/" data-open>([^<]+)</a>.*?</tr>)',
                                                    response.content.decode(), re.S)}
    assert "site-overdue" in rows["Past target"] and "Overdue" in rows["Past target"]
    # read as text ("9 days Overdue"), the age and the badge are two words, not one
    assert re.search(r"\d+ days\s+⚠\s*Overdue", re.sub(r"<[^>]+>", "", rows["Past target"]))
    assert "Overdue" not in rows["Within target"] and "Overdue" not in rows["No target"]
    assert _titles(staff_client.get(QUEUE, {"age": "overdue"})) == ["Past target"]


def test_the_queue_takes_the_same_number_of_queries_for_few_or_many_reports(staff_client, department_a):
    theme = Theme.objects.create(slug="roads", name="Roads", target_days=5)
    make_report("one", theme=theme)
    staff_client.get(QUEUE)  # warm up the session and the translations
    cache.clear()  # the counts per status are cached: count them both times
    with CaptureQueriesContext(connection) as few:
        staff_client.get(QUEUE, {"status": ""})
    for number in range(30):
        make_report(f"report {number}", theme=theme, department=department_a if number % 2 else None,
                    status=S.ACCEPTED if number % 2 else S.NEW, days_old=number)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(QUEUE, {"status": ""})
    assert len(_titles(response)) == 31
    # 14 on PostgreSQL; SQLite (make run's embedded default) counts the pages in a query of its own and reads
    # the themes once more: 16
    assert len(many.captured_queries) == len(few.captured_queries) <= (14 if connection.vendor == "postgresql" else 16)


def _badges(response) -> dict[str, int]:
    found = re.findall(r'status=(\w+)"[^>]*>[^<]*<span class="utrecht-badge-counter">(\d+)</span>', response.content.decode())
    return {status: int(count) for status, count in found}


def test_the_counts_per_status_are_cached_and_a_staff_change_refreshes_them(staff_client, triager, settings,
                                                                           django_capture_on_commit_callbacks):
    settings.QUEUE_COUNTS_SECONDS = 300
    first = make_report("first")
    assert _badges(staff_client.get(QUEUE))[S.NEW] == 1
    make_report("second")  # a resident's new report: the counts may lag behind ...
    with CaptureQueriesContext(connection) as cached:
        response = staff_client.get(QUEUE)
    assert _badges(response)[S.NEW] == 1
    assert not any("COUNT(" in query["sql"] and "FILTER" in query["sql"] for query in cached.captured_queries)
    assert _titles(response) == ["first", "second"]  # ... the list itself never does
    with django_capture_on_commit_callbacks(execute=True):
        workflow.change_status(report=first, actor=triager, to_status=S.NOT_ACTIONABLE,
                               message="This is private land.", version=first.version)
    badges = _badges(staff_client.get(QUEUE))  # a staff change: counted afresh
    assert badges[S.NEW] == 1 and badges[S.NOT_ACTIONABLE] == 1


def test_saved_filters_belong_to_their_owner(staff_client, triager, other_civil_servant):
    staff_client.post(reverse("participation:staff-filter-create"), {"name": "My theme", "query": "status=new&theme=roads"})
    staff_client.post(reverse("participation:staff-filter-create"), {"name": "My theme", "query": "status=open"})
    saved = SavedFilter.objects.get(user=triager)
    assert (saved.name, saved.query) == ("My theme", "status=open")  # same name: replaced
    assert 'href="?status=open">My theme</a>' in staff_client.get(QUEUE).content.decode()

    theirs = SavedFilter.objects.create(user=other_civil_servant, name="Theirs", query="")
    assert staff_client.post(reverse("participation:staff-filter-delete", args=[theirs.pk])).status_code == 404
    staff_client.post(reverse("participation:staff-filter-delete", args=[saved.pk]))
    assert list(SavedFilter.objects.values_list("name", flat=True)) == ["Theirs"]


def test_bulk_routing_sends_each_report_through_the_state_machine(staff_client, department_a, department_b):
    first, second = make_report("first"), make_report("second")
    closed = make_report("closed", status=S.NOT_ACTIONABLE)
    response = staff_client.post(reverse("participation:staff-report-bulk"), {
        "reports": [f"{first.pk}:1", f"{second.pk}:1", f"{closed.pk}:1"], "action": "route",
        "department": department_a.pk, "message": "Passed to Stadsbeheer.", "query": "status=new", "confirm": "yes",
    }, follow=True)
    assert response.redirect_chain[-1][0] == QUEUE + "?status=new"
    for report in (first, second):
        report.refresh_from_db()
        assert (report.status, report.department) == (S.ACCEPTED, department_a)
        assert report.history.filter(message="Passed to Stadsbeheer.").exists()
    closed.refresh_from_db()
    assert closed.department is None  # refused, the others went through
    messages = [str(message) for message in response.context["messages"]]
    assert any(f"Report {first.pk}: done" in message for message in messages)
    assert any(f"Report {closed.pk}: not changed. A closed report cannot be routed" in message for message in messages)


def test_bulk_closing_without_a_message_is_refused_per_report(staff_client, admin_user, client, department_a):
    client.force_login(admin_user)
    report = make_report("accepted", status=S.ACCEPTED, department=department_a)
    response = client.post(reverse("participation:staff-report-bulk"), {
        "reports": [f"{report.pk}:1"], "action": "status", "to_status": S.RESOLVED, "message": "", "confirm": "yes",
    }, follow=True)
    report.refresh_from_db()
    assert report.status == S.ACCEPTED
    assert "needs a public message" in response.content.decode()


def test_bulk_actions_on_a_stale_selection_change_nothing(staff_client, department_a):
    report = make_report("moved on", status=S.ACCEPTED, department=department_a)
    response = staff_client.post(reverse("participation:staff-report-bulk"), {
        "reports": [f"{report.pk}:0"], "action": "status", "to_status": S.IN_PROGRESS, "confirm": "yes"}, follow=True)
    report.refresh_from_db()
    assert report.status == S.ACCEPTED
    assert "changed by someone else" in response.content.decode()


def test_a_bulk_action_without_a_selection_says_so(staff_client):
    response = staff_client.post(reverse("participation:staff-report-bulk"), {"action": "route"}, follow=True)
    assert "Select one or more reports." in response.content.decode()


@pytest.mark.django_db(transaction=True)  # real commits: the version moves after the write's commit
def test_the_queue_forms_and_names_are_kept_until_a_department_theme_category_or_neighbourhood_changes(
        staff_client, department_a, settings):
    from participation.models import QUEUE_CHOICES_VERSION, Category
    from smartcity import pagecache

    settings.PUBLIC_PAGE_CACHE_SECONDS = 60  # versions in use (Redis, or this process's own cache)
    theme = Theme.objects.create(slug="roads", name="Roads", target_days=5)
    category = Category.objects.create(slug="paving", name="Paving", theme=theme)
    make_report("Pothole", department=department_a, category=category, theme=theme, days_old=10)  # overdue
    name = department_a.name
    assert name in staff_client.get(QUEUE, {"status": "new"}).content.decode()
    # the filter form, the bulk form, the saved filter's name, the departments, the themes and the names in the rows
    assert pagecache.kept_count(QUEUE_CHOICES_VERSION) == 6
    assert name in staff_client.get(QUEUE, {"status": "new"}).content.decode()
    assert pagecache.kept_count(QUEUE_CHOICES_VERSION) == 6  # the same ones, kept
    department_a.name = "Stadsbeheer en Groen"
    department_a.save()
    html = staff_client.get(QUEUE, {"status": "new"}).content.decode()
    assert html.count(">Stadsbeheer en Groen</option>") == 2 and f">{name}</option>" not in html  # both forms
    assert 'data-label="Department">Stadsbeheer en Groen</td>' in html  # and the row
    category.name = "Paving stones"
    category.save()
    theme.name = "Streets"
    theme.save()
    html = staff_client.get(QUEUE, {"status": "new"}).content.decode()
    assert 'Paving stones<br><span class="site-meta">Streets</span>' in html
    Theme.objects.create(slug="mobility", name="Mobility")
    assert ">Mobility</option>" in staff_client.get(QUEUE, {"status": "new"}).content.decode()
    Area.objects.create(slug="centrum", name="Centrum", geometry={}, min_longitude=0, min_latitude=0,
                        max_longitude=1, max_latitude=1)
    assert ">Centrum</option>" in staff_client.get(QUEUE, {"status": "new"}).content.decode()
    assert _titles(staff_client.get(QUEUE, {"status": "open", "age": "overdue"})) == ["Pothole"]
    theme.target_days = None  # the kept themes' targets move too
    theme.save()
    assert _titles(staff_client.get(QUEUE, {"status": "open", "age": "overdue"})) == []


def test_the_queue_reads_each_version_once_a_page_and_a_change_still_shows_at_the_next(staff_client, department_a,
                                                                                      settings, monkeypatch):
    """pagecache.versions_read_once: one round trip to Redis for the versions the page keeps its forms and names
    under (it asked five times), and a change still shows on the next page."""
    from participation.models import QUEUE_CHOICES_VERSION
    from participation.services import QUEUE_COUNTS_VERSION
    from smartcity import pagecache

    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    make_report("Pothole", department=department_a)
    staff_client.get(QUEUE)  # the versions started, the forms kept

    class Spy:
        def __init__(self, real):
            self.real, self.asked = real, []

        def get(self, key, default=None):
            self.asked.append(key)
            return self.real.get(key, default)

        def get_many(self, keys):
            self.asked.extend(keys)
            return self.real.get_many(keys)

        def __getattr__(self, name):
            return getattr(self.real, name)

    spy = Spy(pagecache.cache)
    monkeypatch.setattr(pagecache, "cache", spy)
    assert department_a.name in staff_client.get(QUEUE).content.decode()
    versions = [key for key in spy.asked if key.startswith("smartcity:version:")]
    assert sorted(versions) == sorted(pagecache._VERSION_KEY.format(name)
                                      for name in (QUEUE_CHOICES_VERSION, QUEUE_COUNTS_VERSION))
    department_a.name = "Stadsbeheer en Groen"
    department_a.save()
    assert 'data-label="Department">Stadsbeheer en Groen</td>' in staff_client.get(QUEUE, {"status": "new"}).content.decode()
    with pagecache.versions_read_once(QUEUE_CHOICES_VERSION):  # a move within the block is read again
        before = pagecache.version(QUEUE_CHOICES_VERSION)
        pagecache.bump(QUEUE_CHOICES_VERSION)
        assert pagecache.version(QUEUE_CHOICES_VERSION) != before


def test_the_parts_kept_rendered_follow_the_language_and_who_asks(staff_client, innovation_member):
    """Parts of the page rendered once per process and language (the "fragments" cache: the table's head, the
    shortcuts, the menus, the footer): each language its own, and the staff menu's curating link only for those
    who may curate, whoever asked first."""
    make_report("Pothole")
    staff_client.cookies["django_language"] = "en"
    english = staff_client.get(QUEUE, {"status": "new"}).content.decode()
    staff_client.cookies["django_language"] = "nl"
    dutch = staff_client.get(QUEUE, {"status": "new"}).content.decode()
    for html, words in ((english, ("Keyboard shortcuts", "Accessibility statement", "Supporters</th>")),
                        (dutch, ("Sneltoetsen", "Toegankelijkheidsverklaring", "Steunbetuigingen</th>"))):
        assert all(word in html for word in words), words
    assert "Curate societal challenges" not in english
    curator = Client()
    curator.force_login(innovation_member)
    curator.cookies["django_language"] = "en"
    assert "Curate societal challenges" in curator.get(QUEUE, {"status": "new"}).content.decode()
    staff_client.cookies["django_language"] = "en"
    assert "Curate societal challenges" not in staff_client.get(QUEUE, {"status": "new"}).content.decode()
