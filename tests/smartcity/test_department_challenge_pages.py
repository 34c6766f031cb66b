"""Department challenges in HTML: the city-wide list and one per department, and posting, editing and
closing by the department's members (who may do it is proven in tests/participation/test_permission_matrix.py)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from smartcity.models import DepartmentChallenge, SocietalChallenge


@pytest.fixture
def challenges(department_a, department_b):
    DepartmentChallenge.objects.create(title="Full bins on the boulevard", description="d", department=department_a)
    DepartmentChallenge.objects.create(title="Old closed one", description="d", department=department_a, status="closed")
    DepartmentChallenge.objects.create(title="Too few officers", description="d", department=department_b)


def test_the_city_wide_list_groups_open_challenges_by_department(client, challenges):
    html = client.get(reverse("smartcity:department-challenge-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Full bins on the boulevard" in html and "Too few officers" in html and "Old closed one" not in html
    assert html.index("Stadsbeheer") < html.index("Full bins") < html.index("Veiligheid") < html.index("Too few officers")


def test_a_department_has_its_own_list(client, challenges):
    response = client.get(reverse("smartcity:department-challenge-list", args=["veiligheid"]), {"status": "all"})
    html = response.content.decode()
    assert "Too few officers" in html and "Full bins" not in html
    assert client.get(reverse("smartcity:department-challenge-list", args=["nope"])).status_code == 404


def test_a_member_posts_a_challenge_and_missing_fields_are_explained(client, civil_servant, department_a):
    client.force_login(civil_servant)
    url = reverse("smartcity:department-challenge-create")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="department"' in page and "Veiligheid" not in page  # only their own department is offered
    response = client.post(url, {"title": "", "description": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    hub = SocietalChallenge.objects.create(title="Litter", description="d")
    response = client.post(url, {"title": "Bins", "description": "Full by noon.", "department": department_a.pk,
                                 "deadline": "2027-05-01", "societal_challenges": [hub.pk]})
    challenge = DepartmentChallenge.objects.get(title="Bins")
    assert response["Location"] == challenge.get_absolute_url()
    assert challenge.created_by == civil_servant and list(challenge.societal_challenges.all()) == [hub]


def test_closing_and_reopening_a_challenge(client, civil_servant, department_a):
    client.force_login(civil_servant)
    challenge = DepartmentChallenge.objects.create(title="Bins", description="d", department=department_a)
    detail = client.get(challenge.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Close the challenge" in detail
    client.post(reverse("smartcity:department-challenge-close", args=[challenge.pk]))
    challenge.refresh_from_db()
    assert challenge.status == "closed"
    client.post(reverse("smartcity:department-challenge-close", args=[challenge.pk]))
    challenge.refresh_from_db()
    assert challenge.status == "open"


def test_visitors_see_no_edit_buttons(client, department_a):
    challenge = DepartmentChallenge.objects.create(title="Bins", description="d", department=department_a)
    html = client.get(challenge.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Close the challenge" not in html and "/edit/" not in html
