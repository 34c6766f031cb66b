"""The matching's rows for operators: runs, suggestions and flags. Decisions are made on the review pages."""
from django.contrib import admin

from matching.models import Match, MatchingRun, NoChallengeDecision, Suggestion


@admin.register(MatchingRun)
class MatchingRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "status", "created_at", "started_at", "finished_at", "heartbeat_at", "started_by"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in MatchingRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "societal_challenge", "score", "status", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["societal_challenge"]
    raw_id_fields = ["report", "department_challenge", "pilot", "societal_challenge", "decided_by"]


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["title", "score", "status", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["societal_challenge"]
    raw_id_fields = ["societal_challenge", "decided_by"]
    filter_horizontal = ["department_challenges"]
    readonly_fields = ["fingerprint"]


@admin.register(NoChallengeDecision)
class NoChallengeDecisionAdmin(admin.ModelAdmin):
    """Read only: staff decide and undo on the item's page or through the API, where the rules are checked."""

    list_display = ["__str__", "decided_by", "decided_at", "undone_at"]
    list_filter = [("undone_at", admin.EmptyFieldListFilter)]
    readonly_fields = [field.name for field in NoChallengeDecision._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
