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


# --- Bodies of every method, not only POST (issue #14: a form-encoded PATCH gave a 500) --------------
@pytest.fixture
def challenge(department_a):
    from smartcity.models import DepartmentChallenge

    return DepartmentChallenge.objects.create(department=department_a, title="Riool", description="Loopt over.")


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_nul_in_a_form_encoded_body_of_any_method_is_a_400_problem(token_client_for, civil_servant, challenge, method):
    api = token_client_for(civil_servant)
    response = getattr(api, method)(f"/api/v1/department-challenges/{challenge.pk}", "department=vei%00ligheid&title=x",
                                    content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]
    challenge.refresh_from_db()
    assert challenge.title == "Riool"


def test_a_nul_in_a_multipart_patch_or_a_json_patch_is_a_400(token_client_for, civil_servant, challenge):
    api = token_client_for(civil_servant)
    url = f"/api/v1/department-challenges/{challenge.pk}"
    assert api.patch(url, {"department": "vei\x00ligheid"}, format="multipart").status_code == 400
    assert api.patch(url, {"title": "Ri\x00ool"}, format="json").status_code == 400
    assert api.patch(url, b'{"title": "Ri\\u0000ool"}', content_type="application/json").status_code == 400
    challenge.refresh_from_db()
    assert challenge.title == "Riool"


def test_a_clean_form_encoded_patch_still_works(token_client_for, civil_servant, challenge):
    response = token_client_for(civil_servant).patch(f"/api/v1/department-challenges/{challenge.pk}", "title=Riool+vol",
                                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    challenge.refresh_from_db()
    assert challenge.title == "Riool vol"


def test_a_multipart_patch_with_a_binary_file_is_not_taken_for_a_nul_in_a_field(token_client_for, civil_servant,
                                                                               challenge):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("data.bin", b"\x00\x01\x02binary", content_type="application/octet-stream")
    response = token_client_for(civil_servant).patch(f"/api/v1/department-challenges/{challenge.pk}",
                                                     {"title": "Riool vol", "attachment": upload}, format="multipart")
    assert response.status_code == 200, response.content
