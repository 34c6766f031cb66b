"""What the matching engine suggests and flags, the runs that produce them and the stored sentence vectors.

Suggestions and vectors point at their item with one nullable foreign key per kind (exactly one is
set, a check constraint says so): deleting a report, department challenge or pilot deletes its
suggestions and its vector with it (ON DELETE CASCADE).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce, Floor
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smartcity.models import DepartmentChallenge, SocietalChallenge


class ItemType(models.TextChoices):
    """The kinds of item the engine places. Each is also the name of the foreign key that points at one."""

    REPORT = "report", _("report")
    DEPARTMENT_CHALLENGE = "department_challenge", _("department challenge")
    PILOT = "pilot", _("pilot")


def exactly_one(fields: list[str], *, name: str) -> models.CheckConstraint:
    """A row names exactly one of these foreign keys."""
    return models.CheckConstraint(
        condition=reduce(or_, [Q(**{f"{field}__isnull": False}, **{f"{other}__isnull": True for other in fields
                                                                    if other != field}) for field in fields]),
        name=name,
    )


class ItemQuerySet(models.QuerySet):
    def of_item(self, item_type: str, item_id: int):
        return self.filter(**{f"{item_type}_id": item_id})

    def of_type(self, item_type: str):
        return self.filter(**{f"{item_type}__isnull": False})


class SuggestionQuerySet(ItemQuerySet):
    def standing(self):
        """Open suggestions that are still to decide: open, and their pair not linked. A link removes the pair's open
        suggestion when it settles (``services.settle_decisions_after_link``); a link made while a decision on the
        item or a run's write held its locks settles a moment later, in a task, and until then its row is left
        out here."""
        return self.filter(status=ReviewStatus.OPEN).exclude(self.pair_linked())

    def shown(self):
        """Every suggestion but an open one whose pair is linked (see ``standing``)."""
        return self.exclude(Q(status=ReviewStatus.OPEN) & self.pair_linked())

    def by_certainty(self) -> list["Certainty"]:
        """Staff decisions on these suggestions by how sure the engine was when it made them (its probability, kept
        with a decided suggestion): one row per band, under 50% (an item's second or third suggestion, or a pilot's)
        and then per ten points. Where the engine is calibrated, staff accept about as many in each band as it says."""
        counts = (self.exclude(status=ReviewStatus.OPEN).order_by()
                  .annotate(band=Floor(F("score") * 10)).values("band")
                  .annotate(decided=Count("pk"), accepted=Count("pk", filter=Q(status=ReviewStatus.ACCEPTED))))
        rows = {low: [0, 0] for low, _high in CERTAINTY_BANDS}
        for row in counts:
            low = min(int(row["band"]) * 10, 90)  # a probability of 1 in the last band
            low = low if low >= 50 else 0
            rows[low][0] += row["decided"]
            rows[low][1] += row["accepted"]
        return [Certainty(low, high, *rows[low]) for low, high in CERTAINTY_BANDS]

    def pair_linked(self) -> Q:
        """The suggestion's item is linked to its societal challenge."""
        linked = Q()
        for kind in ItemType.values:
            through, item_column, challenge_column = link_table(kind)
            linked |= Q(Exists(through._default_manager.filter(**{
                item_column: OuterRef(f"{kind}_id"), challenge_column: OuterRef("societal_challenge_id")})))
        return linked


CERTAINTY_BANDS = ((0, 50), (50, 60), (60, 70), (70, 80), (80, 90), (90, 100))  # percent


@dataclass(frozen=True)
class Certainty:
    """Decided suggestions whose probability was from ``low`` up to ``high`` percent (100 included in the last)."""
    low: int
    high: int
    decided: int
    accepted: int

    @property
    def accepted_share(self) -> float | None:
        return round(self.accepted / self.decided, 3) if self.decided else None

    @property
    def accepted_percent(self) -> int | None:
        return (200 * self.accepted + self.decided) // (2 * self.decided) if self.decided else None  # half up


def link_table(kind: str) -> tuple[type[models.Model], str, str]:
    """The table of a kind's links to societal challenges (staff links and accepted suggestions): the model, its
    item column and its challenge column."""
    field = Suggestion._meta.get_field(kind).related_model.societal_challenges.field  # type: ignore[union-attr]
    return field.remote_field.through, field.m2m_column_name(), field.m2m_reverse_name()


