"""The hub's REST API (/api/v1/) and what every app's API builds on: list filters and JSON types checked,
text fields cleaned as the web forms clean them, references from other systems, links to societal
challenges, a viewset without delete.

Conventions from the NL GOV API Design Rules: plural kebab-case nouns, no trailing slash, errors as
application/problem+json (smartcity/problems.py) listing every invalid field at once.
"""
from __future__ import annotations

import contextlib
import copy
from contextlib import contextmanager
from typing import ClassVar

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Count, Prefetch, Q
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.utils.formatting import lazy_format

from smartcity import permissions
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme
from smartcity.problems import Conflict
from smartcity.signals import societal_challenge_curated
from smartcity.text import clean_line, clean_text


def list_filters(view, filters_class: type[serializers.Serializer]) -> dict:
    """A list's filters from the query string, validated by a serializer: a wrong value (`?status=bogus`) is a
    400 listing each invalid parameter, not a list that silently ignores it. The same serializer documents the
    parameters (`extend_schema(parameters=[filters_class])`). Only the list reads them."""
    if getattr(view, "action", None) != "list":
        return {}
    # A plain dict, not the QueryDict: DRF reads an empty form value as absent, and `?status=` is no status.
    filters = filters_class(data=view.request.query_params.dict())
    filters.is_valid(raise_exception=True)
    return filters.validated_data


def json_type_error(field: serializers.Field, value) -> str | None:
    """Whether a value has the JSON type the document gives its field. DRF's fields also read "12" as a number
    and 12 as a text (form data has only strings); a JSON body says its types, so each is taken as documented."""
    if value is None:
        return None  # null: the field's allow_null decides
    if isinstance(field, serializers.ManyRelatedField):
        if isinstance(value, list):
            return next(filter(None, (json_type_error(field.child_relation, item) for item in value)), None)
        return _("Expected a list.")  # DRF would take an object's keys as the list
    if isinstance(field, serializers.SlugRelatedField) and value == "":
        return _("Expected a slug, or null for none.")  # DRF would read "" as null
    if isinstance(field, serializers.DictField):
        if isinstance(value, dict):
            return next(filter(None, (json_type_error(field.child, item) for item in value.values())), None)
        return None
    if isinstance(field, serializers.BooleanField):
        wanted, accepted = _("Expected true or false."), isinstance(value, bool)
    elif isinstance(field, (serializers.IntegerField, serializers.PrimaryKeyRelatedField)):
        wanted, accepted = _("Expected a whole number."), isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(field, serializers.FloatField):
        wanted, accepted = _("Expected a number."), isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(field, (serializers.CharField, serializers.ChoiceField, serializers.SlugRelatedField,
                            serializers.DecimalField)):
        wanted, accepted = _("Expected a string."), isinstance(value, str)  # a decimal is a string, as returned
    else:
        return None
    return None if accepted else wanted


class JsonTypes(serializers.Serializer):
    """A serializer that takes every field's value of a JSON body in its own JSON type only (json_type_error),
    and lists wrong types together with the other invalid fields. A form body (a QueryDict, only strings; taken
    from integrations with a token) is read as DRF reads it."""

    def to_internal_value(self, data):
        wrong = {}
        if isinstance(data, dict) and not hasattr(data, "getlist"):
            for name, field in self.fields.items():
                if not field.read_only and name in data and (message := json_type_error(field, data[name])):
                    wrong[name] = [exceptions.ErrorDetail(message, code="invalid")]
        try:
            value = super().to_internal_value(data)
        except exceptions.ValidationError as error:
            if wrong and isinstance(error.detail, dict):
                raise exceptions.ValidationError({**error.detail, **wrong}) from None
            raise
        if wrong:
            raise exceptions.ValidationError(wrong)
        return value


class OneLineField(serializers.CharField):
    """One line of plain text (a title, a name), cleaned as the web forms clean it (smartcity.text.clean_line)
    before the length checks: no control or direction characters, no line breaks."""

    clean = staticmethod(clean_line)

    def to_internal_value(self, data) -> str:
        # The document's maxLength holds for what the client sends: cleaning must not let a longer text in.
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        value = self.clean(super().to_internal_value(data))
        if not value and not self.allow_blank:
            self.fail("blank")
        return value


