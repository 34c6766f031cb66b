"""Who may decide that an item is about no societal challenge, and undo it (issue 19): the same rule as for
accepting or rejecting the item's suggestions (permissions.can_review_suggestion), through the API and the
staff pages alike. Each cell of docs/permissions.md's table is one case below."""
from __future__ import annotations

import pytest
from django.urls import reverse

from matching import services
from matching.models import NoChallengeDecision, Suggestion
from participation.models import Report
from pilots.models import Pilot
from smartcity.models import DepartmentChallenge, SocietalChallenge

pytestmark = pytest.mark.django_db
URL = "/api/v1/no-challenge-decisions"


@pytest.fixture
def items(department_a, department_b) -> dict:
    return {
        "report": Report.objects.create(title="Kat vermist", description="Onze kat Minoes is weg.", latitude=52.07,
                                        longitude=4.3, department=department_a),
        "department_challenge": DepartmentChallenge.objects.create(department=department_a, title="Verhuizing archief",
                                                                   description="Het archief verhuist."),
        "pilot": Pilot.objects.create(title="Slimme prullenbak", description="Sensoren in prullenbakken",
                                      lead_department=department_a),
    }


# role -> which kinds it may decide on: reports routed to department A, department A's challenges, pilots
CELLS = {
    "civil_servant": {"report", "department_challenge"},
    "other_civil_servant": set(),
    "innovation_member": {"report", "department_challenge", "pilot"},
    "admin_user": {"report", "department_challenge", "pilot"},
}


@pytest.mark.parametrize("kind", ["report", "department_challenge", "pilot"])
@pytest.mark.parametrize("role", list(CELLS))
def test_who_may_decide_and_undo_through_the_api(request, token_client_for, items, admin_user, role, kind):
    user = request.getfixturevalue(role)
    item = items[kind]
    api = token_client_for(user)
    response = api.post(URL, {"item": {"type": kind, "id": item.pk}, "reason": "Eenmalig"}, format="json")
    if kind not in CELLS[role]:
        assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
        assert not NoChallengeDecision.objects.exists()
        decision = services.no_challenge_decide(item_type=kind, item=item, by=admin_user)
        refused = api.patch(f"{URL}/{decision.pk}", {"undone": True}, format="json")
        assert refused.status_code == 403
        assert NoChallengeDecision.objects.get().is_standing
        return
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["item"] == {"type": kind, "id": item.pk, "reference": item.reference, "title": item.title}
    assert (body["reason"], body["standing"], body["undone_at"]) == ("Eenmalig", True, None)
    assert NoChallengeDecision.objects.get().decided_by == user
    undone = api.patch(f"{URL}/{body['id']}", {"undone": True}, format="json")
    assert undone.status_code == 200 and undone.json()["standing"] is False and undone.json()["undone_at"]
    assert NoChallengeDecision.objects.get().undone_by == user


@pytest.mark.parametrize("role", list(CELLS))
def test_the_staff_page_follows_the_same_rule(request, client, items, role):
    client.force_login(request.getfixturevalue(role))
    for kind, item in items.items():
        response = client.post(reverse("matching:no-challenge-decide", args=[kind, item.pk]), {"decision": "none"})
        assert response.status_code == (302 if kind in CELLS[role] else 403)
    decided = {(decision.item_type, decision.item_id) for decision in NoChallengeDecision.objects.all()}
    assert decided == {(kind, items[kind].pk) for kind in CELLS[role]}


def test_residents_and_visitors_neither_read_nor_decide(token_client_for, api_client, resident, items):
    body = {"item": {"type": "report", "id": items["report"].pk}}
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, body, format="json").status_code == 401
    api = token_client_for(resident)
    assert api.get(URL).status_code == 403 and api.post(URL, body, format="json").status_code == 403
    assert not NoChallengeDecision.objects.exists()


def test_conflicts_and_bad_input_are_problems_and_change_nothing(token_client_for, civil_servant, items):
    api = token_client_for(civil_servant)
    report = items["report"]
    body = {"item": {"type": "report", "id": report.pk}}
    missing = api.post(URL, {"item": {"type": "report", "id": 10**9}}, format="json")
    assert missing.status_code == 400 and missing["Content-Type"] == "application/problem+json"
    assert [(p["name"], p["code"]) for p in missing.json()["invalidParams"]] == [("item.id", "does_not_exist")]
    wrong = api.post(URL, {"item": {"type": "societal_challenge", "id": "1"}, "reason": 7}, format="json")
    assert wrong.status_code == 400
    assert {p["name"] for p in wrong.json()["invalidParams"]} == {"item.type", "item.id", "reason"}
    first = api.post(URL, body, format="json")
    assert first.status_code == 201
    again = api.post(URL, body, format="json")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    assert api.patch(f"{URL}/{first.json()['id']}", {"undone": False}, format="json").status_code == 400
    assert NoChallengeDecision.objects.active().count() == 1
    assert api.patch(f"{URL}/{first.json()['id']}", {"undone": True}, format="json").status_code == 200
    assert api.patch(f"{URL}/{first.json()['id']}", {"undone": True}, format="json").status_code == 409
    report.societal_challenges.add(SocietalChallenge.objects.create(title="Dieren", description="Huisdieren"))
    linked = api.post(URL, body, format="json")
    assert linked.status_code == 409 and "linked" in linked.json()["detail"]
    assert NoChallengeDecision.objects.count() == 1


def test_the_list_filters_by_item_and_standing_and_the_suggestions_are_gone(token_client_for, civil_servant, items):
    api = token_client_for(civil_servant)
    report, challenge = items["report"], items["department_challenge"]
    Suggestion.objects.create(report=report, societal_challenge=SocietalChallenge.objects.create(title="x", description="y"),
                              score=0.6)
    decided = api.post(URL, {"item": {"type": "report", "id": report.pk}}, format="json").json()
    api.patch(f"{URL}/{decided['id']}", {"undone": True}, format="json")
    api.post(URL, {"item": {"type": "report", "id": report.pk}}, format="json")
    api.post(URL, {"item": {"type": "department_challenge", "id": challenge.pk}}, format="json")
    assert api.get("/api/v1/suggestions", {"itemType": "report", "itemId": report.pk}).json()["count"] == 0
    history = api.get(URL, {"itemType": "report", "itemId": report.pk}).json()
    assert [d["standing"] for d in history["results"]] == [True, False]
    assert api.get(URL, {"standing": "true"}).json()["count"] == 2
    assert api.get(URL, {"standing": "false"}).json()["count"] == 1
    assert api.get(URL, {"standing": "bogus"}).status_code == 400
