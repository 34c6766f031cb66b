"""Department challenges (lists for everyone; create, edit and close for the department's members) and
the innovation team's curation of societal challenges. Who may do what is in smartcity/permissions.py."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smartcity import permissions
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme
from smartcity.permissions import staff_required
from smartcity.signals import societal_challenge_curated
from smartcity.staff_forms import DepartmentChallengeForm, SocietalChallengeForm


def _get_department_challenge(request: HttpRequest, pk: int, *, write: bool = False) -> DepartmentChallenge:
    challenge = get_object_or_404(DepartmentChallenge.objects.select_related("department"), pk=pk)
    if write and not permissions.can_edit_department_challenge(request.user, challenge):
        raise PermissionDenied
    return challenge


# --- Department challenges -----------------------------------------------------------------------------------
@require_GET
def department_challenge_list(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """The challenges across the city, or those of one department (`slug`)."""
    department = get_object_or_404(Department, slug=slug) if slug else None
    challenges = DepartmentChallenge.objects.select_related("department").prefetch_related("themes").search(
        request.GET.get("q", "")
    )
    if department is not None:
        challenges = challenges.filter(department=department)
    status = request.GET.get("status", DepartmentChallenge.Status.OPEN)
    if status in DepartmentChallenge.Status.values:
        challenges = challenges.filter(status=status)
    theme_slug = request.GET.get("theme", "")
    if theme_slug:
        challenges = challenges.filter(themes__slug=theme_slug)
    page = Paginator(challenges.order_by("department__name", "-created_at", "pk"), 25).get_page(request.GET.get("page"))
    return render(request, "smartcity/department_challenge_list.html", {
        "department": department,
        "departments": Department.objects.all(),
        "themes": Theme.objects.all(),
        "page": page,
        "q": request.GET.get("q", ""),
        "status": status,
        "statuses": DepartmentChallenge.Status.choices,
        "theme_slug": theme_slug,
        "can_create": permissions.can_post_department_challenges(request.user),
    })


@staff_required
@require_http_methods(["GET", "POST"])
def department_challenge_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_post_department_challenges(request.user):
        raise PermissionDenied
    form = DepartmentChallengeForm(request.POST or None, user=request.user)
    if form.is_valid():
        with transaction.atomic():
            challenge = form.save(commit=False)
            challenge.created_by = request.user
            challenge.save()
            form.save_m2m()
        messages.success(request, _("Your department's challenge is published."))
        return redirect(challenge)
    return render(request, "smartcity/department_challenge_form.html", {"form": form}, status=400 if form.errors else 200)


@staff_required
@require_http_methods(["GET", "POST"])
def department_challenge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = _get_department_challenge(request, pk, write=True)
    form = DepartmentChallengeForm(request.POST or None, instance=challenge, user=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, _("Changes saved."))
        return redirect(challenge)
    return render(request, "smartcity/department_challenge_form.html", {"form": form, "challenge": challenge},
                  status=400 if form.errors else 200)


@staff_required
@require_POST
def department_challenge_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close an open challenge, or reopen a closed one."""
    challenge = _get_department_challenge(request, pk, write=True)
    reopened = challenge.toggle_open()
    messages.success(request, _("The challenge is open again.") if reopened else _("The challenge is closed."))
    return redirect(challenge)


def _curated(request: HttpRequest, challenge: SocietalChallenge) -> None:
    """Announce the change (smartcity.signals): a new or changed challenge changes every item's scores."""
    societal_challenge_curated.send(sender=SocietalChallenge, challenge=challenge, by=request.user)


def _require_curator(request: HttpRequest) -> None:
    if not permissions.can_curate_societal_challenges(request.user):
        raise PermissionDenied


@staff_required
@require_GET
def societal_challenge_manage(request: HttpRequest) -> HttpResponse:
    """Every societal challenge, proposed ones too, for the innovation team."""
    _require_curator(request)
    challenges = SocietalChallenge.objects.prefetch_related("themes").order_by("status", "title")
    return render(request, "smartcity/societal_challenge_manage.html", {"challenges": challenges})


@staff_required
@require_http_methods(["GET", "POST"])
def societal_challenge_create(request: HttpRequest) -> HttpResponse:
    _require_curator(request)
    form = SocietalChallengeForm(request.POST or None)
    if form.is_valid():
        with transaction.atomic():
            challenge = form.save(commit=False)
            challenge.created_by = request.user
            challenge.save()
            form.save_m2m()
            _curated(request, challenge)
        messages.success(request, _("Societal challenge saved."))
        return redirect("smartcity:societal-challenge-manage")
    return render(request, "smartcity/societal_challenge_form.html", {"form": form}, status=400 if form.errors else 200)


@staff_required
@require_http_methods(["GET", "POST"])
def societal_challenge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_curator(request)
    challenge = get_object_or_404(SocietalChallenge, pk=pk)
    form = SocietalChallengeForm(request.POST or None, instance=challenge)
    if form.is_valid():
        with transaction.atomic():
            form.save()
            _curated(request, challenge)
        messages.success(request, _("Changes saved."))
        return redirect("smartcity:societal-challenge-manage")
    return render(request, "smartcity/societal_challenge_form.html", {"form": form, "challenge": challenge},
                  status=400 if form.errors else 200)
