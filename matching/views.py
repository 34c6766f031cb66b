"""Staff pages for the matching engine's output: "Where departments meet", runs, and decisions on suggestions."""
from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from matching import permissions, services
from matching.models import ItemType, Match, MatchingRun, NoChallengeDecision, ReviewStatus, Suggestion
from participation.models import Report
from pilots.models import Pilot
from pilots.permissions import can_manage_pilots
from smartcity.models import DepartmentChallenge, User
from smartcity.permissions import staff_required
from smartcity.text import clean_line

PILOTS_SHOWN = 10  # pilots awaiting a gate decision on the innovation team's landing; the rest on the portfolio


def _signed_in(request: HttpRequest) -> User:
    """The user of a view behind login_required or staff_required."""
    return cast(User, request.user)


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@staff_required
@require_GET
def match_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ReviewStatus.OPEN
    matches = (
        Match.objects.filter(status=status)
        .select_related("societal_challenge")
        .prefetch_related(
            Prefetch("department_challenges",
                     queryset=DepartmentChallenge.objects.select_related("department").order_by("department__name")),
            Prefetch("reports", queryset=Report.objects.public().only("pk", "title", "latitude", "longitude",
                                                                     "department_id")),
            "pilots",
        )
        .order_by("-score", "pk")
    )
    page = Paginator(matches, 10).get_page(request.GET.get("page"))
    user = _signed_in(request)
    for match in page:  # which buttons the page offers: the same rule the decision itself is checked against
        match.may_accept = permissions.can_decide_match(user, match, accept=True)  # type: ignore[attr-defined]
        match.may_reject = permissions.can_decide_match(user, match, accept=False)  # type: ignore[attr-defined]
        for report in match.reports.all():  # "about no societal challenge": whoever decides its suggestions
            report.may_decide = permissions.can_review_suggestion(user, ItemType.REPORT, report)
    # The innovation team lands here (the staff queue sends them): beside the flags, the pilots that wait
    # for their gate decision (Pilot.objects.awaiting_decision says which and why).
    waiting_pilots, waiting_count = [], 0
    if can_manage_pilots(user):
        waiting = Pilot.objects.awaiting_decision().select_related("lead_department")
        waiting_pilots = list(waiting[:PILOTS_SHOWN])
        waiting_count = len(waiting_pilots) if len(waiting_pilots) < PILOTS_SHOWN else waiting.count()
    return render(request, "matching/match_list.html", {
        "waiting_pilots": waiting_pilots, "waiting_count": waiting_count, "stranded_months": settings.PILOT_STRANDED_MONTHS,
        "page": page, "status": status, "statuses": ReviewStatus.choices,
        "latest_run": MatchingRun.objects.first(),
        "MAP_TILE_URL": settings.MAP_TILE_URL, "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
    })


@login_required
@require_POST
def match_decide(request: HttpRequest, pk: int) -> HttpResponse:
    match = get_object_or_404(Match.objects.prefetch_related("department_challenges"), pk=pk)
    decision = request.POST.get("decision")
    if decision not in (ReviewStatus.ACCEPTED, ReviewStatus.REJECTED):
        messages.error(request, _("This flag was already decided, or the decision was not understood."))
        return redirect("matching:match-list")
    if not permissions.can_decide_match(_signed_in(request), match, accept=decision == ReviewStatus.ACCEPTED):
        raise PermissionDenied
    try:
        services.match_decide(match=match, accept=decision == ReviewStatus.ACCEPTED, by=_signed_in(request),
                              reason=request.POST.get("reason", ""))
    except services.Replaced:
        messages.error(request, _("A newer matching run has just replaced this flag. Decide on the flags as they are now."))
        return redirect("matching:match-list")
    except services.AlreadyDecided:
        messages.error(request, _("This flag was already decided, or the decision was not understood."))
        return redirect("matching:match-list")
    if decision == ReviewStatus.ACCEPTED:
        messages.success(request, _("Flag accepted: the challenges and reports are now linked to “%(title)s”.")
                         % {"title": match.title})
    else:
        messages.success(request, _("Flag rejected. It will not come back unless the texts behind it change."))
    return redirect("matching:match-list")


