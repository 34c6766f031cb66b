"""The pilot portfolio's REST API: /api/v1/pilots, their KPIs and gates, and /api/v1/kpis/{id}/measurements.

- Creating a pilot with a stage records that stage (an import of an existing pilot): no gate.
- Changing the stage later (PATCH `stage`, or POST .../gates) passes the gate: a refusal is a
  409 problem+json naming the missing answers in `invalidParams`.
- Measurements are posted in bulk and are idempotent per (KPI, timestamp).
"""
from __future__ import annotations

import math

from django.db import transaction
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from pilots import permissions, services
from pilots.models import KPI, FeedbackAnswer, Gate, GateRefused, Measurement, MeasurementRow, Partner, Pilot, Stage
from smartcity.api import (
    CleanTextSerializer,
    JsonTypes,
    NoDeleteViewSet,
    ReferenceField,
    SocietalChallengeLinks,
    list_filters,
    reference_conflicts,
    validate_unique_reference,
    visible_challenges_prefetch,
)
from smartcity.models import Area, Department, DepartmentChallenge
from smartcity.permissions import ReadOnlyOrStaff
from smartcity.problems import problem_response

MAX_MEASUREMENTS_PER_REQUEST = 10_000


def refusal_response(refusal: GateRefused) -> Response:
    """A gate refusal as 409 problem+json; missing answers and lessons are listed as invalid params."""
    invalid = [{"name": f"answers.{c.key}", "code": "required", "reason": c.question} for c in refusal.missing]
    if refusal.code == "lessons_learned":
        invalid.append({"name": "lessons_learned", "code": "required", "reason": refusal.messages[0]})
    return problem_response(status.HTTP_409_CONFLICT, "Conflict", refusal.messages[0], invalid)


class PartnerSerializer(CleanTextSerializer):
    class Meta:
        model = Partner
        fields = ["name", "kind"]


class PilotSerializer(CleanTextSerializer):
    reference = ReferenceField(validators=[])
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    lead_department = serializers.SlugRelatedField(
        slug_field="slug", queryset=Department.objects.all(), required=False, allow_null=True
    )
    departments = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Department.objects.all(), required=False
    )
    societal_challenges = SocietalChallengeLinks()
    department_challenges = serializers.PrimaryKeyRelatedField(
        many=True, queryset=DepartmentChallenge.objects.all(), required=False
    )
    area = serializers.SlugRelatedField(slug_field="slug", queryset=Area.objects.all(), required=False, allow_null=True)
    partners = PartnerSerializer(many=True, required=False)
    answers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=10_000), required=False, write_only=True,
        help_text="Gate answers by criterion key, used when this PATCH changes the stage.",
    )
    web_url = serializers.SerializerMethodField()

    INTERNAL_FIELDS = ("budget", "internal_notes")

    class Meta:
        model = Pilot
        fields = [
            "id", "reference", "title", "description", "stage", "stage_changed_at", "lead_department", "departments",
            "societal_challenges", "department_challenges", "partners", "location", "area", "start_date", "end_date",
            "results_summary", "lessons_learned", "budget", "internal_notes", "answers", "web_url",
            "created_at", "updated_at",
        ]
        read_only_fields = ["stage_changed_at", "created_at", "updated_at"]

    def get_web_url(self, pilot: Pilot) -> str:
        request = self.context.get("request")
        url = pilot.get_absolute_url()
        return request.build_absolute_uri(url) if request else url

    def to_representation(self, pilot: Pilot) -> dict:
        data = super().to_representation(pilot)
        request = self.context.get("request")
        if not (request and permissions.can_view_pilot_internals(request.user, pilot)):
            for name in self.INTERNAL_FIELDS:
                data.pop(name, None)
        return data

    def validate_reference(self, value):
        return validate_unique_reference(Pilot, value, self.instance)

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": "The end date is before the start date."})
        if attrs.get("answers") and (self.instance is None or attrs.get("stage", self.instance.stage) == self.instance.stage):
            raise serializers.ValidationError({"answers": "Gate answers go with a stage change."})
        return attrs

    def create(self, validated: dict) -> Pilot:
        many = {name: validated.pop(name, None) for name in ("departments", "societal_challenges", "department_challenges")}
        partners = validated.pop("partners", None) or []
        validated.pop("answers", None)
        pilot = Pilot.objects.create(**validated)
        for name, values in many.items():
            if values:
                getattr(pilot, name).set(values)
        Partner.objects.bulk_create(Partner(pilot=pilot, **partner) for partner in partners)
        pilot.record_initial_stage(by=validated.get("created_by"))
        return pilot

    def update(self, pilot: Pilot, validated: dict) -> Pilot:
        """Plain fields first; a new stage then passes the gate through Pilot.advance."""
        new_stage = validated.pop("stage", pilot.stage)
        answers = validated.pop("answers", None) or {}
        partners = validated.pop("partners", None)
        lessons = validated.get("lessons_learned", "")
        if new_stage == Stage.STOPPED and new_stage != pilot.stage:
            validated.pop("lessons_learned", None)  # Pilot.advance records them with the stop
        many = {name: validated.pop(name) for name in ("departments", "societal_challenges", "department_challenges")
                if name in validated}
        for name, value in validated.items():
            setattr(pilot, name, value)
        pilot.save()
        for name, values in many.items():
            getattr(pilot, name).set(values)
        if partners is not None:
            pilot.partners.all().delete()
            Partner.objects.bulk_create(Partner(pilot=pilot, **partner) for partner in partners)
        if new_stage != pilot.stage:
            services.pilot_advance(pilot=pilot, to_stage=new_stage, by=self.context["request"].user, answers=answers, lessons_learned=lessons)
        return pilot


