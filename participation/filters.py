"""The one report filter: the public list and map, their GeoJSON, the open-data exports, the reports API and
the staff's triage queue read the same query parameters through this form, and filter with the same
QuerySet method (ReportQuerySet.filter_by).

An invalid value is never ignored, nor does it match everything: pages show the form's error (and no
reports), the API and the GeoJSON answer 400 problem+json listing it in `invalidParams`.
"""
from __future__ import annotations

import math

from django import forms
from django.utils.translation import gettext, gettext_lazy as _

from participation.models import Report
from smartcity.models import Area, Department, Theme

OPEN = "open"
UNROUTED = "none"
OVERDUE = "overdue"
AGES = [("", _("Any age")), (OVERDUE, _("Overdue")), ("2", _("Older than 2 days")), ("7", _("Older than a week")),
        ("30", _("Older than a month"))]


class BboxField(forms.CharField):
    """min_lon,min_lat,max_lon,max_lat (WGS84) -> a tuple of four floats."""

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            box = tuple(float(part) for part in value.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or not all(math.isfinite(number) for number in box):
            raise forms.ValidationError(gettext("Give four numbers: min_lon,min_lat,max_lon,max_lat."), code="invalid")
        min_lon, min_lat, max_lon, max_lat = box
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise forms.ValidationError(
                gettext("Not a box: longitudes lie within -180..180 and latitudes within -90..90, minimum first."),
                code="out_of_range")
        return box


class ReportFilterForm(forms.Form):
    """The filters of every list of reports, read from the query string. `staff=True` adds the queue's own:
    the department (or not routed yet) and the age (or overdue)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search"}))
    theme = forms.ModelChoiceField(label=_("Theme"), queryset=Theme.objects.all(), required=False,
                                   to_field_name="slug", empty_label=_("All themes"))
    status = forms.ChoiceField(label=_("Status"), required=False)
    neighbourhood = forms.ModelChoiceField(label=_("Neighbourhood"), queryset=Area.objects.only("slug", "name"),
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

    def clean(self):
        """A search for "#12" (or, in the staff's queue, "12") is a search for report number 12."""
        data = super().clean()
        text = (data.get("q") or "").strip()
        number = text[1:] if text.startswith("#") else text if self.staff else ""
        if number.isdigit() and len(number) <= 18:
            data["q"], data["number"] = "", int(number)
        return data

    def filter(self, reports, *, status: bool = True):
        """`reports` narrowed by the valid filters; none when a value is invalid (the form says which).
        `status=False` leaves the status out: the queue counts per status within the other filters."""
        if not self.is_bound:
            return reports
        if not self.is_valid():
            return reports.none()
        filters = dict(self.cleaned_data)
        if not status:
            filters.pop("status", None)
        return reports.filter_by(**filters)