@login_required
@require_POST
def suggestion_decide(request: HttpRequest, pk: int) -> HttpResponse:
    # A suggestion whose item was deleted went with it (ON DELETE CASCADE): 404.
    suggestion = get_object_or_404(Suggestion.objects.select_related("societal_challenge", *Suggestion.KINDS), pk=pk)
    item = suggestion.item
    if not permissions.can_review_suggestion(_signed_in(request), suggestion.item_type, item):
        raise PermissionDenied
    decision = request.POST.get("decision")
    if decision in (ReviewStatus.ACCEPTED, ReviewStatus.REJECTED):
        try:
            services.suggestion_decide(suggestion=suggestion, accept=decision == ReviewStatus.ACCEPTED,
                                       by=_signed_in(request), reason=request.POST.get("reason", ""))
        except services.Replaced:
            messages.error(request, _("A newer matching run has just replaced this suggestion. Look at the suggestions "
                                      "as they are now."))
        else:
            messages.success(request, _("Linked to “%(title)s”.") % {"title": suggestion.societal_challenge.title}
                             if decision == ReviewStatus.ACCEPTED else _("Suggestion rejected."))
    return redirect(_next_url(request, getattr(item, "get_absolute_url", lambda: "/")()))


@login_required
@require_POST
def no_challenge_decide(request: HttpRequest, item_type: str, pk: int) -> HttpResponse:
    """Decide that an item is about no societal challenge (``decision=none``), or undo that (``decision=undo``)."""
    if item_type not in ItemType.values:
        raise Http404
    item = get_object_or_404(services.MODELS[item_type]._default_manager, pk=pk)
    user = _signed_in(request)
    if not permissions.can_review_suggestion(user, item_type, item):
        raise PermissionDenied
    decision = request.POST.get("decision")
    try:
        if decision == "none":
            services.no_challenge_decide(item_type=item_type, item=item, by=user,
                                         reason=clean_line(request.POST.get("reason", ""))[:300])
            messages.success(request, _("Marked as about no societal challenge: nothing will be suggested for it."))
        elif decision == "undo":
            standing = NoChallengeDecision.objects.active().of_item(item_type, item.pk).first()
            if standing is None:
                raise services.AlreadyDecided
            services.no_challenge_undo(decision=standing, by=user)
            messages.success(request, _("Undone: the matching will suggest societal challenges for it again."))
        else:
            messages.error(request, _("The decision was not understood."))
    except services.StillLinked:
        messages.error(request, _("It is linked to a societal challenge: remove the links first."))
    except services.AlreadyDecided:
        messages.error(request, _("This was already decided, perhaps a moment ago by someone else."))
    return redirect(_next_url(request, getattr(item, "get_absolute_url", lambda: "/")()))


@staff_required
@require_http_methods(["GET", "POST"])
def matching_run_list(request: HttpRequest) -> HttpResponse:
    """Start a full run and watch its progress (htmx polls the progress partial; without JS, reload)."""
    if request.method == "POST":
        run = services.matching_run_start(by=_signed_in(request))
        messages.success(request, _("Matching run %(id)s started.") % {"id": run.pk})
        return redirect("matching:matching-run-list")
    runs = MatchingRun.objects.select_related("started_by")[:20]
    by_kind = {kind: Suggestion.objects.of_type(kind).by_certainty() for kind in ItemType.values}
    return render(request, "matching/matching_run_list.html", {
        "runs": runs, "active": MatchingRun.objects.active().first(),
        # per kind, as the engine calibrates each kind on its own decisions; the kinds with decisions only
        "certainty": [(kind, bands) for kind, bands in by_kind.items() if any(band.decided for band in bands)],
        "about_nothing": NoChallengeDecision.objects.active().count()})


@staff_required
@require_GET
def matching_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(MatchingRun, pk=pk)
    return render(request, "matching/_matching_run_progress.html", {"run": run})




@require_GET
def category_suggest(request: HttpRequest) -> HttpResponse:
    """The report form's htmx partial: the likeliest category for the title and description typed so far."""
    from matching import categories

    text = f"{request.GET.get('title', '')[:200]}. {request.GET.get('description', '')[:2000]}"
    found = categories.suggest(text)
    return render(request, "matching/_category_suggestion.html", {"suggested": found[0] if found else None})
