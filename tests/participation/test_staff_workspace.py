"""The civil servant's workspace (issue #18): where each role lands, sorting, priority, bulk actions that say how
many reports they touch and wait for a confirmation, the queue's map, corrections with their history, possible
duplicates and their one-click merge, and query counts that do not grow with the rows."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from participation import duplicates, staff_views, workflow
from participation.models import Category, Correction, Report, ReportPhoto, Support
from participation.views import nearby_reports
from smartcity.models import Area, Membership
from tests.participation.staff_factories import make_report

S = Report.Status
QUEUE = reverse("participation:staff-report-list")
BULK = reverse("participation:staff-report-bulk")
POINT = (52.08, 4.30)
METRE = 1 / 111_320  # degrees of latitude


def _titles(response) -> list[str]:
    return re.findall(r'href="/staff/reports/\d+/" data-open>([^<]+)</a>', response.content.decode())


def url(name: str, report: Report) -> str:
    return reverse(f"participation:staff-report-{name}", args=[report.pk])


@pytest.fixture
def triager(civil_servant):
    civil_servant.is_triager = True
    civil_servant.save()
    return civil_servant


# --- Where each user lands ----------------------------------------------------------------------------------
def test_a_triager_lands_on_the_new_reports(client, triager, department_a):
    make_report("New one")
    make_report("Routed one", status=S.ACCEPTED, department=department_a)
    client.force_login(triager)
    assert _titles(client.get(QUEUE)) == ["New one"]


def test_a_department_member_lands_on_their_departments_open_work(client, civil_servant, department_a, department_b):
    make_report("New one")
    make_report("Ours, accepted", status=S.ACCEPTED, department=department_a, days_old=2)
    make_report("Ours, in progress", status=S.IN_PROGRESS, department=department_a, days_old=1)
    make_report("Ours, resolved", status=S.RESOLVED, department=department_a)
    make_report("Theirs", status=S.ACCEPTED, department=department_b)
    client.force_login(civil_servant)
    response = client.get(QUEUE)
    assert _titles(response) == ["Ours, accepted", "Ours, in progress"]
    assert response.context["form"].cleaned_data["department"] == department_a.slug


def test_the_innovation_team_lands_on_the_flags_that_need_a_decision(client, innovation_member):
    client.force_login(innovation_member)
    response = client.get(QUEUE)
    assert response.status_code == 302 and response.url == reverse("matching:match-list")
    assert client.get(QUEUE, {"status": "new"}).status_code == 200  # the queue itself stays open to them


def test_the_innovation_teams_landing_shows_the_open_flags_and_the_pilots_waiting_for_a_gate_decision(
        client, innovation_member, civil_servant):
    from matching.models import Match
    from pilots.models import Gate, Pilot

    Match.objects.create(proposed_title="Wachttijden paspoorten", score=0.8, fingerprint="f" * 64)
    Match.objects.create(proposed_title="Al besloten", score=0.7, fingerprint="e" * 64, status="rejected")
    long_ago = timezone.now() - timezone.timedelta(days=400)
    Pilot.objects.create(title="Quiet sensors", description="d", stage_changed_at=long_ago)
    Pilot.objects.create(title="Late bins", description="d", end_date=timezone.localdate() - timezone.timedelta(days=3))
    sent_back = Pilot.objects.create(title="Smart benches", description="d")
    sent_back.advance("proof_of_concept", by=innovation_member, decision=Gate.Decision.REVISE)
    Pilot.objects.create(title="On track", description="d")
    Pilot.objects.create(title="Long done", description="d", stage=Pilot.Stage.OPERATIONAL, stage_changed_at=long_ago)

    client.force_login(innovation_member)
    page = client.get(QUEUE, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Wachttijden paspoorten" in page and "Al besloten" not in page
    assert "3 pilots wait for a gate decision" in page
    for title in ("Quiet sensors", "Late bins", "Smart benches"):
        assert title in page
    assert "On track" not in page and "Long done" not in page
    assert "the last gate asked for a revision" in page and "Past its end date" in page
    assert reverse("pilots:gate-create", args=[sent_back.pk]) in page

    client.force_login(civil_servant)  # the pilots' gates are the innovation team's: others see the flags only
    page = client.get(reverse("matching:match-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Wachttijden paspoorten" in page and "Quiet sensors" not in page


# --- Sorting and priority -----------------------------------------------------------------------------------
def test_the_queue_row_shows_the_category_and_theme_and_the_address_people_know(client, triager):
    category = Category.objects.create(slug="street-lights", name="Street lights", name_nl="Straatverlichting")
    make_report("Lamp out", category=category, address="Keizerstraat 12, Den Haag")
    make_report("Bin full", nearest_address="Prins Hendrikplein 3, Den Haag")
    client.force_login(triager)
    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Street lights" in page and "Keizerstraat 12, Den Haag" in page
    assert "near Prins Hendrikplein 3, Den Haag" in page


def test_the_queue_sorts_by_age_supporters_and_priority(client, triager):
    old = make_report("Old", days_old=5)
    popular = make_report("Popular", days_old=3, support_count=9)
    urgent = make_report("Urgent", days_old=1, priority=Report.Priority.HIGH)
    client.force_login(triager)
    assert _titles(client.get(QUEUE)) == [old.title, popular.title, urgent.title]
    assert _titles(client.get(QUEUE, {"sort": "newest"})) == [urgent.title, popular.title, old.title]
    assert _titles(client.get(QUEUE, {"sort": "supports"})) == [popular.title, old.title, urgent.title]
    assert _titles(client.get(QUEUE, {"sort": "priority"})) == [urgent.title, old.title, popular.title]
    assert "Select a valid choice" in client.get(QUEUE, {"sort": "random"}).content.decode()


def test_staff_set_the_priority_with_a_history_row_and_the_queue_shows_it(client, civil_servant, department_a):
    report = make_report("Pothole", status=S.ACCEPTED, department=department_a)
    client.force_login(civil_servant)
    response = client.post(url("priority", report), {"priority": "high", "version": report.version}, follow=True)
    assert "Priority set to “high”" in response.content.decode()
    report.refresh_from_db()
    assert report.priority == Report.Priority.HIGH
    correction = Correction.objects.get(report=report)
    assert (correction.field, correction.from_value, correction.to_value, correction.actor) == (
        "priority", "normal", "high", civil_servant)
    assert "Priority: normal → high" in response.content.decode()
    assert "▲ </span>High" in client.get(QUEUE, {"status": "open"}).content.decode()


def test_another_department_cannot_set_the_priority(client, other_civil_servant, department_a):
    report = make_report("Pothole", status=S.ACCEPTED, department=department_a)
    client.force_login(other_civil_servant)
    assert client.post(url("priority", report), {"priority": "high", "version": report.version}).status_code == 403
    assert not Correction.objects.exists()


# --- Bulk actions: how many, then confirmed -----------------------------------------------------------------
def test_a_bulk_action_says_how_many_reports_it_touches_and_changes_nothing_before_it_is_confirmed(
        client, triager, department_a):
    first, second = make_report("first"), make_report("second")
    client.force_login(triager)
    data = {"reports": [f"{first.pk}:1", f"{second.pk}:1"], "action": "route", "department": department_a.pk,
            "message": "To Stadsbeheer.", "query": "status=new"}
    html = client.post(BULK, data).content.decode()
    assert "This routes 2 reports to Stadsbeheer." in html and "Confirm: change 2 reports" in html
    assert Report.objects.filter(department__isnull=True).count() == 2
    response = client.post(BULK, {**data, "confirm": "yes"}, follow=True)
    assert Report.objects.filter(department=department_a, status=S.ACCEPTED).count() == 2
    assert "2 reports changed." in [str(m) for m in response.context["messages"]]


def test_a_bulk_action_on_the_whole_filter_touches_every_report_of_it(client, triager, department_a):
    mine = Area.objects.create(slug="centrum", name="Centrum", geometry={}, min_longitude=0, min_latitude=0,
                               max_longitude=1, max_latitude=1)
    for number in range(3):
        make_report(f"In the centre {number}", area=mine)
    elsewhere = make_report("Elsewhere")
    client.force_login(triager)
    data = {"scope": "filtered", "action": "route", "department": department_a.pk, "message": "",
            "query": "status=new&neighbourhood=centrum"}
    html = client.post(BULK, data).content.decode()
    assert "This routes 3 reports to Stadsbeheer." in html and "Elsewhere" not in html
    selected = re.findall(r'name="reports" value="(\d+:\d+)"', html)
    client.post(BULK, {**data, "scope": "selected", "reports": selected, "confirm": "yes"})
    assert Report.objects.filter(area=mine, department=department_a).count() == 3
    elsewhere.refresh_from_db()
    assert elsewhere.department is None


# --- The queue's map ------------------------------------------------------------------------------------------
def test_the_queue_map_gives_the_filtered_reports_coloured_by_status_for_staff_only(client, triager, resident,
                                                                                 department_a):
    new = make_report("New one")
    make_report("Routed", status=S.ACCEPTED, department=department_a)
    markers = reverse("participation:staff-report-markers")
    client.force_login(resident)
    assert client.get(markers).status_code == 403
    client.force_login(triager)
    data = client.get(markers, {"status": "new"}).json()
    assert data["reports"] == [[new.pk, "New one", "new", new.latitude, new.longitude]] and data["truncated"] is False
    assert data["url"].replace("{number}", str(new.pk)) == url("detail", new)
    assert data["statuses"]["new"]["colour"].startswith("#") and data["statuses"]["new"]["label"] == str(S.NEW.label)
    assert set(data["statuses"]) == set(S.values)
    invalid = client.get(markers, {"status": "nonsense"})
    assert invalid.status_code == 400 and invalid["Content-Type"] == "application/problem+json"
    assert [p["name"] for p in invalid.json()["invalidParams"]] == ["status"]
    assert 'data-queue-map' in client.get(QUEUE, {"view": "map"}).content.decode()


def test_the_queue_map_says_when_it_shows_only_the_newest(client, triager, monkeypatch):
    monkeypatch.setattr(staff_views, "QUEUE_MAP_MAX", 2)
    first, second, third = (make_report(f"Report {number}") for number in range(3))
    client.force_login(triager)
    data = client.get(reverse("participation:staff-report-markers"), {"status": "new"}).json()
    assert [row[0] for row in data["reports"]] == [third.pk, second.pk] and data["truncated"] is True


# --- Location corrections: history, and the statistics follow -----------------------------------------------
def test_dragging_the_pin_corrects_the_location_and_the_neighbourhood(client, civil_servant, department_a):
    west = Area.objects.create(slug="west", name="West", min_longitude=4.0, min_latitude=52.0, max_longitude=4.3,
                               max_latitude=52.2, geometry={"type": "Polygon", "coordinates": [
                                   [[4.0, 52.0], [4.3, 52.0], [4.3, 52.2], [4.0, 52.2], [4.0, 52.0]]]})
    east = Area.objects.create(slug="east", name="East", min_longitude=4.3, min_latitude=52.0, max_longitude=4.6,
                               max_latitude=52.2, geometry={"type": "Polygon", "coordinates": [
                                   [[4.3, 52.0], [4.6, 52.0], [4.6, 52.2], [4.3, 52.2], [4.3, 52.0]]]})
    report = make_report("Pothole", status=S.ACCEPTED, department=department_a, latitude=52.08, longitude=4.29,
                         area=west)
    client.force_login(civil_servant)
    client.post(url("location", report), {"latitude": "52.081", "longitude": "4.312", "version": report.version})
    report.refresh_from_db()
    assert (report.latitude, report.longitude, report.area) == (52.081, 4.312, east)
    correction = Correction.objects.get(report=report, field="location")
    assert (correction.from_value, correction.to_value) == ("52.080000,4.290000", "52.081000,4.312000")
    response = client.post(url("location", report), {"latitude": "95", "longitude": "4.3", "version": report.version})
    assert response.status_code == 400 and Correction.objects.count() == 1


def test_the_statistics_follow_a_corrected_location(civil_servant, department_a):
    from insight.models import DayCount
    from insight.services import insight_rebuild, insight_refresh

    west = Area.objects.create(slug="west", name="West", min_longitude=4.0, min_latitude=52.0, max_longitude=4.3,
                               max_latitude=52.2, geometry={"type": "Polygon", "coordinates": [
                                   [[4.0, 52.0], [4.3, 52.0], [4.3, 52.2], [4.0, 52.2], [4.0, 52.0]]]})
    Area.objects.create(slug="east", name="East", min_longitude=4.3, min_latitude=52.0, max_longitude=4.6,
                        max_latitude=52.2, geometry={"type": "Polygon", "coordinates": [
                            [[4.3, 52.0], [4.6, 52.0], [4.6, 52.2], [4.3, 52.2], [4.3, 52.0]]]})
    report = make_report("Pothole", status=S.ACCEPTED, department=department_a, latitude=52.08, longitude=4.29,
                         area=west, days_old=3)
    insight_rebuild()

    def created_in(slug: str) -> int:
        return sum(DayCount.objects.filter(span="day", area__slug=slug).values_list("created", flat=True))

    assert (created_in("west"), created_in("east")) == (1, 0)
    workflow.move(report=report, actor=civil_servant, latitude=52.08, longitude=4.4, version=report.version)
    insight_refresh()
    assert (created_in("west"), created_in("east")) == (0, 1)


# --- Possible duplicates --------------------------------------------------------------------------------------
def _at(metres_north: float) -> dict:
    return {"latitude": POINT[0] + metres_north * METRE, "longitude": POINT[1]}


def test_possible_duplicates_are_open_near_recent_and_ranked_by_how_alike_they_are(db, settings):
    report = make_report("Loose paving stone on Prinsegracht", **_at(0),
                         description="A paving stone sticks out in front of number 12; people trip over it.")
    alike = make_report("Paving stone sticks out, Prinsegracht 12", **_at(60),
                        description="The stone in front of number 12 is loose and people trip.")
    other = make_report("Streetlight out", **_at(20), description="The lamp on the corner has been dark for a week.")
    make_report("Loose paving stone far away", **_at(400))
    make_report("Loose paving stone, closed", **_at(10), status=S.RESOLVED)
    make_report("Loose paving stone last season", **_at(10), days_old=45)
    found = duplicates.duplicates_of(report)
    assert [c.report for c in found] == [alike, other]
    assert found[0].similarity > found[1].similarity and 55 < found[0].metres < 65
    settings.DUPLICATE_DISTANCE_METRES, settings.DUPLICATE_WINDOW_DAYS = 500, 60
    wider = {c.report.title for c in duplicates.duplicates_of(report)}
    assert wider == {alike.title, other.title, "Loose paving stone far away", "Loose paving stone last season"}


def test_the_residents_already_reported_step_uses_the_same_ranking(db):
    make_report("Streetlight out", **_at(10), description="The lamp on the corner is dark.")
    alike = make_report("Loose paving stone", **_at(50), description="A stone sticks out; people trip over it.")
    make_report("Hidden paving stone", **_at(5), is_hidden=True)
    found = nearby_reports(**_at(0), title="Paving stone loose", description="People trip over a loose stone.")
    assert found[0] == alike and len(found) == 2
    assert found == [c.report for c in duplicates.possible_duplicates(
        **_at(0), title="Paving stone loose", description="People trip over a loose stone.", public_only=True)]


def test_a_possible_duplicate_is_merged_into_this_report_with_one_click(client, triager, resident):
    report = make_report("Loose paving stone on Prinsegracht", **_at(0), contact_email="rita@example.org")
    duplicate = make_report("Paving stone sticks out, Prinsegracht", **_at(30))
    Support.objects.create(report=duplicate, email="neighbour@example.org")
    duplicate.support_count = 1
    duplicate.save()
    client.force_login(triager)
    html = client.get(url("detail", report)).content.decode()
    assert f"Merge report {duplicate.pk} into this one" in html
    assert f"Merging makes report {duplicate.pk} a duplicate of this one. Its 1 supporter, 0 followers" in html
    response = client.post(url("merge-here", report), {"duplicate": duplicate.pk, "version": duplicate.version,
                                                       "message": "Already reported."}, follow=True)
    assert f"Report {duplicate.pk} was merged into this report." in response.content.decode()
    duplicate.refresh_from_db()
    report.refresh_from_db()
    assert (duplicate.status, duplicate.duplicate_of) == (S.DUPLICATE, report)
    assert report.support_count == 1
    stale = client.post(url("merge-here", report), {"duplicate": duplicate.pk, "version": 1, "message": "Again."})
    assert stale.status_code == 409


def test_one_cannot_merge_a_report_one_may_not_act_on(client, other_civil_servant, department_a):
    report = make_report("Loose paving stone", **_at(0), status=S.ACCEPTED, department=department_a)
    duplicate = make_report("Paving stone loose", **_at(30), status=S.ACCEPTED, department=department_a)
    Membership.objects.filter(user=other_civil_servant).delete()
    client.force_login(other_civil_servant)
    response = client.post(url("merge-here", report), {"duplicate": duplicate.pk, "version": duplicate.version,
                                                       "message": "Mine now."})
    assert response.status_code in (400, 403)
    duplicate.refresh_from_db()
    assert duplicate.status == S.ACCEPTED


# --- Query counts ---------------------------------------------------------------------------------------------
def _photo(report: Report) -> None:
    ReportPhoto.objects.create(report=report, image=f"reports/2026/01/{report.pk}.jpg", width=10, height=10)


def test_a_queue_row_shows_the_reports_first_photo_as_a_thumbnail(client, triager):
    with_photos = make_report("With photos")
    make_report("Without")
    ReportPhoto.objects.create(report=with_photos, image="reports/2026/01/second.jpg", width=10, height=10, position=1)
    ReportPhoto.objects.create(report=with_photos, image="reports/2026/01/first.jpg", width=10, height=10, position=0)
    client.force_login(triager)
    rows = {title: row for row, title in re.findall(
        r'(<tr class="utrecht-table__row[^"]*" data-row>.*?data-open>([^<]+)</a>.*?</tr>)', client.get(QUEUE).content.decode(), re.S)}
    assert re.findall(r'<img src="([^"]+)"', rows["With photos"]) == ["/media/reports/2026/01/first.jpg"]
    assert "<img" not in rows["Without"]


def test_the_queue_takes_the_same_number_of_queries_whatever_the_number_of_rows(
        client, triager, department_a, django_assert_num_queries):
    client.force_login(triager)
    category = Category.objects.create(slug="loose-tiles", name="Loose tiles")
    for number in range(2):
        _photo(make_report(f"Report {number}", days_old=number, category=category))
    client.get(QUEUE)  # warm the caches (counts, themes)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE, {"sort": "supports"})
    for number in range(2, 40):
        _photo(make_report(f"Report {number}", days_old=number, category=category))
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as many:
        response = client.get(QUEUE, {"sort": "supports"})
    assert len(_titles(response)) == 40
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_report_page_takes_the_same_number_of_queries_however_many_reports_are_near(client, triager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    report = make_report("Loose paving stone", **_at(0))
    make_report("Paving stone loose", **_at(30))
    client.force_login(triager)
    client.get(url("detail", report))
    with CaptureQueriesContext(connection) as few:
        client.get(url("detail", report))
    for number in range(12):
        make_report(f"Paving stone loose {number}", **_at(10 + number * 5))
        make_report(f"Closed nearby {number}", **_at(200 + number * 5), status=S.RESOLVED, closed_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        html = client.get(url("detail", report)).content.decode()
    assert "Closed nearby 11" in html  # on the map's list: recently closed
    assert len(many.captured_queries) == len(few.captured_queries)


# --- Forms where they are allowed -----------------------------------------------------------------------------
def test_a_closed_report_offers_no_routing_merging_or_duplicates(client, civil_servant, department_a):
    report = make_report("Done", status=S.RESOLVED, department=department_a)
    client.force_login(civil_servant)
    html = client.get(url("detail", report)).content.decode()
    assert 'id="route-heading"' not in html and 'id="merge-heading"' not in html
    assert 'id="duplicates-heading"' not in html
    status_form = html[html.index('id="status-heading"'):html.index("</form>", html.index('id="status-heading"'))]
    assert re.findall(r'<option value="(\w+)"', status_form) == ["accepted"]  # reopening only


def test_photos_open_in_a_dialog_and_the_page_works_without_it(client, triager):
    report = make_report("Graffiti", **_at(0))
    _photo(report)
    client.force_login(triager)
    html = client.get(url("detail", report)).content.decode()
    link = re.search(r'<a class="site-photo-button" href="([^"]+)" data-photo aria-haspopup="dialog"><img [^>]*alt="([^"]+)"',
                     html)
    assert link and link.group(1).endswith(f"{report.pk}.jpg")  # without JavaScript the link shows the photo
    assert "Photo 1 with the report" in link.group(2)
    assert '<dialog class="site-dialog" id="photo-dialog"' in html
