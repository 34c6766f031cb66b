"""The statistics page's filters: period, interval, theme and neighbourhood."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from insight import maths
from insight.figures import Filters, today
from smartcity import dates
from smartcity.models import Area, Theme

MAX_DAYS = 10 * 366
MAX_WEEKS = 160


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class StatisticsFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=DateInput(), validators=dates.range_validators())
    end = forms.DateField(label=_("Up to and including"), required=False, widget=DateInput(),
                          validators=dates.range_validators())
    interval = forms.ChoiceField(label=_("Count per"), choices=[("month", _("month")), ("week", _("week"))],
                                 required=False)
    theme = forms.ModelChoiceField(label=_("Theme"), queryset=Theme.objects.all(), required=False, to_field_name="slug",
                                   empty_label=_("All themes"))
    area = forms.ModelChoiceField(label=_("Neighbourhood"), queryset=Area.objects.all(), required=False,
                                  to_field_name="slug", empty_label=_("All neighbourhoods"))

    def __init__(self, data=None, *, with_areas: bool = True, initial: dict | None = None):
        super().__init__(data, initial=initial)
        if not with_areas:
            del self.fields["area"]

    @staticmethod
    def default_period() -> tuple[dt.date, dt.date]:
        """Twelve calendar months: this one so far and the eleven before it."""
        end = today()
        start = maths.month_start(end)
        for _month in range(11):
            start = maths.month_start(start - dt.timedelta(days=1))
        return start, end

    def clean(self):
        data = super().clean()
        default_start, default_end = self.default_period()
        end = data.get("end") or default_end
        start = data.get("start") or (default_start if not data.get("end") else end - dt.timedelta(days=364))
        interval = data.get("interval") or "month"
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("start", _("The start of the period must come before its end."))
        elif (end - start).days > MAX_DAYS:
            self.add_error("start", _("Choose a period of at most ten years."))
        elif interval == "week" and len(maths.periods(start, end, "week")) > MAX_WEEKS:
            self.add_error("interval", _("Count per month for periods longer than three years."))
        data.update(start=start, end=end, interval=interval)
        return data

    @classmethod
    def showing(cls, filters: Filters, *, with_areas: bool) -> "StatisticsFilterForm":
        """An unbound form that shows the filters in use, defaults included."""
        return cls(with_areas=with_areas, initial={
            "start": filters.start, "end": filters.end, "interval": filters.interval, "theme": filters.theme,
            "area": filters.area,
        })

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(start=data["start"], end=data["end"], interval=data["interval"], theme=data.get("theme"),
                       area=data.get("area"))
