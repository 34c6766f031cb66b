"""Cross-cutting workflows of residents' reports (STYLE.md rule 2): plain functions, keyword-only, atomic."""
from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
from smartcity import pagecache
from smartcity.geo import point_in_geometry
from smartcity.models import Area, Theme
from smartcity.outbox import outbox_enqueue
from smartcity.text import clean_line

# Moved by every write to the neighbourhoods (participation/apps.py); each process keeps them until then.
AREAS_VERSION = "participation:areas"


def area_for_point(latitude: float, longitude: float) -> Area | None:
    """The neighbourhood containing the point, from the neighbourhoods this process keeps until one is written
    (pagecache.kept): not a query on every report posted."""
    areas = pagecache.kept(AREAS_VERSION, "all", lambda: list(Area.objects.order_by("pk")))
    return next((area for area in areas if area.min_latitude <= latitude <= area.max_latitude
                 and area.min_longitude <= longitude <= area.max_longitude
                 and point_in_geometry(longitude, latitude, area.geometry)), None)


@transaction.atomic
def report_create(
    *,
    title: str,
    description: str,
    latitude: float,
    longitude: float,
    theme: Theme | None = None,
    category: Category | None = None,
    answers: dict | None = None,
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
        area=area_for_point(latitude, longitude),
        author=author,
        reference=reference,
        source=source,
        submission_key=submission_key,
        answers=answers or {},
    )
    for position, photo in enumerate(photos):
        ReportPhoto.objects.create(
            report=report, image=photo.as_file(), width=photo.width, height=photo.height, position=position
        )
    history = [StatusChange(report=report, actor=author, from_status="", to_status=Report.Status.NEW,
                            notified_at=timezone.now())]
    if department is not None:
        with translation.override(settings.LANGUAGE_CODE):  # history is written in the city's language
            message = gettext("Routed automatically by category “%(category)s”.") % {"category": category}
        history.append(StatusChange(
            report=report, actor=None, from_status=Report.Status.NEW, to_status=Report.Status.NEW,
            to_department=department, message=message, is_public=False, created_at=timezone.now(),
        ))
    StatusChange.objects.append(history)  # one INSERT, in this order
    account_email = (author.email or "").lower() if author is not None else ""
    # On the website a resident's account address is their contact; an integration's is not.
    contact_email = (email or "").strip().lower() or (account_email if source == Report.Source.WEB else "")
    language = current_language()
    if contact_email:
        contact = ReporterContact.objects.create(
            report=report,
            email=contact_email,
            confirmed_at=timezone.now() if contact_email == account_email else None,
            language=language,
        )
        if contact.confirmed_at is None:
            confirmation_email_send(purpose="contact", report=report, email=contact.email)
    if author is not None and source == Report.Source.WEB:
        Follow.objects.get_or_create(report=report, user=author, defaults={"language": language})
    return report


def current_language() -> str:
    """The interface language now (a request's, or the default): stored with whoever acts, so that every email to
    them is written in it."""
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def email_render(name: str, context: dict, *, language: str | None = None) -> tuple[str, str]:
    """(subject, body) of templates/participation/email/<name>_subject.txt and _body.txt, in `language` (the
    recipient's; the current one when None). Plain text: the templates turn autoescaping off, so a title such as
    "Auto's rijden te hard" reaches the subject as written, never as "Auto&#x27;s"."""
    with translation.override(language or current_language()):
        context = {"site_name": settings.SITE_NAME, "city_name": settings.CITY_NAME, **context}
        subject = clean_line(render_to_string(f"participation/email/{name}_subject.txt", context))
        body = render_to_string(f"participation/email/{name}_body.txt", context)
    return subject, body


def email_send(*, to: str, name: str, context: dict, language: str | None = None) -> None:
    """Queue one email (through the outbox, with the current transaction)."""
    subject, body = email_render(name, context, language=language)
    outbox_enqueue("smartcity.tasks.send_email", to=[to], subject=subject, body=body)


def site_url(path: str) -> str:
    """An absolute link for an email: always SITE_URL, never the host a request happened to use."""
    return settings.SITE_URL + path


def manage_url(report: Report, email: str) -> str:
    return site_url(reverse("participation:report-manage", args=[tokens.manage_token(report.pk, email)]))


def nearest_address(latitude: float, longitude: float) -> str:
    """The nearest address within 50 m, or "" (none there, or the geocoder did not answer: the report comes first)."""
    from participation.geocoding import GeocoderUnavailable, geocoder

    try:
        place = geocoder().reverse(latitude, longitude)
    except GeocoderUnavailable:
        return ""
    return place.label[:255] if place is not None else ""


NEAREST_ADDRESS_BATCH = 1000


