"""Open innovation's REST API: /api/v1/calls (public; written by the innovation team) and /api/v1/proposals
(partner-scoped: a partner reads and writes only its organisations' proposals; the innovation team reads every
submitted one). Residents' feedback on a pilot is /api/v1/pilots/{id}/feedback (pilots/api.py).

- A call is created as a draft; PATCH `status: "published"` publishes it (and tells the residents once).
- A proposal is created as a draft of one of the caller's organisations; PATCH changes a draft, and PATCH
  `status: "submitted"` submits it (a verified organisation, before the deadline): 409 otherwise.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

from pilots import permissions, services
from pilots.models import Call, Organisation, Proposal
from smartcity.api import CleanTextSerializer, NoDeleteViewSet, list_filters
from smartcity.models import DepartmentChallenge, SocietalChallenge
from smartcity.problems import problem_response


class ReadOnlyOrCallManager(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or permissions.can_manage_calls(request.user)


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "minItems": 1})
class NonEmptyLinks(serializers.ManyRelatedField):
    """Ids of at least one related object (a call is always on a societal challenge), documented as such."""


class CallSerializer(CleanTextSerializer):
    societal_challenges = NonEmptyLinks(
        child_relation=serializers.PrimaryKeyRelatedField(queryset=SocietalChallenge.objects.public()), allow_empty=False,
        help_text="The societal challenges the call is on (ids of public ones; at least one).")
    department_challenges = serializers.PrimaryKeyRelatedField(
        many=True, queryset=DepartmentChallenge.objects.all(), required=False)
    status = serializers.ChoiceField(choices=Call.Status.choices, required=False,
                                     help_text="Created as a draft; set to `published` to publish (once).")
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = ["id", "title", "description", "societal_challenges", "department_challenges", "offers_location",
                  "offers_data", "budget_min", "budget_max", "criteria", "deadline", "status", "published_at",
                  "web_url", "created_at"]
        read_only_fields = ["published_at", "created_at"]

    def get_web_url(self, call: Call) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(call.get_absolute_url()) if request else call.get_absolute_url()

    def validate(self, attrs: dict) -> dict:
        low = attrs.get("budget_min", getattr(self.instance, "budget_min", None))
        high = attrs.get("budget_max", getattr(self.instance, "budget_max", None))
        if low is not None and high is not None and high < low:
            raise serializers.ValidationError({"budget_max": "The upper end is below the lower end."})
        if self.instance is not None and self.instance.status != Call.Status.DRAFT and attrs.get("status") == Call.Status.DRAFT:
            raise serializers.ValidationError({"status": "A published call cannot become a draft again."})
        return attrs


class CallFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Call.Status.choices, required=False)


@extend_schema_view(list=extend_schema(parameters=[CallFilters]))
class CallViewSet(NoDeleteViewSet):
    serializer_class = CallSerializer
    permission_classes = [ReadOnlyOrCallManager]

    def get_queryset(self):
        calls = Call.objects.visible_to(self.request.user).prefetch_related(
            "societal_challenges", "department_challenges").order_by("id")
        filters = list_filters(self, CallFilters)
        if "status" in filters:
            calls = calls.filter(status=filters["status"])
        return calls

    @transaction.atomic
    def perform_create(self, serializer):
        publish = serializer.validated_data.pop("status", Call.Status.DRAFT) == Call.Status.PUBLISHED
        call = serializer.save(created_by=self.request.user, status=Call.Status.DRAFT)
        if publish:
            services.call_publish(call=call, by=self.request.user)
            call.refresh_from_db()

    @transaction.atomic
    def perform_update(self, serializer):
        wanted = serializer.validated_data.pop("status", None)
        call = serializer.save()
        if wanted == Call.Status.PUBLISHED:
            services.call_publish(call=call, by=self.request.user)
        elif wanted == Call.Status.CLOSED and call.status != Call.Status.CLOSED:
            Call.objects.filter(pk=call.pk).update(status=Call.Status.CLOSED)
        call.refresh_from_db()


class ProposalSerializer(CleanTextSerializer):
    call = serializers.PrimaryKeyRelatedField(queryset=Call.objects.published())
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False,
        help_text="One of your organisations; may be left out when you act for just one.")
    societal_challenges = serializers.PrimaryKeyRelatedField(
        many=True, queryset=SocietalChallenge.objects.public(), required=False,
        help_text="The societal challenges it serves beyond the call's own.")
    status = serializers.ChoiceField(choices=[(Proposal.Status.DRAFT, "draft"), (Proposal.Status.SUBMITTED, "submitted")],
                                     required=False, help_text="Set to `submitted` to submit a draft; that locks it.")
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = Proposal
        fields = ["id", "call", "organisation", "title", "solution", "needs_from_city", "cost_min", "cost_max",
                  "expected_effects", "societal_challenges", "scaling_changes", "status", "submitted_at",
                  "decided_at", "decision_reason", "pilot", "web_url", "created_at", "updated_at"]
        read_only_fields = ["submitted_at", "decided_at", "decision_reason", "pilot", "created_at", "updated_at"]

    def get_web_url(self, proposal: Proposal) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(proposal.get_absolute_url()) if request else proposal.get_absolute_url()

    def to_representation(self, instance: Proposal) -> dict:
        data = super().to_representation(instance)
        data["status"] = instance.status  # accepted and rejected are read, never written
        return data

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        if self.instance is None:
            mine = list(Organisation.objects.filter(memberships__user=user))
            organisation = attrs.get("organisation")
            if organisation is None:
                if len(mine) != 1:
                    raise serializers.ValidationError({"organisation": "Name the organisation you act for."})
                attrs["organisation"] = mine[0]
            elif organisation not in mine:
                raise serializers.ValidationError({"organisation": "You do not act for this organisation."})
            if not attrs["call"].is_open:
                raise serializers.ValidationError({"call": "This call is closed."})
        else:
            for name in ("call", "organisation"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    raise serializers.ValidationError({name: "Cannot be changed."})
        low = attrs.get("cost_min", getattr(self.instance, "cost_min", None))
        high = attrs.get("cost_max", getattr(self.instance, "cost_max", None))
        if low is not None and high is not None and high < low:
            raise serializers.ValidationError({"cost_max": "The upper end is below the lower end."})
        return attrs


class ProposalFilters(serializers.Serializer):
    call = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    status = serializers.ChoiceField(choices=Proposal.Status.choices, required=False)


SUBMIT_REFUSED = OpenApiResponse(description="Not submitted: the organisation is not verified, or the call is closed.")


@extend_schema_view(
    list=extend_schema(parameters=[ProposalFilters],
                       description="Your organisations' proposals; for the innovation team every submitted one."),
    partial_update=extend_schema(responses={200: ProposalSerializer, 409: SUBMIT_REFUSED}),
)
class ProposalViewSet(NoDeleteViewSet):
    serializer_class = ProposalSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        # Drafts stay with their organisation, also for the team (Proposal.objects.visible_to).
        proposals = Proposal.objects.visible_to(self.request.user).prefetch_related("societal_challenges").order_by("id")
        filters = list_filters(self, ProposalFilters)
        if "call" in filters:
            proposals = proposals.filter(call_id=filters["call"])
        if "status" in filters:
            proposals = proposals.filter(status=filters["status"])
        return proposals

    @transaction.atomic
    def perform_create(self, serializer):
        submit = serializer.validated_data.pop("status", None) == Proposal.Status.SUBMITTED
        proposal = serializer.save(created_by=self.request.user, status=Proposal.Status.DRAFT)
        if submit:
            services.proposal_submit(proposal=proposal, by=self.request.user)

    def get_object(self) -> Proposal:
        proposal = super().get_object()
        if self.request.method not in SAFE_METHODS and not permissions.can_edit_proposal(self.request.user, proposal):
            raise exceptions.PermissionDenied("Only a draft, and only by the people acting for its organisation.")
        return proposal

    @transaction.atomic
    def perform_update(self, serializer):
        submit = serializer.validated_data.pop("status", None) == Proposal.Status.SUBMITTED
        proposal = serializer.save()
        if submit:
            services.proposal_submit(proposal=proposal, by=self.request.user)

    def create(self, request, *args, **kwargs):
        try:
            return super().create(request, *args, **kwargs)
        except ValidationError as refusal:  # rolled back by perform_create's transaction
            return problem_response(status.HTTP_409_CONFLICT, "Conflict", refusal.messages[0])

    def update(self, request, *args, **kwargs):
        try:
            return super().update(request, *args, **kwargs)
        except ValidationError as refusal:
            return problem_response(status.HTTP_409_CONFLICT, "Conflict", refusal.messages[0])
