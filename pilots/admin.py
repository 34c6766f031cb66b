from django.contrib import admin

from pilots.models import (
    KPI,
    Call,
    Gate,
    GateAnswer,
    GateCriterion,
    Measurement,
    Organisation,
    OrganisationMember,
    OrganisationVerification,
    Partner,
    Pilot,
    Proposal,
)


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


# --- Open innovation -------------------------------------------------------------------------------------
class OrganisationMemberInline(admin.TabularInline):
    model = OrganisationMember
    extra = 0
    raw_id_fields = ["user"]


class OrganisationVerificationInline(admin.TabularInline):
    """The verification history: written by the verification page only (Organisation.set_status)."""

    model = OrganisationVerification
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "by", "note", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "registration_number"]
    # Verification is an explicit action with history, on the organisation's page.
    readonly_fields = ["status"]
    inlines = [OrganisationMemberInline, OrganisationVerificationInline]


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "deadline", "published_at"]
    list_filter = ["status"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["societal_challenges", "department_challenges"]


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "call", "status", "submitted_at"]
    list_filter = ["status", "call"]
    search_fields = ["title"]
    # Submitting and deciding go through the pages (Proposal.submit, accept, reject).
    readonly_fields = ["status", "submitted_at", "decided_at", "decided_by", "decision_reason", "pilot"]
    raw_id_fields = ["call", "organisation", "created_by"]
