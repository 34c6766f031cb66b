"""The pilot portfolio's workflows that reach outside it: emails to partners, and telling residents.

Residents are participation's (who follows or reported what); the portfolio never imports it. It sends the
hub's `residents_news` signal after the commit and participation answers (docs/pilots.md, "The loop").
Emails go through the outbox, one per recipient and event (the outbox's dedupe key). Residents' emails are
written in each resident's own language (participation stores it with each follow and report): the news
travels as a function that renders it in the active language. A partner's receipt is written in the language
they submit in, which the proposal keeps for the decision.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from pilots.models import Call, FeedbackAnswer, FeedbackQuestion, Gate, Organisation, Pilot, Proposal, Stage
from smartcity import ratelimit
from smartcity.outbox import outbox_enqueue
from smartcity.signals import residents_news
from smartcity.text import clean_text


def _mail(*, event: str, to: str, subject: str, body: str) -> None:
    outbox_enqueue("smartcity.tasks.send_email", key=f"mail:{event}:{to.lower()}"[:200], to=[to], subject=subject,
                   body=body)


def _organisation_emails(organisation: Organisation) -> list[str]:
    return sorted({email.lower() for email in organisation.members.filter(is_active=True).values_list("email", flat=True)
                   if email})


def _tell_residents_on_commit(**news) -> None:
    transaction.on_commit(lambda: residents_news.send(sender=Pilot, **news))


@transaction.atomic
def call_publish(*, call: Call, by) -> bool:
    """Publish a draft call and tell the residents who follow its challenges (once: a second publish is a no-op)."""
    if not call.publish():
        return False
    context = {"call": call, "url": settings.SITE_URL + call.get_absolute_url(), "site_name": settings.SITE_NAME}

    def message() -> tuple[str, str]:
        return (_("Open call: %(title)s") % {"title": call.title},
                render_to_string("pilots/email/call_published_body.txt", context))

    _tell_residents_on_commit(
        challenge_ids=list(call.societal_challenges.values_list("pk", flat=True)), event=f"call-published:{call.pk}",
        message=message, url=context["url"], near=None)
    return True


@transaction.atomic
def proposal_submit(*, proposal: Proposal, by) -> None:
    """Submit (lock) a draft and confirm its receipt to the people acting for the organisation."""
    proposal.submit(by=by)
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    Proposal.objects.filter(pk=proposal.pk).update(language=language)
    proposal.language = language
    context = {"proposal": proposal, "url": settings.SITE_URL + proposal.get_absolute_url(),
               "site_name": settings.SITE_NAME}
    subject = _("Proposal received: %(title)s") % {"title": proposal.title}
    body = render_to_string("pilots/email/proposal_received_body.txt", context)
    for email in _organisation_emails(proposal.organisation):
        _mail(event=f"proposal-received:{proposal.pk}", to=email, subject=subject, body=body)


@transaction.atomic
def proposal_decide(*, proposal: Proposal, by, accept: bool, reason: str = "", stage: str = Stage.IDEA) -> Pilot | None:
    """Accept (into a pilot) or reject (with a reason the partner sees) a submitted proposal, and tell the
    partner. Once decided, every assessment of it becomes visible to the team."""
    pilot = proposal.accept(by=by, stage=stage, reason=reason) if accept else None
    if not accept:
        proposal.reject(by=by, reason=reason)
    context = {"proposal": proposal, "pilot": pilot, "url": settings.SITE_URL + proposal.get_absolute_url(),
               "site_name": settings.SITE_NAME}
    with translation.override(proposal.language or translation.get_language()):  # the partner's, not the team's
        subject = _("Decision on your proposal: %(title)s") % {"title": proposal.title}
        body = render_to_string("pilots/email/proposal_decision_body.txt", context)
    for email in _organisation_emails(proposal.organisation):
        _mail(event=f"proposal-decision:{proposal.pk}", to=email, subject=subject, body=body)
    return pilot


def nearby_box(pilot: Pilot) -> dict | None:
    """The pilot's neighbourhood as a bounding box and the radius around it, or None without a neighbourhood."""
    if pilot.area is None:
        return None
    area = pilot.area
    return {"bbox": [area.min_longitude, area.min_latitude, area.max_longitude, area.max_latitude],
            "metres": settings.PILOT_NEARBY_METRES}


@transaction.atomic
def pilot_advance(*, pilot: Pilot, to_stage: str, by, **gate) -> Gate:
    """Pilot.advance, and on a "go" the residents involved hear of it (closing the loop). Pages and the API
    change stages through this; Pilot.advance raises GateRefused as before."""
    recorded = pilot.advance(to_stage, by=by, **gate)
    if recorded.decision == Gate.Decision.GO:
        pilot_tell_residents(pilot=pilot, gate=recorded)
    return recorded


def pilot_tell_residents(*, pilot: Pilot, gate: Gate) -> None:
    """Closing the loop, after a "go" at a gate or a stop: the residents whose reports are linked to the
    pilot's challenges (and who follow them) hear of the new stage or the stop, with the team's message.
    When the pilot starts (moves to stage "pilot") only those near its neighbourhood hear of it, if it has one."""
    challenge_ids = list(pilot.societal_challenges.public().values_list("pk", flat=True))
    if not challenge_ids:
        return
    starts = gate.to_stage == Stage.PILOT
    context = {"pilot": pilot, "gate": gate, "starts": starts, "stopped": gate.to_stage == Stage.STOPPED,
               "url": settings.SITE_URL + pilot.get_absolute_url(), "site_name": settings.SITE_NAME}

    def message() -> tuple[str, str]:
        stage = Stage(gate.to_stage).label
        if starts:
            subject = _("A pilot starts near you: %(title)s") % {"title": pilot.title}
        elif gate.to_stage == Stage.STOPPED:
            subject = _("Pilot stopped: %(title)s") % {"title": pilot.title}
        else:
            subject = _("Pilot “%(title)s” is now in stage “%(stage)s”") % {"title": pilot.title, "stage": stage}
        return subject, render_to_string("pilots/email/pilot_news_body.txt", {**context, "stage": stage})

    _tell_residents_on_commit(
        challenge_ids=challenge_ids, event=f"pilot-gate:{gate.pk}", message=message, url=context["url"],
        near=nearby_box(pilot) if starts else None)