class PlainTextField(OneLineField):
    """Plain text over several lines (a description), cleaned by smartcity.text.clean_text."""

    clean = staticmethod(clean_text)


_CONTAINERS = (dict, list, set)
_IMMUTABLE = (type(None), bool, int, float, str, type)


def copy_field(field: serializers.Field) -> serializers.Field:
    """A copy of a field that was built and never bound, in the state DRF's deepcopy gives it (which builds the
    field again from its arguments, validators and querysets included: 0.17 ms for the report's 20 fields, this
    0.05): its own attributes, its own dicts and lists (messages, choices, validators, style), a deep copy of
    its default and initial value; the validators (their messages formatted when read, in the reader's
    language: _messages_in_each_language), querysets (only ever cloned with `.all()`), labels and other
    arguments shared, as DRF shares validators. A field that holds fields (a list's child, a relation's
    `many=True`) or a nested serializer binds them to itself: that is copied as DRF copies it."""
    if isinstance(field, serializers.BaseSerializer):
        return copy.deepcopy(field)
    state = dict(vars(field))
    for name, value in state.items():
        kind = type(value)
        if kind in _IMMUTABLE:
            continue
        if name in ("default", "initial"):
            state[name] = copy.deepcopy(value)
        elif kind in _CONTAINERS:
            state[name] = value.copy()
        elif isinstance(value, serializers.Field):
            return copy.deepcopy(field)
    clone = object.__new__(type(field))  # not Field.__new__, which would note no arguments
    clone.__dict__ = state
    return clone


# A message formatted when read, in the reader's language, each time it is read.
_formatted_when_read = lazy(lambda text, *args, **kwargs: str(text).format(*args, **kwargs), str)


def _messages_in_each_language(field: serializers.Field) -> None:
    """DRF formats a length's or a limit's message once and keeps it (`lazy_format`), which is right for a field
    built for one request. A field built once per process and copied for every request shares its validators:
    the first reader's language would be every later reader's. Its messages are formatted when read instead."""
    for validator in vars(field).get("_validators", ()):
        message = getattr(validator, "message", None)
        if type(message) is lazy_format and message.result is None:
            validator.message = _formatted_when_read(message.format_string, *message.args, **message.kwargs)


