"""Residents' reports: the public record, the reporter's private contact, support, comments and history."""
from __future__ import annotations

import math
import re
import unicodedata
import uuid
from datetime import timedelta
from functools import lru_cache, reduce
from operator import or_

from django.conf import settings
from django.db import connections, models
from django.db.models import Q, Subquery
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smartcity import pagecache
from smartcity.models import Area, Department, Referenced, SocietalChallenge, Theme

METRES_PER_DEGREE_LATITUDE = 111_320.0
# Moved by every write to the themes, neighbourhoods, departments and categories (participation/apps.py): the
# rendered filter forms (the queue's and the public list's), the names in the queue's rows and the themes' targets
# are kept in each process until then.
QUEUE_CHOICES_VERSION = "participation:queue-choices"
CASE_REFERENCE = re.compile(r"^\s*#?\s*(?:([A-Za-z]+)-)?(?:(\d{4})-)?0*(\d{1,12})\s*$")


def queue_themes() -> list[Theme]:
    """Every theme, kept in each process until one is written: the queue's overdue condition reads their targets, its
    rows their names."""
    return pagecache.kept(QUEUE_CHOICES_VERSION, "themes", lambda: list(Theme.objects.all()))


def format_case_reference(number: int, year: int) -> str:
    return f"{settings.REPORT_REFERENCE_PREFIX}-{year}-{number:06d}"


def parse_case_reference(text: str) -> int | None:
    """The report number in "DH-2026-000123", "2026-123", "#123" or "123" (None for other text). The prefix,
    when given, must be ours; the year is not checked against the report (a typo in it still finds it)."""
    match = CASE_REFERENCE.match(text)
    if not match or (match[1] and match[1].upper() != settings.REPORT_REFERENCE_PREFIX.upper()):
        return None
    return int(match[3])


