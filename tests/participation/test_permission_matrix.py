"""Every cell of the permission matrix in docs/permissions.md, proven through the staff pages.

Roles: a visitor (not signed in), a resident, a civil servant of department A, a triager of department A,
a civil servant of department B, the innovation team and an administrator. Reports: one not routed yet,
one routed to department A ("own" for the A civil servant and the triager), one routed to department B.
"""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from participation.models import InternalNote, Report
from smartcity.models import Department, DepartmentChallenge, Membership, SocietalChallenge, User
from tests.participation.staff_factories import make_report

ROLES = ["visitor", "resident", "civil_servant", "triager", "other_department", "innovation", "admin"]
SCOPES = ["unrouted", "own_department", "other_department"]
ACTIONS = ["read", "route", "change_status", "message", "note", "merge", "see_contact", "link_challenge"]

EVERYTHING = set(ACTIONS)
READ_ONLY = {"read"}
# role -> scope -> allowed actions. The same table is docs/permissions.md.
MATRIX: dict[str, dict[str, set[str]]] = {
    "visitor": {scope: set() for scope in SCOPES},
    "resident": {scope: set() for scope in SCOPES},
    "civil_servant": {"unrouted": READ_ONLY, "own_department": EVERYTHING, "other_department": READ_ONLY},
    "triager": {"unrouted": EVERYTHING, "own_department": EVERYTHING, "other_department": {"read", "see_contact"}},
    "other_department": {"unrouted": READ_ONLY, "own_department": READ_ONLY, "other_department": EVERYTHING},
    "innovation": {scope: {"read", "link_challenge"} for scope in SCOPES},
    "admin": dict.fromkeys(SCOPES, EVERYTHING),
}


@pytest.fixture
def cast(resident, civil_servant, other_civil_servant, innovation_member, admin_user, department_a):
    triager = User.objects.create_user(email="triage@example.org", password="x", is_triager=True)
    Membership.objects.create(user=triager, department=department_a)
    return {
        "visitor": None, "resident": resident, "civil_servant": civil_servant, "triager": triager,
        "other_department": other_civil_servant, "innovation": innovation_member, "admin": admin_user,
    }


@pytest.fixture
def reports(department_a, department_b):
    return {
        "unrouted": make_report("Unrouted", contact_email="rita@example.org"),
        "own_department": make_report("Routed to A", status=Report.Status.ACCEPTED, department=department_a,
                                      contact_email="rita@example.org"),
        "other_department": make_report("Routed to B", status=Report.Status.ACCEPTED, department=department_b,
                                        contact_email="rita@example.org"),
    }


def _attempt(client: Client, action: str, report: Report) -> bool:
    """Try the action through the staff pages; True when it was done."""
    url = lambda name: reverse(f"participation:staff-report-{name}", args=[report.pk])  # noqa: E731
    version = report.version
    if action in ("read", "see_contact"):
        response = client.get(url("detail"))
        if action == "read":
            return response.status_code == 200
        return response.status_code == 200 and "rita@example.org" in response.content.decode()
    if action == "route":
        other = Department.objects.exclude(pk=report.department_id).order_by("pk").first()
        client.post(url("route"), {"department": other.pk, "version": version})
        return Report.objects.get(pk=report.pk).department_id == other.pk
    if action == "change_status":
        client.post(url("status"), {"to_status": Report.Status.NOT_ACTIONABLE, "message": "Not for the city.", "version": version})
        return Report.objects.get(pk=report.pk).status == Report.Status.NOT_ACTIONABLE
    if action == "message":
        client.post(url("message"), {"message": "We are on it.", "version": version})
        return report.history.filter(message="We are on it.").exists()
    if action == "note":
        client.post(url("note"), {"text": "Internal."})
        return InternalNote.objects.filter(report=report).exists()
    if action == "merge":
        target = make_report("The original", status=Report.Status.ACCEPTED, department=report.department)
        client.post(url("merge"), {"target": target.pk, "message": "Same.", "version": version})
        return Report.objects.get(pk=report.pk).duplicate_of_id == target.pk
    if action == "link_challenge":
        challenge = SocietalChallenge.objects.create(title="Safe streets", description="d")
        client.post(url("challenges"), {"societal_challenges": [challenge.pk]})
        return report.societal_challenges.filter(pk=challenge.pk).exists()
    raise AssertionError(action)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ROLES)