class CleanTextSerializer(JsonTypes, serializers.ModelSerializer):
    """The API's model serializers: the model's text fields take text as the web forms do, a CharField as
    one line and a TextField as plain text, whatever a client sends; each field only its JSON type."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: OneLineField,
        models.TextField: PlainTextField,
    }
    _built_fields: ClassVar[dict[str, serializers.Field]]
    _found_validators: ClassVar[list]

    def get_fields(self) -> dict[str, serializers.Field]:
        """The fields ModelSerializer builds from the model and Meta, built once per class and process (about a
        tenth of a POST's CPU when built for every request), then copied for each serializer (copy_field): each
        instance binds and may change its own copies. What it builds depends on the class alone (labels and help
        texts stay lazy, translated when shown); a subclass whose fields depend on the request or the instance
        must override this."""
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            for field in built.values():
                _messages_in_each_language(field)
            type(self)._built_fields = built  # set on this class only: a subclass builds its own
        return {name: copy_field(field) for name, field in built.items()}

    def get_validators(self) -> list:
        """The serializer's own validators (ModelSerializer: unique together and unique for date, from the model and
        the fields), found once per class and process as the fields are built: DRF looks them up again for every
        serializer (0.05 ms for the report's, which has none). Shared as DRF shares `Meta.validators`: a validator
        keeps nothing of the data it checks."""
        found = type(self).__dict__.get("_found_validators")
        if found is None:
            found = super().get_validators()
            type(self)._found_validators = found  # set on this class only: a subclass finds its own
        return list(found)


class ReferenceField(serializers.CharField):
    """An optional id from another system: blank means none, unique per type."""

    def __init__(self, **kwargs):
        super().__init__(max_length=100, required=False, allow_null=True, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return value.strip() or None if isinstance(value, str) else value


VISIBLE_CHALLENGES = "visible_societal_challenges"


def visible_challenges_prefetch(user) -> Prefetch:
    """For lists: the societal challenges this reader may see, read once for the page (SocietalChallengeLinks)."""
    return Prefetch("societal_challenges", queryset=SocietalChallenge.objects.visible_to(user), to_attr=VISIBLE_CHALLENGES)


class SocietalChallengeLinks(serializers.ManyRelatedField):
    """An item's links to societal challenges, by id. Anyone may read the item, so the links name only the
    challenges the reader may see (SocietalChallengeQuerySet.visible_to): a proposed one only for curators."""

    def __init__(self, **kwargs):
        child = serializers.PrimaryKeyRelatedField(queryset=SocietalChallenge.objects.all())
        super().__init__(child_relation=child, required=False, **kwargs)

    def get_attribute(self, instance):
        if instance.pk is None:
            return []
        if hasattr(instance, VISIBLE_CHALLENGES):
            return getattr(instance, VISIBLE_CHALLENGES)
        return instance.societal_challenges.visible_to(self.context["request"].user)


class ThemeSerializer(CleanTextSerializer):
    class Meta:
        model = Theme
        fields = ["slug", "name", "name_nl", "name_en", "name_sv", "description", "target_days"]


class DepartmentSerializer(CleanTextSerializer):
    class Meta:
        model = Department
        fields = ["slug", "name", "email"]


class SocietalChallengeSerializer(CleanTextSerializer):
    reference = ReferenceField(validators=[])
    themes = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Theme.objects.all(), required=False)
    # What links here (read-only): departments link their challenges, staff link reports.
    department_challenges = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # Annotated by the viewset's queryset; a challenge just created has none yet, and no reports (found by fuzzing).
    report_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = SocietalChallenge
        fields = ["id", "reference", "title", "description", "themes", "status", "department_challenges",
                  "report_count", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_reference(self, value):
        return validate_unique_reference(SocietalChallenge, value, self.instance)


class DepartmentChallengeSerializer(CleanTextSerializer):
    reference = ReferenceField(validators=[])
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    themes = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Theme.objects.all(), required=False)
    societal_challenges = SocietalChallengeLinks()

    class Meta:
        model = DepartmentChallenge
        fields = [
            "id", "reference", "title", "description", "department", "themes", "status", "target", "deadline",
            "societal_challenges", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_reference(self, value):
        return validate_unique_reference(DepartmentChallenge, value, self.instance)

    def validate_department(self, department: Department) -> Department:
        user = self.context["request"].user
        if not permissions.can_create_department_challenge(user, department.pk):
            raise serializers.ValidationError("You can only post challenges for your own departments.")
        return department


REFERENCE_TAKEN = "This reference is already in use."


def reference_taken(model: type[models.Model], reference: str, instance) -> bool:
    """Whether another row of `model` than `instance` (None: a new one) has this reference. One written query:
    the ORM builds `filter(reference=…).exclude(pk=…).exists()` again for every POST (0.5 to 1 ms of CPU, this 0.1)."""
    connection = connections[router.db_for_read(model)]
    quote, meta = connection.ops.quote_name, model._meta
    sql, params = f"SELECT 1 FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('reference').column)} = %s", [reference]
    if getattr(instance, "pk", None) is not None:
        sql, params = f"{sql} AND {quote(meta.pk.column)} <> %s", [reference, instance.pk]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT 1", params)
        return cursor.fetchone() is not None


def validate_unique_reference(model, value: str | None, instance) -> str | None:
    """A serializer's `validate_reference`: a taken reference is listed with the other invalid fields (400)."""
    if value and reference_taken(model, value, instance):
        raise serializers.ValidationError(REFERENCE_TAKEN, code="unique")
    return value


@contextmanager
def reference_conflicts(serializer, *, atomic: bool = True):
    """Wrap the save of a serializer with a `reference`. Two requests with one new reference can both pass
    validate_unique_reference before either has written; the database's unique constraint then lets one
    write and refuses the other. That refusal is a 409 problem+json, not the IntegrityError's 500.
    `atomic=False` when the save is one transaction of its own already (no savepoint needed around it)."""
    reference = serializer.validated_data.get("reference")
    try:
        with transaction.atomic() if atomic else contextlib.nullcontext():
            yield
    except IntegrityError:
        model, instance = serializer.Meta.model, serializer.instance
        if reference and reference_taken(model, reference, instance):
            raise Conflict(REFERENCE_TAKEN, invalid_params=[
                {"name": "reference", "code": "unique", "reason": REFERENCE_TAKEN}]) from None
        raise


class NoDeleteViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                      mixins.ListModelMixin, viewsets.GenericViewSet):
    http_method_names = ["get", "post", "patch", "head", "options"]

    @transaction.atomic
    def perform_create(self, serializer):
        with reference_conflicts(serializer):
            instance = serializer.save(**self.extra_create_fields())
        self.after_save(instance)

    @transaction.atomic
    def perform_update(self, serializer):
        with reference_conflicts(serializer):
            instance = serializer.save()
        self.after_save(instance)

    def extra_create_fields(self) -> dict:
        return {}

    def after_save(self, instance) -> None:
        """The next step after a create or update, such as announcing a curated societal challenge."""


