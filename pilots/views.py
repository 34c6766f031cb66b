"""The pilot portfolio's pages: the public portfolio and pilot pages, the innovation team's dashboard,
gates, and the departments' KPIs and measurements."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from pilots import permissions, services
from pilots.call_forms import FeedbackAnswerForm, FeedbackEmailAnswerForm
from pilots.forms import GateForm, KPIForm, MeasurementForm, MeasurementImportForm, PartnerFormSet, PilotForm, StopForm
from pilots.models import (
    KPI,
    STAGE_ORDER,
    FeedbackAnswer,
    Gate,
    GateRefused,
    Measurement,
    MeasurementRow,
    Pilot,
    Proposal,
    Stage,
)
from smartcity.models import DepartmentChallenge, SocietalChallenge

KPI_TABLE_ROWS = 50


def _portfolio_pilots():
    """Pilots with what the portfolio tables show, in two or three queries."""
    return (
        Pilot.objects.with_stranding()
        .select_related("lead_department")
        .prefetch_related(
            "departments", "societal_challenges",
            Prefetch("department_challenges", queryset=DepartmentChallenge.objects.select_related("department")),
        )
        # Proposed challenges are drafts: a pilot serves the public ones (the count is on public pages).
        .annotate(challenge_count=Count("societal_challenges", distinct=True,
                                        filter=Q(societal_challenges__in=SocietalChallenge.objects.public())))
    )


def _get_pilot_for_user(request: HttpRequest, pk: int, action: str = "view") -> Pilot:
    """The one access helper for pilots: "view" (anyone), "manage" (the innovation team), "kpis" (its departments)."""
    pilot = get_object_or_404(Pilot.objects.select_related("lead_department", "area"), pk=pk)
    allowed = {
        "view": lambda: True,
        "manage": lambda: permissions.can_manage_pilots(request.user),
        "kpis": lambda: permissions.can_edit_pilot_kpis(request.user, pilot),
    }[action]()
    if not allowed:
        raise PermissionDenied
    return pilot


def _get_kpi_for_user(request: HttpRequest, pk: int) -> KPI:
    """A KPI to change: only for the pilot's departments (and administrators)."""
    kpi = get_object_or_404(KPI.objects.select_related("pilot"), pk=pk)
    if not permissions.can_edit_pilot_kpis(request.user, kpi.pilot):
        raise PermissionDenied
    return kpi


@require_GET
def pilot_list(request: HttpRequest) -> HttpResponse:
    """The public portfolio: the funnel, and every pilot with its stage, time in stage and breadth."""
    stage = request.GET.get("stage", "")
    q = request.GET.get("q", "")
    pilots = _portfolio_pilots().search(q).order_by("title", "pk")
    if stage in Stage.values:
        pilots = pilots.filter(stage=stage)
    page = Paginator(pilots, 30).get_page(request.GET.get("page"))
    context = {
        "page": page, "funnel": Pilot.objects.funnel(), "stages": Stage.choices, "stage": stage, "q": q,
        "stranded_count": Pilot.objects.stranded().count(), "stranded_months": settings.PILOT_STRANDED_MONTHS,
        "can_manage": permissions.can_manage_pilots(request.user),
    }
    return render(request, "pilots/pilot_list.html", context)


@login_required
@require_GET
def portfolio_dashboard(request: HttpRequest) -> HttpResponse:
    """The innovation team's dashboard: stranded pilots first, then breadth, budget and opportunities."""
    if not permissions.can_view_portfolio_internals(request.user):
        raise PermissionDenied
    pilots = list(_portfolio_pilots().order_by("stage_changed_at", "pk"))
    stranded = [pilot for pilot in pilots if pilot.is_inactive or pilot.is_overdue]
    live = [pilot for pilot in pilots if pilot.stage != Stage.STOPPED]
    context = {
        "pilots": pilots,
        "stranded": stranded,
        "live": live,  # their scaling opportunities come from insight, through a template tag
        "funnel": Pilot.objects.funnel(),
        "budget_total": Pilot.objects.exclude(stage=Stage.STOPPED).aggregate(total=Sum("budget"))["total"],
        "single_challenge_count": sum(1 for pilot in live if pilot.challenge_count < 2),
        "stranded_months": settings.PILOT_STRANDED_MONTHS,
    }
    return render(request, "pilots/portfolio_dashboard.html", context)