class ItemLink(models.Model):
    """An abstract row about one item: which kind it is follows from the foreign key that is set."""

    KINDS: tuple[str, ...] = tuple(ItemType.values)

    class Meta:
        abstract = True

    @property
    def item_type(self) -> str:
        return next(kind for kind in self.KINDS if getattr(self, f"{kind}_id") is not None)

    @property
    def item_id(self) -> int:
        return getattr(self, f"{self.item_type}_id")

    @property
    def item(self):
        """The report, department challenge or pilot (a query, unless it was selected with the row)."""
        return getattr(self, self.item_type)


class MatchingRunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=[MatchingRun.Status.QUEUED, MatchingRun.Status.RUNNING])

    def stalled(self):
        """Runs that no task works on any more: running without a heartbeat for
        MATCHING_RUN_STALE_SECONDS (the worker died), or queued without a sign of their task for
        longer than any queued run waits (MatchingRun.longest_wait_seconds(): the task was lost).
        Rows from before the heartbeat count from their start, or their creation."""
        now = timezone.now()
        last_sign = Coalesce("heartbeat_at", "started_at", "created_at")
        return self.alias(last_sign=last_sign).filter(
            Q(status=MatchingRun.Status.RUNNING,
              last_sign__lt=now - timedelta(seconds=settings.MATCHING_RUN_STALE_SECONDS))
            | Q(status=MatchingRun.Status.QUEUED,
                last_sign__lt=now - timedelta(seconds=MatchingRun.longest_wait_seconds()))
        )

    def fail_stalled(self) -> int:
        """Fail the stalled runs, so that the next one starts and nobody waits for a run that will
        never move. The reason is written in the site's language (staff read it in the run list)."""
        with translation.override(settings.LANGUAGE_CODE):
            worker_stopped = gettext("The worker stopped during the run: no heartbeat for %(seconds)s seconds.") % {
                "seconds": settings.MATCHING_RUN_STALE_SECONDS}
            task_lost = gettext("Its task was lost before the run started: no sign of it for %(seconds)s seconds.") % {
                "seconds": MatchingRun.longest_wait_seconds()}
        now = timezone.now()
        stalled = self.stalled()
        return (stalled.filter(status=MatchingRun.Status.RUNNING).update(
                    status=MatchingRun.Status.FAILED, finished_at=now, error=worker_stopped)
                + stalled.filter(status=MatchingRun.Status.QUEUED).update(
                    status=MatchingRun.Status.FAILED, finished_at=now, error=task_lost))


