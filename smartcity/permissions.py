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
    from participation.models import Report
    from pilots.models import Pilot
    from smartcity.models import DepartmentChallenge, Match, User


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


# --- Reports: the staff workspace (see docs/permissions.md for the matrix) ---------------------
def can_use_staff_workspace(user: "User") -> bool:
    """The triage queue and the staff report pages: everyone who works for the city reads every report."""
    return is_staff_member(user)


def can_act_on_report(user: "User", report: "Report") -> bool:
    """Route, change status, write to the reporter, add notes, merge.

    Triagers handle reports no department has yet; once routed, the department's members do.
    Other departments and the innovation team see the report read-only.
    """
    if is_administrator(user):
        return True
    if report.department_id is None:
        return is_triager(user)
    return report.department_id in department_ids(user)


def can_see_reporter_contact(user: "User", report: "Report") -> bool:
    """Only the roles that may need to call or write the reporter: triagers, the routed department, admins."""
    return is_administrator(user) or is_triager(user) or (
        report.department_id is not None and report.department_id in department_ids(user)
    )


def can_link_report_to_societal_challenge(user: "User", report: "Report") -> bool:
    """Those who handle the report, and the innovation team that curates the challenges."""
    return can_act_on_report(user, report) or is_innovation_team(user)


def can_close_department_challenge(user: "User", challenge: "DepartmentChallenge") -> bool:
    return can_edit_department_challenge(user, challenge)


# --- Reports: the public side (issue #3) -----------------------------------------------------------
# Anyone may report (rate-limited without an account), read public reports and support them (an
# account, or a confirmed email address). Commenting and following need an account.
def can_comment_on_report(user: "User", report: "Report") -> bool:
    return bool(user.is_authenticated and user.is_active and not report.is_hidden)


def can_follow_report(user: "User", report: "Report") -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_moderate_reports(user: "User") -> bool:
    """Hide a report or a comment, with a recorded reason: everyone who works for the city."""
    return is_staff_member(user)


def can_see_hidden_report(user: "User", report: "Report") -> bool:
    return can_moderate_reports(user)


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


# --- Matching: suggestions and match flags --------------------------------------------------------
def can_start_matching_run(user: "User") -> bool:
    return is_staff_member(user)


def can_review_suggestion(user: "User", item_type: str, item) -> bool:
    """Whoever may link the item to a societal challenge may accept or reject a suggestion for it."""
    if is_administrator(user) or is_innovation_team(user):
        return True
    if item_type == "department_challenge":
        return item.department_id in department_ids(user)
    if item_type == "report":
        if item.department_id is None:
            return is_triager(user)
        return item.department_id in department_ids(user)
    return False  # pilots: the innovation team


def can_decide_match(user: "User", match: "Match", *, accept: bool) -> bool:
    """The review page and the API alike: the innovation team, or a member of one of the departments that
    meet in the flag. Accepting a flag without a societal challenge creates one, which is curation: that is
    for the innovation team; the departments may reject such a flag. (A flag is decided once: services.match_decide.)"""
    in_flag = {challenge.department_id for challenge in match.department_challenges.all()}
    if not (is_innovation_team(user) or department_ids(user) & in_flag):
        return False
    return not (accept and match.societal_challenge_id is None) or can_curate_societal_challenges(user)


class StaffOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


# --- Pilots: the portfolio, gates, KPIs ------------------------------------------------------------
# Everyone reads the public side of a pilot (what, where, why, results, KPIs). The innovation team
# runs the portfolio: creates and edits pilots, moves stages and records gates. A pilot's own
# departments (lead and participating) keep its KPIs and measurements. Administrators do everything
# (is_innovation_team is true for them).
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


# --- Insight: statistics and dashboards (issue #9) -------------------------------------------------
# The statistics page is public (aggregates only, no single report). The department dashboards show
# figures about reports every staff member may read in the workspace anyway; the pilot opportunities
# serve the innovation team, which decides on new pilots.
def can_view_department_dashboard(user: "User", department_id: int) -> bool:
    return is_staff_member(user)


def can_view_pilot_opportunities(user: "User") -> bool:
    return is_innovation_team(user)
