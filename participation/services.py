"""Cross-cutting workflows of residents' reports (STYLE.md rule 2): plain functions, keyword-only, atomic."""
from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from participation import tokens
from participation.models import (
    METRES_PER_DEGREE_LATITUDE,
    Category,
    Comment,
    Follow,
    Report,
    ReporterContact,
    ReportPhoto,
    StatusChange,
    Support,
)
from participation.photos import ProcessedPhoto
from smartcity.models import Area, Theme
from smartcity.outbox import outbox_enqueue


@transaction.atomic
def report_create(
    *,
    title: str,
    description: str,
    latitude: float,
    longitude: float,
    theme: Theme | None = None,
    category: Category | None = None,
    address: str = "",
    author=None,
    email: str = "",
    reference: str | None = None,
    source: str = Report.Source.WEB,
    photos: Sequence[ProcessedPhoto] = (),
    submission_key: uuid.UUID | None = None,
) -> Report:
    """The one place where a report comes into being, from the web form and from the API alike.

    A `submission_key` already used raises IntegrityError before anything else is written (the web
    form's one-time key: the report that has it is the answer).

    - the neighbourhood is derived from the point when areas are loaded;
    - a category with a default department routes the report to it at once ("routed automatically by
      category", a history row); without one the report waits in triage. The theme follows the category
      when none is given;
    - the contact address is stored apart from the public record; an address that is not the
      author's own account address gets a confirmation link and receives updates only after it;
    - a resident who reports from the website follows their report.
    """
    nearest = "" if address.strip() else nearest_address(latitude, longitude)
    department = category.effective_department if category is not None else None
    if category is not None and theme is None:
        theme = category.effective_theme
    report = Report.objects.create(
        title=title.strip(),
        description=description.strip(),
        latitude=latitude,
        longitude=longitude,
        theme=theme,
        category=category,
        department=department,
        address=address.strip(),
        nearest_address=nearest,
        area=Area.objects.for_point(latitude, longitude),
        author=author,
        reference=reference,
        source=source,
        submission_key=submission_key,
    )
    for position, photo in enumerate(photos):
        ReportPhoto.objects.create(
            report=report, image=photo.as_file(), width=photo.width, height=photo.height, position=position
        )
    StatusChange.objects.create(
        report=report, actor=author, from_status="", to_status=Report.Status.NEW, notified_at=timezone.now()
    )
    if department is not None:
        with translation.override(settings.LANGUAGE_CODE):  # history is written in the city's language
            message = gettext("Routed automatically by category “%(category)s”.") % {"category": category}
        StatusChange.objects.create(
            report=report, actor=None, from_status=Report.Status.NEW, to_status=Report.Status.NEW,
            to_department=department, message=message, is_public=False,
        )
    account_email = (author.email or "").lower() if author is not None else ""
    # On the website a resident's account address is their contact; an integration's is not.
    contact_email = (email or "").strip().lower() or (account_email if source == Report.Source.WEB else "")
    if contact_email:
        contact = ReporterContact.objects.create(
            report=report,
            email=contact_email,
            confirmed_at=timezone.now() if contact_email == account_email else None,
        )
        if contact.confirmed_at is None:
            confirmation_email_send(purpose="contact", report=report, email=contact.email)
    if author is not None and source == Report.Source.WEB:
        Follow.objects.get_or_create(report=report, user=author)
    return report


def nearest_address(latitude: float, longitude: float) -> str:
    """The nearest address within 50 m, or "" (none there, or the geocoder did not answer: the report comes first)."""
    from participation.geocoding import GeocoderUnavailable, geocoder

    try:
        place = geocoder().reverse(latitude, longitude)
    except GeocoderUnavailable:
        return ""
    return place.label[:255] if place is not None else ""


def confirmation_email_send(*, purpose: str, report: Report, email: str) -> None:
    """Send the link that confirms an address given without an account, for a `purpose` of tokens.CONFIRM_SALTS:
    "contact" (the reporter's updates start once it is followed) or "support" (the support counts then)."""
    context = {
        "report": report,
        "site_name": settings.SITE_NAME,
        "confirm_url": settings.SITE_URL
        + reverse(f"participation:{purpose}-confirm", args=[tokens.confirm_token(purpose, report.pk, email)]),
    }
    outbox_enqueue(
        "smartcity.tasks.send_email",
        to=[email],
        subject=render_to_string(f"participation/email/{purpose}_confirm_subject.txt", context).strip(),
        body=render_to_string(f"participation/email/{purpose}_confirm_body.txt", context),
    )


