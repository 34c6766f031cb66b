"""Who may do what: the roles, the hub's own rules, and the one decorator and DRF classes for staff pages.

Each app keeps the rules about its own objects beside them, built on the role checks here:
participation/permissions.py (reports), pilots/permissions.py, matching/permissions.py and
insight/permissions.py. docs/permissions.md has the whole matrix.

Roles (see smartcity.models.User):

| role              | how someone gets it                         |
|-------------------|---------------------------------------------|
| resident          | any account                                  |
| civil servant     | a Membership of one or more departments      |
| triager           | a civil servant with `is_triager`            |
| innovation team   | `is_innovation_team`                         |
| administrator     | `is_superuser`                               |

Views and API endpoints call these functions (or the DRF permission classes at the end,
which call them too), so a reader can follow every rule from its app's permissions.py.
"""
from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

if TYPE_CHECKING:
    from smartcity.models import DepartmentChallenge, User


def is_administrator(user: "User") -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def is_innovation_team(user: "User") -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_innovation_team or user.is_superuser))


def department_ids(user: "User") -> set[int]:
    """The departments a civil servant belongs to, read once per request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_department_ids", None)
    if cached is None:
        cached = set(user.memberships.values_list("department_id", flat=True))
        user._department_ids = cached
    return cached


def is_civil_servant(user: "User") -> bool:
    return bool(user.is_authenticated and user.is_active and department_ids(user))


def is_staff_member(user: "User") -> bool:
    """Civil servants, the innovation team and administrators: everyone who works for the city."""
    # the flags first: a department membership costs a query
    return is_administrator(user) or is_innovation_team(user) or is_civil_servant(user)


def is_triager(user: "User") -> bool:
    return is_administrator(user) or (is_civil_servant(user) and user.is_triager)


# --- Themes and departments: reference data ---------------------------------------------------
def can_manage_reference_data(user: "User") -> bool:
    """Themes and departments are set up by administrators and the innovation team."""
    return is_administrator(user) or is_innovation_team(user)


# --- Societal challenges --------------------------------------------------------------------------
def can_curate_societal_challenges(user: "User") -> bool:
    return is_innovation_team(user)


# --- Department challenges ------------------------------------------------------------------------
def can_create_department_challenge(user: "User", department_id: int) -> bool:
    return is_administrator(user) or department_id in department_ids(user)


def can_post_department_challenges(user: "User") -> bool:
    """Members of a department post its challenges; administrators may post for any department."""
    return is_administrator(user) or is_civil_servant(user)


def can_edit_department_challenge(user: "User", challenge: "DepartmentChallenge") -> bool:
    return is_administrator(user) or challenge.department_id in department_ids(user)


def can_close_department_challenge(user: "User", challenge: "DepartmentChallenge") -> bool:
    return can_edit_department_challenge(user, challenge)


# --- The staff workspace: every page for people who work for the city -----------------------------
def can_use_staff_workspace(user: "User") -> bool:
    """The triage queue, the staff report pages, the matching's review pages and the dashboards:
    everyone who works for the city."""
    return is_staff_member(user)


def staff_required(view):
    """The one decorator of staff pages: signed in (else to the sign-in page), and working for the city
    (a civil servant, the innovation team or an administrator; else 403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_use_staff_workspace(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


# --- DRF adapters ---------------------------------------------------------------------------------
class ReadOnlyOrStaff(BasePermission):
    """Anyone may read; writing needs a staff member. Object rules are checked in the views."""

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or is_staff_member(request.user)


class ReadOnlyOrReferenceDataManager(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or can_manage_reference_data(request.user)


class ReadOnlyOrCurator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or can_curate_societal_challenges(request.user)


class StaffOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


