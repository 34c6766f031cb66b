from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from smartcity import permissions
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme
from smartcity.pagecache import public_page
from smartcity.problems import problem


@require_GET
@public_page
def home(request: HttpRequest) -> HttpResponse:
    challenges = (
        SocietalChallenge.objects.open()
        .prefetch_related("themes")
        .annotate(department_count=Count("department_challenges__department", distinct=True))
        .order_by("-updated_at")[:6]
    )
    return render(request, "smartcity/home.html", {"challenges": challenges, "themes": Theme.objects.all()})


@require_GET
@public_page
def theme_list(request: HttpRequest) -> HttpResponse:
    themes = Theme.objects.annotate(challenge_count=Count(
        "societal_challenges", filter=Q(societal_challenges__in=SocietalChallenge.objects.public()), distinct=True))
    return render(request, "smartcity/theme_list.html", {"themes": themes})


@require_GET
@public_page
def theme_detail(request: HttpRequest, slug: str) -> HttpResponse:
    theme = get_object_or_404(Theme, slug=slug)
    challenges = theme.societal_challenges.public().prefetch_related("themes")
    return render(request, "smartcity/theme_detail.html", {"theme": theme, "challenges": challenges})


@require_GET
@public_page
def societal_challenge_list(request: HttpRequest) -> HttpResponse:
    challenges = (
        SocietalChallenge.objects.public()
        .search(request.GET.get("q", ""))
        .prefetch_related("themes")
        .annotate(department_count=Count("department_challenges__department", distinct=True))
        .order_by("title", "pk")
    )
    theme_slug = request.GET.get("theme", "")
    if theme_slug:
        challenges = challenges.filter(themes__slug=theme_slug)
    page = Paginator(challenges, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "smartcity/societal_challenge_list.html",
        {"page": page, "themes": Theme.objects.all(), "q": request.GET.get("q", ""), "theme_slug": theme_slug},
    )


@require_GET
@public_page
def societal_challenge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(
        SocietalChallenge.objects.visible_to(request.user).prefetch_related(
            "themes",
            Prefetch(
                "department_challenges",
                queryset=DepartmentChallenge.objects.select_related("department").order_by("department__name", "title"),
            ),
        ),
        pk=pk,
    )
    by_department: dict[Department, list[DepartmentChallenge]] = {}
    for item in challenge.department_challenges.all():
        by_department.setdefault(item.department, []).append(item)
    # The hub: the residents' reports linked to it (count, map, most recent) and the pilots that tackle it.
    reports = challenge.reports.public().order_by("-created_at", "-pk")
    mapped = list(reports.values("pk", "title", "latitude", "longitude")[:500])
    pilots = list(challenge.pilots.all()) if hasattr(challenge, "pilots") else []
    return render(
        request,
        "smartcity/societal_challenge_detail.html",
        {
            "challenge": challenge,
            "by_department": by_department,
            "report_count": reports.count(),
            "recent_reports": reports.select_related("theme")[:5],
            "report_points": json.dumps(
                [{"lat": row["latitude"], "lon": row["longitude"], "title": row["title"]} for row in mapped]
            ),
            "pilots": pilots,
            "can_edit": permissions.can_curate_societal_challenges(request.user),
            "MAP_TILE_URL": settings.MAP_TILE_URL,
            "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
        },
    )


@require_GET
def department_challenge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(DepartmentChallenge.objects.select_related("department").prefetch_related("themes"), pk=pk)
    return render(request, "smartcity/department_challenge_detail.html", {
        "challenge": challenge, "can_edit": permissions.can_edit_department_challenge(request.user, challenge),
        "societal_challenges": challenge.societal_challenges.visible_to(request.user),
    })


@require_GET
def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(request, "smartcity/accessibility_statement.html", {"contact_email": settings.CONTACT_EMAIL})


@require_GET
def privacy_statement(request: HttpRequest) -> HttpResponse:
    context = {"contact_email": settings.CONTACT_EMAIL, "retention_days": settings.REPORTER_CONTACT_RETENTION_DAYS,
               "supporter_retention_days": settings.SUPPORTER_EMAIL_RETENTION_DAYS,
               "unsent_email_days": settings.OUTBOX_UNSENT_KEEP_DAYS}
    return render(request, "smartcity/privacy_statement.html", context)


def admin_login(request: HttpRequest) -> HttpResponse:
    """`/admin/login/` is no password form of its own: staff sign in where everyone does (allauth, or the
    city's OpenID Connect provider), with one set of limits on failed sign-ins (smartcity/adapters.py)."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect(target)
        raise PermissionDenied  # signed in, but not staff: sending them to sign in again would loop
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and the container health check: is the database answering?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def _wants_problem_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/open311/")


# A colour as CSS may take it, and nothing else: "#1d6b34", "rgb(29 107 52)", "darkgreen".
_CSS_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/]+\)|[a-zA-Z]{3,30})$")


@require_GET
def city_theme(request: HttpRequest) -> HttpResponse:
    """The city's colours as NL Design System theme tokens (CITY_PRIMARY_COLOR, CITY_SECONDARY_COLOR), as a
    stylesheet: the Content-Security-Policy allows styles from files only, never inline."""
    tokens: list[str] = []
    primary, secondary = settings.CITY_PRIMARY_COLOR.strip(), settings.CITY_SECONDARY_COLOR.strip()
    if _CSS_COLOUR.match(primary):
        tokens += [f"--basis-color-action-1-inverse-bg-default: {primary};",
                   f"--basis-color-action-1-inverse-bg-hover: color-mix(in srgb, {primary} 85%, black);",
                   f"--basis-color-action-1-inverse-bg-active: color-mix(in srgb, {primary} 70%, black);",
                   f"--basis-color-action-1-color-default: {primary};",
                   f"--basis-color-action-1-color-hover: color-mix(in srgb, {primary} 85%, black);",
                   f"--basis-color-action-1-border-default: {primary};",
                   f"--basis-color-action-1-border-hover: color-mix(in srgb, {primary} 85%, black);",
                   f"--site-brand-color: {primary};"]
    if _CSS_COLOUR.match(secondary):
        tokens += [f"--basis-color-action-2-color-default: {secondary};", f"--site-accent-color: {secondary};"]
    response = HttpResponse(".voorbeeld-theme {\n  " + "\n  ".join(tokens) + "\n}\n", content_type="text/css")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 in the site's own layout and language. A PermissionDenied raised with a message (already
    translated, for the person in front of the page) shows it: it says who may take the action."""
    reason = str(exception) if exception is not None and exception.args else ""
    if _wants_problem_json(request):
        return problem(403, reason or _("You may not do this."), title=_("No access"))
    return render(request, "403.html", {"reason": reason}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent from a page that was open too long, or after signing out in another tab: say so, in the
    site's language, instead of Django's bare English "403 Forbidden"."""
    return render(request, "403_csrf.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem_json(request):
        return problem(404, _("There is nothing at this address."), title=_("Not found"))
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors or database work here: the error may be the database itself.
    if _wants_problem_json(request):
        return problem(500, "Something went wrong on our side.", title="Server error")
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