class GateAnswerSerializer(serializers.Serializer):
    key = serializers.CharField(source="criterion.key", default=None)
    question = serializers.CharField()
    answer = serializers.CharField()


class GateSerializer(serializers.ModelSerializer):
    """Reading a gate record; `answers`, `notes` and who decided (`decided_by`, null for everyone else) only for
    those who see the pilot's internals, as on the pilot's page: staff accounts are not for the public."""

    decided_by = serializers.SerializerMethodField()
    answers = GateAnswerSerializer(many=True, read_only=True)

    class Meta:
        model = Gate
        fields = ["id", "kind", "from_stage", "to_stage", "decision", "decided_on", "decided_by", "answers",
                  "notes", "created_at"]

    def get_decided_by(self, gate: Gate) -> str | None:
        return str(gate.decided_by) if gate.decided_by_id else None

    def to_representation(self, gate: Gate) -> dict:
        data = super().to_representation(gate)
        request = self.context.get("request")
        if not (request and permissions.can_view_pilot_internals(request.user, gate.pilot)):
            data.pop("answers", None)
            data.pop("notes", None)
            data["decided_by"] = None
        return data


class GateInputSerializer(JsonTypes):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    decision = serializers.ChoiceField(choices=Gate.Decision.choices, default=Gate.Decision.GO)
    decided_on = serializers.DateField(required=False)
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=10_000), required=False)
    notes = serializers.CharField(allow_blank=True, required=False, max_length=10_000)
    lessons_learned = serializers.CharField(allow_blank=True, required=False, max_length=10_000)


