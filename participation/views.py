"""Residents' pages: report a concern, find reports (list, map, GeoJSON), support, comment, follow, my reports.

Staff pages (triage, issue #4) are in staff_views.py. Who may do what: participation/permissions.py.
"""
from __future__ import annotations

import json
import math
import mimetypes

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from participation import duplicates, geocoding, permissions, ratelimit, services, tokens, workflow
from participation.filters import ReportFilterForm, kept_html
from participation.forms import (
    CommentForm,
    HideForm,
    MyReportsRequestForm,
    ReasonForm,
    ReporterAdditionForm,
    ReportForm,
    SupportForm,
    address_choice_value,
)
from participation.models import (
    Comment,
    Follow,
    Report,
    ReporterContact,
    ReportPhoto,
    StatusChange,
    Support,
    report_url_pattern,
)
from participation.pagination import CappedPaginator
from smartcity.fastjson import json_response
from smartcity.files import MEDIA_LOCATION, stored_file_response
from smartcity.pagecache import public_page
from smartcity.permissions import is_staff_member
from smartcity.problems import invalid_query

# At most this many reports on the map (the newest); a street-level view at 1,000,000 reports holds ~4,000.
GEOJSON_MAX_FEATURES = 500
REPORTS_PER_PAGE = 20
# The public list counts at most this many reports past the page shown ("more than 1000 reports").
REPORTS_COUNT_CAP = 1000


def _get_report_for_user(request: HttpRequest, pk: int, reports=None) -> Report:
    """The one access helper for a report's public pages: hidden reports are for staff only. `reports` may
    annotate more (report_detail); it is Report.objects with its theme, area and category otherwise."""
    reports = Report.objects.select_related("theme", "area", "category") if reports is None else reports
    report = get_object_or_404(reports, pk=pk)
    if report.is_hidden and not permissions.can_see_hidden_report(request.user, report):
        raise Http404
    return report


def _map_context() -> dict:
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    return {
        "map_tile_url": settings.MAP_TILE_URL,
        "map_attribution": settings.MAP_TILE_ATTRIBUTION,
        "map_bounds": f"{min_lon},{min_lat},{max_lon},{max_lat}",
    }


def nearby_reports(*, latitude: float | None, longitude: float | None, title: str = "",
                   description: str = "") -> list[Report]:
    """"Already reported?": the public open reports nearby, ranked as the staff's possible duplicates are
    (participation/duplicates.py, one ranking in one place)."""
    if latitude is None or longitude is None:
        return []
    return [candidate.report for candidate in duplicates.possible_duplicates(
        latitude=latitude, longitude=longitude, title=title, description=description, public_only=True)]


