"""Administrators issue an api_key per integration in the admin, and set up services' extra questions."""
import pytest

from participation.models import Open311Client, ServiceQuestion
from smartcity.models import Theme

pytestmark = pytest.mark.django_db


def test_an_administrator_adds_an_integration_and_sees_its_generated_key(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/admin/participation/open311client/add/",
                           {"name": "Buiten Beter", "contact_email": "dev@example.org", "is_active": "on"})
    assert response.status_code == 302
    integration = Open311Client.objects.get()
    assert len(integration.key) >= 40
    page = client.get(f"/admin/participation/open311client/{integration.pk}/change/").content.decode()
    assert integration.key in page
    assert 'name="key"' not in page  # shown, never edited


def test_every_integration_gets_its_own_key():
    first, second = Open311Client.objects.create(name="A"), Open311Client.objects.create(name="B")
    assert first.key != second.key


def test_a_list_question_without_choices_is_refused_in_the_admin(client, admin_user):
    theme = Theme.objects.create(slug="lighting", name="Street lighting")
    client.force_login(admin_user)
    data = {"theme": theme.pk, "code": "pole", "description": "Is the pole damaged?", "datatype": "singlevaluelist",
            "order": 1, "values": "[]"}
    response = client.post("/admin/participation/servicequestion/add/", data)
    assert response.status_code == 200 and not ServiceQuestion.objects.exists()
    response = client.post("/admin/participation/servicequestion/add/",
                           {**data, "values": '[{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]'})
    assert response.status_code == 302
    assert ServiceQuestion.objects.get().value_keys == {"yes", "no"}
