"""Who may do what in the pilot portfolio. Built on the hub's roles (smartcity/permissions.py).

Everyone reads the public side of a pilot (what, where, why, results, KPIs). The innovation team
runs the portfolio: creates and edits pilots, moves stages and records gates. A pilot's own
departments (lead and participating) keep its KPIs and measurements. Administrators do everything
(is_innovation_team is true for them).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission

from smartcity.permissions import department_ids, is_administrator, is_innovation_team

if TYPE_CHECKING:
    from pilots.models import Pilot
    from smartcity.models import User


def can_manage_pilots(user: "User") -> bool:
    """Create and edit pilots, move them through the stages and record gate decisions."""
    return is_innovation_team(user)


def can_view_portfolio_internals(user: "User") -> bool:
    """The internal dashboard: budgets, internal notes, gate answers of every pilot."""
    return is_innovation_team(user)


def can_view_pilot_internals(user: "User", pilot: "Pilot") -> bool:
    """Budget, internal notes and gate answers of one pilot: the innovation team and its departments."""
    return is_innovation_team(user) or bool(department_ids(user) & pilot.department_ids_involved())


def can_edit_pilot_kpis(user: "User", pilot: "Pilot") -> bool:
    """Define KPIs and enter measurements: the pilot's lead and participating departments."""
    return is_administrator(user) or (
        user.is_authenticated and user.is_active and bool(department_ids(user) & pilot.department_ids_involved())
    )


class ReadOnlyOrPilotManager(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or can_manage_pilots(request.user)
