from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from smartcity.models import Department, DepartmentChallenge, Membership, SocietalChallenge, Theme, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["department"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_triager", "is_innovation_team", "is_superuser", "is_active"]
    list_filter = ["is_triager", "is_innovation_team", "is_superuser", "is_active", "memberships__department"]
    search_fields = ["email", "display_name"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "display_name"]}),
        (_("Roles"), {"fields": ["is_active", "is_triager", "is_innovation_team", "is_staff", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "name_nl", "name_en", "name_sv"]
    search_fields = ["slug", "name", "name_nl", "name_en", "name_sv"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "email"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(SocietalChallenge)
class SocietalChallengeAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "reference", "updated_at"]
    list_filter = ["status", "themes"]
    search_fields = ["title", "description", "reference"]
    filter_horizontal = ["themes"]


@admin.register(DepartmentChallenge)
class DepartmentChallengeAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "status", "reference", "updated_at"]
    list_filter = ["status", "department", "themes"]
    search_fields = ["title", "description", "reference"]
    list_select_related = ["department"]
    filter_horizontal = ["themes", "societal_challenges"]


from smartcity.models import OutboxMessage  # noqa: E402  (issue #8: the task outbox, for operators)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Work waiting for the broker (docs/operations.md). Read-only: the sweep publishes it."""

    list_display = ["task", "created_at", "sent_at", "failed_at", "attempts", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter), "task"]
    readonly_fields = ["task", "kwargs", "dedupe_key", "created_at", "sent_at", "failed_at", "attempts", "last_error"]

    def has_add_permission(self, request) -> bool:
        return False
