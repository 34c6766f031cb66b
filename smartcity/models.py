"""The hub: people, themes, departments, neighbourhoods and the societal challenges everything links to."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from smartcity.geo import point_in_geometry


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

    def get_absolute_url(self) -> str:
        return reverse("smartcity:theme-detail", args=[self.slug])

    @property
    def localized_name(self) -> str:
        language = (get_language() or settings.LANGUAGE_CODE)[:2]
        return getattr(self, f"name_{language}", "") or self.name


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


class AreaQuerySet(models.QuerySet):
    def for_point(self, latitude: float, longitude: float) -> "Area | None":
        """The neighbourhood containing the point, or None. The bounding boxes narrow it to a few polygons."""
        candidates = self.filter(
            min_latitude__lte=latitude, max_latitude__gte=latitude,
            min_longitude__lte=longitude, max_longitude__gte=longitude,
        ).order_by("pk")
        return next((area for area in candidates if point_in_geometry(longitude, latitude, area.geometry)), None)


class Area(models.Model):
    """A neighbourhood, loaded from GeoJSON polygons (`manage.py load_areas`). Reports and pilots lie in one;
    a report's area is derived from its point."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=120)
    # GeoJSON geometry (Polygon or MultiPolygon) in WGS84.
    geometry = models.JSONField(_("geometry"))
    # The bounding box, so that finding a point's area only tests the few polygons around it.
    min_longitude = models.FloatField()
    min_latitude = models.FloatField()
    max_longitude = models.FloatField()
    max_latitude = models.FloatField()

    objects = AreaQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("neighbourhood")
        verbose_name_plural = _("neighbourhoods")

    def __str__(self) -> str:
        return self.name


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

    def toggle_open(self) -> bool:
        """Close an open challenge, or reopen a closed one, on the locked row (so two clicks at once toggle
        twice, not once from a stale state). Returns whether it is open now."""
        with transaction.atomic():
            locked = DepartmentChallenge.objects.select_for_update().get(pk=self.pk)
            locked.status = self.Status.OPEN if locked.status == self.Status.CLOSED else self.Status.CLOSED
            locked.save(update_fields=["status", "updated_at"])
        self.status = locked.status
        return self.status == self.Status.OPEN


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
