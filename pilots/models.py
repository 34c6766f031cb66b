"""The pilot portfolio: pilots moving through the scaling-up stages, the gates they pass, their KPIs.

A pilot goes idea -> proof of concept -> pilot -> scaling -> operational, one gate at a time, and can
be stopped from any stage with lessons learned. Every gate is a row that stays as history; the
criteria asked at a gate are data (GateCriterion), seeded with defaults by a data migration.
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smartcity.models import Area, Department, DepartmentChallenge, Referenced, SocietalChallenge


class Stage(models.TextChoices):
    IDEA = "idea", _("idea")
    PROOF_OF_CONCEPT = "proof_of_concept", _("proof of concept")
    PILOT = "pilot", _("pilot")
    SCALING = "scaling", _("scaling")
    OPERATIONAL = "operational", _("operational")
    STOPPED = "stopped", _("stopped")


# The way up; STOPPED is reachable from every stage but is not on it.
STAGE_ORDER: tuple[str, ...] = (Stage.IDEA, Stage.PROOF_OF_CONCEPT, Stage.PILOT, Stage.SCALING, Stage.OPERATIONAL)
# Stages in which a pilot is still on its way and can strand.
ACTIVE_STAGES: tuple[str, ...] = (Stage.IDEA, Stage.PROOF_OF_CONCEPT, Stage.PILOT, Stage.SCALING)
GATE_STAGES = [(value, label) for value, label in Stage.choices if value in STAGE_ORDER[1:]]


# The allowed stage changes, written as the report workflow writes its own (participation/workflow.py):
# from-stage -> the stages it may move to. Up one stage at a time, through a gate; stopped (with lessons
# learned) from any stage. Pilot.advance is the one place that moves a pilot along them.
TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.IDEA: frozenset({Stage.PROOF_OF_CONCEPT, Stage.STOPPED}),
    Stage.PROOF_OF_CONCEPT: frozenset({Stage.PILOT, Stage.STOPPED}),
    Stage.PILOT: frozenset({Stage.SCALING, Stage.STOPPED}),
    Stage.SCALING: frozenset({Stage.OPERATIONAL, Stage.STOPPED}),
    Stage.OPERATIONAL: frozenset({Stage.STOPPED}),
    Stage.STOPPED: frozenset(),
}


def next_stage(stage: str) -> str | None:
    """The stage after this one on the way up (through a gate), or None at the top and for a stopped pilot."""
    return next((to for to in TRANSITIONS.get(stage, ()) if to != Stage.STOPPED), None)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` calendar months earlier (the 31st becomes the month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


class GateRefused(ValidationError):
    """A stage change that the gate rules do not allow. `missing` lists required criteria left unanswered."""

    def __init__(self, message, missing: list["GateCriterion"] | None = None, code: str = "gate"):
        super().__init__(message, code=code)
        self.missing = missing or []


class GateCriterionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class GateCriterion(models.Model):
    """One question the innovation team answers at a gate. Data, not code: each city sets its own.

    Every active criterion is asked at every gate; it is required for gates into `required_from`
    and the stages after it. Blank `required_from` means it is never required.
    """

    key = models.SlugField(_("key"), max_length=60, unique=True)
    question = models.CharField(_("question"), max_length=300)
    help_text = models.TextField(_("explanation"), blank=True)
    # When set, the answer is one of these (for example the kind of scaling).
    options = models.JSONField(_("options"), default=list, blank=True)
    required_from = models.CharField(_("required from stage"), max_length=20, choices=GATE_STAGES, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GateCriterionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("gate criterion")
        verbose_name_plural = _("gate criteria")

    def __str__(self) -> str:
        return self.question

    @property
    def localized_question(self) -> str:
        # The defaults are in the translation catalogues; a city's own questions show as written.
        return gettext(self.question)

    @property
    def localized_help_text(self) -> str:
        return gettext(self.help_text) if self.help_text else ""

    def is_required_for(self, to_stage: str) -> bool:
        if not self.required_from or to_stage not in STAGE_ORDER:
            return False
        return STAGE_ORDER.index(to_stage) >= STAGE_ORDER.index(self.required_from)


class PilotQuerySet(models.QuerySet):
    def active(self):
        return self.filter(stage__in=ACTIVE_STAGES)

    def search(self, text: str):
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(title__icontains=text) | Q(description__icontains=text))

    def with_stranding(self, now: dt.datetime | None = None, months: int | None = None):
        """Annotate `is_inactive` and `is_overdue`, the two reasons a pilot counts as stranded.

        - inactive: on its way (not operational, not stopped), older than the window and no gate
          decision and no measurement within the last PILOT_STRANDED_MONTHS months;
        - overdue: on its way, past its end date, and no gate decision since that date.
        Recording a pilot at import starts its clock but is not a decision.
        """
        now = now or timezone.now()
        months = settings.PILOT_STRANDED_MONTHS if months is None else months
        cutoff = months_before(now, months)
        cutoff_date = timezone.localdate(cutoff)
        today = timezone.localdate(now)
        decisions = Gate.objects.filter(pilot=OuterRef("pk")).exclude(kind=Gate.Kind.IMPORT)
        recent_decision = Exists(decisions.filter(decided_on__gt=cutoff_date))
        recent_measurement = Exists(Measurement.objects.filter(kpi__pilot=OuterRef("pk"), measured_at__gt=cutoff))
        decision_after_end = Exists(decisions.filter(decided_on__gte=OuterRef("end_date")))
        on_its_way = Q(stage__in=ACTIVE_STAGES)
        return self.annotate(
            is_inactive=ExpressionWrapper(
                on_its_way & Q(stage_changed_at__lte=cutoff) & ~Q(recent_decision) & ~Q(recent_measurement),
                output_field=models.BooleanField(),
            ),
            is_overdue=ExpressionWrapper(
                on_its_way & Q(end_date__isnull=False, end_date__lt=today) & ~Q(decision_after_end),
                output_field=models.BooleanField(),
            ),
        )

    def stranded(self, now: dt.datetime | None = None, months: int | None = None):
        return self.with_stranding(now, months).filter(Q(is_inactive=True) | Q(is_overdue=True))

    def funnel(self) -> list[dict]:
        """Every stage with its number of pilots (and that as a share of the largest), stopped last."""
        counts = dict(self.order_by().values_list("stage").annotate(n=models.Count("pk")))
        largest = max(counts.values(), default=0)
        return [
            {"stage": value, "label": label, "count": counts.get(value, 0),
             "percent": round(100 * counts.get(value, 0) / largest) if largest else 0}
            for value, label in Stage.choices
        ]


class Pilot(Referenced):
    """An innovation tried by the city with partners, on its way (or not) to the city's normal work."""

    Stage = Stage

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(
        _("what is tried"), max_length=10_000,
        help_text=_("In plain language: what is tried, for whom and why. This is shown to residents."),
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage, default=Stage.IDEA)
    # Set by every stage change: "time in the current stage" on the portfolio.
    stage_changed_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    lead_department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="led_pilots",
        verbose_name=_("lead department"),
    )
    departments = models.ManyToManyField(
        Department, blank=True, related_name="pilots", verbose_name=_("participating departments")
    )
    societal_challenges = models.ManyToManyField(
        SocietalChallenge, blank=True, related_name="pilots", verbose_name=_("societal challenges")
    )
    department_challenges = models.ManyToManyField(
        DepartmentChallenge, blank=True, related_name="pilots", verbose_name=_("department challenges")
    )
    location = models.CharField(_("location or area"), max_length=255, blank=True)
    area = models.ForeignKey(
        Area, on_delete=models.SET_NULL, null=True, blank=True, related_name="pilots",
        verbose_name=_("neighbourhood"),
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    # Internal: shown to the innovation team and the pilot's departments, not on public pages.
    budget = models.DecimalField(_("budget (euro)"), max_digits=12, decimal_places=2, null=True, blank=True)
    internal_notes = models.TextField(_("internal notes"), blank=True, max_length=10_000)
    results_summary = models.TextField(
        _("results so far"), blank=True, max_length=10_000, help_text=_("In plain language; shown to residents.")
    )
    lessons_learned = models.TextField(_("lessons learned"), blank=True, max_length=10_000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PilotQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        verbose_name = _("pilot")
        verbose_name_plural = _("pilots")
        indexes = [
            # The funnel and the stranded scan: pilots by stage, oldest stage change first.
            models.Index(fields=["stage", "stage_changed_at"], name="pilot_stage_changed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="pilot_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pilots:pilot-detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.stage in ACTIVE_STAGES

    @property
    def next_stage(self) -> str | None:
        return next_stage(self.stage)

    @property
    def next_stage_label(self) -> str:
        following = self.next_stage
        return Stage(following).label if following else ""

    def department_ids_involved(self) -> set[int]:
        """The lead and participating departments: they edit the pilot's KPIs and measurements."""
        ids = {department.pk for department in self.departments.all()}
        if self.lead_department_id:
            ids.add(self.lead_department_id)
        return ids

    def served_departments(self) -> list[Department]:
        """Breadth: the departments involved plus the owners of the department challenges it addresses."""
        found = {department.pk: department for department in self.departments.all()}
        if self.lead_department_id:
            found[self.lead_department_id] = self.lead_department
        for challenge in self.department_challenges.all():
            found.setdefault(challenge.department_id, challenge.department)
        return sorted(found.values(), key=lambda department: department.name)

    def latest_answers(self) -> dict[str, str]:
        """The most recent answer per criterion key, to start the next gate from."""
        answers: dict[str, str] = {}
        rows = (
            GateAnswer.objects.filter(gate__pilot=self, criterion__isnull=False)
            .order_by("gate__decided_on", "gate__created_at", "gate__pk")
            .values_list("criterion__key", "answer")
        )
        for key, answer in rows:
            answers[key] = answer
        return answers

    def record_initial_stage(self, *, by) -> "Gate":
        """A pilot created at some stage (imported from elsewhere, or entered after the fact) gets a
        first history row. It is not a gate decision, so it asks no criteria."""
        return Gate.objects.create(
            pilot=self, kind=Gate.Kind.IMPORT, from_stage="", to_stage=self.stage,
            decision=Gate.Decision.GO, decided_by=by if getattr(by, "pk", None) else None,
        )

    def advance(
        self,
        to_stage: str,
        *,
        by,
        decision: str = "go",
        answers: dict[str, str] | None = None,
        decided_on: dt.date | None = None,
        notes: str = "",
        lessons_learned: str = "",
    ) -> "Gate":
        """Record a gate on the way to `to_stage`; on "go" the pilot moves there.

        - Only the next stage up, or STOPPED from any stage that is not stopped already.
        - "go" needs an answer to every criterion required for `to_stage`; "no-go" and "revise"
          record the gate with whatever answers there are, and the pilot stays where it is.
        - Stopping needs lessons learned and is always a "go" for the stop.
        Raises GateRefused; nothing is written then.
        """
        answers = {key: (value or "").strip() for key, value in (answers or {}).items()}
        answers = {key: value for key, value in answers.items() if value}
        lessons_learned = (lessons_learned or "").strip()
        if decision not in Gate.Decision.values:
            raise GateRefused(gettext("Unknown decision: %(decision)s.") % {"decision": decision}, code="decision")
        with transaction.atomic():
            pilot = Pilot.objects.select_for_update().get(pk=self.pk)
            criteria = {criterion.key: criterion for criterion in GateCriterion.objects.active()}
            if to_stage == Stage.STOPPED:
                kind = Gate.Kind.STOP
                if to_stage not in TRANSITIONS[pilot.stage]:
                    raise GateRefused(gettext("This pilot is stopped already."), code="stage")
                if decision != Gate.Decision.GO:
                    raise GateRefused(gettext("Stopping a pilot is always a decision to go ahead with the stop."),
                                      code="decision")
                if not lessons_learned:
                    raise GateRefused(gettext("Write down the lessons learned before stopping a pilot."),
                                      code="lessons_learned")
            else:
                kind = Gate.Kind.GATE
                expected = next_stage(pilot.stage)
                if expected is None:
                    raise GateRefused(
                        gettext("A pilot in stage “%(stage)s” cannot move on; it can only be stopped.")
                        % {"stage": Stage(pilot.stage).label},
                        code="stage",
                    )
                if to_stage != expected:
                    raise GateRefused(
                        gettext("A pilot in stage “%(stage)s” can only move to “%(next)s” (or be stopped).")
                        % {"stage": Stage(pilot.stage).label, "next": Stage(expected).label},
                        code="stage",
                    )
                unknown = sorted(set(answers) - set(criteria))
                if unknown:
                    raise GateRefused(
                        gettext("These are not criteria of this gate: %(keys)s.") % {"keys": ", ".join(unknown)},
                        code="answers",
                    )
                for key, value in answers.items():
                    if criteria[key].options and value not in criteria[key].options:
                        raise GateRefused(
                            gettext("The answer to “%(question)s” must be one of: %(options)s.")
                            % {"question": criteria[key].localized_question, "options": ", ".join(criteria[key].options)},
                            code="answers",
                        )
                if decision == Gate.Decision.GO:
                    missing = [c for c in criteria.values() if c.is_required_for(to_stage) and c.key not in answers]
                    if missing:
                        raise GateRefused(
                            gettext("The pilot cannot move to “%(stage)s” while required answers are missing: %(questions)s")
                            % {"stage": Stage(to_stage).label,
                               "questions": "; ".join(c.localized_question for c in missing)},
                            missing=missing,
                            code="missing_answers",
                        )
            gate = Gate.objects.create(
                pilot=pilot, kind=kind, from_stage=pilot.stage, to_stage=to_stage, decision=decision,
                decided_on=decided_on or timezone.localdate(), decided_by=by, notes=notes.strip(),
            )
            GateAnswer.objects.bulk_create(
                GateAnswer(gate=gate, criterion=criteria[key], question=criteria[key].question, answer=value)
                for key, value in answers.items()
            )
            if decision == Gate.Decision.GO:
                pilot.stage = to_stage
                pilot.stage_changed_at = timezone.now()
                fields = ["stage", "stage_changed_at", "updated_at"]
                if kind == Gate.Kind.STOP:
                    pilot.lessons_learned = lessons_learned
                    fields.append("lessons_learned")
                pilot.save(update_fields=fields)
        self.stage, self.stage_changed_at, self.lessons_learned = pilot.stage, pilot.stage_changed_at, pilot.lessons_learned
        return gate


class Partner(models.Model):
    """A company, knowledge institute or resident group that takes part in a pilot."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("company")
        KNOWLEDGE_INSTITUTE = "knowledge_institute", _("knowledge institute")
        RESIDENT_GROUP = "resident_group", _("resident group")
        OTHER = "other", _("other")

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="partners")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind, default=Kind.COMPANY)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [models.UniqueConstraint(fields=["pilot", "name"], name="partner_unique_name")]

    def __str__(self) -> str:
        return self.name


class Gate(models.Model):
    """One gate record: the decision, its date, who decided and the answers given. Never edited afterwards."""

    class Kind(models.TextChoices):
        GATE = "gate", _("gate")
        STOP = "stop", _("stop")
        IMPORT = "import", _("recorded stage")

    class Decision(models.TextChoices):
        GO = "go", _("go")
        NO_GO = "no_go", _("no-go")
        REVISE = "revise", _("revise")

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="gates")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.GATE)
    from_stage = models.CharField(_("from stage"), max_length=20, choices=Stage, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=20, choices=Stage)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision)
    decided_on = models.DateField(_("decided on"), default=timezone.localdate)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("decided by"),
    )
    notes = models.TextField(_("notes"), blank=True, max_length=10_000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_on", "created_at", "pk"]
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        indexes = [
            # A pilot's history, and "any decision since date X" in the stranded scan.
            models.Index(fields=["pilot", "decided_on"], name="gate_pilot_decided"),
        ]

    def __str__(self) -> str:
        return f"{self.pilot}: {self.from_stage or '-'} -> {self.to_stage} ({self.decision})"


class GateAnswer(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(GateCriterion, on_delete=models.SET_NULL, null=True, related_name="answers")
    # The question as it was asked, so the history stays readable when the criteria change.
    question = models.CharField(_("question"), max_length=300)
    answer = models.TextField(_("answer"), max_length=10_000)

    class Meta:
        ordering = ["criterion__position", "pk"]
        constraints = [models.UniqueConstraint(fields=["gate", "criterion"], name="gateanswer_unique_criterion")]

    @property
    def localized_question(self) -> str:
        return gettext(self.question)

    @property
    def localized_answer(self) -> str:
        """A choice among the criterion's options ("roll-out") in the reader's language ("uitrol"); free text as
        it was written."""
        options = self.criterion.options if self.criterion is not None else []
        return gettext(self.answer) if self.answer in options else self.answer


@dataclass(frozen=True)
class MeasurementRow:
    measured_at: dt.datetime
    value: float
    source: str = ""


class KPI(models.Model):
    """What a pilot measures, against a baseline and a target."""

    class Direction(models.TextChoices):
        HIGHER = "higher", _("higher is better")
        LOWER = "lower", _("lower is better")

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="kpis")
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    baseline = models.FloatField(_("baseline"), null=True, blank=True)
    target = models.FloatField(_("target"), null=True, blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction, default=Direction.HIGHER)
    description = models.TextField(_("what is measured and how"), blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("KPI")
        verbose_name_plural = _("KPIs")
        constraints = [models.UniqueConstraint(fields=["pilot", "name"], name="kpi_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def get_absolute_url(self) -> str:
        return f"{self.pilot.get_absolute_url()}#kpi-{self.pk}"

    def upsert_measurements(self, rows: Iterable[MeasurementRow]) -> tuple[int, int]:
        """Store measurements, one per timestamp: a timestamp seen before gets the new value.

        Idempotent: sending the same batch twice changes nothing. Within one batch the last row
        for a timestamp wins. Returns (created, updated).
        """
        latest: dict[dt.datetime, MeasurementRow] = {}
        for row in rows:
            if not math.isfinite(row.value):
                raise ValueError(f"not a finite number: {row.value!r}")
            latest[row.measured_at] = row
        if not latest:
            return 0, 0
        with transaction.atomic():
            existing = set(
                self.measurements.filter(measured_at__in=list(latest)).values_list("measured_at", flat=True)
            )
            Measurement.objects.bulk_create(
                [Measurement(kpi=self, measured_at=row.measured_at, value=row.value, source=row.source[:100])
                 for row in latest.values()],
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["kpi", "measured_at"],
                update_fields=["value", "source", "updated_at"],
            )
        updated = sum(1 for moment in latest if moment in existing)
        return len(latest) - updated, updated


class Measurement(models.Model):
    """One value of a KPI at one moment. Sensors post these through the API; people in the UI or by CSV."""

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="measurements")
    measured_at = models.DateTimeField(_("measured at"))
    value = models.FloatField(_("value"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["measured_at"]
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        constraints = [
            # One value per KPI and moment; also the index for a KPI's series in time order.
            models.UniqueConstraint(fields=["kpi", "measured_at"], name="measurement_unique_kpi_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.value} at {self.measured_at:%Y-%m-%d %H:%M}"