def box_around(latitude: float, longitude: float, metres: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) of a box of `metres` around the point."""
    dlat = metres / METRES_PER_DEGREE_LATITUDE
    dlon = metres / (METRES_PER_DEGREE_LATITUDE * max(math.cos(math.radians(latitude)), 0.01))
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


def written_rows(queryset: models.QuerySet, sql: str, params: list, attnames: list[str]) -> list:
    """The rows of a written query as instances of the queryset's model, its columns being `attnames` in order and
    the other fields deferred: what `raw()` gives, without its matching of columns to fields and its converters
    (about 0.07 ms a query, when the query is asked for every report sent). For fields that no backend converts
    (numbers, text): the values are taken as the database driver reads them."""
    model = queryset.model
    # from_db takes the values in the model's order of fields.
    positions = [field.attname for field in model._meta.concrete_fields]
    order = sorted(range(len(attnames)), key=lambda index: positions.index(attnames[index]))
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [model.from_db(queryset.db, attnames, [row[index] for index in order]) for row in rows]


class ReportQuerySet(models.QuerySet):
    def public(self):
        return self.filter(is_hidden=False)

    def open(self):
        return self.filter(status__in=Report.OPEN_STATUSES)

    def in_bbox(self, min_longitude: float, min_latitude: float, max_longitude: float, max_latitude: float):
        return self.filter(
            latitude__gte=min_latitude, latitude__lte=max_latitude,
            longitude__gte=min_longitude, longitude__lte=max_longitude,
        )

    def search(self, text: str):
        """Every word must appear in the title or description (case-insensitive); a case reference
        ("DH-2026-000123") finds that report."""
        number = parse_case_reference(text) if any(c.isdigit() for c in text) and len(text) < 40 else None
        if number is not None and not text.strip().isdigit():
            return self.filter(pk=number)
        if number is not None:  # a bare number: that report, or reports that mention it
            return self.filter(Q(pk=number) | Q(title__icontains=text.strip()) | Q(description__icontains=text.strip()))
        for word in text.split()[:8]:
            self = self.filter(Q(title__icontains=word) | Q(description__icontains=word))
        return self

    def similar_title(self, title: str):
        """Reports whose title shares one of the longer words of `title`: a cheap "already reported?" hint."""
        words = sorted({word.strip(".,;:!?()\"'").lower() for word in title.split()}, key=len, reverse=True)
        words = [word for word in words if len(word) >= 4][:4]
        if not words:
            return self.none()
        condition = Q()
        for word in words:
            condition |= Q(title__icontains=word)
        return self.filter(condition)

    def sent_with_key(self, submission_key: uuid.UUID) -> Report | None:
        """The report that the report form with this one-time key made, with only its id (where the resident is
        sent), or None. One written query: every form sent asks it, and the ORM took three times as long to build
        `only("pk").filter(submission_key=…).first()` as asking it (0.4 against 0.14 ms)."""
        connection = connections[self.db]
        quote, meta = connection.ops.quote_name, self.model._meta
        key = meta.get_field("submission_key")
        found = written_rows(self, f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} "
                                   f"WHERE {quote(key.column)} = %s LIMIT 1",
                             [key.get_db_prep_value(submission_key, connection)], [meta.pk.attname])
        return found[0] if found else None

    def filter_by(self, *, q: str = "", number: int | None = None, theme=None, status: str = "", neighbourhood=None,
                  bbox: tuple[float, float, float, float] | None = None, department: str = "", age: str = "",
                  now=None):
        """The one report filter (participation/filters.py validates the query string and calls this).

        `number` is a report's number; `q` words that must all occur; `status` one status or "open" for every
        open one; `bbox` (min_lon, min_lat, max_lon, max_lat); `department` a slug or "none" (not routed
        yet); `age` days, or "overdue" (older than its theme's target)."""
        reports = self
        if number is not None:
            reports = reports.filter(pk=number)
        if q:
            reports = reports.search(q)
        if theme is not None:
            reports = reports.filter(theme=theme)
        if status == "open":
            reports = reports.open()
        elif status:
            reports = reports.filter(status=status)
        if neighbourhood is not None:
            reports = reports.filter(area=neighbourhood)
        if bbox:
            reports = reports.in_bbox(*bbox)
        if department == "none":
            reports = reports.filter(department__isnull=True)
        elif department:
            # By id from a scalar subquery, not a join on the slug: PostgreSQL then knows the one department
            # when it plans and reads its open reports in order from report_open_department.
            reports = reports.filter(department_id=Subquery(Department.objects.filter(slug=department).values("pk")[:1]))
        if age == "overdue":
            reports = reports.filter(self.overdue_condition(now))
        elif age:
            reports = reports.filter(created_at__lt=(now or timezone.now()) - timedelta(days=int(age)))
        return reports

    @staticmethod
    def overdue_condition(now=None) -> Q:
        """Open reports older than their theme's target handling time: one OR-ed condition per theme with a target."""
        now = now or timezone.now()
        conditions = [Q(theme_id=theme.pk, created_at__lt=now - timedelta(days=theme.target_days))
                      for theme in queue_themes() if theme.target_days is not None]
        return Q(status__in=Report.OPEN_STATUSES) & reduce(or_, conditions) if conditions else Q(pk__in=[])

    def near(self, latitude: float, longitude: float, metres: float):
        """Reports within a box of `metres` around the point: the index on (latitude, longitude) serves it."""
        south, north, west, east = box_around(latitude, longitude, metres)
        return self.in_bbox(west, south, east, north)


class Report(Referenced):
    """A resident's concern: a public record. The reporter's contact details live in ReporterContact."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        ACCEPTED = "accepted", _("accepted")
        IN_PROGRESS = "in_progress", _("in progress")
        RESOLVED = "resolved", _("resolved")
        NOT_ACTIONABLE = "not_actionable", _("not actionable")
        DUPLICATE = "duplicate", _("duplicate")

    class Source(models.TextChoices):
        WEB = "web", _("website")
        API = "api", _("API")
        OPEN311 = "open311", _("Open311")

    class Priority(models.TextChoices):
        NORMAL = "normal", _("normal")
        HIGH = "high", _("high")

    OPEN_STATUSES = (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS)
    CLOSED_STATUSES = (Status.RESOLVED, Status.NOT_ACTIONABLE, Status.DUPLICATE)
    TITLE_MAX_LENGTH = 120
    DESCRIPTION_MAX_LENGTH = 4000

    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX_LENGTH)
    theme = models.ForeignKey(Theme, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports",
                              verbose_name=_("theme"))
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    # What people read: an address from the geocoder ("Gevers Deynootweg 12, Den Haag") or the resident's own
    # words; the point stays the data.
    address = models.CharField(_("address or place"), max_length=255, blank=True)
    # When the resident gave no address (a map click without one, the API, Open311): the nearest address within
    # 50 m, found at intake, shown as "near <address>".
    nearest_address = models.CharField(_("nearest address"), max_length=255, blank=True)
    category = models.ForeignKey("Category", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports",
                                 verbose_name=_("category"))
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports",
                             verbose_name=_("neighbourhood"))
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.NEW)
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="reports", verbose_name=_("department"))
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="duplicates", verbose_name=_("duplicate of"))
    societal_challenges = models.ManyToManyField(SocietalChallenge, blank=True, related_name="reports",
                                                 verbose_name=_("societal challenges"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="reports")
    source = models.CharField(max_length=10, choices=Source, default=Source.WEB)
    support_count = models.PositiveIntegerField(_("supporters"), default=0)
    # Set by staff (workflow.correct): the queue sorts and shows it.
    priority = models.CharField(_("priority"), max_length=10, choices=Priority, default=Priority.NORMAL)
    is_hidden = models.BooleanField(_("hidden"), default=False)
    hidden_reason = models.CharField(_("reason for hiding"), max_length=300, blank=True)
    # Raised by every state change, so two civil servants never silently overwrite each other.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The web form's one-time key joined with the report's words (participation/forms.py): the same form
    # sent again finds this report instead of making another. None for the API and Open311 (`reference`).
    submission_key = models.UUIDField(null=True, blank=True, editable=False)
    # Answers to the category's questions on the web form, {code: text or [keys]} as Open311 stores a theme's
    # (Open311Request.attributes). Seen by staff only.
    answers = models.JSONField(_("answers to the category's questions"), default=dict, blank=True, editable=False)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [
            # The public list, newest first, filtered by status.
            models.Index(fields=["status", "-created_at"], name="report_status_created"),
            # The public list and the map without a status filter: newest first. Text search (title and
            # description) has trigram indexes on PostgreSQL, made in migration 0005.
            models.Index(fields=["-created_at"], name="report_created"),
            # The map: reports in a bounding box.
            models.Index(fields=["latitude", "longitude"], name="report_lat_lon"),
            # Filters by theme, neighbourhood and department, each with status.
            models.Index(fields=["theme", "status"], name="report_theme_status"),
            models.Index(fields=["area", "status"], name="report_area_status"),
            models.Index(fields=["department", "status"], name="report_department_status"),
            # The triage queue sorted by priority (high before normal, then oldest) or by supporters.
            models.Index(fields=["status", "priority", "created_at"], name="report_status_priority"),
            models.Index(fields=["status", "-support_count"], name="report_status_supports"),
            # The same orders over all open reports (status new, accepted or in progress: the queue's "open"):
            # an index per status cannot give one order across three, so PostgreSQL sorted every open report
            # (285 ms at 1,000,000 reports); from these it reads the first page in order.
            models.Index(fields=["priority", "created_at", "id"], name="report_open_priority",
                         condition=Q(status__in=["new", "accepted", "in_progress"])),
            models.Index(fields=["-support_count", "created_at", "id"], name="report_open_supports",
                         condition=Q(status__in=["new", "accepted", "in_progress"])),
            # A department's open work (a department member's landing, and its map), oldest or newest first.
            models.Index(fields=["department", "created_at", "id"], name="report_open_department",
                         condition=Q(status__in=["new", "accepted", "in_progress"])),
            models.Index(fields=["category", "status"], name="report_category_status"),
            # Retention: closed reports whose contact details are due to be erased.
            models.Index(fields=["closed_at"], name="report_closed_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="report_latitude_range"),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180), name="report_longitude_range"),
            models.CheckConstraint(
                condition=~Q(status="duplicate") | Q(duplicate_of__isnull=False), name="report_duplicate_has_target"
            ),
            # Five copies of one form posted at once make one report: the database decides, not a check
            # before the insert. Partial: most reports have no key, and the index then holds only those that do.
            models.UniqueConstraint(fields=["submission_key"], condition=Q(submission_key__isnull=False),
                                    name="report_submission_key_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def case_reference(self) -> str:
        """The reference residents and staff quote ("DH-2026-000123"): the prefix, the year it was made, its number.
        Ours, derived from the row, so never out of step; `reference` is an integration's own id, kept apart."""
        return format_case_reference(self.pk, timezone.localtime(self.created_at).year)

    @property
    def can_still_be_reopened(self) -> bool:
        """A resolved report offers its reporter "still a problem?" for REOPEN_REQUEST_DAYS after it closed."""
        return bool(self.status == self.Status.RESOLVED and self.closed_at
                    and timezone.now() - self.closed_at <= timedelta(days=settings.REOPEN_REQUEST_DAYS))

    def get_absolute_url(self) -> str:
        # A list page links twenty reports: one reverse() per URL configuration and prefix, then formatting.
        return report_url_pattern() % self.pk

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def place(self) -> str:
        """How people read where it is: the address given, or "near" the nearest one; empty when neither."""
        if self.address:
            return self.address
        if self.nearest_address:
            from django.utils.translation import gettext

            return gettext("near %(address)s") % {"address": self.nearest_address}
        return ""

    @property
    def age_days(self) -> int:
        return (timezone.now() - self.created_at).days

    @property
    def is_overdue(self) -> bool:
        """Open for longer than its theme's target handling time (needs the theme loaded, e.g. select_related)."""
        target = self.theme.target_days if self.theme_id else None
        return bool(target and self.is_open and self.age_days > target)

    def add_support(self, *, user=None, email: str | None = None, language: str = "") -> bool:
        """A "me too" from an account or a confirmed email address. Idempotent: False when it was already there."""
        from django.db import IntegrityError, transaction

        if user is None and not email:
            raise ValueError("A support needs an account or a confirmed email address.")
        lookup = {"user": user} if user is not None else {"email": email.strip().lower()}
        with transaction.atomic():
            if Support.objects.filter(report=self, **lookup).exists():
                return False
            try:
                with transaction.atomic():
                    Support.objects.create(report=self, language=language, **lookup)
            except IntegrityError:  # a concurrent request won the race
                return False
            Report.objects.filter(pk=self.pk).update(support_count=models.F("support_count") + 1)
        self.refresh_from_db(fields=["support_count"])
        return True


class ReporterContactQuerySet(models.QuerySet):
    def due_for_erasure(self, now, retention_days: int):
        """Contacts of reports closed more than `retention_days` ago that still hold details."""
        cutoff = now - timedelta(days=retention_days)
        return self.filter(report__closed_at__lt=cutoff, erased_at__isnull=True)

    def erase(self, now) -> int:
        return self.update(email="", name="", phone="", erased_at=now)


class ReporterContact(models.Model):
    """How to reach the reporter. Kept apart from the public record; erased after the retention period."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, primary_key=True, related_name="contact")
    email = models.EmailField(_("email address"), blank=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # An address given without an account receives updates only after its owner confirms it.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Set by the unsubscribe link in an update email: no more updates to this address.
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The interface language when they reported: every email to this address is written in it.
    language = models.CharField(_("language"), max_length=10, blank=True)

    objects = ReporterContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("reporter contact")
        verbose_name_plural = _("reporter contacts")

    def __str__(self) -> str:
        return f"contact for report {self.report_id}"


class ReportPhoto(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="reports/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            # The photo view finds the photo (and so its report) by the file name in its URL.
            models.Index(fields=["image"], name="reportphoto_image_idx"),
        ]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")


class SupportQuerySet(models.QuerySet):
    def due_for_erasure(self, now, retention_days: int):
        """Anonymous supports of reports closed more than `retention_days` ago that still hold an address."""
        return self.filter(report__closed_at__lt=now - timedelta(days=retention_days), email__isnull=False)

    def erase(self, now) -> int:
        """Forget the addresses; the supports keep counting (support_count, a merge carries them over)."""
        return self.update(email=None, erased_at=now)


class Support(models.Model):
    """A "me too": one per account, or per confirmed email address for residents without one. An anonymous
    supporter's address is erased SUPPORTER_EMAIL_RETENTION_DAYS after the report closed (erased_at)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="supports")
    email = models.EmailField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # The interface language when they supported (emails to them are written in it).
    language = models.CharField(max_length=10, blank=True)

    objects = SupportQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], condition=Q(user__isnull=False), name="support_unique_user"),
            models.UniqueConstraint(fields=["report", "email"], condition=Q(email__isnull=False), name="support_unique_email"),
            models.CheckConstraint(condition=Q(user__isnull=False) | Q(email__isnull=False) | Q(erased_at__isnull=False),
                                   name="support_has_supporter"),
        ]


