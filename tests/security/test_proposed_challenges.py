"""A proposed societal challenge is the innovation team's draft: its title appears on no public page,
feed, export, statistic or API answer, also not through the department challenges, pilots and
reports linked to it (issue #14, finding 9). The innovation team, which curates it, still sees it."""
from __future__ import annotations

import pytest
from django.http import StreamingHttpResponse

from insight.services import insight_rebuild
from pilots.models import Pilot
from smartcity.models import DepartmentChallenge, SocietalChallenge, Theme
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db
SECRET = "Zeppelinhaven draft"
PUBLIC = "Hittestress in de wijk"


@pytest.fixture
def linked(department_a):
    """One public and one proposed challenge, each linked to the same theme, department challenge, pilot and report."""
    theme = Theme.objects.create(slug="klimaat", name="Klimaat")
    public = SocietalChallenge.objects.create(title=PUBLIC, description="Te warm.", status=SocietalChallenge.Status.OPEN)
    proposed = SocietalChallenge.objects.create(title=SECRET, description="Nog niet openbaar.",
                                                status=SocietalChallenge.Status.PROPOSED)
    for challenge in (public, proposed):
        challenge.themes.add(theme)
    department_challenge = DepartmentChallenge.objects.create(department=department_a, title="Bomen drogen uit",
                                                              description="Water geven kost te veel.")
    pilot = Pilot.objects.create(title="Koele daken", description="Groene daken op scholen.", lead_department=department_a)
    report = make_report(title="Geen schaduw op het plein")
    for item in (department_challenge, pilot, report):
        item.societal_challenges.add(public, proposed)
    insight_rebuild()
    return {"theme": theme, "public": public, "proposed": proposed, "department_challenge": department_challenge,
            "pilot": pilot, "report": report}


def _text(response) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _public_pages(linked) -> list[str]:
    return [
        "/", "/themes/", f"/themes/{linked['theme'].slug}/", "/challenges/", f"/challenges/?q={SECRET.split()[0]}",
        linked["public"].get_absolute_url(), "/department-challenges/",
        linked["department_challenge"].get_absolute_url(), "/pilots/", linked["pilot"].get_absolute_url(),
        "/reports/", linked["report"].get_absolute_url(), "/statistics/", "/statistics/societal-challenges.csv",
        "/open-data/reports.csv", "/open-data/reports.geojson", "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        "/api/v1/societal-challenges", f"/api/v1/societal-challenges/{linked['public'].pk}",
        "/api/v1/department-challenges", f"/api/v1/department-challenges/{linked['department_challenge'].pk}",
        "/api/v1/pilots", f"/api/v1/pilots/{linked['pilot'].pk}", "/api/v1/reports",
        f"/api/v1/reports/{linked['report'].pk}", "/api/v1/themes",
    ]


def test_no_public_page_feed_export_or_api_answer_shows_a_proposed_challenges_title(client, linked):
    for path in _public_pages(linked):
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET not in _text(response), f"{path} shows the proposed challenge's title"


def test_a_public_challenge_linked_the_same_way_is_shown(client, linked):
    for path in ("/challenges/", linked["department_challenge"].get_absolute_url(), linked["pilot"].get_absolute_url(),
                 linked["report"].get_absolute_url(), "/statistics/societal-challenges.csv"):
        assert PUBLIC in _text(client.get(path)), path


def test_the_proposed_challenge_itself_is_not_found_by_the_public(client, resident, civil_servant, linked):
    url = linked["proposed"].get_absolute_url()
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/societal-challenges/{linked['proposed'].pk}").status_code == 404
    for reader in (resident, civil_servant):
        client.force_login(reader)
        assert client.get(url).status_code == 404
        assert SECRET not in _text(client.get(linked["department_challenge"].get_absolute_url()))


def test_api_links_name_only_public_challenges_for_readers_who_may_not_see_proposed_ones(api_client, linked):
    proposed, public = linked["proposed"].pk, linked["public"].pk
    item = api_client.get(f"/api/v1/department-challenges/{linked['department_challenge'].pk}").json()
    assert item["societal_challenges"] == [public]
    pilot = api_client.get(f"/api/v1/pilots/{linked['pilot'].pk}").json()
    assert pilot["societal_challenges"] == [public]
    listed = api_client.get("/api/v1/societal-challenges").json()["results"]
    assert [c["id"] for c in listed] == [public]
    assert proposed not in [c["id"] for c in api_client.get("/api/v1/societal-challenges?status=proposed").json()["results"]]


def test_counts_on_public_pages_leave_proposed_challenges_out(client, linked):
    theme_list = _text(client.get("/themes/"))
    assert "1 societal challenge" in theme_list and "2 societal challenges" not in theme_list
    pilots = _text(client.get("/pilots/"))
    assert "Serves 1 societal challenge" in pilots and "Serves 2 societal challenges" not in pilots


def test_the_innovation_team_sees_the_proposed_challenge_where_it_is_linked(client, token_client_for, innovation_member,
                                                                           linked):
    client.force_login(innovation_member)
    assert client.get(linked["proposed"].get_absolute_url()).status_code == 200
    for path in (linked["department_challenge"].get_absolute_url(), linked["pilot"].get_absolute_url()):
        assert SECRET in _text(client.get(path)), path
    api = token_client_for(innovation_member)
    item = api.get(f"/api/v1/department-challenges/{linked['department_challenge'].pk}").json()
    assert set(item["societal_challenges"]) == {linked["public"].pk, linked["proposed"].pk}
    assert SECRET in _text(api.get("/api/v1/societal-challenges"))
