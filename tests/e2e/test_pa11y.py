"""A second accessibility engine: pa11y with HTML_CodeSniffer at WCAG2AA over every public page and every staff
page (signed in), next to axe-core in the other browser tests (issue #20). The two engines catch different
things: HTML_CodeSniffer, for one, knows which autocomplete tokens belong to which kind of field.

Every page of the site is in PUBLIC, STAFF or NOT_PAGES (with the reason), so a new page is checked without
anyone adding it to pa11y by hand: test_every_route_is_checked_or_has_a_reason fails until it is listed.

pa11y-ci (npm, pinned) drives Debian's Chromium through puppeteer (PUPPETEER_SKIP_DOWNLOAD=1 at `npm ci`: no
browser of its own). Skips without it or without Chromium; fails under REQUIRE_SERVICES=1 (as in CI).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from participation import tokens
from participation.models import Report, ReporterContact
from pilots.models import KPI, Call, FeedbackQuestion, Organisation, Pilot, Proposal
from pilots.services import feedback_token
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme, User
from tests.conftest import ROOT, require_service
from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.services

PA11Y_CI = ROOT / "node_modules" / ".bin" / "pa11y-ci"
CHROME_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--no-first-run"]

# Named routes that are not pages a person reads, and why.
NOT_PAGES = {
    "health": "a plain-text health check",
    "set_language": "POST only (the language buttons)",
    "openapi": "the OpenAPI document (JSON)",
    "participation:report-nearby": "an htmx fragment of the report form, checked as part of it",
    "participation:report-geojson": "GeoJSON for the map",
    "participation:report-support": "POST only", "participation:report-follow": "POST only",
    "participation:comment-create": "POST only", "participation:report-hide": "POST only",
    "participation:comment-hide": "POST only",
    "participation:my-export": "the resident's data as JSON",
    "participation:report-reopen": "POST only", "smartcity:city-theme": "the city's colours (CSS)",
    "participation:report-photo": "a report's photo (an image)",
    "participation:staff-report-bulk": "POST only", "participation:staff-report-route": "POST only",
    "participation:staff-report-status": "POST only", "participation:staff-report-message": "POST only",
    "participation:staff-report-note": "POST only", "participation:staff-report-merge": "POST only",
    "participation:staff-report-challenges": "POST only", "participation:staff-filter-create": "POST only",
    "participation:staff-filter-delete": "POST only",
    "participation:staff-report-markers": "JSON for the queue's map",
    "participation:staff-report-merge-here": "POST only", "participation:staff-report-priority": "POST only",
    "participation:staff-report-location": "POST only", "participation:staff-report-category": "POST only",
    "participation:address-search": "JSON for the address combobox", "participation:address-reverse": "JSON for the map",
    "matching:category-suggest": "JSON for the report form's category suggestion",
    "smartcity:department-challenge-close": "POST only",
    "matching:match-decide": "POST only", "matching:suggestion-decide": "POST only",
    "matching:no-challenge-decide": "POST only",
    "matching:matching-run-progress": "an htmx fragment of the matching page, checked as part of it",
    "insight:statistics-csv": "CSV", "insight:department-dashboard-csv": "CSV", "insight:pilot-opportunity-csv": "CSV",
    "open_data:report-export-csv": "CSV", "open_data:report-export-geojson": "GeoJSON",
    "open_data:dump-file": "files of the daily dump",
    "pilots:call-publish": "POST only", "pilots:proposal-submit": "POST only", "pilots:attachment-upload": "POST only",
    "pilots:proposal-decide": "POST only", "pilots:feedback-answer": "POST only", "pilots:feedback-hide": "POST only",
    "pilots:attachment-download": "a proposal's PDF",
    "pilots:proposal-create": "a partner's page (not the administrator's): axe in tests/e2e/test_open_innovation.py",
    "pilots:proposal-edit": "a partner's draft (not the administrator's): axe in tests/e2e/test_open_innovation.py",
}
# Whole parts of the site that are not ours or not HTML: Django's admin, the REST API (JSON; its docs page is
# listed), Open311 (XML and JSON), and allauth, whose pages a person meets are in ACCOUNT_PAGES.
NOT_OURS = ("admin/", "api/v1/^", "open311/", "accounts/")
ACCOUNT_PAGES = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


def _manage_url(report: Report) -> str:
    """The reporter's own page needs a reporter: the first report gets one if it has none."""
    contact, _ = ReporterContact.objects.get_or_create(report=report, defaults={"email": "anna@example.org"})
    return reverse("participation:report-manage", args=[tokens.manage_token(report.pk, contact.email)])