class MatchingRun(models.Model):
    """One full matching run. A run is claimed by one worker at a time (the constraint below)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The last sign of life of the task working on this run: while it runs, a beat at every progress
    # step and from a thread of its own in between; while it waits for another run, each try.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    objects = MatchingRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        constraints = [
            # Two overlapping full runs would overwrite each other's results: only one may run.
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="matchingrun_one_running"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @staticmethod
    def longest_wait_seconds() -> int:
        """How long a queued run may wait for a running one: that one ends within the task time
        limit, or its heartbeat stops and it is stale MATCHING_RUN_STALE_SECONDS later."""
        return settings.CELERY_TASK_TIME_LIMIT + settings.MATCHING_RUN_STALE_SECONDS

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 2)
        return None

    @property
    def progress_percent(self) -> int:
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("open")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")


class Suggestion(ItemLink):
    """"This item probably belongs to that societal challenge." Accepting it creates the link."""

    ItemType = ItemType

    # One per kind; the unique constraints below index them (a suggestion is found by its item).
    report = models.ForeignKey("participation.Report", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="suggestions", db_index=False)
    department_challenge = models.ForeignKey(DepartmentChallenge, on_delete=models.CASCADE, null=True, blank=True,
                                             related_name="suggestions", db_index=False)
    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="suggestions", db_index=False)
    societal_challenge = models.ForeignKey(SocietalChallenge, on_delete=models.CASCADE, related_name="suggestions")
    score = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus, default=ReviewStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "pk"]
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        constraints = [
            exactly_one(list(ItemType.values), name="suggestion_one_item"),
            # Reruns update the one suggestion per pairing instead of adding another (the upsert's conflict target).
            *[models.UniqueConstraint(fields=[kind, "societal_challenge"], name=f"suggestion_unique_{kind}")
              for kind in ItemType.values],
        ]
        indexes = [
            # The review lists and the dashboards: open suggestions, strongest first.
            models.Index(fields=["status", "-score"], name="suggestion_status_score"),
        ]

    def __str__(self) -> str:
        return f"{self.item_type} {self.item_id} -> {self.societal_challenge_id} ({self.score:.2f})"


class TextVector(ItemLink):
    """A text's sentence vector (matching/engine/semantic.py), kept so that each text is encoded once,
    when it is written, instead of in every full run. ``fingerprint`` names the model and the text:
    when either changes, the vector is encoded again."""

    KINDS = (*ItemType.values, "societal_challenge")

    report = models.OneToOneField("participation.Report", on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="text_vector")
    department_challenge = models.OneToOneField(DepartmentChallenge, on_delete=models.CASCADE, null=True, blank=True,
                                                related_name="text_vector")
    pilot = models.OneToOneField("pilots.Pilot", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="text_vector")
    societal_challenge = models.OneToOneField(SocietalChallenge, on_delete=models.CASCADE, null=True, blank=True,
                                              related_name="text_vector")
    fingerprint = models.CharField(max_length=64)
    vector = models.BinaryField()  # float32, little-endian
    updated_at = models.DateTimeField(auto_now=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("text vector")
        verbose_name_plural = _("text vectors")
        constraints = [exactly_one(["report", "department_challenge", "pilot", "societal_challenge"],
                                   name="textvector_one_item")]

    def __str__(self) -> str:
        return f"{self.item_type} {self.item_id}"


class Match(models.Model):
    """A cross-department match flag: department challenges of two or more departments that converge
    on one societal challenge (or on a proposed new one), with the reports and pilots behind it."""

    societal_challenge = models.ForeignKey(SocietalChallenge, on_delete=models.CASCADE, null=True, blank=True,
                                           related_name="matches")
    proposed_title = models.CharField(_("proposed title"), max_length=200, blank=True)
    department_challenges = models.ManyToManyField(DepartmentChallenge, related_name="matches")
    reports = models.ManyToManyField("participation.Report", blank=True, related_name="matches")
    pilots = models.ManyToManyField("pilots.Pilot", blank=True, related_name="matches")
    score = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus, default=ReviewStatus.OPEN)
    # A hash of the members and their texts: a rejected flag stays rejected until they change materially.
    fingerprint = models.CharField(max_length=64, unique=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "pk"]
        verbose_name = _("match flag")
        verbose_name_plural = _("match flags")
        indexes = [
            # "Where departments meet": open flags, strongest first.
            models.Index(fields=["status", "-score"], name="match_status_score"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        challenge = self.societal_challenge if self.societal_challenge_id else None
        return challenge.title if challenge is not None else self.proposed_title




class NoChallengeDecisionQuerySet(ItemQuerySet):
    def active(self):
        return self.filter(undone_at__isnull=True)


class NoChallengeDecision(ItemLink):
    """Staff decided that an item is about no societal challenge at all (a lost umbrella, a missing cat).

    A decision like accepting or rejecting a suggestion: the engine learns the "belongs to none"
    alternative from it (matching.engine.Document.no_challenge) and suggests nothing for the item while it
    stands. Rows are never deleted: undoing one fills ``undone_by``/``undone_at``, and deciding again adds a
    row, so the rows of an item are its history. At most one decision of an item stands (undone_at empty)."""

    ItemType = ItemType

    report = models.ForeignKey("participation.Report", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="no_challenge_decisions")
    department_challenge = models.ForeignKey(DepartmentChallenge, on_delete=models.CASCADE, null=True, blank=True,
                                             related_name="no_challenge_decisions")
    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="no_challenge_decisions")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)

    objects = NoChallengeDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-pk"]
        verbose_name = _("decision: about no societal challenge")
        verbose_name_plural = _("decisions: about no societal challenge")
        constraints = [
            exactly_one(list(ItemType.values), name="nochallengedecision_one_item"),
            # One standing decision per item: deciding twice at once leaves one row (the other is refused).
            *[models.UniqueConstraint(fields=[kind], condition=Q(undone_at__isnull=True),
                                      name=f"nochallengedecision_one_standing_{kind}")
              for kind in ItemType.values],
        ]

    def __str__(self) -> str:
        return f"{self.item_type} {self.item_id}: no challenge{' (undone)' if self.undone_at else ''}"

    @property
    def is_standing(self) -> bool:
        return self.undone_at is None
