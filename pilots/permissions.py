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
    from pilots.models import Assessment, Organisation, Pilot, Proposal
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


# --- Open innovation: calls, partner organisations, proposals, assessment ------------------------------
def can_manage_calls(user: "User") -> bool:
    """Write, publish and close open calls; see draft calls."""
    return is_innovation_team(user)


def can_verify_organisations(user: "User") -> bool:
    """Verify (or refuse) a partner organisation: an explicit action of the innovation team, with history."""
    return is_innovation_team(user)


def can_assess_proposals(user: "User") -> bool:
    """See every submitted proposal, score it, declare conflicts of interest and decide: the innovation team."""
    return is_innovation_team(user)


def acts_for(user: "User", organisation: "Organisation") -> bool:
    return bool(user.is_authenticated and user.is_active
                and organisation.memberships.filter(user_id=user.pk).exists())


def can_view_proposal(user: "User", proposal: "Proposal") -> bool:
    """Confidential: the organisation's own people, and the innovation team once it is submitted."""
    if acts_for(user, proposal.organisation):
        return True
    return can_assess_proposals(user) and not proposal.is_draft


def can_edit_proposal(user: "User", proposal: "Proposal") -> bool:
    """Only a draft, only by the organisation's own people: submitting locks it."""
    return proposal.is_draft and acts_for(user, proposal.organisation)


def can_submit_proposal(user: "User", proposal: "Proposal") -> bool:
    """An organisation that is not verified yet cannot submit (the deadline is checked at submission)."""
    return can_edit_proposal(user, proposal) and proposal.organisation.is_verified


def can_see_assessment(user: "User", assessment: "Assessment") -> bool:
    """An assessor sees their own scores; the others' only once the proposal is decided."""
    if not can_assess_proposals(user):
        return False
    return assessment.assessor_id == user.pk or assessment.proposal.is_decided


def can_answer_feedback(user: "User", pilot: "Pilot") -> bool:
    """A resident with an account answers a pilot's questions while it runs: stages pilot and scaling."""
    return bool(user.is_authenticated and user.is_active and pilot.accepts_feedback)


def can_answer_feedback_by_email(user: "User", pilot: "Pilot") -> bool:
    """Without an account, a resident answers with an email address they confirm; the same stages."""
    return bool(not user.is_authenticated and pilot.accepts_feedback)


def can_moderate_feedback(user: "User") -> bool:
    """Hide a feedback comment, as staff hide a report's comment; set the questions."""
    return is_innovation_team(user)


class ReadOnlyOrPilotManager(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or can_manage_pilots(request.user)
