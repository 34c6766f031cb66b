"""The reports API: GET /api/v1/reports[/{id}] (public fields only) and POST /api/v1/reports.

Anyone may post a report; anonymous clients and residents are throttled per client, staff and
integrations (token auth) get a high rate so that bulk imports work. Contact details are write-only.
"""
from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.throttling import BaseThrottle

from participation import ratelimit
from participation.filters import BBOX_PATTERN, Q_MAX_LENGTH, SLUG_PATTERN, ReportFilterForm
from participation.models import Category, Report, ReportPhoto
from participation.services import report_create
from smartcity import permissions
from smartcity.api import (
    CleanTextSerializer,
    NoDeleteViewSet,
    ReferenceField,
    reference_conflicts,
    validate_unique_reference,
)
from smartcity.clientip import client_address
from smartcity.geo import in_city_bounds
from smartcity.models import Department, Theme
from smartcity.problems import InvalidQuery, invalid_params


class CityCoordinate(serializers.FloatField):
    """A report's latitude or longitude. The field takes any coordinate on earth; ReportSerializer.validate
    then refuses a point outside CITY_BOUNDS, naming both coordinates. The document gives the city's bounds
    of a new report (CityCoordinateSchema), so a client can tell a valid point from the description alone."""

    def __init__(self, axis: str, **kwargs):
        self.axis = axis
        limit = 90 if axis == "latitude" else 180
        super().__init__(min_value=-limit, max_value=limit, **kwargs)

    def city_bounds(self) -> tuple[float, float]:
        min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
        return (min_lat, max_lat) if self.axis == "latitude" else (min_lon, max_lon)


class CityCoordinateSchema(OpenApiSerializerFieldExtension):
    target_class = CityCoordinate

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":  # a report made before CITY_BOUNDS changed keeps its point
            schema["minimum"], schema["maximum"] = self.target.city_bounds()
        return schema


class ReportSerializer(CleanTextSerializer):
    reference = ReferenceField(validators=[], help_text="Your own id for the report, from your system (optional, "
                                                        "unique). The city's reference is `case_reference`.")
    case_reference = serializers.CharField(
        read_only=True, help_text="The city's reference for the report, e.g. DH-2026-000123: what residents and staff "
                                  "quote, shown on the report's page and in every email. The `q` filter finds it.")
    theme = serializers.SlugRelatedField(slug_field="slug", queryset=Theme.objects.all(), required=False, allow_null=True,
                                         help_text="Empty: the category's theme.")
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.active(), required=False, allow_null=True,
        help_text="What it is about (GET /api/v1/categories). A category with a default department routes the "
                  "report there at once.")
    neighbourhood = serializers.SlugRelatedField(source="area", slug_field="slug", read_only=True, allow_null=True)
    email = serializers.EmailField(write_only=True, required=False, allow_blank=True,
                                   help_text="Where updates go (after confirmation). Never returned.")
    latitude = CityCoordinate("latitude")
    longitude = CityCoordinate("longitude")
    url = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id", "case_reference", "reference", "title", "description", "theme", "category", "latitude", "longitude",
            "address", "nearest_address", "neighbourhood", "status", "support_count", "url", "photos", "email", "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = ["status", "support_count", "created_at", "updated_at", "closed_at", "nearest_address"]
        extra_kwargs = {
            "title": {"min_length": 3},
            "description": {"min_length": 10},
            "address": {"required": False},
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, report: Report) -> str:
        return settings.SITE_URL + report.get_absolute_url()

    @extend_schema_field({"type": "array", "items": {"type": "string", "format": "uri"}})
    def get_photos(self, report: Report) -> list[str]:
        return [settings.SITE_URL + photo.image.url for photo in report.photos.all()]

    def validate_reference(self, value):
        return validate_unique_reference(Report, value, self.instance)

    def validate(self, attrs):
        if not in_city_bounds(attrs["latitude"], attrs["longitude"]):
            min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
            message = (f"The point lies outside the city ({min_lat}..{max_lat} N, {min_lon}..{max_lon} E).")
            raise serializers.ValidationError({"latitude": [message], "longitude": [message]}, code="outside_city")
        return attrs


class ReportThrottle(BaseThrottle):
    """Only POST is throttled: per IP for anonymous clients, per account otherwise; staff at a high rate.
    Fixed windows with one counter each (participation.ratelimit.hit), so a busy integration's
    thousands of requests an hour cost one increment each."""

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        kind = self._kind(request)
        limit, period = ratelimit.parse_rate(settings.REPORT_API_RATES[kind])
        count, self.seconds_left = ratelimit.hit(f"throttle:reports:{kind}:{ratelimit.client_key(request)}", period)
        return count <= limit

    def get_ident(self, request):
        """The client as the rest of the site sees it (smartcity/clientip.py), not DRF's own reading."""
        return client_address(request)

    def wait(self):
        return self.seconds_left

    def _kind(self, request) -> str:
        user = request.user
        if permissions.is_staff_member(user):
            return "staff"
        return "resident" if user.is_authenticated else "anonymous"