class ThemeViewSet(NoDeleteViewSet):
    queryset = Theme.objects.all()
    serializer_class = ThemeSerializer
    permission_classes = [permissions.ReadOnlyOrReferenceDataManager]
    lookup_field = "slug"


class DepartmentViewSet(NoDeleteViewSet):
    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer
    permission_classes = [permissions.ReadOnlyOrReferenceDataManager]
    lookup_field = "slug"


class SocietalChallengeFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=SocietalChallenge.Status.choices, required=False)


@extend_schema_view(list=extend_schema(parameters=[SocietalChallengeFilters]))
class SocietalChallengeViewSet(NoDeleteViewSet):
    queryset = SocietalChallenge.objects.prefetch_related("themes", "department_challenges").order_by("id")
    serializer_class = SocietalChallengeSerializer
    permission_classes = [permissions.ReadOnlyOrCurator]

    def get_queryset(self):
        challenges = super().get_queryset().visible_to(self.request.user).annotate(
            report_count=Count("reports", filter=Q(reports__is_hidden=False), distinct=True)
        )
        filters = list_filters(self, SocietalChallengeFilters)
        if "status" in filters:
            challenges = challenges.filter(status=filters["status"])
        return challenges

    def extra_create_fields(self) -> dict:
        return {"created_by": self.request.user}

    def after_save(self, instance) -> None:
        # A new or changed challenge changes every item's scores: those who score them refresh (smartcity.signals).
        societal_challenge_curated.send(sender=SocietalChallenge, challenge=instance, by=self.request.user)


class DepartmentChallengeFilters(serializers.Serializer):
    department = serializers.SlugField(required=False, max_length=60, help_text="A department's slug.")
    status = serializers.ChoiceField(choices=DepartmentChallenge.Status.choices, required=False)


@extend_schema_view(list=extend_schema(parameters=[DepartmentChallengeFilters]))
class DepartmentChallengeViewSet(NoDeleteViewSet):
    queryset = DepartmentChallenge.objects.select_related("department").prefetch_related("themes").order_by("id")
    serializer_class = DepartmentChallengeSerializer
    permission_classes = [permissions.ReadOnlyOrStaff]

    def get_queryset(self):
        """?department=<slug> and ?status=open|closed narrow the list: the per-department and city-wide lists."""
        challenges = super().get_queryset().prefetch_related(visible_challenges_prefetch(self.request.user))
        filters = list_filters(self, DepartmentChallengeFilters)
        if "department" in filters:
            challenges = challenges.filter(department__slug=filters["department"])
        if "status" in filters:
            challenges = challenges.filter(status=filters["status"])
        return challenges

    def extra_create_fields(self) -> dict:
        return {"created_by": self.request.user}

    def perform_update(self, serializer):
        if not permissions.can_edit_department_challenge(self.request.user, serializer.instance):
            raise exceptions.PermissionDenied("Only members of the challenge's department may change it.")
        super().perform_update(serializer)