class TooManyAnswers(Exception):
    """More feedback answers (new or changed) from one account or address than PILOT_FEEDBACK_RATE_PER_HOUR."""


def _count_feedback(who: str) -> int:
    """Count one answer (or confirmation mail) of `who` in the current hour (the hub's one rate-limit counter)."""
    count, _seconds_left = ratelimit.hit(f"ratelimit:pilot-feedback:{who}", 3600)
    return count


def _email_key(email: str) -> str:
    return "email-" + hashlib.sha256(email.lower().encode()).hexdigest()[:32]  # no address in the cache's keys


@transaction.atomic
def feedback_answer(*, question: FeedbackQuestion, user=None, email: str = "", value: int, comment: str = "",
                    asked_at: dt.datetime | None = None) -> FeedbackAnswer:
    """A resident's answer to a pilot's question: one per account, or per confirmed email address (`email`, given
    only once confirmed: feedback_confirmation_send), changeable, rate-limited; the pilot's two feedback KPIs for
    this week are recomputed with it. The pilot must be at stage pilot or scaling. `asked_at`, for an answer by
    email: when it was sent; an older link does not undo an answer changed since (raises NewerAnswer)."""
    email = (email or "").strip().lower()
    if (user is None) == (not email):
        raise ValueError("an answer is given by an account or by a confirmed email address")
    pilot = Pilot.objects.select_for_update().get(pk=question.pilot_id)
    if not pilot.accepts_feedback:
        raise ValidationError(_("This pilot does not ask for feedback at this stage."), code="stage")
    if value not in range(1, 6):
        raise ValidationError(_("Choose an answer from 1 to 5."), code="value")
    if _count_feedback(f"user-{user.pk}" if user is not None else _email_key(email)) > settings.PILOT_FEEDBACK_RATE_PER_HOUR:
        raise TooManyAnswers
    comment = clean_text(comment or "")[:1000]
    who = {"user": user} if user is not None else {"email": email}
    answer, created = FeedbackAnswer.objects.select_for_update().get_or_create(
        question=question, **who, defaults={"value": value, "comment": comment})
    if not created:
        if asked_at is not None and answer.updated_at > asked_at:
            raise NewerAnswer
        if answer.comment != comment:  # a changed comment is moderated afresh
            answer.is_hidden, answer.hidden_reason, answer.hidden_by = False, "", None
        answer.value, answer.comment = value, comment
        answer.save()
    question.refresh_kpis()
    return answer


class NewerAnswer(Exception):
    """A confirmation link for an answer older than the one this address has given since."""


FEEDBACK_CONFIRM_SALT = "pilots.feedback-confirm"
FEEDBACK_CONFIRM_MAX_AGE = 7 * 24 * 3600  # as participation's confirmation links


def feedback_token(*, question: FeedbackQuestion, email: str, value: int, comment: str) -> str:
    """The signed link that confirms an answer given with an email address: the answer itself travels in it,
    so nothing is stored, and nothing counts, before the address is confirmed."""
    return signing.TimestampSigner(salt=FEEDBACK_CONFIRM_SALT).sign_object(
        {"q": question.pk, "e": email.strip().lower(), "v": value, "c": comment, "t": time.time()}, compress=True)


def read_feedback_token(token: str) -> dict:
    """{"question", "email", "value", "comment", "asked_at"}; raises signing.BadSignature (SignatureExpired)."""
    data = signing.TimestampSigner(salt=FEEDBACK_CONFIRM_SALT).unsign_object(token, max_age=FEEDBACK_CONFIRM_MAX_AGE)
    return {"question": int(data["q"]), "email": str(data["e"]), "value": int(data["v"]), "comment": str(data["c"]),
            "asked_at": dt.datetime.fromtimestamp(float(data["t"]), tz=dt.UTC)}


def feedback_email_allowed(network: str) -> bool:
    """Confirmation emails asked from one connection: PILOT_FEEDBACK_RATE_PER_HOUR an hour (counts this one)."""
    return _count_feedback(f"net-{network}") <= settings.PILOT_FEEDBACK_RATE_PER_HOUR


def feedback_confirmation_send(*, question: FeedbackQuestion, email: str, value: int, comment: str) -> None:
    """Email the link that confirms an answer given without an account, in the language of the moment."""
    token = feedback_token(question=question, email=email, value=value, comment=comment)
    context = {"pilot": question.pilot, "question": question, "value": value, "site_name": settings.SITE_NAME,
               "url": settings.SITE_URL + reverse("pilots:feedback-confirm", args=[token])}
    subject = _("Confirm your answer about the pilot “%(title)s”") % {"title": question.pilot.title}
    body = render_to_string("pilots/email/feedback_confirm_body.txt", context)
    _mail(event=f"feedback-confirm:{hashlib.sha256(token.encode()).hexdigest()[:16]}", to=email, subject=subject,
          body=body)
