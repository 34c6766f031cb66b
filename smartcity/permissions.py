"""Who may do what. Every permission check in the platform is a function in this file.

Roles (see smartcity.models.User):

| role              | how someone gets it                         |
|-------------------|---------------------------------------------|
| resident          | any account                                  |
| civil servant     | a Membership of one or more departments      |
| triager           | a civil servant with `is_triager`            |
| innovation team   | `is_innovation_team`                         |
| administrator     | `is_superuser`                               |

Views and API endpoints call these functions (or the DRF permission classes at the end,
which call them too), so a reader can follow every rule from here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

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
    return is_civil_servant(user) or is_innovation_team(user) or is_administrator(user)


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


def can_edit_department_challenge(user: "User", challenge: "DepartmentChallenge") -> bool:
    return is_administrator(user) or challenge.department_id in department_ids(user)


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
