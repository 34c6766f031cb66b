"""Who may do what with reports: the staff workspace (see docs/permissions.md for the matrix) and the
public side. Built on the hub's roles (smartcity/permissions.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from smartcity.permissions import department_ids, is_administrator, is_innovation_team, is_staff_member, is_triager

if TYPE_CHECKING:
    from participation.models import Report
    from smartcity.models import User


# --- The staff workspace -----------------------------------------------------------------------------
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


# --- The public side (issue #3) ------------------------------------------------------------------------
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