@extend_schema_serializer(component_name="Kpi")  # the document's schema names are UpperCamelCase
class KPISerializer(CleanTextSerializer):
    pilot = serializers.PrimaryKeyRelatedField(read_only=True)
    latest_value = serializers.SerializerMethodField()

    class Meta:
        model = KPI
        fields = ["id", "pilot", "name", "unit", "baseline", "target", "direction", "description", "latest_value",
                  "created_at"]
        read_only_fields = ["created_at"]

    def get_latest_value(self, kpi: KPI) -> float | None:
        if hasattr(kpi, "latest_measured_value"):  # annotated by the list: one query for any number of KPIs
            return kpi.latest_measured_value
        latest = kpi.measurements.order_by("-measured_at").values_list("value", flat=True).first()
        return latest

    def validate(self, attrs: dict) -> dict:
        pilot = self.context.get("pilot") or getattr(self.instance, "pilot", None)
        name = attrs.get("name", getattr(self.instance, "name", None))
        if pilot and name and pilot.kpis.filter(name=name).exclude(pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError({"name": "This pilot already has a KPI with this name."}, code="unique")
        for field in ("baseline", "target"):
            if attrs.get(field) is not None and not math.isfinite(attrs[field]):
                raise serializers.ValidationError({field: "Not a finite number."})
        return attrs


class MeasurementSerializer(JsonTypes, serializers.ModelSerializer):
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class Meta:
        model = Measurement
        fields = ["measured_at", "value", "source"]
        # Uniqueness per (KPI, timestamp) is an upsert here, not an error.
        validators: list = []

    def validate_value(self, value: float) -> float:
        if not math.isfinite(value):
            raise serializers.ValidationError("Not a finite number.")
        return value


def _require_kpi_editor(user, pilot: Pilot) -> None:
    if not permissions.can_edit_pilot_kpis(user, pilot):
        raise exceptions.PermissionDenied("Only the pilot's lead and participating departments may change its KPIs.")


class FeedbackQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    answers = serializers.IntegerField(help_text="How many residents answered.")
    share_positive = serializers.FloatField(allow_null=True, help_text="Percentage of answers 4 or 5.")
    counts = serializers.ListField(child=serializers.IntegerField(), help_text="Answers 1 to 5, counted.")
    your_answer = serializers.IntegerField(allow_null=True, help_text="The caller's own answer, if any.")
    kpis = serializers.ListField(child=serializers.IntegerField(), help_text="The KPIs the answers feed.")


class FeedbackInputSerializer(JsonTypes):
    question = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    value = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(allow_blank=True, required=False, max_length=1000, default="")


class FeedbackAnswerSerializer(serializers.Serializer):
    question = serializers.IntegerField(source="question_id")
    value = serializers.IntegerField()
    comment = serializers.CharField()
    updated_at = serializers.DateTimeField()


class PilotFilters(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)


GATE_REFUSED = OpenApiResponse(description="The gate refused the stage change: the missing answers are in invalidParams.")


@extend_schema_view(
    list=extend_schema(parameters=[PilotFilters]),
    partial_update=extend_schema(responses={200: PilotSerializer, 409: GATE_REFUSED}),
)
class PilotViewSet(NoDeleteViewSet):
    serializer_class = PilotSerializer
    permission_classes = [permissions.ReadOnlyOrPilotManager]

    def get_queryset(self):
        pilots = (
            Pilot.objects.select_related("lead_department", "area")
            .prefetch_related("departments", visible_challenges_prefetch(self.request.user), "department_challenges",
                              "partners")
            .order_by("id")
        )
        filters = list_filters(self, PilotFilters)
        if "stage" in filters:
            pilots = pilots.filter(stage=filters["stage"])
        return pilots

    def extra_create_fields(self) -> dict:
        return {"created_by": self.request.user}

    @transaction.atomic
    def perform_update(self, serializer):
        with reference_conflicts(serializer):
            serializer.save()

    def update(self, request, *args, **kwargs):
        try:
            return super().update(request, *args, **kwargs)
        except GateRefused as refusal:  # perform_update rolled everything back
            return refusal_response(refusal)

    @extend_schema(methods=["GET"], responses=GateSerializer(many=True))
    @extend_schema(methods=["POST"], request=GateInputSerializer, responses={201: GateSerializer, 409: GATE_REFUSED},
                   description="Record a gate on the way to `to_stage` (the next stage, or `stopped`). A go moves the "
                               "pilot; a refusal is 409 problem+json listing the missing answers.")
    @action(detail=True, methods=["get", "post"], url_path="gates", permission_classes=[permissions.ReadOnlyOrPilotManager])
    def gates(self, request, pk=None):
        pilot = self.get_object()
        if request.method == "POST":
            given = GateInputSerializer(data=request.data)
            given.is_valid(raise_exception=True)
            data = given.validated_data
            try:
                gate = services.pilot_advance(
                    pilot=pilot, to_stage=data["to_stage"], by=request.user, decision=data["decision"], answers=data.get("answers"),
                    decided_on=data.get("decided_on"), notes=data.get("notes", ""),
                    lessons_learned=data.get("lessons_learned", ""),
                )
            except GateRefused as refusal:
                return refusal_response(refusal)
            return Response(GateSerializer(gate, context={"request": request}).data, status=status.HTTP_201_CREATED)
        gates = pilot.gates.select_related("decided_by", "pilot").prefetch_related("answers__criterion").order_by("decided_on", "created_at", "pk")
        page = self.paginate_queryset(gates)
        return self.get_paginated_response(GateSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(methods=["GET"], responses=KPISerializer(many=True))
    @extend_schema(methods=["POST"], request=KPISerializer, responses={201: KPISerializer})
    @action(detail=True, methods=["get", "post"], url_path="kpis", permission_classes=[ReadOnlyOrStaff])
    def kpis(self, request, pk=None):
        pilot = self.get_object()
        if request.method == "POST":
            _require_kpi_editor(request.user, pilot)
            given = KPISerializer(data=request.data, context={"request": request, "pilot": pilot})
            given.is_valid(raise_exception=True)
            given.save(pilot=pilot)
            return Response(given.data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(pilot.kpis.order_by("pk"))
        return self.get_paginated_response(KPISerializer(page, many=True, context={"request": request}).data)

    @extend_schema(methods=["GET"], responses=FeedbackQuestionSerializer(many=True),
                   description="The pilot's questions to residents, each with its answers counted.")
    @extend_schema(methods=["POST"], request=FeedbackInputSerializer,
                   responses={200: FeedbackAnswerSerializer, 403: OpenApiResponse(description="Not signed in, or the "
                              "pilot is not at stage pilot or scaling."),
                              429: OpenApiResponse(description="Too many answers in the last hour.")},
                   description="A resident's answer (1 to 5, optional comment): one per account and question; "
                               "posting again changes it. Only while the pilot is at stage pilot or scaling.")
    @action(detail=True, methods=["get", "post"], url_path="feedback", permission_classes=[AllowAny])
    def feedback(self, request, pk=None):
        pilot = self.get_object()
        questions = list(pilot.feedback_questions.order_by("pk"))
        if request.method == "POST":
            if not permissions.can_answer_feedback(request.user, pilot):
                raise exceptions.PermissionDenied("Residents answer only while the pilot is at stage pilot or scaling, "
                                                  "and with an account.")
            given = FeedbackInputSerializer(data=request.data)
            given.is_valid(raise_exception=True)
            question = next((q for q in questions if q.pk == given.validated_data["question"]), None)
            if question is None:
                raise serializers.ValidationError({"question": "Not a question of this pilot."})
            try:
                answer = services.feedback_answer(question=question, user=request.user,
                                                  value=given.validated_data["value"],
                                                  comment=given.validated_data["comment"])
            except services.TooManyAnswers:
                return problem_response(status.HTTP_429_TOO_MANY_REQUESTS, "Too Many Requests",
                                        "Too many answers in the last hour.", headers={"Retry-After": "3600"})
            return Response(FeedbackAnswerSerializer(answer).data, status=status.HTTP_200_OK)
        mine = {}
        if request.user.is_authenticated:
            mine = dict(FeedbackAnswer.objects.filter(question__in=questions, user=request.user)
                        .values_list("question_id", "value"))
        data = [{"id": q.pk, **q.summary(), "your_answer": mine.get(q.pk),
                 "kpis": [pk for pk in (q.kpi_positive_id, q.kpi_responses_id) if pk]} for q in questions]
        page = self.paginate_queryset(data)
        return self.get_paginated_response(FeedbackQuestionSerializer(page, many=True).data)


class KPIViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = KPI.objects.select_related("pilot").annotate(
        latest_measured_value=Subquery(
            Measurement.objects.filter(kpi=OuterRef("pk")).order_by("-measured_at").values("value")[:1]
        )
    ).order_by("pk")
    serializer_class = KPISerializer
    permission_classes = [ReadOnlyOrStaff]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_object(self) -> KPI:
        kpi = super().get_object()
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            _require_kpi_editor(self.request.user, kpi.pilot)
        return kpi

    @extend_schema(methods=["GET"], responses=MeasurementSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=MeasurementSerializer(many=True),
        responses=inline_serializer("MeasurementUpsertResult", {
            "received": serializers.IntegerField(), "created": serializers.IntegerField(),
            "updated": serializers.IntegerField()}),
        description="Bulk upsert: one value per (KPI, measured_at); posting the same batch again changes nothing. "
                    "All or nothing: every bad item is listed by index in invalidParams.",
    )
    @action(detail=True, methods=["get", "post"], url_path="measurements")
    def measurements(self, request, pk=None):
        """GET: the series, oldest first. POST: a list of {measured_at, value, source}, stored per
        (KPI, timestamp) so that posting the same data again changes nothing. All or nothing."""
        kpi = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(kpi.measurements.order_by("measured_at"))
            return self.get_paginated_response(MeasurementSerializer(page, many=True).data)
        items = request.data if isinstance(request.data, list) else [request.data]
        if len(items) > MAX_MEASUREMENTS_PER_REQUEST:
            raise serializers.ValidationError(
                {"body": f"At most {MAX_MEASUREMENTS_PER_REQUEST} measurements per request; send them in batches."}
            )
        given = MeasurementSerializer(data=items, many=True)
        given.is_valid(raise_exception=True)
        rows = [MeasurementRow(item["measured_at"], item["value"], item.get("source") or "api")
                for item in given.validated_data]
        created, updated = kpi.upsert_measurements(rows)
        return Response({"received": len(rows), "created": created, "updated": updated}, status=status.HTTP_200_OK)
