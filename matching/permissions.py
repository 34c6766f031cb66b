"""Who may do what with the matching's output. Built on the hub's roles and the rules of the items'
own apps: whoever may link an item to a societal challenge decides on suggestions for it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from participation.permissions import can_link_report_to_societal_challenge
from pilots.permissions import can_manage_pilots
from smartcity.permissions import (
    can_curate_societal_challenges,
    department_ids,
    is_administrator,
    is_innovation_team,
    is_staff_member,
)

if TYPE_CHECKING:
    from matching.models import Match
    from smartcity.models import User


def can_start_matching_run(user: "User") -> bool:
    return is_staff_member(user)


def can_review_suggestion(user: "User", item_type: str, item) -> bool:
    """Whoever may link the item to a societal challenge may accept or reject a suggestion for it."""
    if is_administrator(user) or is_innovation_team(user):
        return True
    if item_type == "department_challenge":
        return item.department_id in department_ids(user)
    if item_type == "report":
        return can_link_report_to_societal_challenge(user, item)
    return can_manage_pilots(user)  # pilots: the innovation team


def can_decide_match(user: "User", match: "Match", *, accept: bool) -> bool:
    """The review page and the API alike: the innovation team, or a member of one of the departments that
    meet in the flag. Accepting a flag without a societal challenge creates one, which is curation: that is
    for the innovation team; the departments may reject such a flag. (A flag is decided once: services.match_decide.)"""
    in_flag = {challenge.department_id for challenge in match.department_challenges.all()}
    if not (is_innovation_team(user) or department_ids(user) & in_flag):
        return False
    return not (accept and match.societal_challenge_id is None) or can_curate_societal_challenges(user)