class Follow(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)
    # The interface language when they started following: their update emails are written in it.
    language = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "user"], name="follow_unique_user")]


class Comment(models.Model):
    MAX_LENGTH = 2000

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comments")
    text = models.TextField(_("comment"), max_length=MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    # Added by the reporter on their "manage my report" page (they may have no account: author is None).
    by_reporter = models.BooleanField(default=False)
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # A report page lists its comments in order.
            models.Index(fields=["report", "created_at"], name="comment_report_created"),
        ]


class StatusChangeQuerySet(models.QuerySet):
    def append(self, changes: list[StatusChange]) -> None:
        """Write new history rows as `bulk_create` writes them (the same values, in this order, each given its id),
        with one written INSERT: every new report writes one or two, and the ORM took more CPU to build the
        statement than to send it (two rows through PostgreSQL's UNNEST: about 0.5 against 0.15 ms)."""
        connection = connections[self.db]
        if not changes:
            return
        if not connection.features.can_return_rows_from_bulk_insert:
            self.bulk_create(changes)
            return
        meta, quote = self.model._meta, connection.ops.quote_name
        fields = [field for field in meta.concrete_fields if field is not meta.pk and not field.generated]
        values = []
        for change in changes:
            if change.pk is not None:
                raise ValueError("History rows are append-only.")
            change._prepare_related_fields_for_save(operation_name="bulk_create")
            values += [field.get_db_prep_save(field.pre_save(change, True), connection) for field in fields]
        row = f"({', '.join(['%s'] * len(fields))})"
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
                           f"VALUES {', '.join([row] * len(changes))} RETURNING {quote(meta.pk.column)}", values)
            ids = cursor.fetchall()
        for change, (pk,) in zip(changes, ids, strict=True):
            change.pk = pk
            change._state.adding, change._state.db = False, self.db


