from django.contrib import admin

from pilots.models import KPI, Gate, GateAnswer, GateCriterion, Measurement, Partner, Pilot


class PartnerInline(admin.TabularInline):
    model = Partner
    extra = 0


class KPIInline(admin.TabularInline):
    model = KPI
    extra = 0
    show_change_link = True


@admin.register(Pilot)
class PilotAdmin(admin.ModelAdmin):
    list_display = ["title", "stage", "stage_changed_at", "lead_department", "reference", "end_date"]
    list_filter = ["stage", "lead_department"]
    search_fields = ["title", "description", "reference"]
    autocomplete_fields = ["lead_department", "departments", "societal_challenges", "department_challenges"]
    # Stages move only through gates (Pilot.advance), so the history stays complete.
    readonly_fields = ["stage", "stage_changed_at", "created_by", "created_at", "updated_at"]
    inlines = [PartnerInline, KPIInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            obj.record_initial_stage(by=request.user)


@admin.register(GateCriterion)
class GateCriterionAdmin(admin.ModelAdmin):
    list_display = ["question", "key", "required_from", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "required_from"]


class GateAnswerInline(admin.TabularInline):
    model = GateAnswer
    extra = 0
    fields = ["question", "answer"]
    readonly_fields = ["question", "answer"]
    can_delete = False


@admin.register(Gate)
class GateAdmin(admin.ModelAdmin):
    """Gate records are history: readable here, written only by Pilot.advance."""

    list_display = ["pilot", "kind", "from_stage", "to_stage", "decision", "decided_on", "decided_by"]
    list_filter = ["kind", "decision", "to_stage"]
    inlines = [GateAnswerInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    list_display = ["kpi", "measured_at", "value", "source"]
    list_filter = ["kpi__pilot"]
    date_hierarchy = "measured_at"
