"""Every page with a chart, in Dutch, English and Swedish (issue #17): no console error (a decimal comma in an SVG
coordinate is one, per number), every number inside an SVG readable as a number, and axe-core passes."""
from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from insight.services import insight_rebuild
from pilots.models import Pilot
from smartcity.models import Department, User
from tests.e2e.conftest import check_accessibility, log_in

pytestmark = pytest.mark.services

LOCALES = {"nl": "nl-NL", "en": "en-GB", "sv": "sv-SE"}
PASSWORD = "correct horse battery staple"
NUMERIC = re.compile(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)"')


@pytest.fixture
def city(transactional_db, settings):
    settings.MATCHING_SEMANTIC = False
    call_command("load_demo", verbosity=0)
    call_command("load_demo_reports", verbosity=0)
    call_command("load_demo_pilots", verbosity=0)
    insight_rebuild()
    admin = User.objects.create_user(email="charts@example.org", password=PASSWORD, display_name="Chris",
                                     is_superuser=True, is_staff=True, is_innovation_team=True)
    admin.emailaddress_set.create(email="charts@example.org", verified=True, primary=True)
    return admin


def chart_pages() -> list[str]:
    department = Department.objects.order_by("slug").first()
    pilots = [pilot.get_absolute_url() for pilot in Pilot.objects.filter(kpis__isnull=False).distinct()]
    assert pilots, "the demo has pilots with KPIs"
    return ["/statistics/", "/pilots/portfolio/", "/staff/insight/pilot-opportunities/",
            f"/staff/insight/departments/{department.slug}/", *pilots]


@pytest.mark.parametrize("language", ["nl", "en", "sv"])
def test_every_chart_page_loads_without_a_console_error(browser, live_server, city, language):
    context = browser.new_context(base_url=live_server.url, locale=LOCALES[language], viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    log_in(page, city.email, PASSWORD)
    charts = 0
    for path in chart_pages():
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == language
        svgs = page.locator("main svg")
        charts += svgs.count()
        for svg in svgs.all():
            for value in NUMERIC.findall(svg.evaluate("element => element.outerHTML")):
                if not value.endswith("%"):
                    float(value)  # "220,0" would raise
        check_accessibility(page, f"charts-{language}-{path.strip('/').replace('/', '-')}")
    context.close()
    assert charts >= 8
    assert errors == [], "console errors:\n" + "\n".join(errors[:20])
