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
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q, Subquery
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

    def awaiting_decision(self, now: dt.datetime | None = None, months: int | None = None):
        """Pilots on their way that wait for the innovation team's gate decision, annotated with why
        (`is_inactive`, `is_overdue` as in `with_stranding`, and `is_revise`):

        - its review is due: stranded, i.e. past its end date without a decision since, or without a gate
          decision or a measurement for PILOT_STRANDED_MONTHS months;
        - its decision is pending: the latest gate decided "revise", so it is to come back to the same gate.
        Operational and stopped pilots wait for nothing. Longest in their stage first.
        """
        latest = (Gate.objects.filter(pilot=OuterRef("pk")).exclude(kind=Gate.Kind.IMPORT)
                  .order_by("-decided_on", "-created_at", "-pk").values("decision")[:1])
        return (
            self.with_stranding(now, months)
            .annotate(latest_decision=Subquery(latest))
            .annotate(is_revise=ExpressionWrapper(Q(latest_decision=Gate.Decision.REVISE),
                                                  output_field=models.BooleanField()))
            .filter(stage__in=ACTIVE_STAGES)
            .filter(Q(is_inactive=True) | Q(is_overdue=True) | Q(latest_decision=Gate.Decision.REVISE))
            .order_by("stage_changed_at", "pk")
        )

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
    def accepts_feedback(self) -> bool:
        """Residents answer its feedback questions only while it runs in the street: stages pilot and scaling."""
        return self.stage in FEEDBACK_STAGES

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
        public_message: str = "",
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
                public_message=(public_message or "").strip(),
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
    # Set when the partner came through an open call: its verified organisation.
    organisation = models.ForeignKey("Organisation", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="pilot_partners", verbose_name=_("organisation"))

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
    # Closing the loop: a short public message with the reason, sent to the residents involved.
    public_message = models.TextField(_("message to residents"), blank=True, max_length=2000)
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


# --- Open innovation: partner organisations, open calls, proposals, assessment --------------------------
class Organisation(models.Model):
    """A partner organisation: it answers the city's open calls. People act for it (OrganisationMember);
    only a verified organisation may submit a proposal, and verifying is an explicit staff action with
    history (OrganisationVerification)."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("company")
        KNOWLEDGE_INSTITUTION = "knowledge_institution", _("knowledge institution")
        RESIDENT_INITIATIVE = "resident_initiative", _("resident initiative")
        GOVERNMENT = "government", _("other government")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for verification")
        VERIFIED = "verified", _("verified")
        REFUSED = "refused", _("refused")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind, default=Kind.COMPANY)
    registration_number = models.CharField(_("registration number"), max_length=40, blank=True,
                                           help_text=_("For example the Chamber of Commerce number."))
    website = models.URLField(_("website"), blank=True, max_length=200)
    description = models.TextField(_("what the organisation does"), max_length=4000, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PENDING)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="OrganisationMember",
                                     related_name="organisations", verbose_name=_("people acting for it"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner organisation")
        verbose_name_plural = _("partner organisations")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("pilots:organisation-detail", args=[self.pk])

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED

    def set_status(self, status: str, *, by, note: str = "") -> "OrganisationVerification":
        """Verify or refuse the organisation (or put it back to waiting): a history row each time."""
        if status not in self.Status.values:
            raise ValidationError(gettext("Unknown status."), code="status")
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=self.pk)
            row = OrganisationVerification.objects.create(
                organisation=locked, from_status=locked.status, to_status=status, by=by, note=note.strip())
            locked.status = status
            locked.save(update_fields=["status"])
        self.status = status
        return row


class OrganisationMember(models.Model):
    """A person who acts for a partner organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organisation_memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], name="orgmember_unique_user")]


