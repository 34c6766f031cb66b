"""The matching API: /matching/runs, /suggestions, /matches and /no-challenge-decisions."""
from __future__ import annotations

from django.db.models import Prefetch, Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from matching import permissions, services
from matching.models import ItemType, Match, MatchingRun, NoChallengeDecision, ReviewStatus, Suggestion
from smartcity.api import JsonTypes, OneLineField, list_filters
from smartcity.models import DepartmentChallenge
from smartcity.permissions import StaffOnly
from smartcity.problems import Conflict


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

    @extend_schema(request=None, responses={202: MatchingRunSerializer},
                   description="Start a full run (or get the one already queued or running): 202, follow it by its id.")
    def create(self, request, *args, **kwargs):
        run = services.matching_run_start(by=request.user)
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=202)


class DecisionSerializer(JsonTypes):
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


class CertaintyBandSerializer(serializers.Serializer):
    low = serializers.IntegerField(help_text="percent: the band holds probabilities from here")
    high = serializers.IntegerField(help_text="percent: up to here (100 included in the last band)")
    decided = serializers.IntegerField()
    accepted = serializers.IntegerField()
    accepted_share = serializers.FloatField(allow_null=True, help_text="accepted / decided; null when none was decided")


class CertaintySerializer(serializers.Serializer):
    bands = CertaintyBandSerializer(many=True)
    about_no_challenge = serializers.IntegerField(
        help_text="items with a standing decision that they are about no societal challenge; their open suggestions "
                  "went with it and are in no band")


class CertaintyFilters(serializers.Serializer):
    itemType = serializers.ChoiceField(choices=Suggestion.ItemType.choices, required=False,
                                       help_text="report, department_challenge or pilot: that kind's decisions only (the "
                                                 "engine calibrates each kind on its own)")


class SuggestionFilters(serializers.Serializer):
    itemType = serializers.ChoiceField(choices=Suggestion.ItemType.choices, required=False,
                                       help_text="report, department_challenge or pilot")
    itemId = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                      help_text="with itemType: that one item's suggestions. An open suggestion whose "
                                                "pair was linked a moment ago is left out (its removal follows)")
    status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)


@extend_schema_view(list=extend_schema(parameters=[SuggestionFilters]))
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
        filters = list_filters(self, SuggestionFilters)
        if "itemType" in filters:
            queryset = queryset.of_type(filters["itemType"])
            if "itemId" in filters:
                queryset = queryset.of_item(filters["itemType"], filters["itemId"])
        elif "itemId" in filters:  # an id alone: the items of any kind with that id
            queryset = queryset.filter(Q(report_id=filters["itemId"]) | Q(department_challenge_id=filters["itemId"])
                                       | Q(pilot_id=filters["itemId"]))
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        if self.action == "list" and "itemId" in filters:
            # One item's list, as a client reads it again after linking the item: an open suggestion of a pair
            # linked a moment ago is left out while its removal is on its way (SuggestionQuerySet.standing). The
            # whole list is not filtered so: at 100,000 rows that costs a page 0.5 s instead of 0.05.
            queryset = queryset.shown()
        return queryset

    @extend_schema(parameters=[CertaintyFilters], responses={200: CertaintySerializer}, description=(
        "How staff decided on the suggestions, by how sure the engine was when it made them (the probability a "
        "decided suggestion keeps): per band, under 50% and then per ten points, the suggestions decided and "
        "accepted. Where the engine is calibrated, the share accepted in a band is about its probability."))
    @action(detail=False, methods=["get"], url_path="certainty", pagination_class=None, filter_backends=[])
    def certainty(self, request, *args, **kwargs):
        filters = CertaintyFilters(data=request.query_params.dict())  # a plain dict: `?itemType=` is no kind
        filters.is_valid(raise_exception=True)
        suggestions, decisions = Suggestion.objects.all(), NoChallengeDecision.objects.active()
        if kind := filters.validated_data.get("itemType"):
            suggestions, decisions = suggestions.of_type(kind), decisions.of_type(kind)
        return Response(CertaintySerializer({"bands": suggestions.by_certainty(),
                                             "about_no_challenge": decisions.count()}).data)

    @extend_schema(request=DecisionSerializer, responses={
        200: SuggestionSerializer,
        409: OpenApiResponse(description="A full matching run replaced the open suggestion while the decision waited "
                                         "for its write.")})
    def partial_update(self, request, *args, **kwargs):
        suggestion = self.get_object()
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        item = suggestion.item
        if not permissions.can_review_suggestion(request.user, suggestion.item_type, item):
            raise exceptions.PermissionDenied("You may not decide on suggestions for this item.")
        try:
            suggestion = services.suggestion_decide(
                suggestion=suggestion, accept=decision.validated_data["status"] == ReviewStatus.ACCEPTED,
                by=request.user, reason=decision.validated_data["reason"],
            )
        except services.Replaced:
            raise Conflict("A newer matching run replaced this suggestion: read the item's suggestions again.") from None
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


class MatchFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)


@extend_schema_view(list=extend_schema(parameters=[MatchFilters]))
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
        filters = list_filters(self, MatchFilters)
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        return queryset

    @extend_schema(request=DecisionSerializer, responses={
        200: MatchSerializer,
        409: OpenApiResponse(description="The flag was already decided, or a full matching run replaced it while the "
                                         "decision waited for its write.")})
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
        except services.Replaced:
            raise Conflict("A newer matching run replaced this flag: decide on the flags it wrote.") from None
        except services.AlreadyDecided:
            raise Conflict("This flag was already decided.") from None
        return Response(self.get_serializer(self.get_queryset().get(pk=match.pk)).data)


