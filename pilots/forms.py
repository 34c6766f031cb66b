"""Forms of the pilot portfolio. They validate and normalise; the workflows are model methods."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from pilots.models import KPI, Gate, GateCriterion, Measurement, MeasurementRow, Partner, Pilot
from smartcity.models import Area, Department, DepartmentChallenge, SocietalChallenge

MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 50_000
TIMESTAMP_COLUMNS = ("measured_at", "timestamp", "time", "date", "datetime", "tijdstip", "datum", "tid", "datum_tid")
VALUE_COLUMNS = ("value", "waarde", "värde", "varde")
SOURCE_COLUMNS = ("source", "bron", "källa", "kalla")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class PilotForm(forms.ModelForm):
    """A pilot's description and links. The stage is set only when a pilot is entered; after that it
    changes through gates."""

    class Meta:
        model = Pilot
        fields = [
            "title", "description", "stage", "lead_department", "departments", "societal_challenges",
            "department_challenges", "location", "area", "start_date", "end_date", "budget", "results_summary",
            "internal_notes", "reference",
        ]
        widgets = {
            "departments": forms.CheckboxSelectMultiple,
            "societal_challenges": forms.CheckboxSelectMultiple,
            "department_challenges": forms.CheckboxSelectMultiple,
            "start_date": DateInput,
            "end_date": DateInput,
            "description": forms.Textarea(attrs={"rows": 5}),
            "results_summary": forms.Textarea(attrs={"rows": 4}),
            "internal_notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "stage": _("For a pilot that is already under way. Later stage changes pass a gate."),
            "reference": _("An id from another system, if there is one."),
            "budget": _("Internal: not shown on public pages."),
            "internal_notes": _("Internal: not shown on public pages."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["stage"]
        self.fields["lead_department"].queryset = Department.objects.order_by("name")
        self.fields["departments"].queryset = Department.objects.order_by("name")
        self.fields["societal_challenges"].queryset = SocietalChallenge.objects.public().order_by("title")
        self.fields["department_challenges"].queryset = DepartmentChallenge.objects.select_related(
            "department").order_by("department__name", "title")
        self.fields["department_challenges"].label_from_instance = lambda c: f"{c.title} ({c.department.name})"
        self.fields["area"].queryset = Area.objects.order_by("name")

    def clean_reference(self):
        return self.cleaned_data["reference"].strip() or None if self.cleaned_data["reference"] else None

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", gettext("The end date is before the start date."))
        return cleaned


PartnerFormSet = forms.inlineformset_factory(
    Pilot, Partner, fields=["name", "kind"], extra=2, can_delete=True,
    labels={"name": _("Partner name"), "kind": _("Kind of partner")},
)


class GateForm(forms.Form):
    """The answers to a gate's criteria, the decision and its date.

    Every active criterion gets a field `answer_<key>`. A "go" needs the criteria required for the
    target stage; "no-go" and "revise" may leave answers open.
    """

    decision = forms.ChoiceField(label=_("Decision"), choices=Gate.Decision.choices, widget=forms.RadioSelect,
                                 initial=Gate.Decision.GO)
    decided_on = forms.DateField(label=_("Date of the decision"), widget=DateInput, initial=timezone.localdate)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            max_length=10_000, help_text=_("Internal: why this decision, and what happens next."))
    public_message = forms.CharField(
        label=_("Message to residents"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text=_("Public, with the reason: emailed to the residents who follow the reports linked to the pilot's "
                    "challenges, and shown on the pilot's page."))

    def __init__(self, *args, pilot: Pilot, to_stage: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pilot, self.to_stage = pilot, to_stage
        self.criteria = list(GateCriterion.objects.active())
        previous = pilot.latest_answers()
        # Required answers are required for a go; a no-go or revise may leave them open.
        going = not self.is_bound or self.data.get("decision", Gate.Decision.GO) == Gate.Decision.GO
        answer_fields = {}
        for criterion in self.criteria:
            required = going and criterion.is_required_for(to_stage)
            messages = {"required": gettext("This answer is required before the pilot can move on.")}
            if criterion.options:
                field = forms.ChoiceField(
                    choices=[("", "—")] + [(option, gettext(option)) for option in criterion.options],
                    required=required, error_messages=messages,
                )
            else:
                field = forms.CharField(required=required, max_length=10_000, error_messages=messages,
                                        widget=forms.Textarea(attrs={"rows": 3}))
            field.label = criterion.localized_question
            field.help_text = criterion.localized_help_text
            field.initial = previous.get(criterion.key, "")
            answer_fields[f"answer_{criterion.key}"] = field
        # The answers come first, then the decision about them.
        self.fields = {**answer_fields, **self.fields}

    @property
    def answers(self) -> dict[str, str]:
        return {c.key: self.cleaned_data.get(f"answer_{c.key}", "") for c in self.criteria}


class StopForm(forms.Form):
    lessons_learned = forms.CharField(
        label=_("Lessons learned"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000,
        help_text=_("What worked, what did not, and what the next pilot should do differently. Shown to residents."),
    )
    decided_on = forms.DateField(label=_("Date of the decision"), widget=DateInput, initial=timezone.localdate)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            max_length=10_000, help_text=_("Internal."))
    public_message = forms.CharField(
        label=_("Message to residents"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text=_("Public, with the reason: emailed to the residents who follow the reports linked to the pilot's "
                    "challenges, and shown on the pilot's page."))

    def clean_lessons_learned(self):
        value = self.cleaned_data["lessons_learned"].strip()
        if not value:
            raise forms.ValidationError(gettext("Write down the lessons learned before stopping a pilot."))
        return value


class KPIForm(forms.ModelForm):
    class Meta:
        model = KPI
        fields = ["name", "unit", "baseline", "target", "direction", "description"]
        widgets = {"direction": forms.RadioSelect, "description": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.instance.pilot.kpis.filter(name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(gettext("This pilot already has a KPI with this name."))
        return name

    def clean(self):
        cleaned = super().clean()
        for name in ("baseline", "target"):
            if cleaned.get(name) is not None and not math.isfinite(cleaned[name]):
                self.add_error(name, gettext("Enter a number."))
        return cleaned


class MeasurementForm(forms.ModelForm):
    class Meta:
        model = Measurement
        fields = ["measured_at", "value", "source"]
        widgets = {"measured_at": DateTimeInput}
        help_texts = {"source": _("Who or what measured it, for example a sensor id.")}

    def clean_value(self):
        value = self.cleaned_data["value"]
        if not math.isfinite(value):
            raise forms.ValidationError(gettext("Enter a number."))
        return value

    def validate_unique(self):
        """Entering a value for a moment that already has one replaces it (see the view)."""


def parse_timestamp(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; without an offset it is the city's local time."""
    text = text.strip()
    if not text:
        raise ValueError(gettext("The time is empty."))
    try:
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        raise ValueError(gettext("“%(text)s” is not a date and time (use 2026-05-01T14:30).") % {"text": text[:40]}) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def parse_number(text: str, decimal_comma: bool) -> float:
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if decimal_comma:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(gettext("“%(text)s” is not a number.") % {"text": text.strip()[:40]}) from None
    if not math.isfinite(value):
        raise ValueError(gettext("“%(text)s” is not a number.") % {"text": text.strip()[:40]})
    return value


