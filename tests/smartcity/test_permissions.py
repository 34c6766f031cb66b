"""The roles in smartcity/permissions.py, one assertion per role and rule."""
from django.contrib.auth.models import AnonymousUser

from smartcity import permissions
from smartcity.models import DepartmentChallenge


def test_roles_follow_memberships_and_flags(resident, civil_servant, innovation_member, admin_user):
    anonymous = AnonymousUser()
    assert not permissions.is_staff_member(anonymous)
    assert not permissions.is_staff_member(resident)
    assert permissions.is_civil_servant(civil_servant) and permissions.is_staff_member(civil_servant)
    assert permissions.is_innovation_team(innovation_member) and not permissions.is_civil_servant(innovation_member)
    assert permissions.is_administrator(admin_user) and permissions.is_innovation_team(admin_user)
    assert not permissions.is_administrator(innovation_member)


def test_only_triagers_in_a_department_and_administrators_triage(civil_servant, admin_user, resident):
    assert not permissions.is_triager(civil_servant)
    civil_servant.is_triager = True
    assert permissions.is_triager(civil_servant)
    resident.is_triager = True  # the flag alone, without a department, is not enough
    assert not permissions.is_triager(resident)
    assert permissions.is_triager(admin_user)


def test_a_deactivated_account_has_no_role(innovation_member):
    innovation_member.is_active = False
    assert not permissions.is_innovation_team(innovation_member)


def test_department_challenges_are_edited_by_their_own_department_only(
    civil_servant, other_civil_servant, admin_user, innovation_member, department_a
):
    challenge = DepartmentChallenge.objects.create(title="t", description="d", department=department_a)
    assert permissions.can_edit_department_challenge(civil_servant, challenge)
    assert not permissions.can_edit_department_challenge(other_civil_servant, challenge)
    assert not permissions.can_edit_department_challenge(innovation_member, challenge)
    assert permissions.can_edit_department_challenge(admin_user, challenge)


def test_societal_challenges_are_curated_by_the_innovation_team(civil_servant, innovation_member, admin_user):
    assert not permissions.can_curate_societal_challenges(civil_servant)
    assert permissions.can_curate_societal_challenges(innovation_member)
    assert permissions.can_curate_societal_challenges(admin_user)