def report_notify_public_update(*, report_id: int, status_change_id: int) -> None:
    """Email the reporter and the followers about a public status change or public message.

    Call it from inside the transaction that wrote the StatusChange (is_public=True); the email
    task is queued (in the outbox) with that transaction, and does nothing for a non-public row or a row
    that was already announced. Example (triage, issue #4):

        change = StatusChange.objects.create(report=report, ..., is_public=True)
        report_notify_public_update(report_id=report.pk, status_change_id=change.pk)

    Who receives it: every follower with an account, and the reporter's contact address if it
    was confirmed and has not unsubscribed. Each email carries its own unsubscribe link.
    """
    # Through the outbox: a broker outage delays the email, it does not lose it (smartcity/outbox.py).
    outbox_enqueue("participation.tasks.send_report_update", key=f"report-update:{status_change_id}",
                   report_id=report_id, status_change_id=status_change_id)


def update_recipients(report: Report) -> list[tuple[str, str]]:
    """(email, unsubscribe token) for everyone who gets this report's updates, each address once."""
    recipients: dict[str, str] = {}
    follows = Follow.objects.filter(report=report, user__is_active=True).select_related("user")
    for follow in follows:
        if follow.user.email:
            recipients.setdefault(follow.user.email.lower(), tokens.unsubscribe_token(report_id=report.pk, follow_id=follow.pk))
    contact = ReporterContact.objects.filter(
        report=report, confirmed_at__isnull=False, unsubscribed_at__isnull=True, erased_at__isnull=True
    ).exclude(email="").first()
    # A reporter with an account gets updates as a follower (so unfollowing stops them), not as a contact.
    author_email = (report.author.email or "").lower() if report.author_id else ""
    if contact is not None and contact.email.lower() != author_email:
        recipients.setdefault(contact.email.lower(), tokens.unsubscribe_token(report_id=report.pk))
    return sorted(recipients.items())


def render_update_email(*, report: Report, change: StatusChange, unsubscribe_token: str) -> tuple[str, str]:
    context = {
        "report": report,
        "change": change,
        "site_name": settings.SITE_NAME,
        "report_url": settings.SITE_URL + report.get_absolute_url(),
        "unsubscribe_url": settings.SITE_URL + reverse("participation:unsubscribe", args=[unsubscribe_token]),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("participation/email/report_update_subject.txt", context).strip()
        body = render_to_string("participation/email/report_update_body.txt", context)
    return subject, body


@transaction.atomic
def account_delete(*, user) -> None:
    """Delete a resident's account. Their reports stay public, without author and without contact details."""
    now = timezone.now()
    ReporterContact.objects.filter(report__author=user).erase(now)
    supported = list(Support.objects.filter(user=user).values_list("report_id", flat=True))
    Report.objects.filter(author=user).update(author=None)
    Comment.objects.filter(author=user).update(author=None)
    user.delete()  # supports and follows go with the account
    for report_id, count in (
        Report.objects.filter(pk__in=supported).annotate(n=Count("supports")).values_list("pk", "n")
    ):
        Report.objects.filter(pk=report_id).update(support_count=count)


def account_export(*, user) -> dict:
    """Everything the platform holds about a resident, as JSON-ready data."""
    def iso(value):
        return value.isoformat() if value else None

    reports = Report.objects.filter(author=user).select_related("theme", "area", "contact").order_by("pk")
    return {
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "date_joined": iso(user.date_joined),
            "last_login": iso(user.last_login),
        },
        "reports": [
            {
                "id": report.pk,
                "url": settings.SITE_URL + report.get_absolute_url(),
                "title": report.title,
                "description": report.description,
                "theme": report.theme.slug if report.theme else None,
                "latitude": report.latitude,
                "longitude": report.longitude,
                "address": report.address,
                "neighbourhood": report.area.name if report.area else None,
                "status": report.status,
                "created_at": iso(report.created_at),
                "contact_email": getattr(getattr(report, "contact", None), "email", None),
            }
            for report in reports
        ],
        "supports": [
            {"report": support.report_id, "created_at": iso(support.created_at)}
            for support in Support.objects.filter(user=user).order_by("pk")
        ],
        "follows": [
            {"report": follow.report_id, "created_at": iso(follow.created_at)}
            for follow in Follow.objects.filter(user=user).order_by("pk")
        ],
        "comments": [
            {"report": comment.report_id, "text": comment.text, "created_at": iso(comment.created_at),
             "hidden": comment.is_hidden}
            for comment in Comment.objects.filter(author=user).order_by("pk")
        ],
    }