class OrganisationVerification(models.Model):
    """One row of an organisation's verification history: who, when, from, to, why. Never edited."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="verifications")
    from_status = models.CharField(max_length=20, choices=Organisation.Status)
    to_status = models.CharField(max_length=20, choices=Organisation.Status)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class CallQuerySet(models.QuerySet):
    def published(self):
        return self.exclude(status=Call.Status.DRAFT)

    def open(self):
        return self.filter(status=Call.Status.PUBLISHED, deadline__gte=timezone.localdate())

    def visible_to(self, user):
        from pilots.permissions import can_manage_calls

        return self if can_manage_calls(user) else self.published()


class Call(models.Model):
    """An open call of the innovation team on one or more societal challenges."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        CLOSED = "closed", _("closed")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what the city asks"), max_length=10_000)
    societal_challenges = models.ManyToManyField(SocietalChallenge, related_name="calls",
                                                 verbose_name=_("societal challenges"))
    department_challenges = models.ManyToManyField(DepartmentChallenge, blank=True, related_name="calls",
                                                   verbose_name=_("department challenges behind it"))
    offers_location = models.CharField(_("test location offered"), max_length=300, blank=True)
    offers_data = models.CharField(_("data offered"), max_length=500, blank=True)
    budget_min = models.PositiveIntegerField(_("budget from (euro)"), null=True, blank=True)
    budget_max = models.PositiveIntegerField(_("budget up to (euro)"), null=True, blank=True)
    criteria = models.TextField(
        _("criteria"), max_length=4000,
        help_text=_("One criterion per line. “How many societal challenges it credibly serves” is always added."))
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-deadline", "pk"]
        verbose_name = _("open call")
        verbose_name_plural = _("open calls")
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_min__isnull=True) | Q(budget_max__isnull=True) | Q(budget_max__gte=F("budget_min")),
                name="call_budget_range"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pilots:call-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.deadline >= timezone.localdate()

    def criteria_list(self) -> list[str]:
        """The call's own criteria; the built-in one (CHALLENGES_CRITERION) comes on top."""
        return [line.strip() for line in self.criteria.splitlines() if line.strip()][:20]

    def publish(self) -> bool:
        """Publish a draft call; True when this call changed it (so the followers are told once)."""
        with transaction.atomic():
            changed = Call.objects.filter(pk=self.pk, status=self.Status.DRAFT).update(
                status=self.Status.PUBLISHED, published_at=timezone.now())
        if changed:
            self.refresh_from_db(fields=["status", "published_at"])
        return bool(changed)


# The built-in criterion of every call (Stockholm: does it serve more than one societal challenge?).
CHALLENGES_CRITERION = "challenges"


class ProposalQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Confidential until decided: a partner sees its organisations' proposals (drafts too); the innovation
        team every submitted one, never another organisation's draft."""
        from pilots.permissions import can_assess_proposals

        if not user.is_authenticated:
            return self.none()
        own = Q(organisation__memberships__user=user)
        if can_assess_proposals(user):
            return self.filter(own | ~Q(status=Proposal.Status.DRAFT)).distinct()
        return self.filter(own).distinct()


