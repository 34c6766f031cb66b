import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from smartcity.models import Department, DepartmentChallenge, Membership, SocietalChallenge, Theme, User

# The demo is loaded three times here: its texts are encoded once (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("remembered_vectors")


def run() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> tuple[int, ...]:
    models = [Theme, Department, SocietalChallenge, DepartmentChallenge, User, Membership]
    return tuple(model.objects.count() for model in models)


def test_it_loads_a_believable_set_and_a_second_run_duplicates_nothing(db):
    first = run()
    loaded = counts()
    assert loaded[0] == 5  # the five spearhead themes
    assert all(count > 0 for count in loaded)
    assert DepartmentChallenge.objects.filter(societal_challenges__isnull=False).distinct().count() > 5
    second = run()
    assert counts() == loaded
    assert "shown only once" in first and "shown only once" not in second


def test_the_printed_passwords_sign_in_and_every_role_exists(db):
    output = run()
    accounts = dict(re.findall(r"^\s+(\S+@example\.org)\s+(\S+)$", output, re.MULTILINE))
    assert User.objects.filter(is_superuser=True).exists()
    assert User.objects.filter(is_innovation_team=True).exists()
    assert User.objects.filter(is_triager=True, memberships__isnull=False).exists()
    client = Client()
    response = client.post("/accounts/login/", {"login": "innovatie@example.org", "password": accounts["innovatie@example.org"]})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(User.objects.get(email="innovatie@example.org").pk)
