"""The staff workspace for reports: the triage queue and the staff report page with its actions.

Every action posts to its own small view, which hands the work to participation.workflow (the state
machine) and redirects back. Who may do what is in participation/permissions.py.
"""
from __future__ import annotations

import html
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from participation import duplicates, permissions, services, workflow
from participation.filters import SORT_CHOICES, ReportFilterForm, kept_html
from participation.models import (
    QUEUE_CHOICES_VERSION,
    Category,
    Comment,
    Correction,
    InternalNote,
    Open311Request,
    Report,
    ReporterContact,
    ReportPhoto,
    SavedFilter,
    StatusChange,
    answer_rows,
    format_case_reference,
    queue_themes,
    report_url_pattern,
)
from participation.pagination import CappedPaginator
from participation.staff_forms import (
    BulkForm,
    CategoryForm,
    LocationForm,
    MergeForm,
    MergeHereForm,
    MessageForm,
    NoteForm,
    PriorityForm,
    RouteForm,
    SavedFilterForm,
    SocietalChallengeLinkForm,
    StatusForm,
)
from smartcity import pagecache
from smartcity.fastjson import json_response
from smartcity.models import Area, Department, SocietalChallenge
from smartcity.permissions import (
    can_curate_societal_challenges,
    department_ids,
    is_innovation_team,
    is_triager,
    staff_required,
)
from smartcity.problems import invalid_query

QUEUE_PAGE_SIZE = 50
QUEUE_COUNT_CAP = 1000
QUEUE_MAP_MAX = 2000  # markers on the queue's map: the newest of the filter
BULK_MAX = 500  # reports one bulk action on the whole filter may touch


def _get_report_for_staff(request: HttpRequest, pk: int, *, write: bool = False) -> Report:
    """The report as staff see it. With write=True the user must be able to act on it now; a user who
    acted on an older version passes, so that the workflow can tell them the report changed meanwhile,
    which explains more than a refusal."""
    report = get_object_or_404(Report.objects.select_related("theme", "area", "department", "duplicate_of", "category", "category__parent"), pk=pk)
    if write and not permissions.can_act_on_report(request.user, report):
        if request.POST.get("version", str(report.version)) == str(report.version):
            raise PermissionDenied
    return report


# --- The queue ------------------------------------------------------------------------------------------------
def _landing(request: HttpRequest) -> dict[str, str] | None:
    """Where each user lands when they open the workspace without a filter: triagers (and administrators) on the
    new reports, a department member on their own department's open work. None: the innovation team's
    landing is elsewhere: matching's flags page, which shows the open flags and the pilots awaiting a gate decision."""
    user = request.user
    if is_triager(user):
        return {"status": Report.Status.NEW}
    departments = department_ids(user)
    if departments:
        department = Department.objects.filter(pk__in=departments).order_by("name").first()
        return {"status": "open", "department": department.slug if department else ""}
    if is_innovation_team(user):
        return None
    return {"status": Report.Status.NEW}


def _departments() -> list[Department]:
    """Every department, kept in each process until one is written (the queue's filter offers them)."""
    return pagecache.kept(QUEUE_CHOICES_VERSION, "departments", lambda: list(Department.objects.all()))


def _queue_form(request: HttpRequest, data) -> ReportFilterForm:
    return ReportFilterForm(data, staff=True, departments=_departments())