class Proposal(models.Model):
    """A partner's answer to a call. A draft is private to its organisation; submitting locks it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("call"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="proposals",
                                     verbose_name=_("organisation"))
    title = models.CharField(_("title"), max_length=200)
    solution = models.TextField(_("the solution"), max_length=10_000)
    needs_from_city = models.TextField(_("what it needs from the city"), max_length=4000, blank=True)
    cost_min = models.PositiveIntegerField(_("cost from (euro)"), null=True, blank=True)
    cost_max = models.PositiveIntegerField(_("cost up to (euro)"), null=True, blank=True)
    expected_effects = models.TextField(
        _("expected effects as KPIs"), max_length=4000, blank=True,
        help_text=_("One KPI per line: name; unit; baseline; target (for example “Noise complaints per week; "
                    "complaints; 40; 25”)."))
    societal_challenges = models.ManyToManyField(
        SocietalChallenge, blank=True, related_name="proposals",
        verbose_name=_("other societal challenges it serves"),
        help_text=_("Beyond the call's own: which other societal challenges does it serve?"))
    scaling_changes = models.TextField(
        _("what must change in the city's operation to scale it"), max_length=4000, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The partner's interface language when they submitted: the decision is written to them in it.
    language = models.CharField(_("language"), max_length=10, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decision_reason = models.TextField(_("reason"), max_length=4000, blank=True)
    pilot = models.OneToOneField(Pilot, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposal")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "pk"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        indexes = [
            # A call's proposals by status (the assessment list).
            models.Index(fields=["call", "status"], name="proposal_call_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_min__isnull=True) | Q(cost_max__isnull=True) | Q(cost_max__gte=F("cost_min")),
                name="proposal_cost_range"),
            models.CheckConstraint(condition=~Q(status="rejected") | ~Q(decision_reason=""),
                                   name="proposal_rejection_has_reason"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pilots:proposal-detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_decided(self) -> bool:
        return self.status in (self.Status.ACCEPTED, self.Status.REJECTED)

    def all_challenges(self):
        """The call's challenges and the ones the partner adds (the Stockholm question), public ones only."""
        ids = set(self.call.societal_challenges.values_list("pk", flat=True)) | set(
            self.societal_challenges.values_list("pk", flat=True))
        return SocietalChallenge.objects.public().filter(pk__in=ids)

    def kpi_rows(self) -> list[dict]:
        """expected_effects parsed: name; unit; baseline; target (the numbers optional)."""
        rows = []
        for line in self.expected_effects.splitlines():
            parts = [part.strip() for part in line.split(";")]
            if not parts[0]:
                continue
            row: dict = {"name": parts[0][:120], "unit": (parts[1] if len(parts) > 1 else "")[:40],
                         "baseline": None, "target": None}
            for index, key in ((2, "baseline"), (3, "target")):
                try:
                    value = float(parts[index].replace(",", ".")) if len(parts) > index and parts[index] else None
                except ValueError:
                    value = None
                row[key] = value if value is not None and math.isfinite(value) else None
            rows.append(row)
        return rows[:20]

    def submit(self, *, by) -> None:
        """Lock a draft. Only a verified organisation submits, and only before the call's deadline."""
        with transaction.atomic():
            locked = Proposal.objects.select_for_update().select_related("organisation", "call").get(pk=self.pk)
            if locked.status != self.Status.DRAFT:
                raise ValidationError(gettext("This proposal is submitted already."), code="status")
            if not locked.organisation.is_verified:
                raise ValidationError(gettext("Your organisation must be verified by the city before it can submit."),
                                      code="unverified")
            if not locked.call.is_open:
                raise ValidationError(gettext("This call is closed."), code="closed")
            locked.status = self.Status.SUBMITTED
            locked.submitted_at = timezone.now()
            locked.save(update_fields=["status", "submitted_at", "updated_at"])
        self.status, self.submitted_at = locked.status, locked.submitted_at

    def reject(self, *, by, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError(gettext("Give the partner a reason."), code="reason")
        with transaction.atomic():
            locked = Proposal.objects.select_for_update().get(pk=self.pk)
            if locked.status != self.Status.SUBMITTED:
                raise ValidationError(gettext("Only a submitted proposal can be decided, once."), code="status")
            locked.status, locked.decision_reason = self.Status.REJECTED, reason
            locked.decided_at, locked.decided_by = timezone.now(), by
            locked.save(update_fields=["status", "decision_reason", "decided_at", "decided_by", "updated_at"])
        self.refresh_from_db()

    def accept(self, *, by, stage: str, reason: str = "") -> Pilot:
        """Turn the proposal into a pilot at stage idea or proof of concept: it keeps the challenges (the
        call's and the proposal's), the expected KPIs and the partner as a participant. The pilot's first
        history row names the proposal; the proposal links to the pilot."""
        if stage not in (Stage.IDEA, Stage.PROOF_OF_CONCEPT):
            raise ValidationError(gettext("An accepted proposal starts as an idea or a proof of concept."), code="stage")
        with transaction.atomic():
            locked = Proposal.objects.select_for_update().select_related("organisation", "call").get(pk=self.pk)
            if locked.status != self.Status.SUBMITTED:
                raise ValidationError(gettext("Only a submitted proposal can be decided, once."), code="status")
            pilot = Pilot.objects.create(
                title=locked.title, description=locked.solution, stage=stage, created_by=by,
                internal_notes=locked.scaling_changes and gettext("What must change to scale it (from the proposal): %(text)s")
                % {"text": locked.scaling_changes},
            )
            pilot.societal_challenges.set(list(locked.all_challenges()))
            pilot.department_challenges.set(list(locked.call.department_challenges.all()))
            Partner.objects.create(pilot=pilot, name=locked.organisation.name[:200],
                                   kind=PARTNER_KIND.get(locked.organisation.kind, Partner.Kind.OTHER),
                                   organisation=locked.organisation)
            for row in locked.kpi_rows():
                KPI.objects.get_or_create(pilot=pilot, name=row["name"], defaults={
                    "unit": row["unit"], "baseline": row["baseline"], "target": row["target"]})
            Gate.objects.create(
                pilot=pilot, kind=Gate.Kind.IMPORT, from_stage="", to_stage=stage, decision=Gate.Decision.GO,
                decided_by=by, notes=gettext("From proposal “%(title)s” (%(organisation)s) to call “%(call)s”.")
                % {"title": locked.title, "organisation": locked.organisation.name, "call": locked.call.title},
            )
            locked.status, locked.decision_reason, locked.pilot = self.Status.ACCEPTED, (reason or "").strip(), pilot
            locked.decided_at, locked.decided_by = timezone.now(), by
            locked.save(update_fields=["status", "decision_reason", "pilot", "decided_at", "decided_by", "updated_at"])
        self.refresh_from_db()
        return pilot


PARTNER_KIND = {
    Organisation.Kind.COMPANY: "company",
    Organisation.Kind.KNOWLEDGE_INSTITUTION: "knowledge_institute",
    Organisation.Kind.RESIDENT_INITIATIVE: "resident_group",
}


def attachment_path(instance: "ProposalAttachment", filename: str) -> str:
    return f"proposals/{instance.proposal_id}/{timezone.now():%Y%m%d%H%M%S%f}.pdf"


class ProposalAttachment(models.Model):
    """A PDF that goes with a proposal. Stored outside the public media paths and served only to those
    who may read the proposal (pilots.views: proposal_attachment)."""

    MAX_BYTES = 10 * 1024 * 1024
    MAX_PER_PROPOSAL = 5

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]