# --- Reporting a concern ---------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def report_create(request: HttpRequest) -> HttpResponse:
    anonymous = not request.user.is_authenticated
    # People without an account count per client address; signed-in residents per account; staff not at all.
    counted = anonymous or not is_staff_member(request.user)
    per_hour = settings.ANONYMOUS_REPORTS_PER_HOUR if anonymous else settings.RESIDENT_REPORTS_PER_HOUR
    # Looked at before anything else: a client over its limit costs one cache read. Its photos are
    # not read, nor kept; its text comes back with the message (issue #14).
    wait = ratelimit.exceeded(request, "report", per_hour) if request.method == "POST" and counted else 0
    form = ReportForm(request.POST or None, request.FILES or None, user=request.user, read_photos=not wait)
    # Only its id: where the resident is sent (the report's page), not the whole row.
    if form.submission_key and (sent := Report.objects.sent_with_key(form.submission_key)):
        return _already_received(request, sent)  # the same form again: a double click, a retry after a timeout
    candidates: list[Report] = []
    notice = None
    if request.method == "POST" and not wait:
        valid = form.is_valid()
        # A complete form is a real attempt (its photos were read): it counts once, whether it ends in
        # a report, in "already reported?" or in a refused photo. Counting is also the check that
        # holds when several posts of one client arrive at once.
        if counted and form.complete:
            wait = ratelimit.retry_after(request, "report", per_hour)
        if valid and not wait:
            data = form.cleaned_data
            if not data["nearby_seen"]:
                candidates = nearby_reports(latitude=data["latitude"], longitude=data["longitude"],
                                            title=data["title"], description=data["description"])
            notice = form.notice
            if not candidates and notice is None:
                photos = form.all_photos()
                try:
                    report = services.report_create(
                        title=data["title"], description=data["description"], latitude=data["latitude"],
                        longitude=data["longitude"], theme=data["theme"], address=data["address"],
                        category=data.get("category"), answers=data.get("answers") or {},
                        author=None if anonymous else request.user, email=data.get("email") or "", photos=photos,
                        submission_key=form.submission_key,
                    )
                except IntegrityError:
                    # A copy of this form sent at the same moment made the report first (the unique key decided).
                    sent = form.submission_key and Report.objects.sent_with_key(form.submission_key)
                    if not sent:
                        raise
                    return _already_received(request, sent)
                form.forget_kept_photos()
                reference = {"reference": report.case_reference}
                if data.get("email"):
                    messages.success(request, _("Thank you! Your report has reference %(reference)s. We sent you an "
                                                "email with it: confirm your address to receive updates.") % reference)
                else:
                    messages.success(request, _("Thank you! Your report has been received. Its reference is "
                                                "%(reference)s: note it down to find the report again.") % reference)
                return redirect(report)
        if not wait:
            form.keep_photos(owner=ratelimit.client_key(request))
    context = {"form": form, "candidates": candidates, "notice": notice, "limited": bool(wait),
               "address_choices": [(address_choice_value(place), place.label) for place in form.address_candidates],
               **_map_context()}
    response = render(request, "participation/report_form.html", context, status=429 if wait else 200)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def _already_received(request: HttpRequest, report: Report) -> HttpResponse:
    messages.info(request, _("This report had already been received."))
    return redirect(report)


@require_GET
def report_nearby(request: HttpRequest) -> HttpResponse:
    """The htmx partial of the report form: reports nearby or alike, updated as the resident types and clicks."""
    def number(name: str) -> float | None:
        try:
            value = float(request.GET.get(name, ""))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    candidates = nearby_reports(latitude=number("latitude"), longitude=number("longitude"),
                                title=request.GET.get("title", "")[:200],
                                description=request.GET.get("description", "")[:Report.DESCRIPTION_MAX_LENGTH])
    return render(request, "participation/_nearby.html", {"candidates": candidates})


# --- Finding reports -------------------------------------------------------------------------------
def _public_reports():
    return Report.objects.public().select_related("theme", "area", "category").order_by("-created_at", "-pk")


@require_GET
@public_page
def report_list(request: HttpRequest) -> HttpResponse:
    filters = ReportFilterForm(request.GET or None)
    reports = filters.filter(_public_reports())
    page = CappedPaginator(reports, REPORTS_PER_PAGE, cap=REPORTS_COUNT_CAP).get_page(request.GET.get("page"))
    return render(request, "participation/report_list.html", {
        "filters": filters, "filters_html": kept_html("public-filter", request.GET.urlencode(), filters.render_fields),
        "page": page})


@require_GET
@public_page
def report_map(request: HttpRequest) -> HttpResponse:
    filters = ReportFilterForm(request.GET or None)
    reports = filters.filter(_public_reports())
    # The text alternative of the map: the same reports as a list, the newest first.
    page = CappedPaginator(reports, REPORTS_PER_PAGE, cap=REPORTS_COUNT_CAP).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "geojson_query": query.urlencode(), "geojson_limit": GEOJSON_MAX_FEATURES,
               "filters_html": kept_html("public-filter", request.GET.urlencode(), filters.render_fields), **_map_context()}
    return render(request, "participation/report_map.html", context)


