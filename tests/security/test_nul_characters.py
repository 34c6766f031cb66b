"""NUL characters, which PostgreSQL cannot compare, are refused with 400 wherever they come in (found by fuzzing)."""
from __future__ import annotations

import pytest

from smartcity.models import SocietalChallenge

pytestmark = pytest.mark.django_db


def test_a_nul_in_an_api_body_is_a_400_problem_and_nothing_is_saved(token_client_for, innovation_member):
    response = token_client_for(innovation_member).post(
        "/api/v1/societal-challenges", {"title": "Heat", "description": "Hot streets.", "themes": ["a\x00b"]},
        format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]
    assert not SocietalChallenge.objects.exists()


def test_a_nul_in_a_multipart_api_body_or_a_query_string_is_a_400(token_client_for, innovation_member, client):
    api = token_client_for(innovation_member)
    assert api.post("/api/v1/societal-challenges", {"title": "Heat", "description": "Hot.", "themes": "\x00x"},
                    format="multipart").status_code == 400
    assert client.get("/api/v1/department-challenges?department=%00").status_code == 400
    assert client.get("/reports/?theme=%00").status_code == 400


def test_a_nul_in_a_web_form_is_a_400_not_a_500(client):
    response = client.post("/reports/new/", {"title": "Pot\x00hole", "description": "Deep.", "latitude": "52.08",
                                             "longitude": "4.31", "theme": "\x00"})
    assert response.status_code == 400
