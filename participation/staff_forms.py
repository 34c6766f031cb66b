"""Forms of the staff workspace. They validate and normalise; participation.workflow does the work."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from participation import workflow
from participation.models import Category, Report, SavedFilter
from smartcity.models import Department, SocietalChallenge, Theme


class StaffForm(forms.Form):
    """The staff report page holds several forms: each gets its own id prefix, so labels and ids stay unique."""

    id_prefix = "staff"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class VersionedForm(StaffForm):
    """Carries the version of the report the civil servant saw, so a concurrent change is noticed."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RouteForm(VersionedForm):
    id_prefix = "route"

    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.all(),
                                        empty_label=_("Choose a department"))
    message = forms.CharField(label=_("Public message"), required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Emailed to the reporter and followers, and shown on the public page."))


class CategoryForm(VersionedForm):
    """Correct the category and theme (a report filed under the wrong one, or under none)."""

    id_prefix = "category"

    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    theme = forms.ModelChoiceField(label=_("Theme"), queryset=Theme.objects.all(), required=False,
                                   empty_label=_("The category's theme"))

    def __init__(self, *args, **kwargs):
        from participation.forms import category_choices

        super().__init__(*args, **kwargs)
        self.categories = {category.pk: category
                           for category in Category.objects.choosable().select_related("parent", "theme", "parent__theme")}
        self.fields["category"].choices = category_choices(self.categories.values())

    def clean_category(self) -> Category | None:
        pk = self.cleaned_data.get("category")
        return self.categories.get(pk) if pk is not None else None


class StatusForm(VersionedForm):
    id_prefix = "status"

    to_status = forms.ChoiceField(label=_("New status"))
    message = forms.CharField(
        label=_("Public message"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when you close or reopen the report. Emailed to the reporter and followers."),
    )

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer only the allowed transitions; accept any status when submitted, so that the workflow can say
        # clearly why a change is refused (the report may have moved on since the page was loaded).
        allowed = Report.Status.choices if self.is_bound else [
            (status, Report.Status(status).label) for status in workflow.allowed_targets(report)
            if status != Report.Status.ACCEPTED or report.department_id  # accepting an unrouted report is routing it
        ]
        self.fields["to_status"].choices = allowed


class MessageForm(VersionedForm):
    id_prefix = "message"

    message = forms.CharField(label=_("Message to the reporter and followers"), max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Public: emailed and shown on the report's page."))


class NoteForm(StaffForm):
    id_prefix = "note"

    text = forms.CharField(label=_("Internal note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Only civil servants see this."))


class MergeForm(VersionedForm):
    id_prefix = "merge"

    target = forms.IntegerField(label=_("Number of the report to keep"), min_value=1,
                                help_text=_("This report becomes a duplicate of that one; its supporters and followers move over."))
    message = forms.CharField(label=_("Public message"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                              initial=_("This concern was already reported. We handle it together with the other report."))

    def clean_target(self) -> Report:
        number = self.cleaned_data["target"]
        target = Report.objects.filter(pk=number).first()
        if target is None:
            raise forms.ValidationError(_("There is no report with number %(number)s."), params={"number": number})
        return target


class MergeHereForm(VersionedForm):
    """A possible duplicate merged into the report on the page; `version` is the duplicate's."""

    id_prefix = "merge-here"

    duplicate = forms.ModelChoiceField(queryset=Report.objects.all(), widget=forms.HiddenInput)
    message = forms.CharField(max_length=4000, widget=forms.HiddenInput,
                              initial=_("This concern was already reported. We handle it together with the other report."))


class PriorityForm(VersionedForm):
    id_prefix = "priority"

    priority = forms.ChoiceField(label=_("Priority"), choices=Report.Priority.choices)


class LocationForm(VersionedForm):
    """The corrected point: typed, or set by dragging the pin on the map (static/js/staff.js fills these)."""

    id_prefix = "location"

    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)


class SocietalChallengeLinkForm(StaffForm):
    id_prefix = "link"

    societal_challenges = forms.ModelMultipleChoiceField(
        label=_("Societal challenges"), required=False, widget=forms.CheckboxSelectMultiple,
        queryset=SocietalChallenge.objects.exclude(status=SocietalChallenge.Status.CLOSED).order_by("title"),
    )


class BulkForm(StaffForm):
    id_prefix = "bulk"

    """One action for a selection from the queue. The selected reports arrive as "id:version" values."""

    ROUTE, STATUS = "route", "status"

    action = forms.ChoiceField(label=_("Action"), choices=[(ROUTE, _("Route to department")), (STATUS, _("Change status"))])
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.all(), required=False,
                                        empty_label=_("Choose a department"))
    to_status = forms.ChoiceField(label=_("New status"), required=False, choices=[
        ("", _("Choose a status")),
        *[(status, label) for status, label in Report.Status.choices if status not in (Report.Status.NEW, Report.Status.DUPLICATE)],
    ])
    message = forms.CharField(label=_("Public message"), required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Sent with every selected report. Needed when closing."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selected: list[tuple[int, int | None]] = []
        for value in self.data.getlist("reports") if hasattr(self.data, "getlist") else []:
            number, _sep, version = value.partition(":")
            if number.isdigit():
                self.selected.append((int(number), int(version) if version.isdigit() else None))

    def clean(self):
        data = super().clean()
        if not self.selected:
            raise forms.ValidationError(_("Select one or more reports."))
        if data.get("action") == self.ROUTE and not data.get("department"):
            self.add_error("department", _("Choose the department to route to."))
        if data.get("action") == self.STATUS and not data.get("to_status"):
            self.add_error("to_status", _("Choose the new status."))
        return data


class SavedFilterForm(forms.ModelForm):
    class Meta:
        model = SavedFilter
        fields = ["name", "query"]
        widgets = {"query": forms.HiddenInput}
        labels = {"name": _("Name of this filter")}