@require_GET
@public_page(from_second_ask=True)  # a map view's box seldom comes twice
def report_geojson(request: HttpRequest) -> HttpResponse:
    """Public reports as GeoJSON for the map, filtered like the list; `bbox` is min_lon,min_lat,max_lon,max_lat.

    At most GEOJSON_MAX_FEATURES features (the newest); `truncated` says when there were more. An invalid
    filter value is a 400 problem+json that lists it."""
    filters = ReportFilterForm(request.GET)
    if not filters.is_valid():
        return invalid_query(filters)
    reports = filters.filter(_public_reports())
    limit = GEOJSON_MAX_FEATURES
    rows = list(reports.values_list("pk", "title", "status", "latitude", "longitude", "support_count", "address",
                                    "nearest_address")[: limit + 1])
    truncated = len(rows) > limit
    # Kept light: the map needs a point, the title and its link, the status and the support count; the URL
    # is reversed once, the labels translated once, coordinates rounded to 6 decimals (about 10 cm).
    status_labels = {value: str(label) for value, label in Report.Status.choices}
    near = _("near %(address)s")
    url_pattern = report_url_pattern()
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": {"type": "Point", "coordinates": [round(longitude, 6), round(latitude, 6)]},
            "properties": {"title": title, "status": status, "status_label": status_labels[status],
                           "support_count": support_count, "url": url_pattern % pk,
                           "place": address or (near % {"address": nearest} if nearest else "")},
        }
        for pk, title, status, latitude, longitude, support_count, address, nearest in rows[:limit]
    ]
    return json_response({"type": "FeatureCollection", "features": features, "limit": limit, "truncated": truncated},
                         content_type="application/geo+json")


_SUPPORT_FORMS: dict[str, str] = {}


def _support_form_html() -> str:
    """The empty support form as rendered before in this language: the same on every report page, and about
    0.4 ms of form rendering on each page not in the page cache."""
    language = get_language()
    if language not in _SUPPORT_FORMS:
        _SUPPORT_FORMS[language] = SupportForm().render()  # a SafeString, as {{ support_form }} gave
    return _SUPPORT_FORMS[language]


@require_GET
@public_page
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Most reports have no photo, comment or challenge: the report's own query says which it has (three index
    # lookups in PostgreSQL), so a report page asks for those only when there is something to show. For a page
    # not in the page cache that is 2 queries instead of 5 (each about 0.5 ms of Django's own CPU).
    linked = Report.objects.select_related("theme", "area", "category").annotate(
        has_photos=Exists(ReportPhoto.objects.filter(report=OuterRef("pk"))),
        has_comments=Exists(Comment.objects.filter(report=OuterRef("pk"))),
        has_challenges=Exists(Report.societal_challenges.through.objects.filter(report=OuterRef("pk"))))
    report = _get_report_for_user(request, pk, linked)
    user = request.user
    timeline = StatusChange.objects.filter(report=report, is_public=True).order_by("created_at", "pk")
    comments = (Comment.objects.filter(report=report).select_related("author").order_by("created_at", "pk")
                if report.has_comments else [])
    # The pilots that tackle them, through the hub's challenge (its reverse relation, by name: participation
    # does not import pilots), in the pilots' own order.
    challenges = report.societal_challenges.public().prefetch_related("pilots") if report.has_challenges else []
    # Nobody is invited to support their own report, nor a duplicate (its supporters went to the report that stays
    # open). A reporter without an account is recognised by the manage link they opened in this browser.
    is_reporter = (user.is_authenticated and report.author_id == user.pk) or str(report.pk) in _managed(request)
    can_support = report.status != Report.Status.DUPLICATE and not is_reporter
    context = {
        "report": report,
        "photos": ReportPhoto.objects.filter(report=report) if report.has_photos else [],
        "timeline": timeline,
        "comments": comments,
        "challenges": challenges,
        "comment_form": CommentForm() if permissions.can_comment_on_report(user, report) else None,
        "support_form": _support_form_html() if not user.is_authenticated and can_support else None,
        "can_support": can_support,
        "is_reporter": is_reporter,
        "manage_url": _managed(request).get(str(report.pk), ""),
        "reopen_form": ReasonForm(required=True, label=_("What is still wrong?"), prefix="reopen")
        if user.is_authenticated and report.author_id == user.pk and report.can_still_be_reopened else None,
        "has_supported": user.is_authenticated and Support.objects.filter(report=report, user=user).exists(),
        "is_following": user.is_authenticated and Follow.objects.filter(report=report, user=user).exists(),
        "can_moderate": permissions.can_moderate_reports(user),
        "hide_form": HideForm() if permissions.can_moderate_reports(user) else None,
        **_map_context(),
    }
    return render(request, "participation/report_detail.html", context)


