"""The societal challenge page is the hub: linked reports (count, map, recent), department challenges
grouped by department, pilots; and the innovation team's curation pages."""
from __future__ import annotations

from django.urls import reverse

from participation.models import Report
from smartcity.models import SocietalChallenge


def test_the_hub_shows_linked_public_reports_with_a_map_and_the_most_recent(client, department_a):
    hub = SocietalChallenge.objects.create(title="Litter", description="d")
    for number in range(7):
        Report.objects.create(title=f"Litter report {number}", description="d", latitude=52.07, longitude=4.3 + number / 100,
                              is_hidden=number == 6).societal_challenges.add(hub)
    Report.objects.create(title="Unlinked", description="d", latitude=52.0, longitude=4.3)
    html = client.get(hub.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "6 resident reports are linked to this challenge." in html
    assert html.count("data-match-map") == 1 and "Litter report 0" in html  # in the map's points
    assert "Litter report 6" not in html and "Unlinked" not in html  # hidden and unlinked reports stay out
    recent = html[html.index("Most recent"):]
    assert "Litter report 5" in recent and "Litter report 4" in recent
    assert "No pilot tackles this challenge yet." in html


def test_the_hub_without_reports_has_no_map(client, db):
    hub = SocietalChallenge.objects.create(title="Heat", description="d")
    html = client.get(hub.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "0 resident reports are linked" in html and "data-match-map" not in html and "leaflet.js" not in html


def test_curators_preview_proposed_challenges_and_others_do_not(client, innovation_member, civil_servant):
    proposed = SocietalChallenge.objects.create(title="Idea", description="d", status=SocietalChallenge.Status.PROPOSED)
    client.force_login(civil_servant)
    assert client.get(proposed.get_absolute_url()).status_code == 404
    client.force_login(innovation_member)
    assert client.get(proposed.get_absolute_url()).status_code == 200
    manage = client.get(reverse("smartcity:societal-challenge-manage"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Idea" in manage and "Proposed" in manage


def test_a_curator_edits_a_challenge_and_errors_are_shown(client, innovation_member):
    hub = SocietalChallenge.objects.create(title="Litter", description="d")
    client.force_login(innovation_member)
    url = reverse("smartcity:societal-challenge-edit", args=[hub.pk])
    response = client.post(url, {"title": "", "description": "d", "status": "open"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    client.post(url, {"title": "Litter and full bins", "description": "d", "status": "closed", "reference": ""})
    hub.refresh_from_db()
    assert (hub.title, hub.status, hub.reference) == ("Litter and full bins", "closed", None)
