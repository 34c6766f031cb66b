"""The hub's form fields, and the form renderer that gives every form NL Design System markup."""
from django import forms
from django.forms.renderers import TemplatesSetting

from smartcity.text import clean_line, clean_text


class FormRenderer(TemplatesSetting):
    form_template_name = "_form.html"
    field_template_name = "_form_field.html"


class OneLineField(forms.CharField):
    """One line of plain text (a title, an address), cleaned by smartcity.text.clean_line before the
    required and length checks, so a title of nothing but control characters is refused as empty."""

    def to_python(self, value):
        value = super().to_python(value)
        return clean_line(value) if value else value


class PlainTextField(forms.CharField):
    """Plain text over several lines (a description), cleaned by smartcity.text.clean_text before the checks."""

    def to_python(self, value):
        value = super().to_python(value)
        return clean_text(value) if value else value