# --- Retention: personal data kept no longer than the privacy statement says ------------------------------------
def personal_data_erase_expired(*, now=None) -> dict[str, int]:
    """Erase what the privacy statement says goes: the reporter's contact details
    REPORTER_CONTACT_RETENTION_DAYS after a report closed, anonymous supporters' addresses
    SUPPORTER_EMAIL_RETENTION_DAYS after it closed (the supports keep counting). Idempotent."""
    now = now or timezone.now()
    return {
        "reporter_contacts": ReporterContact.objects.due_for_erasure(now, settings.REPORTER_CONTACT_RETENTION_DAYS)
        .erase(now),
        "supporter_emails": Support.objects.due_for_erasure(now, settings.SUPPORTER_EMAIL_RETENTION_DAYS).erase(now),
    }


# --- The triage queue's counts per status ------------------------------------------------------------------
QUEUE_COUNTS_VERSION = "participation:queue-counts-version"


def queue_counts(filters: dict, compute: Callable[[], dict[str, int]]) -> dict[str, int]:
    """The queue's counts per status (and overdue) for the filters other than the status, from the cache.

    Counting a million reports per status takes a few hundred milliseconds on every page load.
    Staff see their own and their colleagues' changes at once (each change moves the version
    below); new reports from residents show up within QUEUE_COUNTS_SECONDS.
    """
    # models (a theme, an area) by their id
    counted = repr(sorted((name, str(getattr(value, "pk", value))) for name, value in filters.items() if name != "status"))
    version = cache.get(QUEUE_COUNTS_VERSION, 0)
    key = f"participation:queue-counts:{version}:{hashlib.sha256(counted.encode()).hexdigest()[:32]}"
    counts = cache.get(key)
    if counts is None:
        counts = compute()
        cache.set(key, counts, settings.QUEUE_COUNTS_SECONDS)
    return counts


def queue_counts_changed() -> None:
    """Staff moved a report: every cached set of queue counts is out of date."""
    cache.set(QUEUE_COUNTS_VERSION, time.time_ns(), None)


def residents_hear_news(sender, *, challenge_ids: list[int], event: str, subject: str, body: str, url: str,
                        near: dict | None = None, **kwargs) -> int:
    """The hub's `residents_news` (an open call published, a pilot that starts or changes stage): email the
    residents who opted in through the follows they have, on the reports linked to those challenges, and the
    reporters whose confirmed address still gets their report's updates. With `near`, only those whose report
    lies within `near["metres"]` of `near["bbox"]`. One mail per address and event (the outbox's key).
    Returns the number of mails queued."""
    reports = Report.objects.filter(societal_challenges__in=challenge_ids, is_hidden=False)
    if near:
        min_lon, min_lat, max_lon, max_lat = near["bbox"]
        metres = float(near.get("metres") or 0)
        dlat = metres / METRES_PER_DEGREE_LATITUDE
        dlon = metres / (METRES_PER_DEGREE_LATITUDE * max(math.cos(math.radians((min_lat + max_lat) / 2)), 0.01))
        reports = reports.in_bbox(min_lon - dlon, min_lat - dlat, max_lon + dlon, max_lat + dlat)
    report_ids = reports.values("pk")
    emails = set(Follow.objects.filter(report__in=report_ids, user__is_active=True)
                 .exclude(user__email="").values_list("user__email", flat=True))
    emails |= set(ReporterContact.objects.filter(
        report__in=report_ids, confirmed_at__isnull=False, unsubscribed_at__isnull=True, erased_at__isnull=True,
    ).exclude(email="").values_list("email", flat=True))
    queued = 0
    with transaction.atomic():
        for email in sorted({email.lower() for email in emails}):
            if outbox_enqueue("smartcity.tasks.send_email", key=f"mail:{event}:{email}"[:200], to=[email],
                              subject=subject, body=body) is not None:
                queued += 1
    return queued
