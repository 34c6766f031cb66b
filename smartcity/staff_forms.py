"""Forms for the staff pages of the hub: department challenges and societal challenges."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from smartcity import permissions
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme, User


class DepartmentChallengeForm(forms.ModelForm):
    class Meta:
        model = DepartmentChallenge
        fields = ["title", "description", "department", "themes", "target", "deadline", "societal_challenges", "reference"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "themes": forms.CheckboxSelectMultiple,
            "societal_challenges": forms.CheckboxSelectMultiple,
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "reference": _("An id from another system, if there is one."),
            "societal_challenges": _("The shared challenges this problem is part of."),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.all()
        if not permissions.is_administrator(user):
            departments = departments.filter(pk__in=permissions.department_ids(user))
        self.fields["department"].queryset = departments
        self.fields["department"].empty_label = None if departments.count() == 1 else _("Choose a department")
        self.fields["themes"].queryset = Theme.objects.all()
        linked = self.instance.societal_challenges.all() if self.instance.pk else SocietalChallenge.objects.none()
        self.fields["societal_challenges"].queryset = (
            SocietalChallenge.objects.filter(status=SocietalChallenge.Status.OPEN) | linked
        ).distinct().order_by("title")


class SocietalChallengeForm(forms.ModelForm):
    class Meta:
        model = SocietalChallenge
        fields = ["title", "description", "themes", "status", "reference"]
        widgets = {"description": forms.Textarea(attrs={"rows": 8}), "themes": forms.CheckboxSelectMultiple}
        help_texts = {
            "status": _("Proposed challenges are not public yet; closed ones stay visible but take no new links."),
            "reference": _("An id from another system, if there is one."),
        }
