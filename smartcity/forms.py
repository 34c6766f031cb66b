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

    clean_value = staticmethod(clean_line)

    def to_python(self, value):
        value = super().to_python(value)
        return self.clean_value(value) if value else value


class PlainTextField(OneLineField):
    """Plain text over several lines (a description), cleaned by smartcity.text.clean_text before the checks."""

    clean_value = staticmethod(clean_text)