def test_the_permission_matrix_for_reports(client, cast, reports, role, scope, action):
    if cast[role] is not None:
        client.force_login(cast[role])
    allowed = action in MATRIX[role][scope]
    assert _attempt(client, action, reports[scope]) is allowed


@pytest.mark.parametrize("role,status", [("visitor", 302), ("resident", 403), ("civil_servant", 200), ("innovation", 200),
                                         ("admin", 200)])
def test_the_queue_is_for_staff_only(client, cast, role, status):
    if cast[role] is not None:
        client.force_login(cast[role])
    # with a filter: without one, each role lands on its own view (tests/participation/test_triage_queue.py)
    assert client.get(reverse("participation:staff-report-list"), {"status": "new"}).status_code == status


# --- Department challenges and societal challenges ----------------------------------------------------------
CHALLENGE_MATRIX = {
    # role: (post for own department, post for another department, edit/close own, edit/close other, curate societal)
    "visitor": (False, False, False, False, False),
    "resident": (False, False, False, False, False),
    "civil_servant": (True, False, True, False, False),
    "triager": (True, False, True, False, False),
    "other_department": (True, False, True, False, False),
    "innovation": (False, False, False, False, True),
    "admin": (True, True, True, True, True),
}


def _own_and_other(user: User | None) -> tuple[Department, Department]:
    mine = user.departments.order_by("pk").first() if user is not None else None
    mine = mine or Department.objects.get(slug="stadsbeheer")
    other = Department.objects.exclude(pk=mine.pk).order_by("pk").first()
    return mine, other


@pytest.mark.parametrize("role", ROLES)
def test_the_permission_matrix_for_department_challenges(client, cast, department_a, department_b, role):
    user = cast[role]
    if user is not None:
        client.force_login(user)
    own, other = _own_and_other(user)
    post_own, post_other, edit_own, edit_other, _curate = CHALLENGE_MATRIX[role]
    for department, expected in [(own, post_own), (other, post_other)]:
        client.post(reverse("smartcity:department-challenge-create"), {
            "title": f"Posted for {department.slug}", "description": "d", "department": department.pk})
        assert DepartmentChallenge.objects.filter(title=f"Posted for {department.slug}").exists() is expected, department
    for department, expected in [(own, edit_own), (other, edit_other)]:
        challenge = DepartmentChallenge.objects.create(title="Before", description="d", department=department)
        client.post(reverse("smartcity:department-challenge-edit", args=[challenge.pk]), {
            "title": "After", "description": "d", "department": department.pk})
        client.post(reverse("smartcity:department-challenge-close", args=[challenge.pk]))
        challenge.refresh_from_db()
        assert (challenge.title == "After") is expected
        assert (challenge.status == DepartmentChallenge.Status.CLOSED) is expected


@pytest.mark.parametrize("role", ROLES)
def test_the_permission_matrix_for_societal_challenges(client, cast, role):
    user = cast[role]
    if user is not None:
        client.force_login(user)
    expected = CHALLENGE_MATRIX[role][4]
    client.post(reverse("smartcity:societal-challenge-create"), {"title": "New", "description": "d", "status": "open"})
    assert SocietalChallenge.objects.filter(title="New").exists() is expected
    challenge = SocietalChallenge.objects.create(title="Before", description="d")
    client.post(reverse("smartcity:societal-challenge-edit", args=[challenge.pk]), {"title": "After", "description": "d", "status": "open"})
    challenge.refresh_from_db()
    assert (challenge.title == "After") is expected