@require_safe
def report_photo(request: HttpRequest, name: str) -> HttpResponse:
    """A resident's photo at its MEDIA_URL address, while its report is public (hidden ones: staff only).

    The only route into MEDIA_ROOT: pending photos of unsent forms and everything else there are never
    served. Behind the proxy nginx sends the file (smartcity/files.py)."""
    photo = get_object_or_404(ReportPhoto.objects.only("image", "report_id"), image=f"reports/{name}")
    report = _get_report_for_user(request, photo.report_id)
    content_type = mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream"
    response = stored_file_response(default_storage, photo.image.name, location=MEDIA_LOCATION,
                                    content_type=content_type)
    # A photo never changes under its name; a hidden report's must not stay in shared caches.
    response["Cache-Control"] = "private, no-store" if report.is_hidden else "public, max-age=86400"
    return response


# --- Support, follow, comments ---------------------------------------------------------------------
@require_POST
def report_support(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_user(request, pk)
    if report.status == Report.Status.DUPLICATE and report.duplicate_of_id:
        messages.info(request, _("This report was merged into another one: support that one instead."))
        return redirect(report.duplicate_of)
    if request.user.is_authenticated:
        if wait := ratelimit.resident_retry_after(request, "support", settings.RESIDENT_SUPPORTS_PER_HOUR):
            messages.error(request, _("You have supported many reports in a short time. Please try again later."))
            return _limited(render(request, "participation/support_form.html", {"report": report}, status=429), wait)
        if report.author_id == request.user.pk:
            messages.info(request, _("This is your own report: it counts already."))
        elif report.add_support(user=request.user, language=services.current_language()):
            messages.success(request, _("Thank you for your support."))
        else:
            messages.info(request, _("You already support this report."))
        return redirect(report)
    form = SupportForm(request.POST)
    if form.is_valid():
        if wait := ratelimit.retry_after(request, "support", settings.ANONYMOUS_SUPPORTS_PER_HOUR):
            messages.error(request, _("Too many requests from your connection. Please try again in an hour."))
            return _limited(render(request, "participation/support_form.html", {"report": report, "form": form},
                                   status=429), wait)
        services.confirmation_email_send(purpose="support", report=report, email=form.cleaned_data["email"])
        messages.success(request, _("Almost done: follow the link in the email we sent you to count your support."))
        return redirect(report)
    return render(request, "participation/support_form.html", {"report": report, "form": form}, status=400)


def _limited(response: HttpResponse, wait: int) -> HttpResponse:
    """A 429 page says when to try again."""
    response["Retry-After"] = str(wait)
    return response


def _confirm(request: HttpRequest, token: str, purpose: str, page: dict, act) -> HttpResponse:
    """The page behind a confirmation link: GET asks (mail scanners follow links), POST confirms with `act`."""
    try:
        report_id, email = tokens.read_confirm_token(purpose, token)
    except signing.BadSignature:
        return render(request, "participation/link_invalid.html", status=400)
    report = _get_report_for_user(request, report_id)
    if request.method == "POST":
        act(report, email)
        return redirect(report)
    return render(request, "participation/confirm.html", {"report": report, **page})


@require_http_methods(["GET", "POST"])
def support_confirm(request: HttpRequest, token: str) -> HttpResponse:
    def support(report: Report, email: str) -> None:
        if report.add_support(email=email, language=services.current_language()):
            messages.success(request, _("Thank you: your support counts."))
        else:
            messages.info(request, _("You already support this report."))

    return _confirm(request, token, "support", {
        "heading": _("Confirm your support"), "text": _("Support this report with your email address?"),
        "button": _("Yes, I support it")}, support)


@require_http_methods(["GET", "POST"])
def contact_confirm(request: HttpRequest, token: str) -> HttpResponse:
    def confirm(report: Report, email: str) -> None:
        workflow.confirm_contact(report=report, email=email)
        messages.success(request, _("Your email address is confirmed. We will keep you informed."))

    return _confirm(request, token, "contact", {
        "heading": _("Confirm your email address"), "text": _("Receive an email when the city works on this report?"),
        "button": _("Yes, keep me informed")}, confirm)


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        report_id, follow_id = tokens.read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "participation/link_invalid.html", status=400)
    report = get_object_or_404(Report, pk=report_id)
    if request.method == "POST":
        if follow_id is not None:
            Follow.objects.filter(pk=follow_id, report=report).delete()
        else:
            ReporterContact.objects.filter(report=report, unsubscribed_at__isnull=True).update(
                unsubscribed_at=timezone.now()
            )
        messages.success(request, _("You will no longer receive emails about this report."))
        return redirect("smartcity:home")
    return render(request, "participation/confirm.html", {
        "report": report, "heading": _("Stop emails about this report"),
        "text": _("You will no longer receive updates about this report."), "button": _("Stop the emails"),
    })


