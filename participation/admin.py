"""Admin for participation. Open311 (issue #7): integrations with their api_key, and services' extra questions."""
from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from participation.models import Address, Category, Open311Client, Open311Request, ServiceQuestion


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "contact_email", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact_email"]
    # The key is made once, when the client is added; hand it to the integration.
    readonly_fields = ["key", "created_at", "last_used_at"]


class ServiceQuestionForm(forms.ModelForm):
    class Meta:
        model = ServiceQuestion
        fields = ["theme", "category", "code", "description", "description_nl", "description_en", "description_sv",
                  "datatype", "datatype_description", "datatype_description_nl", "datatype_description_en",
                  "datatype_description_sv", "required", "order", "values"]

    def clean(self):
        data = super().clean()
        if not data.get("theme") and not data.get("category"):
            raise forms.ValidationError(_("Choose the theme or the category that asks this question."))
        return data


@admin.register(ServiceQuestion)
class ServiceQuestionAdmin(admin.ModelAdmin):
    form = ServiceQuestionForm
    list_display = ["description", "theme", "category", "code", "datatype", "required", "order"]
    list_filter = ["theme", "datatype", "required"]
    search_fields = ["description", "code"]


@admin.register(Open311Request)
class Open311RequestAdmin(admin.ModelAdmin):
    """Read-only: what a client sent beyond the public report."""

    list_display = ["token", "report", "client", "created_at"]
    list_filter = ["client"]
    readonly_fields = ["report", "client", "token", "media_url", "attributes", "device_id", "account_id", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


class CategoryQuestionInline(admin.StackedInline):
    """A category's questions, asked on the report form (a main category's also for its subcategories)."""

    model = ServiceQuestion
    fk_name = "category"
    exclude = ["theme"]
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """The category tree: main categories and their subcategories, each with its default department."""

    inlines = [CategoryQuestionInline]

    list_display = ["__str__", "slug", "theme", "department", "target_days", "is_active", "order"]
    list_filter = ["is_active", "theme", "department", ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "name_nl", "name_en", "name_sv", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent", "theme", "department"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":  # one level deep: only main categories can be a parent
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """Addresses come from `manage.py load_addresses`; the admin shows them and corrects one now and then."""

    list_display = ["street", "house_number", "house_letter", "house_number_addition", "postcode", "city"]
    search_fields = ["search_text", "source_id"]
    show_full_result_count = False  # half a million rows: no COUNT(*) per page
