"""Who decided a pilot's gate is internal: the public API names nobody, as the public pilot page does
(issue #14: `decided_by` was a staff email address for anyone)."""
from __future__ import annotations

import pytest

from pilots.models import Pilot

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated_pilot(department_a, innovation_member) -> Pilot:
    innovation_member.display_name = ""  # without a display name, str(user) is the email address
    innovation_member.save(update_fields=["display_name"])
    pilot = Pilot.objects.create(title="Crowd sensors", description="Counting visitors.", lead_department=department_a)
    pilot.advance("stopped", by=innovation_member, lessons_learned="The sensors could not tell people from gulls.")
    return pilot


def test_anonymous_readers_and_other_departments_do_not_learn_who_decided_a_gate(api_client, token_client_for,
                                                                                other_civil_servant, gated_pilot):
    for client in (api_client, token_client_for(other_civil_servant)):
        response = client.get(f"/api/v1/pilots/{gated_pilot.pk}/gates")
        assert response.status_code == 200
        assert "innovation@example.org" not in response.content.decode()
        assert [gate["decided_by"] for gate in response.json()["results"]] == [None]


def test_the_innovation_team_and_the_pilots_departments_see_who_decided(token_client_for, innovation_member,
                                                                       civil_servant, gated_pilot):
    for reader in (innovation_member, civil_servant):
        gates = token_client_for(reader).get(f"/api/v1/pilots/{gated_pilot.pk}/gates").json()["results"]
        assert [gate["decided_by"] for gate in gates] == ["innovation@example.org"]