class StatusChange(models.Model):
    """One row of a report's append-only history: who changed what, when, and what they told the public."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=20, choices=Report.Status, blank=True)
    to_status = models.CharField(max_length=20, choices=Report.Status, blank=True)
    from_department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to_department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.TextField(blank=True, max_length=4000)
    is_public = models.BooleanField(default=True)
    # Delivery bookkeeping, not history: the email task claims a row by setting this once.
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The timeline on a report page.
            models.Index(fields=["report", "created_at"], name="statuschange_report_created"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("History rows are append-only.")
        super().save(*args, **kwargs)


class Correction(models.Model):
    """One row of a report's history of corrections by staff: a field, its value before and after.
    Append-only, like StatusChange; values are kept as text (a priority, "lat,lon", a name)."""

    class Field(models.TextChoices):
        PRIORITY = "priority", _("priority")
        LOCATION = "location", _("location")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="corrections")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    field = models.CharField(max_length=30)
    from_value = models.CharField(max_length=255, blank=True)
    to_value = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The corrections on a report page, in order.
            models.Index(fields=["report", "created_at"], name="correction_report_created"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("History rows are append-only.")
        super().save(*args, **kwargs)

    def get_field_display(self) -> str:
        try:
            return str(self.Field(self.field).label)
        except ValueError:
            return self.field


class InternalNote(models.Model):
    """A note between civil servants; never public."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]



