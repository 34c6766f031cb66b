"""The matching API: /matching/runs, /suggestions and /matches."""
from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.response import Response

from matching import permissions
from smartcity.permissions import StaffOnly
from matching import services
from smartcity.problems import Conflict
from smartcity.models import DepartmentChallenge
from matching.models import Match, MatchingRun, ReviewStatus, Suggestion


class MatchingRunSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = MatchingRun
        fields = ["id", "status", "created_at", "started_at", "finished_at", "duration_seconds", "progress", "counts", "error"]
        read_only_fields = fields

    def get_progress(self, run: MatchingRun) -> dict:
        return {"done": run.progress_done, "total": run.progress_total, "percent": run.progress_percent}


class MatchingRunViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin,
                         viewsets.GenericViewSet):
    """Start a full matching run (any staff member) and follow it: queued -> running -> done | failed."""

    queryset = MatchingRun.objects.all()
    serializer_class = MatchingRunSerializer
    permission_classes = [StaffOnly]

    def create(self, request, *args, **kwargs):
        run = services.matching_run_start(by=request.user)
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=202)


class DecisionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[ReviewStatus.ACCEPTED, ReviewStatus.REJECTED])
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


def _challenge(challenge) -> dict | None:
    if challenge is None:
        return None
    return {"id": challenge.pk, "reference": challenge.reference, "title": challenge.title}


class SuggestionSerializer(serializers.ModelSerializer):
    item = serializers.SerializerMethodField()
    societal_challenge = serializers.SerializerMethodField()

    class Meta:
        model = Suggestion
        fields = ["id", "item", "societal_challenge", "score", "reasons", "status", "decided_at", "decision_reason",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_item(self, suggestion: Suggestion) -> dict:
        item = suggestion.item  # selected with the suggestion (SuggestionViewSet.get_queryset)
        return {"type": suggestion.item_type, "id": suggestion.item_id, "reference": item.reference, "title": item.title}

    def get_societal_challenge(self, suggestion: Suggestion) -> dict | None:
        return _challenge(suggestion.societal_challenge)


@extend_schema(parameters=[
    OpenApiParameter("itemType", str, enum=Suggestion.ItemType.values, description="report, department_challenge or pilot"),
    OpenApiParameter("itemId", int, description="with itemType: the suggestions of that one item"),
    OpenApiParameter("status", str, enum=ReviewStatus.values),
])
class SuggestionViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.ListModelMixin,
                        viewsets.GenericViewSet):
    """Suggestions of the matching engine: "this item probably belongs to that societal challenge".
    PATCH `{"status": "accepted" | "rejected", "reason": "..."}` to decide; accepting links the item."""

    serializer_class = SuggestionSerializer
    permission_classes = [StaffOnly]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        # The item of every kind in the same query: the one that is set is the suggestion's item.
        queryset = Suggestion.objects.select_related("societal_challenge", *Suggestion.KINDS).order_by("-score", "pk")
        params = self.request.query_params
        item_type = params.get("itemType", "")
        if item_type:
            if item_type not in Suggestion.ItemType.values:
                raise serializers.ValidationError({"itemType": [f"Must be one of {', '.join(Suggestion.ItemType.values)}."]})
            queryset = queryset.of_type(item_type)
            if params.get("itemId", "").isdigit():
                queryset = queryset.of_item(item_type, int(params["itemId"]))
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        return queryset

    @extend_schema(request=DecisionSerializer, responses=SuggestionSerializer)
    def partial_update(self, request, *args, **kwargs):
        suggestion = self.get_object()
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        item = suggestion.item
        if not permissions.can_review_suggestion(request.user, suggestion.item_type, item):
            raise exceptions.PermissionDenied("You may not decide on suggestions for this item.")
        suggestion = services.suggestion_decide(
            suggestion=suggestion, accept=decision.validated_data["status"] == ReviewStatus.ACCEPTED,
            by=request.user, reason=decision.validated_data["reason"],
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=suggestion.pk)).data)


class MatchSerializer(serializers.ModelSerializer):
    societal_challenge = serializers.SerializerMethodField()
    department_challenges = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()
    pilots = serializers.SerializerMethodField()

    class Meta:
        model = Match
        fields = ["id", "societal_challenge", "proposed_title", "department_challenges", "reports", "pilots", "score",
                  "reasons", "status", "decided_at", "decision_reason", "created_at"]
        read_only_fields = fields

    def get_societal_challenge(self, match: Match) -> dict | None:
        return _challenge(match.societal_challenge)

    def get_department_challenges(self, match: Match) -> list[dict]:
        return [{"id": c.pk, "reference": c.reference, "title": c.title, "department": c.department.slug}
                for c in match.department_challenges.all()]

    def get_reports(self, match: Match) -> list[dict]:
        return [{"id": r.pk, "reference": r.reference, "title": r.title} for r in match.reports.all()]

    def get_pilots(self, match: Match) -> list[dict]:
        return [{"id": p.pk, "reference": p.reference, "title": p.title} for p in match.pilots.all()]


@extend_schema(parameters=[OpenApiParameter("status", str, enum=ReviewStatus.values)])
class MatchViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Cross-department match flags. PATCH `{"status": "accepted" | "rejected", "reason": "..."}`."""

    serializer_class = MatchSerializer
    permission_classes = [StaffOnly]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        queryset = Match.objects.select_related("societal_challenge").prefetch_related(
            Prefetch("department_challenges", queryset=DepartmentChallenge.objects.select_related("department")),
            "reports", "pilots",
        ).order_by("-score", "pk")
        if self.request.query_params.get("status"):
            queryset = queryset.filter(status=self.request.query_params["status"])
        return queryset

    @extend_schema(request=DecisionSerializer, responses=MatchSerializer)
    def partial_update(self, request, *args, **kwargs):
        match = self.get_object()
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        accept = decision.validated_data["status"] == ReviewStatus.ACCEPTED
        if not permissions.can_decide_match(request.user, match, accept=accept):
            raise exceptions.PermissionDenied(
                "Only the innovation team or the departments involved may decide; accepting a flag that creates "
                "a new societal challenge is for the innovation team.")
        try:
            services.match_decide(match=match, accept=accept, by=request.user, reason=decision.validated_data["reason"])
        except services.AlreadyDecided:
            raise Conflict("This flag was already decided.") from None
        return Response(self.get_serializer(self.get_queryset().get(pk=match.pk)).data)