def public_pages() -> dict[str, str]:
    challenge = SocietalChallenge.objects.public().order_by("pk").first()
    report = Report.objects.public().order_by("pk").first()
    pilot = Pilot.objects.order_by("pk").first()
    return {
        "smartcity:home": reverse("smartcity:home"),
        "smartcity:theme-list": reverse("smartcity:theme-list"),
        "smartcity:theme-detail": Theme.objects.order_by("pk").first().get_absolute_url(),
        "smartcity:societal-challenge-list": reverse("smartcity:societal-challenge-list"),
        "smartcity:societal-challenge-detail": challenge.get_absolute_url(),
        "smartcity:department-challenge-detail": DepartmentChallenge.objects.order_by("pk").first().get_absolute_url(),
        "smartcity:accessibility": reverse("smartcity:accessibility"),
        "smartcity:privacy": reverse("smartcity:privacy"),
        "participation:report-list": reverse("participation:report-list"),
        "participation:report-map": reverse("participation:report-map"),
        "participation:report-create": reverse("participation:report-create"),
        "participation:report-detail": report.get_absolute_url(),
        "participation:contact-confirm": reverse("participation:contact-confirm",
                                                 args=[tokens.confirm_token("contact", report.pk, "anna@example.org")]),
        "participation:support-confirm": reverse("participation:support-confirm",
                                                 args=[tokens.confirm_token("support", report.pk, "anna@example.org")]),
        "participation:unsubscribe": reverse("participation:unsubscribe", args=["not-a-valid-link"]),
        "participation:report-manage": _manage_url(report),
        "participation:my-reports-request": reverse("participation:my-reports-request"),
        "pilots:pilot-list": reverse("pilots:pilot-list"),
        "pilots:portfolio-dashboard": reverse("pilots:portfolio-dashboard"),
        "pilots:pilot-detail": pilot.get_absolute_url(),
        "pilots:feedback-confirm": reverse("pilots:feedback-confirm", args=[feedback_token(
            question=FeedbackQuestion.objects.order_by("pk").first(), email="anna@example.org", value=4, comment="")]),
        "pilots:call-list": reverse("pilots:call-list"),
        "pilots:call-detail": Call.objects.published().order_by("pk").first().get_absolute_url(),
        "insight:statistics": reverse("insight:statistics"),
        "open_data:overview": reverse("open_data:overview"),
        "api-docs": reverse("api-docs"),
        "not-found": "/no/such/page/",
    }