@staff_required
@require_GET
@pagecache.versions_read_once(QUEUE_CHOICES_VERSION, services.QUEUE_COUNTS_VERSION)  # 2 reads of Redis, not 7
def report_queue(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if not data:
        landing = _landing(request)
        if landing is None:
            return redirect("matching:match-list")
        data.update(landing)
    data.setdefault("status", Report.Status.NEW)  # the default view: new reports, oldest first
    form = _queue_form(request, data)
    # The counts per status are taken within every filter but the status; an invalid value shows no reports.
    within = form.filter(Report.objects.all(), status=False)
    if form.is_valid():
        counts = services.queue_counts(form.filters(), lambda: within.aggregate(
            overdue=Count("pk", filter=Report.objects.overdue_condition()),
            **{status: Count("pk", filter=Q(status=status)) for status in Report.Status.values},
        ))
    else:
        counts = dict.fromkeys([*Report.Status.values, "overdue"], 0)
    # Only the columns the rows show, the first photo's file alongside; the names of themes, categories,
    # neighbourhoods and departments come from those this process keeps (_queue_names).
    first_photo = ReportPhoto.objects.filter(report=OuterRef("pk")).order_by("position", "pk").values("image")[:1]
    reports = form.filter(Report.objects.all()).order_by(*form.ordering()).annotate(
        photo=Subquery(first_photo)).values_list(*QUEUE_ROW_FIELDS, "photo")
    map_view = request.GET.get("view") == "map"
    # Counted exactly up to a thousand rows past the page: the cached counts above may be seconds old.
    page = CappedPaginator(reports, QUEUE_PAGE_SIZE, cap=QUEUE_COUNT_CAP).get_page(
        1 if map_view else request.GET.get("page"))

    query = data.copy()
    query.pop("page", None)
    query.pop("view", None)
    other_filters = query.copy()
    other_filters.pop("status", None)
    sort_links = []
    for value, label in SORT_CHOICES:
        sorted_query = query.copy()
        sorted_query["sort"] = value
        sort_links.append((value, label, sorted_query.urlencode()))
    return render(request, "participation/staff_report_list.html", {
        "form": form,
        "page": page,
        "rows": "" if map_view else _queue_rows(page),
        "form_html": kept_html("filter", data.urlencode(), form.render),
        "map_view": map_view,
        "counts": [(value, label, counts[value]) for value, label in Report.Status.choices],
        "overdue_count": counts["overdue"],
        "counts_seconds": settings.QUEUE_COUNTS_SECONDS,
        "query": query.urlencode(),
        "other_filters": other_filters.urlencode(),
        "sort_links": sort_links,
        "current_sort": form.cleaned_data.get("sort", "") if form.is_valid() else "",
        "saved_filters": SavedFilter.objects.filter(user=request.user),
        "saved_filter_name_html": kept_html("saved-filter-name", "", lambda: SavedFilterForm()["name"].as_field_group()),
        "bulk_form_html": kept_html("bulk", "", lambda: BulkForm().render()),
        "bulk_max": BULK_MAX,
        "perms_curate": can_curate_societal_challenges(request.user),
        "status_colours": STATUS_COLOURS,
        **_map_settings(),
    })


# The columns of a queue row, in the order _queue_rows reads them (then the first photo's file).
QUEUE_ROW_FIELDS = ("pk", "version", "created_at", "title", "status", "priority", "support_count", "address",
                    "nearest_address", "theme_id", "category_id", "area_id", "department_id")


def _queue_names() -> dict[str, dict]:
    """The themes' (with their targets), categories', neighbourhoods' and departments' names as the rows show them,
    escaped, in the current language: kept in each process until one of those tables is written."""
    def load() -> dict[str, dict]:
        return {
            "themes": {theme.pk: (html.escape(theme.localized_name), theme.target_days) for theme in queue_themes()},
            "categories": {category.pk: html.escape(category.localized_name) for category in Category.objects.all()},
            "areas": {pk: html.escape(name) for pk, name in Area.objects.values_list("pk", "name")},
            "departments": {department.pk: html.escape(department.name) for department in _departments()},
        }

    return pagecache.kept(QUEUE_CHOICES_VERSION, ("names", get_language()), load)


def _queue_rows(page) -> str:
    """The queue's table rows, built in one pass here: through the template's tags and filters 50 rows took
    most of the page's CPU (2,500 variable lookups). The rows are plain values (QUEUE_ROW_FIELDS), not models;
    the names come from _queue_names. The same markup as before; every value escaped."""
    # Plain strings (html.escape, not Django's escape): a SafeString in an f-string calls its __str__ each time.
    labels = {name: html.escape(label) for name, label in (
        ("age", _("Age")), ("category", _("Category and theme")), ("department", _("Department")), ("place", _("Place")),
        ("priority", _("Priority")), ("reference", _("Reference")), ("status", _("Status")), ("supporters", _("Supporters")))}
    not_routed, overdue_badge = html.escape(_("Not routed")), html.escape(_("Overdue"))
    # str(): capfirst and escape of a lazy label are lazy too, translated again at each use
    statuses = {value: html.escape(capfirst(str(label))) for value, label in Report.Status.choices}
    priorities = {value: html.escape(capfirst(str(label))) for value, label in Report.Priority.choices}
    high = f'<strong class="site-priority-high"><span aria-hidden="true">▲ </span>{priorities[Report.Priority.HIGH]}</strong>'
    near, select = _("near %(address)s"), _("Select report %(number)s")
    names = _queue_names()
    themes, categories, areas, departments = names["themes"], names["categories"], names["areas"], names["departments"]
    pattern = report_url_pattern("participation:staff-report-detail")
    media = default_storage.url
    now, zone = timezone.now(), timezone.get_current_timezone()  # the zone once, not per row
    days: dict[int, str] = {}
    out = []
    for (pk, version, created_at, title, status, priority, support_count, address, nearest_address, theme_id, category_id,
         area_id, department_id, photo) in page:
        theme_name, target = themes.get(theme_id, ("", None))
        age = (now - created_at).days
        overdue = bool(target and status in Report.OPEN_STATUSES and age > target)
        if category_id:
            category = categories.get(category_id, "")
            if theme_id:
                category += f'<br><span class="site-meta">{theme_name}</span>'
        else:
            category = theme_name or "–"
        area = areas.get(area_id, "")
        place = address or (near % {"address": nearest_address} if nearest_address else "")
        if place:
            place = html.escape(place) + (f'<br><span class="site-meta">{area}</span>' if area else "")
        else:
            place = area or "–"
        department = departments.get(department_id, "") if department_id else f"<em>{not_routed}</em>"
        if age not in days:
            days[age] = html.escape(ngettext("%(counter)s day", "%(counter)s days", age) % {"counter": age})
        local = created_at.astimezone(zone)
        out.append(
            f'<tr class="utrecht-table__row site-queue-row{" site-overdue" if overdue else ""}" data-row>'
            f'<td class="utrecht-table__cell site-col-select"><input type="checkbox" class="utrecht-checkbox '
            f'utrecht-checkbox--html-input" name="reports" value="{pk}:{version}" id="select-{pk}" '
            f'data-select aria-label="{html.escape(select % {"number": pk})}"></td>'
            f'<td class="utrecht-table__cell" data-label="{labels["reference"]}"><span class="site-reference">'
            f'{html.escape(format_case_reference(pk, local.year))}</span></td>'
            f'<td class="utrecht-table__cell site-col-photo">'
            + (f'<img src="{html.escape(media(photo))}" alt="" width="48" height="48" loading="lazy" class="site-thumb">'
               if photo else "")
            + f'</td><td class="utrecht-table__cell site-col-title"><a class="utrecht-link" href="{pattern % pk}" '
            f'data-open>{html.escape(title)}</a></td>'
            f'<td class="utrecht-table__cell" data-label="{labels["category"]}">{category}</td>'
            f'<td class="utrecht-table__cell" data-label="{labels["place"]}">{place}</td>'
            f'<td class="utrecht-table__cell" data-label="{labels["department"]}">{department}</td>'
            f'<td class="utrecht-table__cell" data-label="{labels["status"]}"><span class="site-status '
            f'site-status--{html.escape(status)}">{statuses.get(status) or html.escape(status)}</span></td>'
            f'<td class="utrecht-table__cell" data-label="{labels["age"]}"><time datetime="'
            f'{local.isoformat()}">{days[age]}</time>'
            + (f' <strong class="site-overdue__badge"><span aria-hidden="true">⚠ </span>{overdue_badge}</strong>'
               if overdue else "")
            + f'</td><td class="utrecht-table__cell site-col-number" data-label="{labels["supporters"]}">'
            f'{support_count}</td>'
            f'<td class="utrecht-table__cell" data-label="{labels["priority"]}">'
            f'{high if priority == Report.Priority.HIGH else priorities.get(priority) or html.escape(capfirst(priority))}</td></tr>\n'
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


# The map's marker colours per status, named in the legend too (colour is never the only sign: the popup says it).
STATUS_COLOURS = {
    Report.Status.NEW: "#b3261e", Report.Status.ACCEPTED: "#8a5300", Report.Status.IN_PROGRESS: "#0b57d0",
    Report.Status.RESOLVED: "#146c2e", Report.Status.NOT_ACTIONABLE: "#5f6368", Report.Status.DUPLICATE: "#5f6368",
}


def _map_settings() -> dict:
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    return {"map_tile_url": settings.MAP_TILE_URL, "map_attribution": settings.MAP_TILE_ATTRIBUTION,
            "map_bounds": f"{min_lon},{min_lat},{max_lon},{max_lat}"}


@staff_required
@require_GET
def report_queue_markers(request: HttpRequest) -> HttpResponse:
    """The queue's current filter for its map: the newest QUEUE_MAP_MAX reports, each a row `[number, title, status,
    latitude, longitude]`, with what every marker of a status shares (its label and colour) and the link to a report's
    staff page (`{number}` in it) once. An invalid filter is a 400 problem+json that lists it.

    Rows rather than GeoJSON features: 2,000 features with their labels, colours and links repeated weighed 571 KB and
    took 18 ms of CPU to build and encode; the rows go out as the database gives them, encoded by orjson
    (docs/performance.md)."""
    form = _queue_form(request, request.GET)
    if not form.is_valid():
        return invalid_query(form)
    rows = list(form.filter(Report.objects.all()).order_by("-created_at").values_list(
        "pk", "title", "status", "latitude", "longitude")[: QUEUE_MAP_MAX + 1])
    return json_response({
        "truncated": len(rows) > QUEUE_MAP_MAX,
        "statuses": {value: {"label": str(label), "colour": STATUS_COLOURS[value]} for value, label in Report.Status.choices},
        "url": report_url_pattern("participation:staff-report-detail").replace("%d", "{number}"),
        "reports": rows[:QUEUE_MAP_MAX],
    })


def _bulk_selection(request: HttpRequest, form: BulkForm) -> list[tuple[int, int | None]]:
    """The reports a bulk action touches: the ticked rows, or every report of the queue's filter (at most BULK_MAX)."""
    if request.POST.get("scope") != "filtered":
        return form.selected
    filtered = _queue_form(request, QueryDict(request.POST.get("query", "")))
    return list(filtered.filter(Report.objects.all()).order_by(*filtered.ordering()).values_list("pk", "version")[:BULK_MAX])


@staff_required
@require_POST
def report_bulk(request: HttpRequest) -> HttpResponse:
    """A bulk action first says what it will do and to how many reports; it runs when confirmed."""
    form = BulkForm(request.POST)
    queue_url = reverse("participation:staff-report-list") + "?" + request.POST.get("query", "")
    if request.POST.get("scope") == "filtered":
        form.selected = _bulk_selection(request, form)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(queue_url)
    department = form.cleaned_data["department"] if form.cleaned_data["action"] == BulkForm.ROUTE else None
    if request.POST.get("confirm") != "yes":
        titles = dict(Report.objects.filter(pk__in=[pk for pk, _v in form.selected[:20]]).values_list("pk", "title"))
        return render(request, "participation/staff_report_bulk_confirm.html", {
            "form": form, "department": department, "count": len(form.selected),
            "to_status": Report.Status(form.cleaned_data["to_status"]).label if form.cleaned_data["to_status"] else "",
            "shown": [(pk, titles.get(pk, "")) for pk, _v in form.selected[:20]],
            "selected": [f"{pk}:{version}" for pk, version in form.selected],
            "query": request.POST.get("query", ""), "queue_url": queue_url,
        })
    outcomes = workflow.bulk(
        reports=form.selected, actor=request.user, department=department,
        to_status=form.cleaned_data["to_status"], message=form.cleaned_data["message"],
    )
    done = sum(outcome.ok for outcome in outcomes)
    messages.success(request, ngettext("%(count)s report changed.", "%(count)s reports changed.", done) % {"count": done})
    for outcome in outcomes:
        if outcome.ok:
            messages.success(request, _("Report %(number)s: done, now “%(status)s”%(department)s.") % {
                "number": outcome.report.pk, "status": outcome.report.get_status_display(),
                "department": f" ({outcome.report.department.name})" if outcome.report.department_id else "",
            })
        else:
            messages.error(request, _("Report %(number)s: not changed. %(reason)s") % {
                "number": outcome.report.pk, "reason": outcome.message})
    return redirect(queue_url)


@staff_required
@require_POST
def saved_filter_create(request: HttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    if form.is_valid():
        SavedFilter.objects.update_or_create(
            user=request.user, name=form.cleaned_data["name"], defaults={"query": form.cleaned_data["query"]}
        )
        messages.success(request, _("Filter “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
    else:
        messages.error(request, _("Give the filter a name."))
    return redirect(reverse("participation:staff-report-list") + "?" + request.POST.get("query", ""))


@staff_required
@require_POST
def saved_filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(SavedFilter, pk=pk, user=request.user)
    saved.delete()
    messages.success(request, _("Filter “%(name)s” deleted.") % {"name": saved.name})
    return redirect("participation:staff-report-list")


def _answers(report: Report) -> list[tuple[str, str]]:
    """The answers to the category's questions (given on the web form or through Open311), then the other attributes
    an Open311 client sent (a theme's questions, or what the client knows of the report)."""
    rows = answer_rows(report.answers, report.category.all_questions() if report.category else []) if report.answers else []
    if report.source != Report.Source.OPEN311:
        return rows
    request = Open311Request.objects.filter(report=report).only("attributes").first()
    others = {code: value for code, value in (request.attributes if request else {}).items() if code not in report.answers}
    if others:
        rows += answer_rows(others, report.theme.service_questions.all() if report.theme else [])
    return rows


# --- One report -----------------------------------------------------------------------------------------------
def _render_detail(request: HttpRequest, report: Report, *, status: int = 200, refusal: str = "", **forms) -> HttpResponse:
    """The staff report page. Forms passed in (bound, with errors) replace the fresh ones."""
    report = Report.objects.select_related("theme", "area", "department", "duplicate_of", "author", "category",
                                           "category__parent").prefetch_related(
        "photos",
        Prefetch("history", queryset=StatusChange.objects.select_related("actor", "from_department", "to_department")),
        Prefetch("notes", queryset=InternalNote.objects.select_related("author")),
        Prefetch("comments", queryset=Comment.objects.filter(is_hidden=False).select_related("author")),
        Prefetch("societal_challenges", queryset=SocietalChallenge.objects.order_by("title")),
        Prefetch("duplicates", queryset=Report.objects.only("pk", "title", "duplicate_of_id")),
        Prefetch("corrections", queryset=Correction.objects.select_related("actor")),
    ).get(pk=report.pk)
    can_act = permissions.can_act_on_report(request.user, report)
    contact = None
    if permissions.can_see_reporter_contact(request.user, report):
        contact = ReporterContact.objects.filter(report=report).first()
    initial = {"version": report.version}
    status_form = StatusForm(initial=initial, report=report)
    context = {
        "report": report,
        "answers": _answers(report),
        "refusal": refusal,
        "can_act": can_act,
        "can_link": permissions.can_link_report_to_societal_challenge(request.user, report),
        "can_see_contact": permissions.can_see_reporter_contact(request.user, report),
        "contact": contact,
        "route_form": RouteForm(initial=initial),
        "category_form": CategoryForm(initial={**initial, "category": report.category_id, "theme": report.theme_id}),
        "status_form": status_form if status_form.fields["to_status"].choices else None,
        "message_form": MessageForm(initial=initial),
        "note_form": NoteForm(),
        "merge_form": MergeForm(initial=initial) if Report.Status.DUPLICATE in workflow.TRANSITIONS[report.status] else None,
        "link_form": SocietalChallengeLinkForm(initial={"societal_challenges": list(report.societal_challenges.all())}),
        "priority_form": PriorityForm(initial={**initial, "priority": report.priority}),
        "location_form": LocationForm(initial={**initial, "latitude": report.latitude, "longitude": report.longitude}),
        "candidates": _duplicate_candidates(report) if report.is_open else [],
        "nearby": _nearby_markers(report),
        "duplicate_metres": settings.DUPLICATE_DISTANCE_METRES,
        "duplicate_days": settings.DUPLICATE_WINDOW_DAYS,
        "status_colours": STATUS_COLOURS,
        **_map_settings(),
    }
    for name, form in forms.items():
        if hasattr(form, "data") and form.is_bound:
            form.data = form.data.copy()
            form.data["version"] = report.version  # resubmitting now acts on the state shown
        if name == "status_form":
            form.fields["to_status"].choices = StatusForm(report=report).fields["to_status"].choices
        context[name] = form
    return render(request, "participation/staff_report_detail.html", context, status=status)


def _duplicate_candidates(report: Report) -> list[duplicates.Candidate]:
    """The possible duplicates, each with what a merge into this report carries over (one query for all)."""
    candidates = duplicates.duplicates_of(report)
    carried = {row["pk"]: row for row in Report.objects.filter(pk__in=[c.report.pk for c in candidates]).values("pk").annotate(
        supporters=Count("supports", distinct=True), followers=Count("follows", distinct=True),
        photos=Count("photos", distinct=True))}
    for candidate in candidates:
        candidate.carried = carried.get(candidate.report.pk, {})  # type: ignore[attr-defined]
    return candidates


NEARBY_METRES = 500
NEARBY_CLOSED_DAYS = 30
NEARBY_MAX = 100


def _nearby_markers(report: Report) -> list[dict]:
    """Reports around this one for its map: open ones, and those closed in the last NEARBY_CLOSED_DAYS days."""
    since = timezone.now() - timedelta(days=NEARBY_CLOSED_DAYS)
    rows = Report.objects.near(report.latitude, report.longitude, NEARBY_METRES).exclude(pk=report.pk).filter(
        Q(status__in=Report.OPEN_STATUSES) | Q(closed_at__gte=since)).order_by("-created_at").values_list(
        "pk", "title", "status", "latitude", "longitude")[:NEARBY_MAX]
    labels = dict(Report.Status.choices)
    return [{"number": pk, "title": title, "status": str(labels[status]), "colour": STATUS_COLOURS[status],
             "lat": latitude, "lon": longitude, "url": reverse("participation:staff-report-detail", args=[pk])}
            for pk, title, status, latitude, longitude in rows]


def _done(request: HttpRequest, report: Report, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("participation:staff-report-detail", report.pk)


def _refused(request: HttpRequest, report: Report, error: workflow.WorkflowError, name: str, form) -> HttpResponse:
    """Show why nothing happened at the top of the page, with the current state and the civil servant's input kept."""
    changed = isinstance(error, workflow.ReportChanged)
    return _render_detail(request, report, status=409 if changed else 400, refusal=error.message, **{name: form})


@staff_required
@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_staff(request, pk)
    return _render_detail(request, report)


def _act_on_report(request: HttpRequest, pk: int, *, form, name: str, act) -> HttpResponse:
    """One staff form on a report's page: `form(report)` binds it, `act(report, cleaned_data)` calls the workflow and
    returns what to tell the civil servant. Invalid input shows the form's errors (400); a refusal of the workflow
    shows why, with the input kept (400, or 409 when someone changed the report meanwhile)."""
    report = _get_report_for_staff(request, pk, write=True)
    bound = form(report)
    if not bound.is_valid():
        return _render_detail(request, report, status=400, **{name: bound})
    try:
        text = act(report, bound.cleaned_data)
    except workflow.WorkflowError as error:
        return _refused(request, report, error, name, bound)
    return _done(request, report, text)


@staff_required
@require_POST
def report_route(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        workflow.route(report=report, actor=request.user, **data)
        return _("Routed to %(department)s.") % {"department": data["department"].name}

    return _act_on_report(request, pk, form=lambda report: RouteForm(request.POST), name="route_form", act=act)


@staff_required
@require_POST
def report_category(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        workflow.change_category(report=report, actor=request.user, **data)
        return _("Category and theme saved.")

    return _act_on_report(request, pk, form=lambda report: CategoryForm(request.POST), name="category_form", act=act)


@staff_required
@require_POST
def report_status(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        change = workflow.change_status(report=report, actor=request.user, **data)
        return _("The report is now “%(status)s”.") % {"status": change.get_to_status_display()}

    return _act_on_report(request, pk, form=lambda report: StatusForm(request.POST, report=report), name="status_form",
                          act=act)


@staff_required
@require_POST
def report_message(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        workflow.post_message(report=report, actor=request.user, **data)
        return _("Your message was published and will be emailed to the reporter and followers.")

    return _act_on_report(request, pk, form=lambda report: MessageForm(request.POST), name="message_form", act=act)


@staff_required
@require_POST
def report_note(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        workflow.add_note(report=report, actor=request.user, text=data["text"])
        return _("Note added.")

    return _act_on_report(request, pk, form=lambda report: NoteForm(request.POST), name="note_form", act=act)


@staff_required
@require_POST
def report_merge(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_staff(request, pk, write=True)
    form = MergeForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, report, status=400, merge_form=form)
    target = form.cleaned_data["target"]
    try:
        workflow.merge(report=report, target=target, actor=request.user, message=form.cleaned_data["message"],
                       version=form.cleaned_data["version"])
    except workflow.WorkflowError as error:
        return _refused(request, report, error, "merge_form", form)
    messages.success(request, _("Report %(number)s was merged into this report.") % {"number": report.pk})
    return redirect("participation:staff-report-detail", target.pk)


@staff_required
@require_POST
def report_merge_here(request: HttpRequest, pk: int) -> HttpResponse:
    """One click on a possible duplicate: that report is merged into this one."""
    report = _get_report_for_staff(request, pk)
    form = MergeHereForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, report, status=400, refusal=_("Choose a report to merge into this one."))
    duplicate = form.cleaned_data["duplicate"]
    try:
        workflow.merge(report=duplicate, target=report, actor=request.user, message=form.cleaned_data["message"],
                       version=form.cleaned_data["version"])
    except workflow.WorkflowError as error:
        return _render_detail(request, report, status=409 if isinstance(error, workflow.ReportChanged) else 400,
                              refusal=error.message)
    return _done(request, report, _("Report %(number)s was merged into this report.") % {"number": duplicate.pk})


@staff_required
@require_POST
def report_priority(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        workflow.set_priority(report=report, actor=request.user, **data)
        return _("Priority set to “%(priority)s”.") % {"priority": Report.Priority(data["priority"]).label}

    return _act_on_report(request, pk, form=lambda report: PriorityForm(request.POST), name="priority_form", act=act)


@staff_required
@require_POST
def report_move(request: HttpRequest, pk: int) -> HttpResponse:
    def act(report: Report, data: dict) -> str:
        workflow.move(report=report, actor=request.user, **data)
        return _("The location was corrected.")

    return _act_on_report(request, pk, form=lambda report: LocationForm(request.POST), name="location_form", act=act)


@staff_required
@require_POST
def report_societal_challenges(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_staff(request, pk)
    if not permissions.can_link_report_to_societal_challenge(request.user, report):
        raise PermissionDenied
    form = SocietalChallengeLinkForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, report, status=400, link_form=form)
    chosen = set(form.cleaned_data["societal_challenges"])
    current = set(report.societal_challenges.all())
    # Closed challenges are not offered on the form, so a link to one is kept.
    offered = set(form.fields["societal_challenges"].queryset)
    try:
        workflow.link_societal_challenges(report=report, actor=request.user, link=list(chosen - current),
                                          unlink=list((current & offered) - chosen))
    except workflow.WorkflowError as error:
        return _refused(request, report, error, "link_form", form)
    return _done(request, report, _("Links to societal challenges saved."))
