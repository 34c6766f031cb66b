"""The one report filter: the public list and map, their GeoJSON, the open-data exports, the reports API and
the staff's triage queue read the same query parameters through this form, and filter with the same
QuerySet method (ReportQuerySet.filter_by).

A malformed value is never ignored, nor does it match everything: pages show the form's error (and no
reports), the API and the GeoJSON answer 400 problem+json listing it in `invalidParams`. A well-formed
value that names nothing (a theme slug no theme has, a box with no reports in it) matches no report: the
API's document can say what is well-formed, not which themes exist (participation/api.py documents the
parameters with the patterns below, and the API's conformance tests hold it to them).
"""
from __future__ import annotations

import re
from collections.abc import Callable

from django import forms
from django.core.validators import validate_slug
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from participation.models import QUEUE_CHOICES_VERSION, Report
from smartcity import pagecache
from smartcity.models import Area, Department, Theme

# min_lon,min_lat,max_lon,max_lat in plain decimals. An empty value (the web form's "no box") filters nothing.
BBOX_PATTERN = r"^(-?[0-9]{1,3}(\.[0-9]{1,12})?(,-?[0-9]{1,3}(\.[0-9]{1,12})?){3})?$"
Q_MAX_LENGTH = 200
SLUG_PATTERN = r"^[-a-zA-Z0-9_]*$"  # Django's validate_slug, or empty: "all themes"
OPEN = "open"
UNROUTED = "none"
OVERDUE = "overdue"
# The queue's orders: the value in the query string -> the columns (the report's number breaks ties).
SORTS = {
    "": ("created_at", "pk"),
    "newest": ("-created_at", "-pk"),
    "supports": ("-support_count", "created_at", "pk"),
    "priority": ("priority", "created_at", "pk"),  # "high" sorts before "normal"
}
SORT_CHOICES = [("", _("Oldest first")), ("newest", _("Newest first")), ("supports", _("Most supporters first")),
                ("priority", _("High priority first"))]
AGES = [("", _("Any age")), (OVERDUE, _("Overdue")), ("2", _("Older than 2 days")), ("7", _("Older than a week")),
        ("30", _("Older than a month"))]


class Nothing:
    """A well-formed slug that names no theme or neighbourhood: the filter matches no report."""

    pk = None

    def __repr__(self) -> str:
        return "nothing"


NOTHING = Nothing()


class SlugChoiceField(forms.ModelChoiceField):
    """A theme or neighbourhood by its slug; a slug that names none is NOTHING, a malformed one an error."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        validate_slug(value)
        return self.queryset.filter(**{self.to_field_name: value}).first() or NOTHING

    def validate(self, value):
        forms.Field.validate(self, value)


class BboxField(forms.CharField):
    """min_lon,min_lat,max_lon,max_lat (WGS84) -> a tuple of four floats. A box the wrong way round, or off the
    globe, holds no reports."""

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        if not re.fullmatch(BBOX_PATTERN, value):
            raise forms.ValidationError(gettext("Give four numbers: min_lon,min_lat,max_lon,max_lat."), code="invalid")
        return tuple(float(part) for part in value.split(","))


class ReportFilterForm(forms.Form):
    """The filters of every list of reports, read from the query string. `staff=True` adds the queue's own:
    the department (or not routed yet) and the age (or overdue)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=Q_MAX_LENGTH,
                        widget=forms.TextInput(attrs={"type": "search"}))
    theme = SlugChoiceField(label=_("Theme"), queryset=Theme.objects.all(), required=False,
                            to_field_name="slug", empty_label=_("All themes"))
    status = forms.ChoiceField(label=_("Status"), required=False)
    neighbourhood = SlugChoiceField(label=_("Neighbourhood"), queryset=Area.objects.only("slug", "name"),
                                    required=False, to_field_name="slug", empty_label=_("All neighbourhoods"))
    bbox = BboxField(required=False)

    def __init__(self, *args, staff: bool = False, departments: list[Department] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        self.fields["status"].choices = [("", _("All statuses")), (OPEN, _("All open")), *Report.Status.choices]
        if staff:
            departments = Department.objects.all() if departments is None else departments
            self.fields["department"] = forms.ChoiceField(label=_("Department"), required=False, choices=[
                ("", _("All departments")), (UNROUTED, _("Not routed yet")),
                *[(department.slug, department.name) for department in departments],
            ])
            self.fields["age"] = forms.ChoiceField(label=_("Age"), required=False, choices=AGES)
            self.fields["sort"] = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def clean(self):
        """A search for "#12" (or, in the staff's queue, "12") is a search for report number 12."""
        data = super().clean()
        text = (data.get("q") or "").strip()
        number = text[1:] if text.startswith("#") else text if self.staff else ""
        if number.isdigit() and len(number) <= 18:
            data["q"], data["number"] = "", int(number)
        return data

    def render_fields(self) -> SafeString:
        """The visible fields as field groups, then the hidden ones: the public list's and map's filter form."""
        # each part rendered (and escaped) by its template; the line break as the template had it
        return mark_safe("".join(field.as_field_group() for field in self.visible_fields()) + "\n  " + "".join(  # noqa: S308
            field.as_widget() for field in self.hidden_fields()))

    def filters(self) -> dict:
        """The cleaned filters without the order (a valid form only)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "sort"}

    def ordering(self) -> tuple[str, ...]:
        return SORTS[self.cleaned_data.get("sort") or ""] if self.is_valid() else SORTS[""]

    def filter(self, reports, *, status: bool = True):
        """`reports` narrowed by the valid filters; none when a value is invalid (the form says which).
        `status=False` leaves the status out: the queue counts per status within the other filters."""
        if not self.is_bound:
            return reports
        if not self.is_valid():
            return reports.none()
        filters = self.filters()
        if NOTHING in filters.values():
            return reports.none()
        if not status:
            filters.pop("status", None)
        return reports.filter_by(**filters)


def kept_html(name: str, key: str, render: Callable[[], str]) -> str:
    """A filter form (or the queue's bulk form) as rendered before for the same language and query string, kept in
    each process until a theme, neighbourhood, department or category is written (pagecache.kept): their option
    lists change a few times a year, and rendering them took a third of the queue's CPU and 2 ms of every public
    list or map page not in the page cache. Long query strings are rendered each time."""
    if len(key) > 256:
        return render()
    return pagecache.kept(QUEUE_CHOICES_VERSION, (name, get_language(), key), render)