class SavedFilter(models.Model):
    """A civil servant's named view of the triage queue, kept as the queue's query string."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="savedfilter_unique_user_name")]

    def __str__(self) -> str:
        return self.name


# --- Addresses and categories (issue #16) ---------------------------------------------------------
def normalise_address_text(text: str) -> str:
    """Lower case, no diacritics, one space between words, a Dutch postcode written together ("2586 bp" and
    "2586BP" both become "2586bp"): what search compares, for a stored address and for typed text alike."""
    import re

    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[^\w]+", " ", plain).strip()
    return re.sub(r"\b(\d{4}) ([a-z]{2})\b", r"\1\2", plain)


class AddressQuerySet(models.QuerySet):
    def near(self, latitude: float, longitude: float, metres: float):
        """Addresses within a box of `metres` around the point: the index on (latitude, longitude) serves it."""
        south, north, west, east = box_around(latitude, longitude, metres)
        return self.filter(latitude__gte=south, latitude__lte=north, longitude__gte=west, longitude__lte=east)

    def near_written(self, latitude: float, longitude: float, metres: float, *, fields: tuple[str, ...],
                     limit: int) -> list[Address]:
        """near() with only `fields` (and the id), at most `limit`, as one written query: every new report's
        reverse lookup asks it, and building its SQL with the ORM took twice the CPU of asking (0.65 against
        0.2 ms)."""
        quote = connections[self.db].ops.quote_name
        meta = self.model._meta
        names = ("id", "latitude", "longitude", *fields)
        column = {name: quote(meta.get_field(name).column) for name in names}
        order = ", ".join(quote(meta.get_field(name).column) for name in meta.ordering)  # as near() orders them
        return written_rows(
            self,
            f"SELECT {', '.join(column.values())} FROM {quote(meta.db_table)} "
            f"WHERE {column['latitude']} BETWEEN %s AND %s AND {column['longitude']} BETWEEN %s AND %s "
            f"ORDER BY {order} LIMIT %s",
            [*box_around(latitude, longitude, metres), limit], [meta.get_field(name).attname for name in names])


class Address(models.Model):
    """One address of the city, loaded from an open dataset (`manage.py load_addresses`: BAG, OpenStreetMap).
    The local geocoder (participation/geocoding.py) searches and reverse-geocodes these."""

    street = models.CharField(_("street"), max_length=200)
    house_number = models.PositiveIntegerField(_("house number"), null=True, blank=True)
    house_letter = models.CharField(_("house letter"), max_length=5, blank=True)
    house_number_addition = models.CharField(_("addition"), max_length=10, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    # The dataset's own id (a BAG nummeraanduiding, an OSM node): loading a file again updates nothing twice.
    source_id = models.CharField(_("id in the source"), max_length=64, unique=True)
    # normalise_address_text(street, number, letter, addition, postcode); trigram-indexed on PostgreSQL
    # (migration 0004), the search's only column.
    search_text = models.CharField(max_length=300, editable=False)

    objects = AddressQuerySet.as_manager()

    class Meta:
        ordering = ["street", "house_number", "house_letter", "house_number_addition"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        indexes = [
            # Reverse geocoding: the addresses in a small box around a point.
            models.Index(fields=["latitude", "longitude"], name="address_lat_lon"),
            # Search by postcode ("2586 BP 12"), and a street found despite a typo, with its number.
            models.Index(fields=["postcode", "house_number"], name="address_postcode_number"),
            models.Index(fields=["street", "house_number"], name="address_street_number"),
        ]

    def __str__(self) -> str:
        return self.label

    def save(self, *args, **kwargs):
        self.search_text = self.make_search_text()
        super().save(*args, **kwargs)

    @property
    def number_text(self) -> str:
        if self.house_number is None:
            return ""
        addition = f"-{self.house_number_addition}" if self.house_number_addition else ""
        return f"{self.house_number}{self.house_letter}{addition}"

    @property
    def label(self) -> str:
        """How people read it: "Gevers Deynootweg 12A, Den Haag"."""
        first = " ".join(part for part in (self.street, self.number_text) if part)
        return ", ".join(part for part in (first, self.city) if part)

    def make_search_text(self) -> str:
        return normalise_address_text(" ".join(
            part for part in (self.street, self.number_text, self.house_number_addition, self.postcode) if part))



class LocalizedNameMixin:
    name: str

    @property
    def localized_name(self) -> str:
        from django.utils.translation import get_language

        language = (get_language() or settings.LANGUAGE_CODE)[:2]
        return getattr(self, f"name_{language}", "") or self.name


class CategoryQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def choosable(self):
        """What a resident can choose: subcategories, and main categories without any."""
        return self.active().filter(Q(parent__isnull=False) | Q(children__isnull=True)).distinct()


class Category(LocalizedNameMixin, models.Model):
    """What a report is about, in residents' words: a main category ("Street lighting") or a subcategory
    ("Lamp out"). Its department receives new reports directly (routing on intake); its notice tells the
    resident, before they send, when someone else handles it."""

    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children",
                               verbose_name=_("main category"))
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_nl = models.CharField(_("name (Dutch)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    name_sv = models.CharField(_("name (Swedish)"), max_length=120, blank=True)
    theme = models.ForeignKey(Theme, on_delete=models.SET_NULL, null=True, blank=True, related_name="categories",
                              verbose_name=_("theme"), help_text=_("Empty: the main category's theme."))
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="categories", verbose_name=_("default department"),
                                   help_text=_("New reports in this category go straight to this department. "
                                               "Empty: the main category's, or triage."))
    target_days = models.PositiveSmallIntegerField(_("target handling time (days)"), null=True, blank=True)
    notice = models.TextField(_("handled elsewhere"), blank=True, max_length=1000, help_text=_(
        "Shown before the resident sends the report, e.g. who else handles it. Empty: none."))
    notice_nl = models.TextField(_("handled elsewhere (Dutch)"), blank=True, max_length=1000)
    notice_en = models.TextField(_("handled elsewhere (English)"), blank=True, max_length=1000)
    notice_sv = models.TextField(_("handled elsewhere (Swedish)"), blank=True, max_length=1000)
    notice_url = models.URLField(_("link for the notice"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        if self.parent_id:
            return f"{self.parent.localized_name} › {self.localized_name}"
        return self.localized_name

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.parent_id and (self.parent.parent_id or self.parent_id == self.pk):
            raise ValidationError({"parent": _("A subcategory's main category must be a main category.")})
        if self.parent_id and self.pk and self.children.exists():
            raise ValidationError({"parent": _("A main category with subcategories cannot become a subcategory.")})

    @property
    def localized_notice(self) -> str:
        from django.utils.translation import get_language

        language = (get_language() or settings.LANGUAGE_CODE)[:2]
        notice = getattr(self, f"notice_{language}", "") or self.notice
        if not notice and self.parent_id:
            return self.parent.localized_notice
        return notice

    @property
    def notice_link(self) -> str:
        return self.notice_url or (self.parent.notice_link if self.parent_id else "")

    @property
    def tree_position(self) -> tuple:
        """Where it stands in the city's order: its main category's place, then its own (needs `parent` loaded)."""
        return (self.parent.order if self.parent_id else self.order,
                str(self.parent.localized_name if self.parent_id else ""), self.order, self.localized_name)

    @property
    def effective_theme(self) -> Theme | None:
        return self.theme if self.theme_id else (self.parent.theme if self.parent_id else None)

    @property
    def effective_department(self) -> Department | None:
        """Where new reports go: its own department, else (unless it is handled elsewhere, when triage
        decides) its main category's."""
        if self.department_id:
            return self.department
        if any((self.notice, self.notice_nl, self.notice_en, self.notice_sv)):
            return None
        return self.parent.department if self.parent_id else None

    def all_questions(self) -> list[ServiceQuestion]:
        """Its main category's questions, then its own."""
        owners = [self.parent_id, self.pk] if self.parent_id else [self.pk]
        questions = ServiceQuestion.objects.filter(category_id__in=owners)
        return sorted(questions, key=lambda q: (q.category_id != self.parent_id, q.order, q.pk))

    @property
    def effective_target_days(self) -> int | None:
        if self.target_days is not None:
            return self.target_days
        return self.parent.target_days if self.parent_id else None