def staff_pages() -> dict[str, str]:
    department = Department.objects.order_by("pk").first()
    challenge = DepartmentChallenge.objects.order_by("pk").first()
    pilot = Pilot.objects.order_by("pk").first()
    kpi = KPI.objects.order_by("pk").first()
    return {
        "smartcity:department-challenge-list": reverse("smartcity:department-challenge-list"),
        "smartcity:department-challenge-list (one department)": reverse("smartcity:department-challenge-list",
                                                                        args=[department.slug]),
        "smartcity:department-challenge-create": reverse("smartcity:department-challenge-create"),
        "smartcity:department-challenge-edit": reverse("smartcity:department-challenge-edit", args=[challenge.pk]),
        "smartcity:societal-challenge-manage": reverse("smartcity:societal-challenge-manage"),
        "smartcity:societal-challenge-create": reverse("smartcity:societal-challenge-create"),
        "smartcity:societal-challenge-edit": reverse("smartcity:societal-challenge-edit",
                                                     args=[SocietalChallenge.objects.order_by("pk").first().pk]),
        "matching:match-list": reverse("matching:match-list"),
        "matching:matching-run-list": reverse("matching:matching-run-list"),
        "participation:staff-report-list": reverse("participation:staff-report-list"),
        "participation:staff-report-list (map)": reverse("participation:staff-report-list") + "?view=map",
        "participation:staff-report-detail": reverse("participation:staff-report-detail",
                                                     args=[Report.objects.order_by("pk").first().pk]),
        "participation:my-reports": reverse("participation:my-reports"),
        "participation:account-delete": reverse("participation:account-delete"),
        "pilots:pilot-create": reverse("pilots:pilot-create"),
        "pilots:pilot-edit": reverse("pilots:pilot-edit", args=[pilot.pk]),
        "pilots:gate-create": reverse("pilots:gate-create", args=[pilot.pk]),
        "pilots:pilot-stop": reverse("pilots:pilot-stop", args=[pilot.pk]),
        "pilots:pilot-detail (internals)": pilot.get_absolute_url(),
        "pilots:kpi-create": reverse("pilots:kpi-create", args=[pilot.pk]),
        "pilots:kpi-edit": reverse("pilots:kpi-edit", args=[kpi.pk]),
        "pilots:measurement-create": reverse("pilots:measurement-create", args=[kpi.pk]),
        "pilots:measurement-import": reverse("pilots:measurement-import", args=[kpi.pk]),
        "pilots:call-create": reverse("pilots:call-create"),
        "pilots:call-edit": reverse("pilots:call-edit", args=[Call.objects.order_by("pk").first().pk]),
        "pilots:organisation-list": reverse("pilots:organisation-list"),
        "pilots:organisation-create": reverse("pilots:organisation-create"),
        "pilots:organisation-detail": Organisation.objects.order_by("pk").first().get_absolute_url(),
        "pilots:proposal-list": reverse("pilots:proposal-list"),
        "pilots:proposal-detail": Proposal.objects.exclude(status="draft").order_by("pk").first().get_absolute_url(),
        "pilots:assessment-edit": reverse("pilots:assessment-edit",
                                          args=[Proposal.objects.filter(status="submitted").order_by("pk").first().pk]),
        "pilots:feedback-question-create": reverse("pilots:feedback-question-create", args=[pilot.pk]),
        "insight:department-dashboard-list": reverse("insight:department-dashboard-list"),
        "insight:department-dashboard": reverse("insight:department-dashboard", args=[department.slug]),
        "insight:pilot-opportunity-list": reverse("insight:pilot-opportunity-list"),
    }


def named_routes() -> set[str]:
    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name and not route.startswith(NOT_OURS):
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return set(walk(get_resolver().url_patterns))


@pytest.fixture
def demo(transactional_db, settings):
    settings.MATCHING_SEMANTIC = False  # these pages are not about the matching (see test_hub_pages)
    call_command("load_demo", verbosity=0)


@pytest.fixture
def pa11y():
    require_service(PA11Y_CI.exists(), "pa11y-ci is not installed (npm ci)")
    require_service(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")


def run_pa11y(urls: list[dict], tmp_path) -> dict:
    config = {
        "defaults": {
            "standard": "WCAG2AA", "runners": ["htmlcs"], "timeout": 60_000, "concurrency": 2,
            "chromeLaunchConfig": {"executablePath": CHROMIUM, "args": CHROME_ARGS},
        },
        "urls": urls,
    }
    (tmp_path / "pa11y.json").write_text(json.dumps(config))
    result = subprocess.run([str(PA11Y_CI), "--config", str(tmp_path / "pa11y.json"), "--json"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.stdout.strip(), result.stderr[-2000:]
    return json.loads(result.stdout)


def test_every_route_is_checked_or_has_a_reason(demo):
    listed = {name.split(" (")[0] for name in [*public_pages(), *staff_pages()]} | set(NOT_PAGES)
    assert sorted(named_routes() - listed) == [], "list new pages in public_pages/staff_pages, or in NOT_PAGES"


def test_html_codesniffer_finds_no_wcag2aa_error_on_any_public_or_staff_page(pa11y, demo, live_server, tmp_path):
    admin = User.objects.get(email="admin@example.org")  # the demo's administrator sees every staff page
    browser = Client()
    browser.force_login(admin)
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    public = [*public_pages().values(), *ACCOUNT_PAGES]
    staff = list(staff_pages().values())
    for path in staff:  # a staff page that is not there (or not for staff) would be checked as an error page
        assert browser.get(path).status_code == 200, path

    results = run_pa11y([{"url": live_server.url + path} for path in public]
                        + [{"url": live_server.url + path, "headers": cookie} for path in staff], tmp_path)

    assert results["total"] == len(public) + len(staff)
    errors = {url: [(issue["code"], issue["selector"], issue["message"][:160]) for issue in issues if issue["type"] == "error"]
              for url, issues in results["results"].items()}
    assert {url: found for url, found in errors.items() if found} == {}
