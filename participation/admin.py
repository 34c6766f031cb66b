"""Admin for participation. Open311 (issue #7): integrations with their api_key, and services' extra questions."""
from django.contrib import admin

from participation.models import Open311Client, Open311Request, ServiceQuestion


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "contact_email", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact_email"]
    # The key is made once, when the client is added; hand it to the integration.
    readonly_fields = ["key", "created_at", "last_used_at"]


@admin.register(ServiceQuestion)
class ServiceQuestionAdmin(admin.ModelAdmin):
    list_display = ["description", "theme", "code", "datatype", "required", "order"]
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
