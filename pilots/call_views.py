"""Open innovation's pages: open calls (public), partner organisations and their verification, proposals
(confidential until decided), assessment and decision, and residents' feedback on a running pilot.
Who may do what is in pilots/permissions.py; the workflows are model methods and pilots/services.py."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pilots import permissions, services
from pilots.call_forms import (
    AssessmentForm,
    AttachmentForm,
    CallForm,
    DecisionForm,
    FeedbackAnswerForm,
    FeedbackEmailAnswerForm,
    FeedbackQuestionForm,
    HideFeedbackForm,
    OrganisationForm,
    ProposalForm,
    VerificationForm,
)
from pilots.models import (
    Assessment,
    Call,
    FeedbackAnswer,
    FeedbackQuestion,
    Organisation,
    OrganisationMember,
    Pilot,
    Proposal,
    ProposalAttachment,
)
from smartcity.clientip import client_network
from smartcity.files import MEDIA_LOCATION, stored_file_response


# --- access helpers: one per resource ---------------------------------------------------------------
def _get_call_for_user(request: HttpRequest, pk: int, write: bool = False) -> Call:
    call = get_object_or_404(Call.objects.visible_to(request.user), pk=pk)
    if write and not permissions.can_manage_calls(request.user):
        raise PermissionDenied
    return call


def _get_organisation_for_user(request: HttpRequest, pk: int) -> Organisation:
    organisation = get_object_or_404(Organisation, pk=pk)
    if not (permissions.acts_for(request.user, organisation) or permissions.can_verify_organisations(request.user)):
        raise PermissionDenied
    return organisation


def _get_proposal_for_user(request: HttpRequest, pk: int, action: str = "view") -> Proposal:
    """"view" (its organisation, and the team once submitted), "edit" (a draft, its organisation),
    "assess" (the team, submitted or decided). Someone who may not see it gets a 404: confidential."""
    proposal = get_object_or_404(Proposal.objects.select_related("call", "organisation", "pilot"), pk=pk)
    if not permissions.can_view_proposal(request.user, proposal):
        raise Http404
    allowed = {
        "view": lambda: True,
        "edit": lambda: permissions.can_edit_proposal(request.user, proposal),
        "assess": lambda: permissions.can_assess_proposals(request.user) and not proposal.is_draft,
    }[action]()
    if not allowed:
        raise PermissionDenied
    return proposal


def _my_organisations(user) -> list[Organisation]:
    return list(Organisation.objects.filter(memberships__user=user)) if user.is_authenticated else []


# --- open calls -------------------------------------------------------------------------------------
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    calls = Call.objects.visible_to(request.user).prefetch_related("societal_challenges").order_by("-deadline", "pk")
    return render(request, "pilots/call_list.html", {
        "calls": calls, "can_manage": permissions.can_manage_calls(request.user),
        "organisations": _my_organisations(request.user)})


@require_GET
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The call: what the city asks and offers, the challenges and the reports and department problems behind it."""
    call = _get_call_for_user(request, pk)
    challenges = (call.societal_challenges.public()
                  .annotate(report_count=Count("reports", filter=Q(reports__is_hidden=False), distinct=True)))
    organisations = _my_organisations(request.user)
    own = Proposal.objects.filter(call=call, organisation__in=organisations) if organisations else []
    # The residents' reports behind the call on a map, through the hub's challenges (a reverse relation by
    # name: the portfolio never imports participation), as the challenge page draws them.
    points = {}
    for challenge in challenges:
        for row in challenge.reports.public().values("pk", "title", "latitude", "longitude")[:500]:
            points[row["pk"]] = {"lat": row["latitude"], "lon": row["longitude"], "title": row["title"]}
    return render(request, "pilots/call_detail.html", {
        "call": call, "challenges": challenges, "report_points": json.dumps(list(points.values())[:500]),
        "has_points": bool(points), "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
        "department_challenges": call.department_challenges.select_related("department"),
        "can_manage": permissions.can_manage_calls(request.user),
        "can_assess": permissions.can_assess_proposals(request.user),
        "organisations": organisations, "own_proposals": own,
        "criteria": call.criteria_list(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def call_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_calls(request.user):
        raise PermissionDenied
    form = CallForm(request.POST or None)
    if form.is_valid():
        call = form.save(commit=False)
        call.created_by = request.user
        call.save()
        form.save_m2m()
        messages.success(request, _("The call is saved as a draft."))
        return redirect(call)
    return render(request, "pilots/call_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def call_edit(request: HttpRequest, pk: int) -> HttpResponse:
    call = _get_call_for_user(request, pk, write=True)
    form = CallForm(request.POST or None, instance=call)
    if form.is_valid():
        form.save()
        messages.success(request, _("The call is saved."))
        return redirect(call)
    return render(request, "pilots/call_form.html", {"form": form, "call": call})


@login_required
@require_POST
def call_publish(request: HttpRequest, pk: int) -> HttpResponse:
    call = _get_call_for_user(request, pk, write=True)
    if services.call_publish(call=call, by=request.user):
        messages.success(request, _("The call is published; residents who follow its challenges are told."))
    return redirect(call)


# --- partner organisations -------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    """Anyone with an account registers an organisation and acts for it; the city verifies it before it submits."""
    form = OrganisationForm(request.POST or None)
    if form.is_valid():
        with transaction.atomic():
            organisation = form.save()
            OrganisationMember.objects.create(organisation=organisation, user=request.user)
        messages.success(request, _("Your organisation is registered. The city verifies it before you can submit a proposal."))
        return redirect(organisation)
    return render(request, "pilots/organisation_form.html", {"form": form})


@login_required
@require_GET
def organisation_list(request: HttpRequest) -> HttpResponse:
    """The innovation team's list of partner organisations, those waiting for verification first."""
    if not permissions.can_verify_organisations(request.user):
        raise PermissionDenied
    organisations = Organisation.objects.annotate(proposal_count=Count("proposals")).order_by("status", "name")
    return render(request, "pilots/organisation_list.html", {"organisations": organisations})


@login_required
@require_http_methods(["GET", "POST"])
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = _get_organisation_for_user(request, pk)
    can_verify = permissions.can_verify_organisations(request.user)
    form = VerificationForm(request.POST or None) if can_verify else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            organisation.set_status(form.cleaned_data["status"], by=request.user, note=form.cleaned_data["note"])
            messages.success(request, _("The organisation is now “%(status)s”.") % {"status": organisation.get_status_display()})
            return redirect(organisation)
    return render(request, "pilots/organisation_detail.html", {
        "organisation": organisation, "form": form, "can_verify": can_verify,
        "members": organisation.members.all(),
        "history": organisation.verifications.select_related("by"),
        "proposals": organisation.proposals.visible_to(request.user).select_related("call"),
    })


# --- proposals ----------------------------------------------------------------------------------------
@login_required
@require_GET
def proposal_list(request: HttpRequest) -> HttpResponse:
    """A partner's own proposals; for the innovation team every submitted one."""
    proposals = Proposal.objects.visible_to(request.user).select_related("call", "organisation")
    call_id = request.GET.get("call", "")
    if call_id.isdigit():
        proposals = proposals.filter(call_id=int(call_id))
    return render(request, "pilots/proposal_list.html", {"proposals": proposals.order_by("call", "-submitted_at", "pk"),
                                                          "organisations": _my_organisations(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def proposal_create(request: HttpRequest, pk: int) -> HttpResponse:
    call = _get_call_for_user(request, pk)
    organisations = _my_organisations(request.user)
    if not organisations:
        messages.info(request, _("Register your organisation first; then write your proposal."))
        return redirect("pilots:organisation-create")
    if not call.is_open:
        raise PermissionDenied
    organisation = organisations[0]
    form = ProposalForm(request.POST or None, call=call)
    if form.is_valid():
        proposal = form.save(commit=False)
        proposal.call, proposal.organisation, proposal.created_by = call, organisation, request.user
        proposal.save()
        form.save_m2m()
        messages.success(request, _("Your draft is saved. Only your organisation sees it until you submit it."))
        return redirect(proposal)
    return render(request, "pilots/proposal_form.html", {"form": form, "call": call, "organisation": organisation})


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal_for_user(request, pk, "edit")
    form = ProposalForm(request.POST or None, instance=proposal, call=proposal.call)
    if form.is_valid():
        form.save()
        messages.success(request, _("Your draft is saved."))
        return redirect(proposal)
    return render(request, "pilots/proposal_form.html",
                  {"form": form, "call": proposal.call, "organisation": proposal.organisation, "proposal": proposal})


@login_required
@require_GET
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal_for_user(request, pk)
    can_assess = permissions.can_assess_proposals(request.user) and not proposal.is_draft
    assessments = [a for a in proposal.assessments.select_related("assessor", "proposal")
                   if permissions.can_see_assessment(request.user, a)] if can_assess else []
    mine = next((a for a in assessments if a.assessor_id == request.user.pk), None)
    context = {
        "proposal": proposal, "challenges": proposal.all_challenges(),
        "own_challenges": proposal.societal_challenges.public(),
        "attachments": proposal.attachments.all(), "kpis": proposal.kpi_rows(),
        "can_edit": permissions.can_edit_proposal(request.user, proposal),
        "can_submit": permissions.can_submit_proposal(request.user, proposal),
        "can_assess": can_assess, "assessments": assessments, "my_assessment": mine,
        "conflicts": [a for a in proposal.assessments.select_related("assessor") if a.conflict_of_interest] if can_assess else [],
        "assessment_count": proposal.assessments.count() if can_assess else 0,
        "attachment_form": AttachmentForm(proposal=proposal) if permissions.can_edit_proposal(request.user, proposal) else None,
        "decision_form": DecisionForm() if can_assess and proposal.status == Proposal.Status.SUBMITTED else None,
    }
    return render(request, "pilots/proposal_detail.html", context)


@login_required
@require_POST
def proposal_submit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal_for_user(request, pk, "edit")
    try:
        services.proposal_submit(proposal=proposal, by=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Your proposal is submitted. It can no longer be changed."))
    return redirect(proposal)


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal_for_user(request, pk, "edit")
    form = AttachmentForm(request.POST, request.FILES, proposal=proposal)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        ProposalAttachment.objects.create(proposal=proposal, file=upload, name=upload.name[-200:], size=upload.size)
        messages.success(request, _("The file is added."))
    else:
        for error in form.errors.get("file", []):
            messages.error(request, error)
    return redirect(proposal)


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(ProposalAttachment, pk=pk)
    _get_proposal_for_user(request, attachment.proposal_id)
    return stored_file_response(attachment.file.storage, attachment.file.name, location=MEDIA_LOCATION,
                                content_type="application/pdf", download_as=f"proposal-{attachment.proposal_id}-{attachment.pk}.pdf")


@login_required
@require_http_methods(["GET", "POST"])
def assessment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One assessor's own scores or declared conflict; the others' stay hidden until the decision."""
    proposal = _get_proposal_for_user(request, pk, "assess")
    if proposal.is_decided:
        raise PermissionDenied
    existing = Assessment.objects.filter(proposal=proposal, assessor=request.user).first()
    initial = {}
    form = AssessmentForm(proposal=proposal)
    if existing:
        initial = {"notes": existing.notes, "conflict_of_interest": existing.conflict_of_interest}
        for index, (key, _label) in enumerate(form.criteria):
            if key in existing.scores:
                initial[f"score_{index}"] = str(existing.scores[key])
    form = AssessmentForm(request.POST or None, proposal=proposal, initial=initial)
    if form.is_valid():
        Assessment.objects.update_or_create(proposal=proposal, assessor=request.user, defaults={
            "scores": form.cleaned_data["scores"], "notes": form.cleaned_data["notes"],
            "conflict_of_interest": form.cleaned_data["conflict_of_interest"]})
        messages.success(request, _("Your assessment is saved. The others see it once the proposal is decided."))
        return redirect(proposal)
    return render(request, "pilots/assessment_form.html", {"proposal": proposal, "form": form})


@login_required
@require_POST
def proposal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal_for_user(request, pk, "assess")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(proposal)
    try:
        pilot = services.proposal_decide(proposal=proposal, by=request.user, accept=form.cleaned_data["decision"] == "accept",
                                         reason=form.cleaned_data["reason"], stage=form.cleaned_data["stage"])
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect(proposal)
    if pilot is not None:
        messages.success(request, _("The proposal is accepted and is now a pilot."))
        return redirect(pilot)
    messages.success(request, _("The proposal is rejected; the partner sees the reason."))
    return redirect(proposal)


# --- residents' feedback on a pilot ------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def feedback_question_create(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = get_object_or_404(Pilot, pk=pk)
    if not permissions.can_moderate_feedback(request.user):
        raise PermissionDenied
    if pilot.feedback_questions.count() >= FeedbackQuestion.MAX_PER_PILOT:
        messages.error(request, _("A pilot asks residents at most two questions."))
        return redirect(pilot)
    form = FeedbackQuestionForm(request.POST or None, instance=FeedbackQuestion(pilot=pilot))
    if form.is_valid():
        form.save()
        messages.success(request, _("The question is saved; its answers become two KPIs of the pilot."))
        return redirect(pilot)
    return render(request, "pilots/feedback_question_form.html", {"pilot": pilot, "form": form})


@require_POST
def feedback_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """An answer with an account counts at once; without one, it counts once the emailed link is followed."""
    question = get_object_or_404(FeedbackQuestion.objects.select_related("pilot"), pk=pk)
    pilot = question.pilot
    if permissions.can_answer_feedback_by_email(request.user, pilot):
        return _feedback_answer_by_email(request, question)
    if not permissions.can_answer_feedback(request.user, pilot):
        raise PermissionDenied
    form = FeedbackAnswerForm(request.POST, prefix=f"q{question.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(f"{pilot.get_absolute_url()}#feedback")
    try:
        services.feedback_answer(question=question, user=request.user, value=form.cleaned_data["value"],
                                 comment=form.cleaned_data["comment"])
    except services.TooManyAnswers:
        messages.error(request, _("You have answered often in the last hour. Please try again later."))
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Thank you: your answer is saved. You can change it at any time."))
    return redirect(f"{pilot.get_absolute_url()}#feedback")


def _feedback_answer_by_email(request: HttpRequest, question: FeedbackQuestion) -> HttpResponse:
    """Check the answer, limit the emails per connection (before any work), and email the confirmation link."""
    pilot = question.pilot
    back = f"{pilot.get_absolute_url()}#feedback"
    form = FeedbackEmailAnswerForm(request.POST, prefix=f"q{question.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    if not services.feedback_email_allowed(client_network(request)):
        messages.error(request, _("Too many requests from your connection. Please try again in an hour."))
        return redirect(back)
    services.feedback_confirmation_send(question=question, email=form.cleaned_data["email"],
                                        value=form.cleaned_data["value"], comment=form.cleaned_data["comment"])
    messages.success(request, _("Almost done: follow the link in the email we sent you to count your answer."))
    return redirect(back)


@require_http_methods(["GET", "POST"])
def feedback_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the emailed link: GET asks (mail scanners follow links), POST saves the answer."""
    try:
        data = services.read_feedback_token(token)
    except signing.BadSignature:
        return render(request, "pilots/feedback_link_invalid.html", status=400)
    question = get_object_or_404(FeedbackQuestion.objects.select_related("pilot"), pk=data["question"])
    pilot = question.pilot
    if request.method == "POST":
        try:
            services.feedback_answer(question=question, email=data["email"], value=data["value"],
                                     comment=data["comment"], asked_at=data["asked_at"])
        except services.TooManyAnswers:
            messages.error(request, _("You have answered often in the last hour. Please try again later."))
        except services.NewerAnswer:
            messages.info(request, _("You changed this answer after this link was sent; your newer answer stays."))
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, _("Thank you: your answer counts. You can change it at any time."))
        return redirect(f"{pilot.get_absolute_url()}#feedback")
    return render(request, "pilots/feedback_confirm.html", {"pilot": pilot, "question": question, "value": data["value"],
                                                             "comment": data["comment"]})


@login_required
@require_POST
def feedback_hide(request: HttpRequest, pk: int) -> HttpResponse:
    answer = get_object_or_404(FeedbackAnswer.objects.select_related("question__pilot"), pk=pk)
    if not permissions.can_moderate_feedback(request.user):
        raise PermissionDenied
    form = HideFeedbackForm(request.POST)
    if form.is_valid():
        FeedbackAnswer.objects.filter(pk=answer.pk).update(
            is_hidden=True, hidden_reason=form.cleaned_data["reason"], hidden_by=request.user)
        messages.success(request, _("The comment is hidden."))
    return redirect(f"{answer.question.pilot.get_absolute_url()}#feedback")