class ItemSerializer(JsonTypes):
    type = serializers.ChoiceField(choices=ItemType.choices, help_text="report, department_challenge or pilot")
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reference = serializers.CharField(read_only=True, allow_null=True, help_text="the item's id in another system, if any")
    title = serializers.CharField(read_only=True)

    def get_attribute(self, instance):
        return instance  # the decision (or suggestion): its item and which kind it is

    def to_representation(self, instance) -> dict:
        item = instance.item  # selected with the row (NoChallengeDecisionViewSet.get_queryset)
        return {"type": instance.item_type, "id": instance.item_id, "reference": item.reference, "title": item.title}


class NoChallengeDecisionSerializer(JsonTypes, serializers.ModelSerializer):
    item = ItemSerializer(help_text="The report, department challenge or pilot the decision is about.")
    reason = OneLineField(max_length=300, required=False, allow_blank=True, default="")
    standing = serializers.BooleanField(source="is_standing", read_only=True,
                                        help_text="true until the decision is undone")

    class Meta:
        model = NoChallengeDecision
        fields = ["id", "item", "reason", "standing", "decided_at", "undone_at"]
        read_only_fields = ["id", "standing", "decided_at", "undone_at"]

    def validate_item(self, value: dict) -> dict:
        item = services.MODELS[value["type"]]._default_manager.filter(pk=value["id"]).first()
        if item is None:
            raise serializers.ValidationError(
                {"id": [serializers.ErrorDetail(f"There is no {value['type']} with id {value['id']}.", code="does_not_exist")]})
        return {**value, "object": item}


class UndoSerializer(JsonTypes):
    undone = serializers.BooleanField(help_text="true: undo the decision (a new decision is a POST)")

    def validate_undone(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Only true: a decision is undone; to decide again, POST a new one.")
        return value


class NoChallengeDecisionFilters(serializers.Serializer):
    itemType = serializers.ChoiceField(choices=ItemType.choices, required=False,
                                       help_text="report, department_challenge or pilot")
    itemId = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                      help_text="with itemType: that one item's decisions, its history")
    standing = serializers.BooleanField(required=False, allow_null=True, default=None,
                                        help_text="true: only decisions not undone; false: only undone ones")


CONFLICT_NO_CHALLENGE = OpenApiResponse(description=(
    "A decision of this item already stands, or the item is linked to a societal challenge (POST); "
    "the decision was undone before (PATCH)."))


@extend_schema_view(list=extend_schema(parameters=[NoChallengeDecisionFilters]))
class NoChallengeDecisionViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                                 mixins.ListModelMixin, viewsets.GenericViewSet):
    """Staff decisions that an item is about no societal challenge ("belongs to none"). POST
    `{"item": {"type": "report", "id": 12}, "reason": "..."}` to decide: the item's open suggestions go, and the
    engine suggests nothing for it and learns from it while the decision stands. PATCH `{"undone": true}` to
    undo; undone decisions stay as the item's history. Who may: as for deciding on the item's suggestions."""

    serializer_class = NoChallengeDecisionSerializer
    permission_classes = [StaffOnly]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = NoChallengeDecision.objects.select_related(*NoChallengeDecision.KINDS).order_by("-decided_at", "-pk")
        filters = list_filters(self, NoChallengeDecisionFilters)
        if "itemType" in filters:
            queryset = queryset.of_type(filters["itemType"])
            if "itemId" in filters:
                queryset = queryset.of_item(filters["itemType"], filters["itemId"])
        elif "itemId" in filters:
            queryset = queryset.filter(Q(report_id=filters["itemId"]) | Q(department_challenge_id=filters["itemId"])
                                       | Q(pilot_id=filters["itemId"]))
        if filters.get("standing") is not None:
            queryset = queryset.filter(undone_at__isnull=filters["standing"])
        return queryset

    @extend_schema(responses={201: NoChallengeDecisionSerializer, 409: CONFLICT_NO_CHALLENGE})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item_type, item = serializer.validated_data["item"]["type"], serializer.validated_data["item"]["object"]
        if not permissions.can_review_suggestion(request.user, item_type, item):
            raise exceptions.PermissionDenied("You may not decide on suggestions for this item.")
        try:
            decision = services.no_challenge_decide(item_type=item_type, item=item, by=request.user,
                                                    reason=serializer.validated_data["reason"])
        except services.StillLinked:
            raise Conflict("The item is linked to a societal challenge: remove the links first.") from None
        except services.AlreadyDecided:
            raise Conflict("A decision that this item is about no societal challenge already stands.") from None
        return Response(self.get_serializer(self.get_queryset().get(pk=decision.pk)).data, status=201)

    @extend_schema(request=UndoSerializer, responses={200: NoChallengeDecisionSerializer, 409: CONFLICT_NO_CHALLENGE})
    def partial_update(self, request, *args, **kwargs):
        decision = self.get_object()
        UndoSerializer(data=request.data).is_valid(raise_exception=True)
        if not permissions.can_review_suggestion(request.user, decision.item_type, decision.item):
            raise exceptions.PermissionDenied("You may not decide on suggestions for this item.")
        try:
            services.no_challenge_undo(decision=decision, by=request.user)
        except services.AlreadyDecided:
            raise Conflict("This decision was undone before.") from None
        return Response(self.get_serializer(self.get_queryset().get(pk=decision.pk)).data)
