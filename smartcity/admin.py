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


from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin  # noqa: E402
from rest_framework.authtoken.models import TokenProxy  # noqa: E402

from smartcity.api_auth import token_expires_at  # noqa: E402

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(DrfTokenAdmin):
    """API tokens (issue #14): who has one, since when, until when. Open one and delete it to revoke it;
    `manage.py drf_create_token EMAIL` makes them. The list shows only the start of each key."""

    list_display = ["key_start", "account", "created", "expires"]
    list_select_related = ["user"]
    search_fields = ["user__email", "user__display_name"]
    search_help_text = _("Email address or name")

    @admin.display(description=_("Key"))
    def key_start(self, token) -> str:
        return f"{token.key[:6]}…"

    @admin.display(description=_("Account"), ordering="user__email")
    def account(self, token) -> str:
        return token.user.email

    @admin.display(description=_("Expires"))
    def expires(self, token) -> str:
        expires_at = token_expires_at(token)
        if expires_at is None:
            return _("never")
        when = timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M")
        return when if expires_at > timezone.now() else _("expired on %(date)s") % {"date": when}
