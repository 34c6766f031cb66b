"""The hub's forms, and the form renderer that gives every form NL Design System markup."""
from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    form_template_name = "_form.html"
    field_template_name = "_form_field.html"