@login_required
@require_POST
def report_follow(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_user(request, pk)
    if request.POST.get("action") == "unfollow":
        Follow.objects.filter(report=report, user=request.user).delete()
        messages.success(request, _("You no longer follow this report."))
    elif permissions.can_follow_report(request.user, report):
        Follow.objects.update_or_create(report=report, user=request.user,
                                        defaults={"language": services.current_language()})
        messages.success(request, _("You follow this report: we email you when the city works on it."))
    return redirect(report)


@login_required
@require_POST
def comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_user(request, pk)
    if not permissions.can_comment_on_report(request.user, report):
        raise Http404
    form = CommentForm(request.POST)
    if form.is_valid() and (wait := ratelimit.resident_retry_after(request, "comment", settings.RESIDENT_COMMENTS_PER_HOUR)):
        form.add_error(None, _("You have placed many comments in a short time. Please try again later: "
                               "your text is still here."))
        return _limited(render(request, "participation/comment_form.html", {"report": report, "form": form},
                               status=429), wait)
    if form.is_valid():
        Comment.objects.create(report=report, author=request.user, text=form.cleaned_data["text"])
        messages.success(request, _("Your comment has been placed."))
        return redirect(f"{report.get_absolute_url()}#comments")
    return render(request, "participation/comment_form.html", {"report": report, "form": form}, status=400)


@login_required
@require_POST
def report_hide(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_moderate_reports(request.user):
        raise Http404
    report = get_object_or_404(Report, pk=pk)
    form = HideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for hiding."))
        return redirect(report)
    hidden = request.POST.get("action") != "show"
    workflow.hide(report=report, actor=request.user, reason=form.cleaned_data["reason"], hidden=hidden)
    messages.success(request, _("The report is hidden.") if hidden else _("The report is visible again."))
    return redirect(report)


@login_required
@require_POST
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_moderate_reports(request.user):
        raise Http404
    comment = get_object_or_404(Comment.objects.select_related("report"), pk=pk)
    form = HideForm(request.POST)
    if form.is_valid():
        workflow.hide_comment(comment=comment, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("The comment is hidden."))
    else:
        messages.error(request, _("Give a reason for hiding."))
    return redirect(f"{comment.report.get_absolute_url()}#comments")


# --- The reporter's own page: "manage my report" (no account needed) -----------------------------------
MANAGED_SESSION_KEY = "participation:managed-reports"
REPORTER_PHOTOS_MAX = 6


def _managed(request: HttpRequest) -> dict[str, str]:
    """Report id -> manage link of the reports whose manage link was opened in this browser session."""
    return request.session.get(MANAGED_SESSION_KEY, {}) if hasattr(request, "session") else {}


@require_http_methods(["GET", "POST"])
def report_manage(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the private link in the reporter's emails: status and messages, add information or a
    photo, withdraw, "still a problem?", stop the emails. The signed link is the permission; it names the
    report and the contact address, and stops working when the address is erased (retention)."""
    try:
        report_id, email = tokens.read_manage_token(token)
    except signing.SignatureExpired:
        return render(request, "participation/link_expired.html", {"form": MyReportsRequestForm()}, status=410)
    except signing.BadSignature:
        return render(request, "participation/link_invalid.html", status=400)
    contact = ReporterContact.objects.filter(report_id=report_id, email__iexact=email, erased_at__isnull=True).first()
    if contact is None:
        return render(request, "participation/link_invalid.html", status=400)
    report = get_object_or_404(Report.objects.select_related("theme", "area", "department", "duplicate_of"), pk=report_id)
    url = request.path
    managed = {**_managed(request), str(report.pk): url}
    request.session[MANAGED_SESSION_KEY] = dict(list(managed.items())[-20:])

    photos_left = REPORTER_PHOTOS_MAX - report.photos.count()
    action = request.POST.get("action", "")
    addition_form = ReporterAdditionForm(request.POST if action == "add" else None,
                                         request.FILES if action == "add" else None, photos_left=photos_left, prefix="add")
    reopening = report.status == Report.Status.RESOLVED
    reason_form = ReasonForm(request.POST if action in ("withdraw", "reopen") else None,
                             prefix="reopen" if reopening else "withdraw", required=reopening,
                             label=_("What is still wrong?") if reopening else None)
    if request.method == "POST":
        # Using the link proves the address is the reporter's: it is confirmed by any action taken here.
        workflow.confirm_contact(report=report, email=contact.email)
        try:
            if action == "add" and addition_form.is_valid():
                services.reporter_addition_add(report=report, text=addition_form.cleaned_data.get("text", ""),
                                               photo=addition_form.processed)
                messages.success(request, _("Thank you: your addition is on the report."))
                return redirect(url)
            if action == "withdraw" and reason_form.is_valid():
                workflow.withdraw(report=report, reason=reason_form.cleaned_data["reason"])
                messages.success(request, _("Your report is withdrawn."))
                return redirect(url)
            if action == "reopen" and reason_form.is_valid():
                workflow.reopen_by_reporter(report=report, reason=reason_form.cleaned_data["reason"])
                messages.success(request, _("Your report is open again: the city looks at it once more."))
                return redirect(url)
            if action == "unsubscribe":
                ReporterContact.objects.filter(pk=contact.pk).update(unsubscribed_at=timezone.now())
                messages.success(request, _("You will no longer receive emails about this report."))
                return redirect(url)
            if action == "subscribe":
                ReporterContact.objects.filter(pk=contact.pk).update(unsubscribed_at=None)
                messages.success(request, _("You will receive emails about this report again."))
                return redirect(url)
        except workflow.WorkflowError as error:
            messages.error(request, error.message)
            return redirect(url)
    contact.refresh_from_db()
    context = {
        "report": report,
        "contact": contact,
        "timeline": StatusChange.objects.filter(report=report, is_public=True).order_by("created_at", "pk"),
        "additions": Comment.objects.filter(report=report, by_reporter=True).order_by("created_at", "pk"),
        "photos": ReportPhoto.objects.filter(report=report),
        "addition_form": addition_form,
        "reason_form": reason_form,
        "action": action,
        "reopen_days": settings.REOPEN_REQUEST_DAYS,
    }
    # A form shown again with its errors is a page like any other (200, as the report form): the browser logs a 400
    # as a failed load.
    return render(request, "participation/report_manage.html", context)


@require_http_methods(["GET", "POST"])
def my_reports_request(request: HttpRequest) -> HttpResponse:
    """"Send me my reports": an email with a private link to each report made with an address. The answer is
    the same whether or not the address made reports, so the page never tells who reported what."""
    form = MyReportsRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if wait := ratelimit.retry_after(request, "my-reports", settings.ANONYMOUS_REPORTS_PER_HOUR):
            messages.error(request, _("Too many requests from your connection. Please try again in an hour."))
            return _limited(render(request, "participation/my_reports_request.html", {"form": form}, status=429), wait)
        email = form.cleaned_data["email"]
        # One email per address and hour at most, whoever asks: the form cannot be used to flood someone's inbox.
        if ratelimit.hit(f"my-reports-address:{email.lower()}", 3600)[0] <= 1:
            services.my_reports_send(email=email)
        messages.success(request, _("If reports were made with %(email)s, we have emailed a link to each of them. "
                                    "Check your inbox (and your spam folder) in a few minutes.") % {"email": email})
        return redirect("participation:my-reports-request")
    return render(request, "participation/my_reports_request.html", {"form": form})


@require_POST
@login_required
def report_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """"Still a problem?" from the reporter with an account (the one without one uses their manage page)."""
    report = _get_report_for_user(request, pk)
    if report.author_id != request.user.pk:
        raise PermissionDenied
    form = ReasonForm(request.POST, required=True, prefix="reopen")
    if not form.is_valid():
        messages.error(request, _("Tell us what is still wrong."))
        return redirect(report)
    try:
        workflow.reopen_by_reporter(report=report, reason=form.cleaned_data["reason"])
    except workflow.WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your report is open again: the city looks at it once more."))
    return redirect(report)


# --- My reports, export, account deletion ----------------------------------------------------------
@require_http_methods(["GET", "POST"])
def my_reports(request: HttpRequest) -> HttpResponse:
    """Signed in: the reports one made, supports and follows. Without an account: "send me my reports"."""
    if not request.user.is_authenticated or request.method == "POST":
        return my_reports_request(request)
    return _my_reports(request)


def _my_reports(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "reports": Report.objects.filter(author=user).select_related("theme", "area", "category").order_by("-created_at"),
        "supported": Report.objects.public().filter(supports__user=user).select_related("theme", "area", "category")
        .order_by("-created_at"),
        "followed": Report.objects.public().filter(follows__user=user).exclude(author=user)
        .select_related("theme", "area", "category").order_by("-created_at"),
    }
    return render(request, "participation/my_reports.html", context)


@login_required
@require_GET
def my_export(request: HttpRequest) -> HttpResponse:
    data = services.account_export(user=request.user)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        user = request.user
        logout(request)
        services.account_delete(user=user)
        messages.success(request, _("Your account has been deleted. Your reports remain public without your name."))
        return redirect("smartcity:home")
    return render(request, "participation/account_delete.html")


# --- Addresses for the report form (participation/geocoding.py) -----------------------------------------
def _geocoder_answer(request: HttpRequest, lookup) -> JsonResponse:
    """Rate-limited per client (each look-up may reach an outside service); a failing service is "nothing
    found" with `unavailable`, so the form falls back on the map."""
    if not ratelimit.allow(request, "geocode", settings.GEOCODER_REQUESTS_PER_HOUR):
        return JsonResponse({"results": [], "limited": True}, status=429)
    try:
        places = lookup(geocoding.geocoder())
    except geocoding.GeocoderUnavailable:
        return JsonResponse({"results": [], "unavailable": True})
    return JsonResponse({"results": [place.as_dict() for place in places]})


@require_GET
def address_search(request: HttpRequest) -> JsonResponse:
    """Addresses matching `q` (at least 2, at most 100 characters), for the form's combobox."""
    text = request.GET.get("q", "").strip()
    if not (geocoding.MIN_QUERY_LENGTH <= len(text) <= geocoding.MAX_QUERY_LENGTH):
        return JsonResponse({"results": []})
    return _geocoder_answer(request, lambda backend: backend.search(text))


@require_GET
def address_reverse(request: HttpRequest) -> JsonResponse:
    """The nearest address within 50 m of `latitude`, `longitude` (a click on the map, "use my location")."""
    try:
        latitude, longitude = float(request.GET.get("latitude", "")), float(request.GET.get("longitude", ""))
    except ValueError:
        return JsonResponse({"results": []}, status=400)
    if not (math.isfinite(latitude) and math.isfinite(longitude)) or not geocoding.in_bounds(latitude, longitude):
        return JsonResponse({"results": []})

    def nearest(backend) -> list:
        place = backend.reverse(latitude, longitude)
        return [place] if place is not None else []
    return _geocoder_answer(request, nearest)
