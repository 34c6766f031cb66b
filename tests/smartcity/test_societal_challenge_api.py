"""/api/v1/societal-challenges: curated by the innovation team, proposed ones hidden from the public,
and what links to each challenge returned with it."""
from __future__ import annotations

from participation.models import Report
from smartcity.models import DepartmentChallenge, SocietalChallenge


def test_proposed_challenges_are_listed_for_curators_only(api_client, token_client_for, innovation_member):
    SocietalChallenge.objects.create(title="Open one", description="d")
    SocietalChallenge.objects.create(title="Proposed one", description="d", status=SocietalChallenge.Status.PROPOSED)
    public = [item["title"] for item in api_client.get("/api/v1/societal-challenges").json()["results"]]
    curated = [item["title"] for item in token_client_for(innovation_member).get("/api/v1/societal-challenges").json()["results"]]
    assert public == ["Open one"]
    assert curated == ["Open one", "Proposed one"]


def test_a_challenge_shows_its_department_challenges_and_public_report_count(api_client, department_a):
    hub = SocietalChallenge.objects.create(title="Litter", description="d")
    item = DepartmentChallenge.objects.create(title="Bins", description="d", department=department_a)
    item.societal_challenges.add(hub)
    for hidden in (False, False, True):
        Report.objects.create(title="t", description="d", latitude=52.0, longitude=4.3, is_hidden=hidden).societal_challenges.add(hub)
    body = api_client.get(f"/api/v1/societal-challenges/{hub.pk}").json()
    assert body["department_challenges"] == [item.pk] and body["report_count"] == 2


def test_a_curator_patches_the_status_and_others_may_not(token_client_for, innovation_member, civil_servant):
    hub = SocietalChallenge.objects.create(title="Litter", description="d")
    assert token_client_for(civil_servant).patch(f"/api/v1/societal-challenges/{hub.pk}", {"status": "closed"},
                                                 format="json").status_code == 403
    response = token_client_for(innovation_member).patch(f"/api/v1/societal-challenges/{hub.pk}", {"status": "closed"},
                                                         format="json")
    assert response.status_code == 200
    hub.refresh_from_db()
    assert hub.status == "closed"


def test_a_department_is_created_by_slug_by_an_administrator(token_client_for, admin_user, civil_servant):
    assert token_client_for(civil_servant).post("/api/v1/departments", {"slug": "x", "name": "X"}, format="json").status_code == 403
    response = token_client_for(admin_user).post("/api/v1/departments", {"slug": "welzijn", "name": "Welzijn"}, format="json")
    assert response.status_code == 201 and response.json()["slug"] == "welzijn"