class MeasurementImportForm(forms.Form):
    """A CSV file with a header row: a time column, a value column and optionally a source column.

    Good rows are kept in `rows`, bad ones reported in `bad_rows` with their line numbers. Commas or
    semicolons separate the columns; with semicolons a decimal comma is read as in Dutch and Swedish Excel.
    """

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("A header row with measured_at and value (and optionally source), then one measurement per "
                    "line, for example: 2026-05-01T14:30,42"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 5 MB; split it up."))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(gettext("The file is not UTF-8 text. Save it as “CSV UTF-8”.")) from None
        first_line = text.split("\n", 1)[0]
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = [column.strip().lower() for column in next(reader, [])]
        time_column = next((header.index(name) for name in TIMESTAMP_COLUMNS if name in header), None)
        value_column = next((header.index(name) for name in VALUE_COLUMNS if name in header), None)
        source_column = next((header.index(name) for name in SOURCE_COLUMNS if name in header), None)
        if time_column is None or value_column is None:
            raise forms.ValidationError(gettext(
                "The first line must name the columns, with at least measured_at and value."))
        self.rows: list[MeasurementRow] = []
        self.bad_rows: list[tuple[int, str]] = []
        default_source = f"csv:{upload.name}"[:100]
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(self.rows) + len(self.bad_rows) >= MAX_CSV_ROWS:
                raise forms.ValidationError(gettext("The file has more than %(count)s lines; split it up.")
                                            % {"count": MAX_CSV_ROWS})
            try:
                if len(cells) <= max(time_column, value_column):
                    raise ValueError(gettext("Too few columns."))
                moment = parse_timestamp(cells[time_column])
                value = parse_number(cells[value_column], decimal_comma=delimiter == ";")
            except ValueError as error:
                self.bad_rows.append((line, str(error)))
                continue
            source = cells[source_column].strip() if source_column is not None and len(cells) > source_column else ""
            self.rows.append(MeasurementRow(moment, value, source or default_source))
        if not self.rows and not self.bad_rows:
            raise forms.ValidationError(gettext("The file has no measurements."))
        return upload