def nearest_addresses_backfill(*, progress=None) -> int:
    """Give reports the nearest loaded address (manage.py backfill_addresses; load_addresses runs it): those placed
    before the addresses were loaded had none within 50 m, and one loaded from a coarser file may no longer be the
    nearest. The local geocoder's reverse lookup, as report_create's with GEOCODER=local: the nearest address
    within REVERSE_METRES replaces what the report has when it differs; a report with none within reach keeps its
    own, and a typed address stays (nearest_address stays empty beside it). Batches by primary key, each
    committed on its own; `updated_at` is left alone, since neither the reporter nor staff changed anything.
    `progress` (a tqdm bar) advances per report. Returns the number of reports changed."""
    from participation.geocoding import LocalGeocoder

    reverse = LocalGeocoder().reverse
    reports = Report.objects.filter(address="").order_by("pk").only("pk", "latitude", "longitude", "nearest_address")
    changed = last = 0
    while batch := list(reports.filter(pk__gt=last)[:NEAREST_ADDRESS_BATCH]):
        last = batch[-1].pk
        updated = []
        for report in batch:
            place = reverse(report.latitude, report.longitude)
            if place is not None and place.label[:255] != report.nearest_address:
                report.nearest_address = place.label[:255]
                updated.append(report)
        Report.objects.bulk_update(updated, ["nearest_address"])
        changed += len(updated)
        if progress is not None:
            progress.update(len(batch))
    return changed


def confirmation_email_send(*, purpose: str, report: Report, email: str) -> None:
    """Send the link that confirms an address given without an account, for a `purpose` of tokens.CONFIRM_SALTS:
    "contact" (the reporter's updates start once it is followed) or "support" (the support counts then).
    The reporter's email also gives the report's reference, its page and the private "manage my report" link."""
    context = {
        "report": report,
        "report_url": site_url(report.get_absolute_url()),
        "confirm_url": site_url(
            reverse(f"participation:{purpose}-confirm", args=[tokens.confirm_token(purpose, report.pk, email)])),
        "manage_url": manage_url(report, email) if purpose == "contact" else "",
        "manage_days": settings.MANAGE_LINK_DAYS,
    }
    email_send(to=email, name=f"{purpose}_confirm", context=context)


def my_reports_send(*, email: str) -> None:
    """"Send me my reports": one email to `email` with a fresh "manage my report" link for each report it made
    (the newest 50), whose contact details were not erased. Nothing is sent to an address without reports; the
    page that asks says the same either way, so it never reveals whether an address has reports."""
    email = email.strip().lower()
    contacts = list(ReporterContact.objects.filter(email__iexact=email, erased_at__isnull=True)
                    .select_related("report").order_by("-report__created_at")[:50])
    if not contacts:
        return
    reports = [{"report": contact.report, "report_url": site_url(contact.report.get_absolute_url()),
                "manage_url": manage_url(contact.report, email)} for contact in contacts]
    email_send(to=email, name="my_reports", context={"reports": reports, "manage_days": settings.MANAGE_LINK_DAYS},
               language=contacts[0].language or None)


def report_notify_public_update(*, report_id: int, status_change_id: int) -> None:
    """Email the reporter and the followers about a public status change or public message.

    Call it from inside the transaction that wrote the StatusChange (is_public=True); the email
    task is queued (in the outbox) with that transaction, and does nothing for a non-public row or a row
    that was already announced. Example (triage, issue #4):

        change = StatusChange.objects.create(report=report, ..., is_public=True)
        report_notify_public_update(report_id=report.pk, status_change_id=change.pk)

    Who receives it: every follower with an account, and the reporter's contact address if it
    was confirmed and has not unsubscribed. Each email carries its own unsubscribe link and is written in
    the recipient's language. One staff action writes one history row (workflow.act), so one email.
    """
    # Through the outbox: a broker outage delays the email, it does not lose it (smartcity/outbox.py).
    outbox_enqueue("participation.tasks.send_report_update", key=f"report-update:{status_change_id}",
                   report_id=report_id, status_change_id=status_change_id)


@dataclass
class Recipient:
    email: str
    unsubscribe_token: str
    language: str
    # The reporter's own contact address (no account): their email carries the "manage my report" link.
    is_reporter_contact: bool = False


def update_recipients(report: Report) -> list[Recipient]:
    """Everyone who gets this report's updates, each address once, with the language they used."""
    recipients: dict[str, Recipient] = {}
    follows = Follow.objects.filter(report=report, user__is_active=True).select_related("user")
    for follow in follows:
        if follow.user.email:
            address = follow.user.email.lower()
            recipients.setdefault(address, Recipient(
                address, tokens.unsubscribe_token(report_id=report.pk, follow_id=follow.pk),
                follow.language or settings.LANGUAGE_CODE))
    contact = ReporterContact.objects.filter(
        report=report, confirmed_at__isnull=False, unsubscribed_at__isnull=True, erased_at__isnull=True
    ).exclude(email="").first()
    # A reporter with an account gets updates as a follower (so unfollowing stops them), not as a contact.
    author_email = (report.author.email or "").lower() if report.author_id else ""
    if contact is not None and contact.email.lower() != author_email:
        recipients.setdefault(contact.email.lower(), Recipient(
            contact.email.lower(), tokens.unsubscribe_token(report_id=report.pk),
            contact.language or settings.LANGUAGE_CODE, is_reporter_contact=True))
    return sorted(recipients.values(), key=lambda recipient: recipient.email)


