"""A match flag is decided by the same rules through the API as on the review page (issue #14): the
innovation team or a department in the flag decides, each flag once, and only the innovation team,
which curates societal challenges, accepts a flag that creates a new one."""
from __future__ import annotations

import pytest
from django.urls import reverse

from matching.models import Match, ReviewStatus
from smartcity.models import DepartmentChallenge, SocietalChallenge

pytestmark = pytest.mark.django_db


def _flag(department_a, department_b, *, challenge=None, fingerprint="a") -> Match:
    sewers = DepartmentChallenge.objects.create(department=department_a, title="Riool overbelast", description="x")
    tunnels = DepartmentChallenge.objects.create(department=department_b, title="Tunnels onder water", description="y")
    match = Match.objects.create(societal_challenge=challenge, proposed_title="" if challenge else "Wateroverlast",
                                 score=0.9, fingerprint=fingerprint * 64)
    match.department_challenges.set([sewers, tunnels])
    return match


@pytest.fixture
def proposed_flag(department_a, department_b) -> Match:
    """A flag on a proposed new challenge: accepting it creates a public societal challenge."""
    return _flag(department_a, department_b)


@pytest.fixture
def existing_flag(department_a, department_b) -> Match:
    challenge = SocietalChallenge.objects.create(title="Droge voeten", description="Water op straat.")
    return _flag(department_a, department_b, challenge=challenge, fingerprint="b")


def _patch(client, match: Match, status: str):
    return client.patch(f"/api/v1/matches/{match.pk}", {"status": status, "reason": "Zelfde probleem"}, format="json")


def test_a_department_cannot_accept_a_flag_that_would_create_a_societal_challenge(token_client_for, client,
                                                                                 civil_servant, proposed_flag):
    response = _patch(token_client_for(civil_servant), proposed_flag, "accepted")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    client.force_login(civil_servant)
    assert client.post(reverse("matching:match-decide", args=[proposed_flag.pk]),
                       {"decision": "accepted"}).status_code == 403
    proposed_flag.refresh_from_db()
    assert proposed_flag.status == ReviewStatus.OPEN and not SocietalChallenge.objects.exists()


def test_the_review_page_offers_a_department_only_what_it_may_do(client, civil_servant, innovation_member, proposed_flag):
    client.force_login(civil_servant)
    page = client.get(reverse("matching:match-list")).content.decode()
    assert "Accept and create the challenge" not in page and 'value="rejected"' in page
    client.force_login(innovation_member)
    assert "Accept and create the challenge" in client.get(reverse("matching:match-list")).content.decode()


def test_a_department_may_reject_such_a_flag_and_accept_one_on_an_existing_challenge(token_client_for, civil_servant,
                                                                                   proposed_flag, existing_flag):
    api = token_client_for(civil_servant)
    assert _patch(api, proposed_flag, "rejected").status_code == 200
    accepted = _patch(api, existing_flag, "accepted")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    sewers = existing_flag.department_challenges.get(department__slug="stadsbeheer")
    assert sewers.societal_challenges.filter(pk=existing_flag.societal_challenge_id).exists()


def test_the_innovation_team_accepts_a_flag_and_creates_the_challenge(token_client_for, innovation_member, proposed_flag):
    response = _patch(token_client_for(innovation_member), proposed_flag, "accepted")
    assert response.status_code == 200
    challenge = SocietalChallenge.objects.get()
    assert (challenge.title, challenge.status) == ("Wateroverlast", SocietalChallenge.Status.OPEN)
    assert response.json()["societal_challenge"]["id"] == challenge.pk


def test_a_decided_flag_is_not_decided_again_through_the_api(token_client_for, civil_servant, innovation_member,
                                                             existing_flag, proposed_flag):
    api = token_client_for(civil_servant)
    assert _patch(api, existing_flag, "rejected").status_code == 200
    again = _patch(api, existing_flag, "accepted")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    existing_flag.refresh_from_db()
    assert existing_flag.status == ReviewStatus.REJECTED
    assert not existing_flag.department_challenges.filter(societal_challenges__isnull=False).exists()
    curator = token_client_for(innovation_member)
    assert _patch(curator, proposed_flag, "accepted").status_code == 200
    assert _patch(curator, proposed_flag, "rejected").status_code == 409
    assert SocietalChallenge.objects.filter(title="Wateroverlast").count() == 1


def test_a_department_outside_the_flag_decides_nothing(token_client_for, existing_flag, db):
    from smartcity.models import Department, Membership, User

    outsider = User.objects.create_user(email="parks@example.org", password="pw-long-enough-1")
    Membership.objects.create(user=outsider, department=Department.objects.create(slug="parks", name="Parks"))
    assert _patch(token_client_for(outsider), existing_flag, "rejected").status_code == 403
    existing_flag.refresh_from_db()
    assert existing_flag.status == ReviewStatus.OPEN
