"""The statistics page and the staff dashboards in a real browser: filters, tables, CSV, and axe-core.

With INSIGHT_SCREENSHOT=1 the desktop run also saves docs/screenshot-statistics.png for the README
(off by default, so a test run leaves the tracked file alone)."""
from __future__ import annotations

import datetime as dt
import os
import random

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from insight.services import insight_rebuild
from participation.models import Report
from smartcity.models import Area, Department, Membership, SocietalChallenge, Theme
from tests.e2e.conftest import ROOT, check_accessibility, log_in
from tests.insight.conftest import make_report

pytestmark = pytest.mark.services


@pytest.fixture
def demo(transactional_db, settings):
    """The demo city, with a year of reports behind it so that every chart has something to show."""
    # These pages are not about the matching: its demo run goes on words alone, without
    # encoding every demo text again for each test (tests/smartcity covers the vectors).
    settings.MATCHING_SEMANTIC = False
    call_command("load_demo", verbosity=0)
    call_command("load_demo_reports", verbosity=0)
    call_command("load_demo_pilots", verbosity=0)
    rng = random.Random(9)
    themes, areas = list(Theme.objects.all()), list(Area.objects.all())
    departments = list(Department.objects.all())
    challenges = list(SocietalChallenge.objects.filter(status="open"))
    now = timezone.now()
    weights = [("resolved", 60), ("not_actionable", 12), ("duplicate", 6), ("accepted", 10), ("in_progress", 8), ("new", 4)]
    for _ in range(600):
        created = now - dt.timedelta(days=365 * rng.random() ** 0.7)
        status = rng.choices([s for s, _ in weights], [w for _, w in weights])[0]
        theme, area = rng.choice(themes), rng.choice(areas + [None])
        closed = None
        if status in Report.CLOSED_STATUSES:
            closed = min(dt.timedelta(hours=rng.expovariate(1 / (24 * (theme.target_days or 10)))), now - created)
        answered = min(dt.timedelta(hours=rng.expovariate(1 / 30)), closed or now - created)
        box = area or Area.objects.first()
        report = make_report(
            created, status=status, theme=theme, area=area, answered_after=answered, closed_after=closed,
            department=rng.choice(departments) if status != "new" else None,
            latitude=rng.uniform(box.min_latitude, box.max_latitude), longitude=rng.uniform(box.min_longitude, box.max_longitude),
        )
        if challenges and rng.random() < 0.3:
            report.societal_challenges.add(rng.choice(challenges))
    insight_rebuild()


def test_a_resident_reads_the_statistics_filters_them_and_downloads_the_numbers(page, phone_page, demo):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Statistics").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Reports over time")).to_be_visible()
    expect(page.get_by_role("img", name="Reports per theme over time")).to_be_visible()
    expect(page.get_by_role("img", name="Map of reports per neighbourhood")).to_be_visible()
    if os.environ.get("INSIGHT_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "screenshot-statistics.png"),
                        clip={"x": 0, "y": 0, "width": 1280, "height": 1500}, full_page=True)
    check_accessibility(page, "insight-statistics")

    # The table under a chart opens and carries the numbers.
    page.get_by_text("Reports per neighbourhood as a table").click()
    expect(page.get_by_role("table", name="Reports per neighbourhood, most first")).to_be_visible()

    # Filter on a theme and count per week: the figures follow, and so does the CSV link.
    theme = Theme.objects.order_by("name").first()
    filters = page.get_by_role("search", name="Filter the statistics")
    filters.get_by_label("Theme").select_option(theme.slug)
    filters.get_by_label("Count per").select_option("week")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert f"theme={theme.slug}" in page.url
    english_name = theme.name_en or theme.name  # the browser asks for English
    assert english_name in page.locator("#period-summary").inner_text()
    assert page.locator("#over-time-caption").text_content() == "Reports per week (weeks start on Monday) and theme"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download response times (CSV)").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert content.splitlines()[1].startswith(english_name)

    # A period that ends before it starts is explained, with a link to the field.
    filters.get_by_label("From").fill("2026-05-01")
    filters.get_by_label("Up to and including").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    expect(page.get_by_role("alert").get_by_text("The start of the period must come before its end.")).to_be_visible()
    check_accessibility(page, "insight-statistics-error")

    phone_page.goto("/statistics/")
    check_accessibility(phone_page, "insight-statistics-phone")


def test_staff_find_their_department_dashboard_and_the_innovation_team_the_pilot_opportunities(page, demo):
    from smartcity.models import User

    department = Department.objects.filter(reports__isnull=False).distinct().order_by("name").first()
    user = User.objects.create_user(email="dash@example.org", password="correct horse battery staple", display_name="Dana")
    user.emailaddress_set.create(email=user.email, verified=True, primary=True)
    Membership.objects.create(user=user, department=department)
    log_in(page, user.email)
    page.goto("/staff/")
    page.get_by_role("navigation", name="Staff workspace").get_by_role("link", name="Dashboards").click()
    page.wait_for_load_state()
    check_accessibility(page, "insight-dashboards")
    page.get_by_role("link", name=department.name, exact=True).click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Backlog by status and age")).to_be_visible()
    expect(page.get_by_role("table", name="Reports in and closed per week")).to_be_visible()
    check_accessibility(page, "insight-department-dashboard")

    user.is_innovation_team = True
    user.save()
    page.goto("/staff/insight/")
    page.get_by_role("link", name="Where the next pilot is worth the most").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Where the next pilot is worth the most")).to_be_visible()
    check_accessibility(page, "insight-pilot-opportunities")