@require_GET
def pilot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The pilot in plain language: what is tried, where, why, and the results so far."""
    pilot = _get_pilot_for_user(request, pk)
    kpis = []
    for kpi in pilot.kpis.all():
        series = list(kpi.measurements.order_by("measured_at").values_list("measured_at", "value", "source"))
        kpis.append({
            "kpi": kpi,
            "series": [(moment, value) for moment, value, _ in series],  # the chart: insight's template tag
            "latest": series[-1] if series else None,
            "rows": list(reversed(series[-KPI_TABLE_ROWS:])),
            "count": len(series),
        })
    internals = permissions.can_view_pilot_internals(request.user, pilot)
    gates = pilot.gates.select_related("decided_by").prefetch_related("answers__criterion")
    context = {
        "pilot": pilot,
        "stage_steps": [(value, Stage(value).label) for value in STAGE_ORDER],
        "kpis": kpis,
        "challenges": pilot.societal_challenges.visible_to(request.user),
        "partners": pilot.partners.all(),
        "served_departments": pilot.served_departments(),
        "gates": gates,
        "show_internals": internals,
        "can_manage": permissions.can_manage_pilots(request.user),
        "can_edit_kpis": permissions.can_edit_pilot_kpis(request.user, pilot),
        **_feedback_context(request, pilot),
    }
    proposal = Proposal.objects.filter(pilot=pilot).select_related("call", "organisation").first()
    context["proposal"] = proposal
    context["can_view_proposal"] = bool(proposal and permissions.can_view_proposal(request.user, proposal))
    return render(request, "pilots/pilot_detail.html", context)


def _feedback_context(request: HttpRequest, pilot: Pilot) -> dict:
    """The pilot's questions to residents: the summary, the visible comments, and the reader's own answers."""
    questions = list(pilot.feedback_questions.all())
    mine = {}
    if request.user.is_authenticated:
        mine = {answer.question_id: answer for answer in FeedbackAnswer.objects.filter(question__in=questions, user=request.user)}
    moderate = permissions.can_moderate_feedback(request.user)
    items = []
    for question in questions:
        comments = question.answers.exclude(comment="").select_related("user")
        if not moderate:
            comments = comments.filter(is_hidden=False)
        own = mine.get(question.pk)
        items.append({"question": question, "summary": question.summary(), "comments": list(comments[:20]),
                      "form": (FeedbackAnswerForm(instance=own, prefix=f"q{question.pk}") if own
                               else FeedbackAnswerForm(prefix=f"q{question.pk}") if request.user.is_authenticated
                               else FeedbackEmailAnswerForm(prefix=f"q{question.pk}")),
                      "mine": own})
    return {"feedback": items, "can_answer_feedback": permissions.can_answer_feedback(request.user, pilot),
            "can_answer_feedback_by_email": permissions.can_answer_feedback_by_email(request.user, pilot),
            "can_moderate_feedback": moderate}


@login_required
@require_http_methods(["GET", "POST"])
def pilot_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_pilots(request.user):
        raise PermissionDenied
    form = PilotForm(request.POST or None)
    if form.is_valid():
        with transaction.atomic():
            pilot = form.save(commit=False)
            pilot.created_by = request.user
            pilot.save()
            form.save_m2m()
            pilot.record_initial_stage(by=request.user)
        messages.success(request, _("The pilot is saved."))
        return redirect(pilot)
    return render(request, "pilots/pilot_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def pilot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _get_pilot_for_user(request, pk, "manage")
    form = PilotForm(request.POST or None, instance=pilot)
    partners = PartnerFormSet(request.POST or None, instance=pilot, prefix="partners")
    if form.is_valid() and partners.is_valid():
        with transaction.atomic():
            form.save()
            partners.save()
        messages.success(request, _("The pilot is saved."))
        return redirect(pilot)
    return render(request, "pilots/pilot_form.html", {"form": form, "partners": partners, "pilot": pilot})


@login_required
@require_http_methods(["GET", "POST"])
def gate_create(request: HttpRequest, pk: int) -> HttpResponse:
    """The gate to the pilot's next stage: answers, decision, date. "Go" moves the pilot on."""
    pilot = _get_pilot_for_user(request, pk, "manage")
    to_stage = pilot.next_stage
    if to_stage is None:
        raise Http404(_("This pilot has no next stage."))
    form = GateForm(request.POST or None, pilot=pilot, to_stage=to_stage)
    if form.is_valid():
        try:
            gate = services.pilot_advance(
                pilot=pilot, to_stage=to_stage, by=request.user, decision=form.cleaned_data["decision"], answers=form.answers,
                decided_on=form.cleaned_data["decided_on"], notes=form.cleaned_data["notes"],
                public_message=form.cleaned_data["public_message"],
            )
        except GateRefused as refusal:
            form.add_error(None, refusal)
        else:
            if gate.decision == Gate.Decision.GO:
                messages.success(request, _("Go: the pilot is now in stage “%(stage)s”.") % {"stage": Stage(to_stage).label})
            else:
                messages.info(request, _("The gate is recorded as “%(decision)s”; the pilot stays where it is.")
                              % {"decision": gate.get_decision_display()})
            return redirect(pilot)
    context = {
        "pilot": pilot, "form": form, "to_stage": Stage(to_stage),
        "challenge_count": pilot.societal_challenges.count(),
        "department_count": len(pilot.served_departments()),
        "feedback": [question.summary() for question in pilot.feedback_questions.all()],
    }
    return render(request, "pilots/gate_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def pilot_stop(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _get_pilot_for_user(request, pk, "manage")
    if pilot.stage == Stage.STOPPED:
        raise Http404(_("This pilot is stopped already."))
    form = StopForm(request.POST or None)
    if form.is_valid():
        try:
            services.pilot_advance(
                pilot=pilot, to_stage=Stage.STOPPED, by=request.user, lessons_learned=form.cleaned_data["lessons_learned"],
                decided_on=form.cleaned_data["decided_on"], notes=form.cleaned_data["notes"],
                public_message=form.cleaned_data["public_message"],
            )
        except GateRefused as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("The pilot is stopped; its lessons learned are on its page."))
            return redirect(pilot)
    return render(request, "pilots/pilot_stop.html", {"pilot": pilot, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def kpi_create(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _get_pilot_for_user(request, pk, "kpis")
    form = KPIForm(request.POST or None, instance=KPI(pilot=pilot))
    if form.is_valid():
        kpi = form.save()
        messages.success(request, _("The KPI is saved."))
        return redirect(kpi)
    return render(request, "pilots/kpi_form.html", {"pilot": pilot, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def kpi_edit(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = _get_kpi_for_user(request, pk)
    form = KPIForm(request.POST or None, instance=kpi)
    if form.is_valid():
        form.save()
        messages.success(request, _("The KPI is saved."))
        return redirect(kpi)
    return render(request, "pilots/kpi_form.html", {"pilot": kpi.pilot, "kpi": kpi, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def measurement_create(request: HttpRequest, pk: int) -> HttpResponse:
    """One measurement by hand. A value for a moment that has one already replaces it."""
    kpi = _get_kpi_for_user(request, pk)
    # Most measurements are entered as they are taken: the form starts at now (the city's time, to the minute).
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = MeasurementForm(request.POST or None, instance=Measurement(kpi=kpi),
                           initial={"source": _("manual"), "measured_at": now})
    if form.is_valid():
        data = form.cleaned_data
        kpi.upsert_measurements([MeasurementRow(data["measured_at"], data["value"], data["source"])])
        messages.success(request, _("The measurement is saved."))
        return redirect(kpi)
    return render(request, "pilots/measurement_form.html", {"kpi": kpi, "pilot": kpi.pilot, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def measurement_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Measurements from a CSV file: good rows are stored, bad rows are listed with their line numbers."""
    kpi = _get_kpi_for_user(request, pk)
    form = MeasurementImportForm(request.POST or None, request.FILES or None)
    result = None
    if form.is_valid():
        created, updated = kpi.upsert_measurements(form.rows)
        result = {"created": created, "updated": updated, "bad_rows": form.bad_rows}
        if not form.bad_rows:
            messages.success(request, _("%(created)s measurements added, %(updated)s updated.")
                             % {"created": created, "updated": updated})
            return redirect(kpi)
    return render(request, "pilots/measurement_import.html",
                  {"kpi": kpi, "pilot": kpi.pilot, "form": form, "result": result})
