"""/api/v1/department-challenges: token auth, slugs, references, closing by PATCH, filters, problem+json."""
from __future__ import annotations

from smartcity.models import DepartmentChallenge, SocietalChallenge, Theme


def test_a_member_posts_a_challenge_with_slugs_a_reference_and_links(token_client_for, civil_servant, department_a):
    Theme.objects.create(slug="mobility", name="Mobility")
    hub = SocietalChallenge.objects.create(title="Safe school streets", description="d")
    response = token_client_for(civil_servant).post("/api/v1/department-challenges", {
        "reference": "  dc-7 ", "title": "Double parking", "description": "At school time.", "department": "stadsbeheer",
        "themes": ["mobility"], "target": "Half the incidents", "deadline": "2027-06-30", "societal_challenges": [hub.pk],
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["reference"], body["department"], body["themes"], body["deadline"], body["societal_challenges"]) == (
        "dc-7", "stadsbeheer", ["mobility"], "2027-06-30", [hub.pk])
    assert body["created_at"].endswith(("Z", "+00:00", "+01:00", "+02:00"))
    assert DepartmentChallenge.objects.get(reference="dc-7").created_by == civil_servant


def test_a_member_closes_the_challenge_with_a_patch(token_client_for, civil_servant, department_a):
    challenge = DepartmentChallenge.objects.create(title="Bins", description="d", department=department_a)
    response = token_client_for(civil_servant).patch(f"/api/v1/department-challenges/{challenge.pk}", {"status": "closed"},
                                                     format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    challenge.refresh_from_db()
    assert challenge.status == "closed"


def test_a_member_cannot_move_a_challenge_to_another_department(token_client_for, civil_servant, department_a, department_b):
    challenge = DepartmentChallenge.objects.create(title="Bins", description="d", department=department_a)
    response = token_client_for(civil_servant).patch(f"/api/v1/department-challenges/{challenge.pk}",
                                                     {"department": department_b.slug}, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    challenge.refresh_from_db()
    assert challenge.department == department_a


def test_an_unknown_status_and_a_taken_reference_are_listed_together(token_client_for, civil_servant, department_a):
    DepartmentChallenge.objects.create(title="x", description="d", department=department_a, reference="taken")
    response = token_client_for(civil_servant).post("/api/v1/department-challenges", {
        "title": "y", "description": "d", "department": "stadsbeheer", "status": "maybe", "reference": "taken"}, format="json")
    assert response.status_code == 400
    assert {problem["name"] for problem in response.json()["invalidParams"]} == {"status", "reference"}


def test_the_list_filters_by_department_and_status(api_client, department_a, department_b):
    DepartmentChallenge.objects.create(title="A open", description="d", department=department_a)
    DepartmentChallenge.objects.create(title="A closed", description="d", department=department_a, status="closed")
    DepartmentChallenge.objects.create(title="B open", description="d", department=department_b)
    titles = lambda query: [item["title"] for item in api_client.get(f"/api/v1/department-challenges{query}").json()["results"]]  # noqa: E731
    assert titles("") == ["A open", "A closed", "B open"]
    assert titles("?department=stadsbeheer&status=open") == ["A open"]


def test_the_innovation_team_cannot_post_for_a_department(token_client_for, innovation_member, department_a):
    response = token_client_for(innovation_member).post("/api/v1/department-challenges", {
        "title": "y", "description": "d", "department": "stadsbeheer"}, format="json")
    assert response.status_code == 400
    assert not DepartmentChallenge.objects.exists()


def test_themes_carry_their_target_handling_time(token_client_for, admin_user):
    response = token_client_for(admin_user).post("/api/v1/themes", {"slug": "roads", "name": "Roads", "target_days": 5},
                                                 format="json")
    assert response.status_code == 201 and response.json()["target_days"] == 5
    assert Theme.objects.get(slug="roads").target_days == 5