@extend_schema_view(
    list=extend_schema(parameters=[
        # What participation/filters.py accepts, said in the document's own terms.
        OpenApiParameter("theme", {"type": "string", "pattern": SLUG_PATTERN},
                         description="A theme's slug (one that names no theme matches no report)."),
        OpenApiParameter("status", str, enum=["", "open", *Report.Status.values],
                         description="One status, open for every open one, or empty for all."),
        OpenApiParameter("neighbourhood", {"type": "string", "pattern": SLUG_PATTERN},
                         description="A neighbourhood's slug."),
        OpenApiParameter("q", {"type": "string", "maxLength": Q_MAX_LENGTH},
                         description="Words that must all occur in the title or description; #12 is report number 12."),
        OpenApiParameter("bbox", {"type": "string", "pattern": BBOX_PATTERN},
                         description="min_lon,min_lat,max_lon,max_lat (WGS84)."),
    ]),
    create=extend_schema(description="Anonymous clients and residents are throttled per client (429 with "
                                     "problem+json); staff and integration tokens get a high rate."),
)
class ReportViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin,
                    viewsets.GenericViewSet):
    """Residents' reports. Filters: `theme`, `status`, `neighbourhood` (slugs), `q` (text), `bbox`
    (min_lon,min_lat,max_lon,max_lat). An invalid filter value is a 400 that lists it in invalidParams."""

    serializer_class = ReportSerializer
    permission_classes = [AllowAny]
    throttle_classes = [ReportThrottle]

    def get_queryset(self):
        reports = (
            Report.objects.public()
            .select_related("theme", "area", "category")
            .prefetch_related(Prefetch("photos", queryset=ReportPhoto.objects.order_by("position", "pk")))
            .order_by("-created_at", "-pk")
        )
        if self.action != "list":
            return reports
        # The one report filter (participation/filters.py): an invalid value is a 400 listing it, never every report.
        filters = ReportFilterForm(self.request.query_params)
        if not filters.is_valid():
            raise InvalidQuery(invalid_params(filters))
        return filters.filter(reports)

    def perform_create(self, serializer):
        data = serializer.validated_data
        user = self.request.user if self.request.user.is_authenticated else None
        # report_create is one transaction of its own: no savepoint around it (not inside a request's transaction).
        with reference_conflicts(serializer, atomic=transaction.get_connection().in_atomic_block):
            serializer.instance = report_create(
                title=data["title"],
                description=data["description"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                theme=data.get("theme"),
                category=data.get("category"),
                address=data.get("address", ""),
                author=user,
                email=data.get("email", ""),
                reference=data.get("reference"),
                source=Report.Source.API,
            )
        # A report posted here has no photos yet: the response needs no query to say so, nor even to compile one
        # (an empty QuerySet still builds its SQL to find it asks for nothing): known empty, as prefetch fills it.
        no_photos = ReportPhoto.objects.none()
        no_photos._result_cache = []
        serializer.instance._prefetched_objects_cache = {"photos": no_photos}


# --- Categories: GET for everyone, changes by who manages reference data (administrators) -------------------
@extend_schema_field({"type": "string", "maxLength": 200, "pattern": r"^https?://\S+$",
                      "description": "A link for the notice (http or https); empty for none."})
class NoticeLink(serializers.CharField):
    """The notice's link. Checked as the document says (http or https, no spaces), not by Django's stricter
    URLValidator, so that every link the document allows is taken (tests/security/test_api_fuzzing.py)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=200, required=False, allow_blank=True,
                         validators=[RegexValidator(r"^(https?://\S+)?$", "Give an http or https link.")], **kwargs)


class CategorySerializer(CleanTextSerializer):
    notice_url = NoticeLink()
    parent = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.filter(parent__isnull=True),
                                          required=False, allow_null=True,
                                          help_text="The main category's slug; empty for a main category.")
    theme = serializers.SlugRelatedField(slug_field="slug", queryset=Theme.objects.all(), required=False,
                                         allow_null=True)
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all(), required=False,
                                              allow_null=True, help_text="Where new reports go (routing on intake).")

    class Meta:
        model = Category
        fields = ["slug", "parent", "name", "name_nl", "name_en", "name_sv", "theme", "department", "target_days",
                  "notice", "notice_nl", "notice_en", "notice_sv", "notice_url", "order", "is_active"]

    def validate(self, attrs):
        parent = attrs.get("parent", getattr(self.instance, "parent", None))
        if parent is not None and self.instance is not None:
            if parent.pk == self.instance.pk:
                raise serializers.ValidationError({"parent": ["A category cannot be its own main category."]})
            if self.instance.children.exists():
                raise serializers.ValidationError(
                    {"parent": ["A main category with subcategories cannot become a subcategory."]})
        return attrs


class CategoryViewSet(NoDeleteViewSet):
    """The category tree: main categories (parent null) and their subcategories, in the city's order."""

    queryset = Category.objects.select_related("parent", "theme", "department").order_by("parent__order", "order",
                                                                                          "name", "pk")
    serializer_class = CategorySerializer
    permission_classes = [permissions.ReadOnlyOrReferenceDataManager]
    lookup_field = "slug"
