"""Who may see which statistics and dashboards (issue #9). Built on the hub's roles.

The statistics page is public (aggregates only, no single report). The department dashboards show
figures about reports every staff member may read in the workspace anyway; the pilot opportunities
serve the innovation team, which decides on new pilots.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from smartcity.permissions import is_innovation_team, is_staff_member

if TYPE_CHECKING:
    from smartcity.models import User


def can_view_department_dashboard(user: "User", department_id: int) -> bool:
    return is_staff_member(user)


def can_view_pilot_opportunities(user: "User") -> bool:
    return is_innovation_team(user)
