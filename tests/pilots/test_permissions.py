"""Who may do what with pilots (pilots/permissions.py)."""
from pilots import permissions


def test_only_the_innovation_team_and_administrators_manage_pilots(resident, civil_servant, innovation_member, admin_user):
    assert [permissions.can_manage_pilots(u) for u in (resident, civil_servant, innovation_member, admin_user)] == [
        False, False, True, True]


def test_a_pilots_lead_and_participating_departments_edit_its_kpis(pilot, resident, civil_servant, other_civil_servant, innovation_member, admin_user, department_b):
    def editors():
        return [permissions.can_edit_pilot_kpis(u, pilot)
                for u in (resident, civil_servant, other_civil_servant, innovation_member, admin_user)]

    assert editors() == [False, True, False, False, True]
    pilot.departments.add(department_b)
    assert editors() == [False, True, True, False, True]


def test_an_inactive_account_edits_nothing(pilot, civil_servant, innovation_member):
    civil_servant.is_active = innovation_member.is_active = False
    assert not permissions.can_edit_pilot_kpis(civil_servant, pilot)
    assert not permissions.can_manage_pilots(innovation_member)


def test_internals_are_for_the_innovation_team_and_the_pilots_departments(pilot, resident, civil_servant, other_civil_servant, innovation_member):
    assert [permissions.can_view_pilot_internals(u, pilot)
            for u in (resident, civil_servant, other_civil_servant, innovation_member)] == [False, True, False, True]
    assert [permissions.can_view_portfolio_internals(u) for u in (civil_servant, innovation_member)] == [False, True]
