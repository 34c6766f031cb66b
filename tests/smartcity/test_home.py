"""The home page (issue #17): what a resident can do, recent reports near the centre, this month's results, then
the challenges and pilots; the city's name, logo and colours from the settings."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from participation.models import Report
from pilots.models import Pilot
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_home_page_offers_the_report_button_recent_reports_and_this_months_results(settings):
    settings.CITY_NAME = "Den Haag"
    now = timezone.now()
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    make_report(title="Lamp uit", created_at=max(start, now - timedelta(days=1)))
    for hours in (24, 72):
        Report.objects.create(title=f"Opgelost {hours}", description="Gedaan.", latitude=52.08, longitude=4.31,
                              status=Report.Status.RESOLVED, created_at=now - timedelta(hours=hours),
                              closed_at=now)
    make_report(title="Verborgen", is_hidden=True)
    Pilot.objects.create(title="Slimme containers", description="Sensoren melden volle containers.", stage="pilot")
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert 'href="/reports/new/"' in html and "Den Haag" in html
    assert html.count('href="/my/reports/"') >= 2  # the menu, and "find a report you made": no account needed
    assert "Lamp uit" in html and "Verborgen" not in html
    assert '<dd data-figure="resolved">2</dd>' in html
    assert "2 days" in html  # the median of 1 and 3 days
    assert "Slimme containers" in html
    assert html.index("recent-heading") < html.index("month-heading") < html.index("challenges-heading") \
        < html.index("pilots-heading")


def test_the_city_colours_become_theme_tokens_and_nothing_else_gets_through(settings, client):
    settings.CITY_PRIMARY_COLOR = "#1d6b34"
    settings.CITY_SECONDARY_COLOR = "red; } body { display: none"
    css = client.get("/city-theme.css").content.decode()
    assert "--basis-color-action-1-inverse-bg-default: #1d6b34;" in css
    assert "display: none" not in css and "red" not in css
    assert 'href="/city-theme.css"' in client.get("/").content.decode()
