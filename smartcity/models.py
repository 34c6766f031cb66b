"""The hub: people, themes, departments and the societal challenges everything links to."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext, gettext_lazy as _


class UserManager(DjangoUserManager):
    """Users sign in with their email address; the username is derived from it."""

    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email)
        return super()._create_user(username or email, email, password, **extra_fields)

    def create_user(self, username=None, email=None, password=None, **extra_fields):
        return super().create_user(username, email, password, **extra_fields)

    def create_superuser(self, username=None, email=None, password=None, **extra_fields):
        """`manage.py createsuperuser`. Administrators sign in through allauth like everyone (the admin has no
        login form of its own), which wants a verified address; whoever runs this on the server vouches for it."""
        from allauth.account.models import EmailAddress

        user = super().create_superuser(username, email, password, **extra_fields)
        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        return user


class User(AbstractUser):
    """Anyone with an account. What they may do follows from smartcity/permissions.py.

    - a resident has no department and no role flag;
    - a civil servant is a member of one or more departments (Membership);
    - `is_triager` lets a civil servant act on reports that are not routed yet;
    - `is_innovation_team` curates societal challenges and runs the pilot portfolio;
    - an administrator is a superuser.
    """

    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    is_innovation_team = models.BooleanField(_("innovation team"), default=False)
    is_triager = models.BooleanField(
        _("triage role"), default=False, help_text=_("May route and handle reports that no department has yet.")
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email

    def save(self, *args, **kwargs):
        if not self.username:
            self.username = self.email
        # set_password() leaves the new password here until the save (a hash upgraded at sign-in does not).
        password_changed = self._password is not None
        super().save(*args, **kwargs)
        if password_changed:
            self.revoke_api_tokens()

    def revoke_api_tokens(self) -> None:
        """A new password (changed, reset or set by an administrator) ends every API token of the account:
        whoever learnt the old password may have made one."""
        from rest_framework.authtoken.models import Token

        Token.objects.filter(user=self).delete()


class Theme(models.Model):
    """One of the city's spearheads. Data, not code: each city sets its own."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    # The name in each interface language; `name` is the fallback when one is empty.
    name_nl = models.CharField(_("name (Dutch)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    name_sv = models.CharField(_("name (Swedish)"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    # Reports in this theme older than this are overdue in the staff queue; empty means no target.
    target_days = models.PositiveSmallIntegerField(
        _("target handling time (days)"), null=True, blank=True,
        help_text=_("Open reports older than this stand out as overdue in the triage queue."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return self.localized_name

    @property
    def localized_name(self) -> str:
        language = (get_language() or settings.LANGUAGE_CODE)[:2]
        return getattr(self, f"name_{language}", "") or self.name

    def get_absolute_url(self) -> str:
        return reverse("smartcity:theme-detail", args=[self.slug])


class Department(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email address"), blank=True, help_text=_("Where notifications for the department go."))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="departments", verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A civil servant belongs to a department."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="membership_unique_user_department")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department}"


class ReferencedQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status="open")

    def search(self, text: str):
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(title__icontains=text) | Q(description__icontains=text))


class Referenced(models.Model):
    """An object that may carry an id from another system: unique per type, blank means none."""

    reference = models.CharField(_("reference"), max_length=100, unique=True, null=True, blank=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.reference = self.reference or None
        super().save(*args, **kwargs)


class SocietalChallengeQuerySet(ReferencedQuerySet):
    def public(self):
        """The one rule for who sees a challenge: everyone sees it unless it is only proposed (a draft of
        the innovation team). Every public page, feed, export, statistic and API answer reads through
        this, also where a department challenge, pilot or report shows what it is linked to."""
        return self.exclude(status=SocietalChallenge.Status.PROPOSED)

    def open(self):
        return self.public().filter(status=SocietalChallenge.Status.OPEN)

    def visible_to(self, user):
        """Proposed challenges too for those who curate them; the public ones for everyone else."""
        from smartcity.permissions import can_curate_societal_challenges

        return self if can_curate_societal_challenges(user) else self.public()


class SocietalChallenge(Referenced):
    """The hub: reports, department challenges and pilots link here."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000)
    themes = models.ManyToManyField(Theme, blank=True, related_name="societal_challenges", verbose_name=_("themes"))
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SocietalChallengeQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("societal challenge")
        verbose_name_plural = _("societal challenges")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("smartcity:societal-challenge-detail", args=[self.pk])


class DepartmentChallenge(Referenced):
    """A department's own operational problem, in its own words."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="challenges", verbose_name=_("department")
    )
    themes = models.ManyToManyField(Theme, blank=True, related_name="department_challenges", verbose_name=_("themes"))
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.OPEN)
    target = models.CharField(_("target"), max_length=300, blank=True, help_text=_("What would count as solved."))
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    societal_challenges = models.ManyToManyField(
        SocietalChallenge, blank=True, related_name="department_challenges", verbose_name=_("societal challenges")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReferencedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("department challenge")
        verbose_name_plural = _("department challenges")
        indexes = [
            # The per-department list: a department's open challenges, newest first.
            models.Index(fields=["department", "status", "-created_at"], name="deptchallenge_dept_status"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("smartcity:department-challenge-detail", args=[self.pk])


# --- Matching: what the engine suggests and flags, and the runs that produce them --------------
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


class Suggestion(models.Model):
    """"This item probably belongs to that societal challenge." Accepting it creates the link."""

    class ItemType(models.TextChoices):
        REPORT = "report", _("report")
        DEPARTMENT_CHALLENGE = "department_challenge", _("department challenge")
        PILOT = "pilot", _("pilot")

    item_type = models.CharField(max_length=30, choices=ItemType)
    item_id = models.PositiveBigIntegerField()
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

    class Meta:
        ordering = ["-score", "pk"]
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        constraints = [
            # Reruns update the one suggestion per pairing instead of adding another.
            models.UniqueConstraint(fields=["item_type", "item_id", "societal_challenge"], name="suggestion_unique_pair"),
        ]
        indexes = [
            # The review lists: open suggestions of one kind, strongest first.
            models.Index(fields=["item_type", "status", "-score"], name="suggestion_type_status_score"),
            # The suggestions shown on one item's page.
            models.Index(fields=["item_type", "item_id"], name="suggestion_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item_type} {self.item_id} -> {self.societal_challenge_id} ({self.score:.2f})"


class TextVector(models.Model):
    """A text's sentence vector (smartcity/matching/semantic.py), kept so that each text is
    encoded once, when it is written, instead of in every full run. ``fingerprint`` names the
    model and the text: when either changes, the vector is encoded again."""

    class ItemType(models.TextChoices):
        REPORT = "report", _("report")
        DEPARTMENT_CHALLENGE = "department_challenge", _("department challenge")
        PILOT = "pilot", _("pilot")
        SOCIETAL_CHALLENGE = "societal_challenge", _("societal challenge")

    item_type = models.CharField(max_length=30, choices=ItemType)
    item_id = models.PositiveBigIntegerField()
    fingerprint = models.CharField(max_length=64)
    vector = models.BinaryField()  # float32, little-endian
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("text vector")
        verbose_name_plural = _("text vectors")
        constraints = [
            models.UniqueConstraint(fields=["item_type", "item_id"], name="textvector_unique_item"),
        ]

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
        return self.societal_challenge.title if self.societal_challenge_id else self.proposed_title


class OutboxMessage(models.Model):
    """A Celery task to publish, written in the same transaction as the change that needs it
    (smartcity/outbox.py). A broker outage delays the work; it never loses it: the sweep
    (Celery beat, every minute) publishes what the on-commit attempt could not."""

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    # The same pending work is queued once (e.g. "score:report:42"); once sent, the key is free again.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The task ran and failed for good (its retries used up, or an error no retry helps): it is not sent,
    # and the sweep leaves it for an operator. Reported by the task itself (smartcity.celery.Task).
    failed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(sent_at__isnull=True), name="outbox_pending_key_unique"),
        ]
        indexes = [
            # The sweep: unsent messages, oldest first.
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.kwargs}"