class Assessment(models.Model):
    """One assessor's view of one proposal: a declared conflict of interest, or scores (1-5) per criterion.
    Private to the assessor until the proposal is decided; then the whole team sees every assessment."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="assessments")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # {criterion: score}; the built-in CHALLENGES_CRITERION is one of the keys.
    scores = models.JSONField(default=dict, blank=True)
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    conflict_of_interest = models.TextField(
        _("conflict of interest"), max_length=1000, blank=True,
        help_text=_("Declare any tie with the organisation. An assessor with a conflict does not score."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["proposal", "assessor"], name="assessment_unique_assessor")]

    @property
    def total(self) -> int:
        return sum(int(value) for value in self.scores.values())


# --- Residents' feedback on a running pilot -------------------------------------------------------------
FEEDBACK_STAGES: tuple[str, ...] = (Stage.PILOT, Stage.SCALING)


class FeedbackQuestion(models.Model):
    """A short question the innovation team asks residents about a pilot, answered on a 5-point scale.
    Its answers feed two KPIs of the pilot, made with the question: the share of positive answers (4 or 5)
    and the number of answers, per week."""

    MAX_PER_PILOT = 2

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="feedback_questions")
    text = models.CharField(_("question"), max_length=200)
    kpi_positive = models.OneToOneField(KPI, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kpi_responses = models.OneToOneField(KPI, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("feedback question")
        verbose_name_plural = _("feedback questions")
        constraints = [models.UniqueConstraint(fields=["pilot", "text"], name="feedbackquestion_unique_text")]

    def __str__(self) -> str:
        return self.text

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            if self.kpi_positive_id is None:
                # KPI names are data (unique per pilot), written in the language of whoever sets the question.
                label = self.text[:80]
                self.kpi_positive = KPI.objects.create(
                    pilot=self.pilot, name=gettext("%(question)s: share positive") % {"question": label}, unit="%",
                    direction=KPI.Direction.HIGHER,
                    description=gettext("Residents' answers: share of 4 and 5 on the 5-point scale, per week."))
                self.kpi_responses = KPI.objects.create(
                    pilot=self.pilot, name=gettext("%(question)s: answers per week") % {"question": label},
                    unit=gettext("answers"),
                    description=gettext("Residents' answers per week."))
                super().save(update_fields=["kpi_positive", "kpi_responses"])

    def refresh_kpis(self, moment: dt.datetime | None = None) -> None:
        """Recompute this week's two KPI values from the answers given (or last changed) this week."""
        moment = timezone.localtime(moment or timezone.now())
        week_start = (moment - dt.timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        week = self.answers.filter(updated_at__gte=week_start, updated_at__lt=week_start + dt.timedelta(days=7))
        total = week.count()
        positive = week.filter(value__gte=4).count()
        if self.kpi_responses:
            self.kpi_responses.upsert_measurements([MeasurementRow(week_start, float(total), "residents")])
        if self.kpi_positive and total:
            self.kpi_positive.upsert_measurements([MeasurementRow(week_start, round(100 * positive / total, 1), "residents")])

    def summary(self) -> dict:
        counts = dict(self.answers.values_list("value").annotate(n=models.Count("pk")))
        total = sum(counts.values())
        return {"question": self.text, "answers": total,
                "share_positive": round(100 * (counts.get(4, 0) + counts.get(5, 0)) / total, 1) if total else None,
                "counts": [counts.get(value, 0) for value in range(1, 6)]}


class FeedbackAnswer(models.Model):
    """One resident's answer: one per account, or per confirmed email address without an account, and question;
    changeable; its comment is moderated like a report's comments (hidden by staff with a reason).
    An answer by email is only written once the link in the confirmation email is followed (services), so
    every row here counts."""

    question = models.ForeignKey(FeedbackQuestion, on_delete=models.CASCADE, related_name="answers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="pilot_feedback")
    email = models.EmailField(_("email address"), blank=True)  # a confirmed address (lower case), when no account
    value = models.PositiveSmallIntegerField(_("answer"))
    comment = models.TextField(_("comment (optional)"), max_length=1000, blank=True)
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["question", "user"], name="feedback_one_per_account"),
            models.UniqueConstraint(fields=["question", "email"], condition=~Q(email=""), name="feedback_one_per_email"),
            models.CheckConstraint(condition=Q(user__isnull=False, email="") | Q(user__isnull=True) & ~Q(email=""),
                                   name="feedback_account_or_email"),
            models.CheckConstraint(condition=Q(value__gte=1, value__lte=5), name="feedback_value_1_to_5"),
        ]
        indexes = [
            # A question's answers of one week (the KPI series).
            models.Index(fields=["question", "updated_at"], name="feedback_question_updated"),
        ]
