"""Render the matching engine's reasons as sentences in the reader's language."""
from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from matching import permissions
from matching.models import NoChallengeDecision, Suggestion
from smartcity.models import Department, Theme

register = template.Library()


def _names(context) -> dict[str, dict[str, str]]:
    """Theme and department names by slug, read once per request however many reasons a page shows."""
    request = context.get("request")
    names = getattr(request, "_reason_names", None)
    if names is None:
        names = {
            "themes": {theme.slug: theme.localized_name for theme in Theme.objects.all()},
            "departments": dict(Department.objects.values_list("slug", "name")),
        }
        if request is not None:
            request._reason_names = names
    return names


@register.simple_tag(takes_context=True)
def reason_text(context, reason: dict) -> str:
    code, values, count = reason.get("code"), reason.get("values") or [], reason.get("count") or 0
    if code == "terms":
        return _("Words in both texts: %(terms)s") % {"terms": ", ".join(values)}
    if code == "themes":
        names = _names(context)["themes"]
        return _("Shared themes: %(themes)s") % {"themes": ", ".join(names.get(v, v) for v in values)}
    if code == "meaning":
        return _("Close in meaning, also across languages")
    if code == "nearby":
        return ngettext("%(count)s nearby report is linked or suggested to it",
                        "%(count)s nearby reports are linked or suggested to it", count) % {"count": count}
    if code == "confirmed":
        return ngettext("Learned from %(count)s item staff linked to it", "Learned from %(count)s items staff linked to it",
                        count) % {"count": count}
    if code == "departments":
        names = _names(context)["departments"]
        return _("Departments that meet: %(departments)s") % {"departments": ", ".join(names.get(v, v) for v in values)}
    if code == "reports":
        return ngettext("%(count)s resident report supports it", "%(count)s resident reports support it", count) % {"count": count}
    if code == "pilots":
        return ngettext("%(count)s pilot already tackles it", "%(count)s pilots already tackle it", count) % {"count": count}
    return ", ".join(values) or str(count)


@register.simple_tag(takes_context=True)
def suggestions_for(context, item_type: str, item):
    """Open suggestions for one item, strongest first; none for a reader who may not decide on them."""
    request = context.get("request")
    if item is None or request is None or not permissions.can_review_suggestion(request.user, item_type, item):
        return []
    return list(Suggestion.objects.of_item(item_type, item.pk).standing()
                .select_related("societal_challenge").order_by("-score"))


@register.simple_tag(takes_context=True)
def no_challenge_for(context, item_type: str, item) -> dict | None:
    """Whether staff decided the item is about no societal challenge: the standing decision, the history (newest
    first) and whether it may be decided now (not while linked). None for a reader who may not decide."""
    request = context.get("request")
    if item is None or request is None or not permissions.can_review_suggestion(request.user, item_type, item):
        return None
    history = list(NoChallengeDecision.objects.of_item(item_type, item.pk).select_related("decided_by", "undone_by"))
    standing = next((decision for decision in history if decision.undone_at is None), None)
    return {"standing": standing, "history": history,
            "may_decide": standing is None and not item.societal_challenges.exists()}


@register.simple_tag(takes_context=True)
def proposal_suggestions(context, proposal) -> list[dict]:
    """The societal challenges the engine suggests for a proposal, for those who assess proposals only."""
    from matching.services import proposal_suggestions as suggest
    from pilots.permissions import can_assess_proposals

    request = context.get("request")
    if proposal is None or request is None or not can_assess_proposals(request.user):
        return []
    return suggest(proposal=proposal)
