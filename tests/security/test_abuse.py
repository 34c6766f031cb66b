"""Abuse: brute-force login and submission floods are rate-limited."""
from __future__ import annotations

import pytest

from participation.models import Report

pytestmark = pytest.mark.django_db


def test_brute_force_login_is_stopped_after_five_failures_even_with_the_right_password(client, resident):
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": resident.email, "password": "guess"})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post("/accounts/login/", {"login": resident.email, "password": "correct horse battery staple"})
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_a_flood_of_anonymous_reports_from_one_address_stops_at_the_hourly_limit(client, settings):
    settings.ANONYMOUS_REPORTS_PER_HOUR = 3
    answers = []
    for number in range(8):
        answers.append(client.post("/reports/new/", {
            "title": f"Overvolle afvalbak {number}", "description": "De afvalbak bij de tramhalte is al dagen vol.",
            "latitude": str(52.05 + number * 0.005), "longitude": "4.3113", "theme": "", "nearby_seen": "on",
        }).status_code)
    assert answers[:3] == [302] * 3 and set(answers[3:]) == {429}
    assert Report.objects.count() == 3


def test_a_flood_through_the_api_gets_429_problems(api_client, settings):
    from django.core.cache import cache

    cache.clear()
    answers = [api_client.post("/api/v1/reports", {"title": "Overvolle afvalbak", "description": "Al dagen vol, echt waar.",
                                                   "latitude": 52.08, "longitude": 4.31}, format="json")
               for _ in range(12)]
    codes = [answer.status_code for answer in answers]
    assert codes.count(201) == 10 and codes[-1] == 429
    assert answers[-1]["Content-Type"] == "application/problem+json" and "Retry-After" in answers[-1]
    assert Report.objects.count() == 10