def render_update_email(*, report: Report, changes: Sequence[StatusChange], recipient: Recipient) -> tuple[str, str]:
    """One email for the public changes of one action (or of a few actions not yet announced): the status they
    ended in, the department it went to, and every message, in the recipient's language."""
    first, last = changes[0], changes[-1]
    context = {
        "report": report,
        "new_status": last.get_to_status_display() if last.to_status and last.to_status != first.from_status else "",
        "department": last.to_department.name if last.to_department_id and last.to_department_id != first.from_department_id
        else "",
        "messages": [change.message for change in changes if change.message],
        "report_url": site_url(report.get_absolute_url()),
        "manage_url": manage_url(report, recipient.email) if recipient.is_reporter_contact else "",
        "unsubscribe_url": site_url(reverse("participation:unsubscribe", args=[recipient.unsubscribe_token])),
    }
    return email_render("report_update", context, language=recipient.language)


@transaction.atomic
def reporter_addition_add(*, report: Report, text: str = "", photo: ProcessedPhoto | None = None) -> None:
    """The reporter adds information or a photo from their own page: the text shows on the report as theirs
    (a comment marked by_reporter), the photo joins the report's photos."""
    if text.strip():
        Comment.objects.create(report=report, author=report.author, text=text.strip(), by_reporter=True)
    if photo is not None:
        last = report.photos.order_by("-position").values_list("position", flat=True).first()
        ReportPhoto.objects.create(report=report, image=photo.as_file(), width=photo.width, height=photo.height,
                                   position=(last or 0) + 1)


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
QUEUE_COUNTS_VERSION = "participation:queue-counts"


def queue_counts(filters: dict, compute: Callable[[], dict[str, int]]) -> dict[str, int]:
    """The queue's counts per status (and overdue) for the filters other than the status, from the cache.

    Counting a million reports per status takes a few hundred milliseconds on every page load.
    Staff see their own and their colleagues' changes at once (each change moves the version
    below); new reports from residents show up within QUEUE_COUNTS_SECONDS.
    """
    # models (a theme, an area) by their id
    counted = repr(sorted((name, str(getattr(value, "pk", value))) for name, value in filters.items() if name != "status"))
    key = f"participation:queue-counts:{pagecache.version(QUEUE_COUNTS_VERSION)}:{hashlib.sha256(counted.encode()).hexdigest()[:32]}"
    counts = cache.get(key)
    if counts is None:
        counts = compute()
        cache.set(key, counts, settings.QUEUE_COUNTS_SECONDS)
    return counts


def queue_counts_changed() -> None:
    """Staff moved a report: every cached set of queue counts is out of date."""
    pagecache.bump(QUEUE_COUNTS_VERSION)


def residents_hear_news(sender, *, challenge_ids: list[int], event: str, message, url: str,
                        near: dict | None = None, **kwargs) -> int:
    """The hub's `residents_news` (an open call published, a pilot that starts or changes stage): email the
    residents who opted in through the follows they have, on the reports linked to those challenges, and the
    reporters whose confirmed address still gets their report's updates. With `near`, only those whose report
    lies within `near["metres"]` of `near["bbox"]`. One mail per address and event (the outbox's key), in the
    language stored with the follow or the report (`message()` renders it in the active language).
    Returns the number of mails queued."""
    reports = Report.objects.filter(societal_challenges__in=challenge_ids, is_hidden=False)
    if near:
        min_lon, min_lat, max_lon, max_lat = near["bbox"]
        metres = float(near.get("metres") or 0)
        dlat = metres / METRES_PER_DEGREE_LATITUDE
        dlon = metres / (METRES_PER_DEGREE_LATITUDE * max(math.cos(math.radians((min_lat + max_lat) / 2)), 0.01))
        reports = reports.in_bbox(min_lon - dlon, min_lat - dlat, max_lon + dlon, max_lat + dlat)
    report_ids = reports.values("pk")
    recipients: dict[str, str] = {}
    for email, language in ReporterContact.objects.filter(
        report__in=report_ids, confirmed_at__isnull=False, unsubscribed_at__isnull=True, erased_at__isnull=True,
    ).exclude(email="").order_by("pk").values_list("email", "language"):
        recipients.setdefault(email.lower(), language)
    for email, language in (Follow.objects.filter(report__in=report_ids, user__is_active=True)
                            .exclude(user__email="").order_by("pk").values_list("user__email", "language")):
        recipients[email.lower()] = language or recipients.get(email.lower(), "")  # the latest choice of a person
    rendered: dict[str, tuple[str, str]] = {}
    queued = 0
    with transaction.atomic():
        for email in sorted(recipients):
            language = recipients[email] or settings.LANGUAGE_CODE
            if language not in rendered:
                with translation.override(language):
                    rendered[language] = message()
            subject, body = rendered[language]
            if outbox_enqueue("smartcity.tasks.send_email", key=f"mail:{event}:{email}"[:200], to=[email],
                              subject=clean_line(subject), body=body) is not None:
                queued += 1
    return queued