# --- Open311 GeoReport v2 (issue #7) ------------------------------------------------------------
def new_api_key() -> str:
    import secrets

    return secrets.token_urlsafe(32)


def new_request_token() -> str:
    return uuid.uuid4().hex


class Open311Client(models.Model):
    """An integration (a reporting app, a city system) that posts reports through Open311 with its own api_key."""

    name = models.CharField(_("name"), max_length=120)
    key = models.CharField(_("API key"), max_length=64, unique=True, default=new_api_key, editable=False)
    contact_email = models.EmailField(_("contact email address"), blank=True,
                                      help_text=_("Who to contact about this integration."))
    is_active = models.BooleanField(_("active"), default=True,
                                    help_text=_("An inactive client's api_key is refused."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")

    def __str__(self) -> str:
        return self.name


class ServiceQuestion(models.Model):
    """A category's question: the report form asks it when the category (or one of its subcategories) is chosen,
    and Open311's `services/{code}` lists it as an attribute of the category's service. Or a theme's: an attribute
    of the theme's service, for Open311 clients that post with theme codes."""

    class Datatype(models.TextChoices):
        STRING = "string", _("short text")
        TEXT = "text", _("long text")
        NUMBER = "number", _("number")
        DATETIME = "datetime", _("date and time")
        SINGLEVALUELIST = "singlevaluelist", _("one choice from a list")
        MULTIVALUELIST = "multivaluelist", _("several choices from a list")

    LIST_TYPES = (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST)

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="service_questions",
                              verbose_name=_("theme"), null=True, blank=True)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="questions", null=True, blank=True,
                                 verbose_name=_("category"))
    code = models.SlugField(_("code"), max_length=60)
    description = models.CharField(_("question"), max_length=300)
    datatype = models.CharField(_("type of answer"), max_length=20, choices=Datatype, default=Datatype.STRING)
    datatype_description = models.CharField(_("answer hint"), max_length=300, blank=True)
    # A category's question is asked on the report form in the resident's language (Open311 gives `description`).
    description_nl = models.CharField(_("question (Dutch)"), max_length=300, blank=True)
    description_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    description_sv = models.CharField(_("question (Swedish)"), max_length=300, blank=True)
    datatype_description_nl = models.CharField(_("answer hint (Dutch)"), max_length=300, blank=True)
    datatype_description_en = models.CharField(_("answer hint (English)"), max_length=300, blank=True)
    datatype_description_sv = models.CharField(_("answer hint (Swedish)"), max_length=300, blank=True)
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    # For the list types: [{"key": "...", "name": "..."}, ...]
    values = models.JSONField(_("choices"), default=list, blank=True,
                              help_text=_('For list types: [{"key": "broken", "name": "Broken"}, ...]'))

    class Meta:
        ordering = ["theme", "order", "pk"]
        verbose_name = _("service question")
        verbose_name_plural = _("service questions")
        constraints = [
            models.UniqueConstraint(fields=["theme", "code"], name="servicequestion_unique_theme_code"),
            models.UniqueConstraint(fields=["category", "code"], name="servicequestion_unique_category_code"),
            models.CheckConstraint(condition=Q(theme__isnull=False, category__isnull=True)
                                   | Q(theme__isnull=True, category__isnull=False),
                                   name="servicequestion_theme_or_category"),
        ]

    def __str__(self) -> str:
        return self.description

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.theme_id is not None and self.category_id is not None:
            raise ValidationError(_("A question belongs to a theme or to a category, not both."))
        if self.datatype in self.LIST_TYPES:
            valid = isinstance(self.values, list) and self.values and all(
                isinstance(value, dict) and str(value.get("key", "")).strip() and str(value.get("name", "")).strip()
                for value in self.values
            )
            if not valid:
                raise ValidationError({"values": _('A list question needs choices: [{"key": "...", "name": "..."}, ...].')})

    def _localized(self, field: str) -> str:
        from django.utils.translation import get_language

        language = (get_language() or settings.LANGUAGE_CODE)[:2]
        return getattr(self, f"{field}_{language}", "") or getattr(self, field)

    @property
    def localized_description(self) -> str:
        return self._localized("description")

    @property
    def localized_hint(self) -> str:
        return self._localized("datatype_description")

    @property
    def value_keys(self) -> set[str]:
        return {str(value["key"]) for value in self.values or []}

    def answer_text(self, answer) -> str:
        """A stored answer as people read it: the choices' names, not their keys."""
        names = {str(value["key"]): str(value["name"]) for value in self.values or []}
        answers = answer if isinstance(answer, list) else [answer]
        return ", ".join(names.get(str(item), str(item)) for item in answers)


