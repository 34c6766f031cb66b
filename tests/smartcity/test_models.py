import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme, User


def test_a_reference_is_unique_per_type_but_may_repeat_across_types(db):
    department = Department.objects.create(slug="dsb", name="Stadsbeheer")
    SocietalChallenge.objects.create(title="A", description="a", reference="EXT-1")
    DepartmentChallenge.objects.create(title="B", description="b", department=department, reference="EXT-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SocietalChallenge.objects.create(title="C", description="c", reference="EXT-1")


def test_a_blank_reference_means_none_so_many_rows_can_lack_one(db):
    SocietalChallenge.objects.create(title="A", description="a", reference="")
    SocietalChallenge.objects.create(title="B", description="b", reference="")
    assert SocietalChallenge.objects.filter(reference__isnull=True).count() == 2


def test_a_theme_name_follows_the_active_language_and_falls_back_to_the_name(db):
    theme = Theme.objects.create(slug="mobility", name="Mobiliteit", name_en="Mobility", name_sv="")
    with translation.override("en"):
        assert theme.localized_name == "Mobility"
    with translation.override("sv"):
        assert theme.localized_name == "Mobiliteit"


def test_users_sign_in_with_their_email_address(db):
    user = User.objects.create_user(email="Anna@Example.org", password="pw-long-enough-1")
    assert user.username == "Anna@example.org"
    assert user.check_password("pw-long-enough-1")
    assert User.USERNAME_FIELD == "email"