def answer_rows(answers: dict, questions) -> list[tuple[str, str]]:
    """Stored answers {code: value} as (question, answer) rows, in the questions' order; answers to questions
    removed since then keep their code as the question."""
    by_code = {question.code: question for question in questions}
    rows = [(question.localized_description, question.answer_text(answers[code]))
            for code, question in by_code.items() if code in answers]
    rows += [(code, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
             for code, value in answers.items() if code not in by_code]
    return rows


class Open311Request(models.Model):
    """What an Open311 client sent beyond the public report: the client, its media link, answers to extra questions.

    Not public except `media_url`, which GeoReport returns with the request."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="open311_request")
    client = models.ForeignKey(Open311Client, on_delete=models.SET_NULL, null=True, related_name="requests")
    token = models.CharField(max_length=32, unique=True, default=new_request_token, editable=False)
    media_url = models.URLField(max_length=2000, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    device_id = models.CharField(max_length=200, blank=True)
    account_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")

    def __str__(self) -> str:
        return f"Open311 request {self.token}"


_URL_PLACEHOLDER = 987654321


def report_url_pattern(view: str = "participation:report-detail") -> str:
    """A report page's URL (the public one, or `view`, such as the staff page) with "%d" for the id, for the
    current URL configuration and script prefix."""
    return _report_url_pattern(view, get_urlconf(), get_script_prefix())


@lru_cache(maxsize=16)
def _report_url_pattern(view: str, urlconf: str | None, script_prefix: str) -> str:
    # the arguments key the cache; reverse() reads the last two itself
    return reverse(view, args=[_URL_PLACEHOLDER]).replace(str(_URL_PLACEHOLDER), "%d")
