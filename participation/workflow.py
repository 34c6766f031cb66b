"""The report workflow: the one place that says which changes a report may go through and how they happen.

    new ──▶ accepted ──▶ in progress ──▶ resolved ──(reopen, with a reason)──▶ accepted
     │          │             │
     └──────────┴─────────────┴──▶ not actionable | duplicate (only by merging into another report)

Every change runs in one transaction: lock the report row (select_for_update), compare the version
the civil servant saw, check who may act, apply the change with update_fields, bump the version and
append a StatusChange row. Emails to the reporter and followers are queued after the commit.
Views, bulk actions and the API call these functions; nothing else changes a report's status, its
visibility (hide, show), a comment's visibility, or whether its reporter's address is confirmed.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from participation import permissions, services
from participation.models import (
    Category,
    Comment,
    Correction,
    Follow,
    InternalNote,
    Report,
    ReporterContact,
    StatusChange,
    Support,
)
from smartcity.models import Area, Department, SocietalChallenge, Theme, User

Status = Report.Status

# The allowed transitions: from-status -> the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.ACCEPTED, Status.NOT_ACTIONABLE, Status.DUPLICATE}),
    Status.ACCEPTED: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.NOT_ACTIONABLE, Status.DUPLICATE}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED, Status.NOT_ACTIONABLE, Status.DUPLICATE}),
    Status.RESOLVED: frozenset({Status.ACCEPTED}),  # reopening
    Status.NOT_ACTIONABLE: frozenset(),
    Status.DUPLICATE: frozenset(),
}
CLOSING = frozenset(Report.CLOSED_STATUSES)
# A status change that needs a public message: closing tells the reporter why; reopening says why.
REOPENING = frozenset({(Status.RESOLVED, Status.ACCEPTED)})


class WorkflowError(Exception):
    """A change that is refused. `message` is translated and meant for the civil servant."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ReportChanged(WorkflowError):
    """Someone else changed the report since the civil servant loaded it: nothing was written."""

    def __init__(self, report: Report):
        super().__init__(
            _("This report was changed by someone else while you were working on it. It is now “%(status)s”%(department)s. "
              "Nothing was saved: check the new state below and try again.")
            % {
                "status": report.get_status_display(),
                "department": (" " + _("at %(department)s") % {"department": report.department.name})
                if report.department_id else "",
            }
        )
        self.report = report


@dataclass
class Outcome:
    """What a bulk action did to one report."""

    report: Report
    ok: bool
    message: str


def allowed_targets(report: Report) -> list[str]:
    """The statuses a civil servant can choose on the status form (duplicate goes through merging)."""
    return [status for status in Status.values if status in TRANSITIONS[report.status] and status != Status.DUPLICATE]


def check_transition(report: Report, to_status: str, message: str) -> None:
    """Refuse a change the state machine does not allow, with a message that says why."""
    if to_status not in Status.values:
        raise WorkflowError(_("“%(status)s” is not a status.") % {"status": to_status})
    if to_status not in TRANSITIONS[report.status]:
        raise WorkflowError(
            _("A report that is “%(from)s” cannot become “%(to)s”.")
            % {"from": report.get_status_display(), "to": Status(to_status).label}
        )
    if to_status in CLOSING and not message.strip():
        raise WorkflowError(_("Closing a report needs a public message that tells the reporter why."))
    if (report.status, to_status) in REOPENING and not message.strip():
        raise WorkflowError(_("Reopening a report needs a reason."))
    if to_status == Status.ACCEPTED and report.department_id is None:
        raise WorkflowError(_("Route the report to a department to accept it."))


def _lock(report: Report | int, version: int | None, actor: User) -> Report:
    """The report row, locked until the transaction ends, if the actor saw its current version and may act."""
    report_id = report.pk if isinstance(report, Report) else report
    locked = Report.objects.select_for_update().get(pk=report_id)
    if version is not None and locked.version != version:
        # Read the department's name outside the lock's row; the caller shows it.
        raise ReportChanged(Report.objects.select_related("department").get(pk=report_id))
    if not permissions.can_act_on_report(actor, locked):
        raise WorkflowError(_("You can only act on reports of your own departments, or on unrouted reports as a triager."))
    return locked


def _record(report: Report, *, actor: User, from_status: str, from_department_id: int | None, message: str,
            is_public: bool = True, fields: list[str]) -> StatusChange:
    report.version += 1
    report.save(update_fields=[*fields, "version", "updated_at"])
    change = StatusChange.objects.create(
        report=report, actor=actor, from_status=from_status, to_status=report.status,
        from_department_id=from_department_id, to_department_id=report.department_id,
        message=message.strip(), is_public=is_public,
    )
    if is_public:
        _notify_after_commit(report, change)
    _counts_changed_after_commit()
    return change


def _counts_changed_after_commit() -> None:
    transaction.on_commit(services.queue_counts_changed)


def _notify_after_commit(report: Report, change: StatusChange) -> None:
    services.report_notify_public_update(report_id=report.pk, status_change_id=change.pk)


@transaction.atomic
def change_status(*, report: Report | int, actor: User, to_status: str, message: str = "",
                  version: int | None) -> StatusChange:
    """Move a report along the allowed transitions. Duplicates are made with merge()."""
    locked = _lock(report, version, actor)
    if to_status == Status.DUPLICATE:
        raise WorkflowError(_("To mark a report as a duplicate, merge it into the other report."))
    check_transition(locked, to_status, message)
    from_status = locked.status
    locked.status = to_status
    if to_status in CLOSING:
        locked.closed_at = timezone.now()
    elif from_status in CLOSING:
        locked.closed_at = None
    return _record(locked, actor=actor, from_status=from_status, from_department_id=locked.department_id,
                   message=message, fields=["status", "closed_at"])


@transaction.atomic
def route(*, report: Report | int, actor: User, department: Department, message: str = "",
          version: int | None) -> StatusChange:
    """Accept a new report and route it to a department, or hand an open report to another department."""
    locked = _lock(report, version, actor)
    if not locked.is_open:
        raise WorkflowError(_("A closed report cannot be routed. Reopen it first."))
    if locked.department_id == department.pk:
        raise WorkflowError(_("This report is already routed to %(department)s.") % {"department": department.name})
    from_status, from_department_id = locked.status, locked.department_id
    locked.department = department
    if locked.status == Status.NEW:
        check_transition(locked, Status.ACCEPTED, message)
        locked.status = Status.ACCEPTED
    return _record(locked, actor=actor, from_status=from_status, from_department_id=from_department_id,
                   message=message, fields=["department", "status"])


@transaction.atomic
def act(*, report: Report | int, actor: User, department: Department | None = None, to_status: str = "",
        message: str = "", version: int | None) -> StatusChange:
    """One staff action: route to a department, change the status and/or write to the reporter, together.

    It writes one history row, so the reporter and followers get one email, not one per step. The staff
    page's combined form and every bulk action call this (a bulk action once per report)."""
    locked = _lock(report, version, actor)
    from_status, from_department_id = locked.status, locked.department_id
    if to_status == Status.DUPLICATE:
        raise WorkflowError(_("To mark a report as a duplicate, merge it into the other report."))
    routing = department is not None and department.pk != locked.department_id
    if department is not None and not routing and not to_status and not message.strip():
        raise WorkflowError(_("This report is already routed to %(department)s.") % {"department": department.name})
    if routing:
        if not locked.is_open:
            raise WorkflowError(_("A closed report cannot be routed. Reopen it first."))
        locked.department = department
        if locked.status == Status.NEW and not to_status:
            to_status = Status.ACCEPTED
        elif locked.status == Status.NEW and to_status in TRANSITIONS[Status.ACCEPTED]:
            locked.status = Status.ACCEPTED  # routed and moved on in one action: accepted on the way
    if to_status:
        check_transition(locked, to_status, message)
        locked.status = to_status
        if to_status in CLOSING:
            locked.closed_at = timezone.now()
        elif from_status in CLOSING:
            locked.closed_at = None
    elif not routing and not message.strip():
        raise WorkflowError(_("Choose a department or a status, or write a message."))
    return _record(locked, actor=actor, from_status=from_status, from_department_id=from_department_id,
                   message=message, fields=["department", "status", "closed_at"])


def change_category(*, report: Report | int, actor: User, category: Category | None, theme: Theme | None,
                    version: int | None) -> StatusChange:
    """Correct what a report is about: its category and theme (empty theme: the category's). An internal history
    row says what changed; the statistics count by the new values. The category suggestion learns from it
    (matching/categories.py reads every categorised report). Routing stays as it is: that is route()'s work."""
    locked = _lock(report, version, actor)
    if theme is None and category is not None:
        theme = category.effective_theme
    old_category = Category.objects.filter(pk=locked.category_id).first()
    old_theme = Theme.objects.filter(pk=locked.theme_id).first()
    if old_category == category and old_theme == theme:
        raise WorkflowError(_("The category and theme are already these."))
    locked.category, locked.theme = category, theme
    message = _("Category: %(from_category)s → %(to_category)s. Theme: %(from_theme)s → %(to_theme)s.") % {
        "from_category": old_category or "–", "to_category": category or "–",
        "from_theme": old_theme or "–", "to_theme": theme or "–",
    }
    return _record(locked, actor=actor, from_status=locked.status, from_department_id=locked.department_id,
                   message=message, is_public=False, fields=["category", "theme"])


@transaction.atomic
def post_message(*, report: Report | int, actor: User, message: str, version: int | None) -> StatusChange:
    """A public answer to the reporter and followers, without a status change."""
    if not message.strip():
        raise WorkflowError(_("Write a message."))
    locked = _lock(report, version, actor)
    return _record(locked, actor=actor, from_status=locked.status, from_department_id=locked.department_id,
                   message=message, fields=[])


@transaction.atomic
def add_note(*, report: Report | int, actor: User, text: str) -> InternalNote:
    """A note for colleagues. It changes nothing the public sees, so it needs no version check."""
    if not text.strip():
        raise WorkflowError(_("Write a note."))
    locked = _lock(report, None, actor)
    return InternalNote.objects.create(report=locked, author=actor, text=text.strip())


@transaction.atomic
def merge(*, report: Report | int, target: Report | int, actor: User, message: str,
          version: int | None) -> tuple[StatusChange, StatusChange]:
    """Mark `report` as a duplicate of `target`: its supporters and followers move over, both reporters hear of it."""
    target_id = target.pk if isinstance(target, Report) else target
    report_id = report.pk if isinstance(report, Report) else report
    if target_id == report_id:
        raise WorkflowError(_("A report cannot be a duplicate of itself."))
    # Lock both rows in id order, so two merges of the same pair cannot deadlock.
    locked_target = None
    if target_id < report_id:
        locked_target = Report.objects.select_for_update().filter(pk=target_id).first()
    locked = _lock(report_id, version, actor)
    if locked_target is None:
        locked_target = Report.objects.select_for_update().filter(pk=target_id).first()
    if locked_target is None:
        raise WorkflowError(_("There is no report with number %(number)s.") % {"number": target_id})
    if locked_target.status == Status.DUPLICATE:
        raise WorkflowError(
            _("Report %(number)s is itself a duplicate of report %(original)s: merge into that one.")
            % {"number": locked_target.pk, "original": locked_target.duplicate_of_id}
        )
    check_transition(locked, Status.DUPLICATE, message)
    _carry_supporters_and_followers(locked, locked_target)

    from_status = locked.status
    locked.status, locked.duplicate_of, locked.closed_at = Status.DUPLICATE, locked_target, timezone.now()
    locked.version += 1
    locked.save(update_fields=["status", "duplicate_of", "closed_at", "version", "updated_at"])
    locked_target.support_count = locked_target.supports.count()
    locked_target.version += 1
    locked_target.save(update_fields=["support_count", "version", "updated_at"])
    changes = (
        StatusChange.objects.create(
            report=locked, actor=actor, from_status=from_status, to_status=locked.status,
            from_department_id=locked.department_id, to_department_id=locked.department_id, message=message.strip(),
        ),
        StatusChange.objects.create(
            report=locked_target, actor=actor, from_status=locked_target.status, to_status=locked_target.status,
            from_department_id=locked_target.department_id, to_department_id=locked_target.department_id,
            message=_("Report %(number)s about the same concern was merged into this report. Its supporters now "
                      "support this one.") % {"number": locked.pk},
        ),
    )
    for changed, change in zip((locked, locked_target), changes):
        _notify_after_commit(changed, change)
    _counts_changed_after_commit()
    return changes


def _carry_supporters_and_followers(report: Report, target: Report) -> None:
    """The duplicate's supporters, followers and reporter now support and follow the target; nobody twice.
    A supporter whose address was erased (retention) still counts, as one more supporter."""
    supporters = {support.user_id for support in target.supports.all() if support.user_id}
    emails = {support.email for support in target.supports.all() if support.email}
    carried = []
    for support in report.supports.all():
        if (support.user_id and support.user_id in supporters) or (support.email and support.email in emails):
            continue
        carried.append(Support(report=target, user_id=support.user_id, email=support.email,
                               erased_at=support.erased_at))
        supporters.add(support.user_id)
        emails.add(support.email)
    if report.author_id and report.author_id not in supporters and report.author_id != target.author_id:
        carried.append(Support(report=target, user_id=report.author_id))
    Support.objects.bulk_create(carried)

    followers = set(target.follows.values_list("user_id", flat=True)) | {target.author_id}
    new_followers = {follow.user_id for follow in report.follows.all()} | ({report.author_id} if report.author_id else set())
    languages = {follow.user_id: follow.language for follow in report.follows.all()}
    Follow.objects.bulk_create([Follow(report=target, user_id=user_id, language=languages.get(user_id, ""))
                                for user_id in new_followers - followers])


@transaction.atomic
def hide(*, report: Report | int, actor: User, reason: str, hidden: bool = True) -> StatusChange:
    """Hide a report from the public (or show it again) with a reason, kept in its internal history.
    Moderation is for every staff member (permissions.can_moderate_reports), not only the report's department."""
    if not permissions.can_moderate_reports(actor):
        raise WorkflowError(_("Only staff members moderate reports."))
    report_id = report.pk if isinstance(report, Report) else report
    locked = Report.objects.select_for_update().get(pk=report_id)
    locked.is_hidden, locked.hidden_reason = hidden, reason if hidden else ""
    locked.version += 1
    locked.save(update_fields=["is_hidden", "hidden_reason", "version", "updated_at"])
    return StatusChange.objects.create(
        report=locked, actor=actor, is_public=False,
        message=(_("Hidden: %(reason)s") if hidden else _("Shown again: %(reason)s")) % {"reason": reason},
    )


@transaction.atomic
def hide_comment(*, comment: Comment | int, actor: User, reason: str) -> None:
    """Hide a comment with a reason, shown instead of it."""
    if not permissions.can_moderate_reports(actor):
        raise WorkflowError(_("Only staff members moderate reports."))
    comment_id = comment.pk if isinstance(comment, Comment) else comment
    Comment.objects.filter(pk=comment_id).update(is_hidden=True, hidden_reason=reason, hidden_by=actor)


def confirm_contact(*, report: Report, email: str) -> bool:
    """The reporter followed the link in the confirmation email: updates go to this address from now on.
    False when it was confirmed already (or is not this report's contact)."""
    return bool(ReporterContact.objects.filter(report=report, email__iexact=email, confirmed_at__isnull=True)
                .update(confirmed_at=timezone.now()))


# --- What the reporter does on their "manage my report" page (no account: the signed link is the permission) ---
@transaction.atomic
def withdraw(*, report: Report | int, reason: str = "") -> StatusChange:
    """The reporter withdraws an open report: it closes as not actionable, with a public note that says so."""
    report_id = report.pk if isinstance(report, Report) else report
    locked = Report.objects.select_for_update().get(pk=report_id)
    if not locked.is_open:
        raise WorkflowError(_("This report is closed already."))
    from_status = locked.status
    locked.status, locked.closed_at = Status.NOT_ACTIONABLE, timezone.now()
    text = _("The reporter withdrew this report.") + (f" {reason.strip()}" if reason.strip() else "")
    return _record_without_actor(locked, from_status=from_status, message=text, fields=["status", "closed_at"])


@transaction.atomic
def reopen_by_reporter(*, report: Report | int, reason: str) -> StatusChange:
    """"Still a problem?": the reporter reopens a report resolved less than REOPEN_REQUEST_DAYS ago, with a reason.
    It goes back to its department as accepted (to the triage queue as new when it has none)."""
    if not reason.strip():
        raise WorkflowError(_("Tell us what is still wrong."))
    report_id = report.pk if isinstance(report, Report) else report
    locked = Report.objects.select_for_update().get(pk=report_id)
    if not locked.can_still_be_reopened:
        raise WorkflowError(_("This report can no longer be reopened. Please make a new report."))
    from_status = locked.status
    locked.status = Status.ACCEPTED if locked.department_id else Status.NEW
    locked.closed_at = None
    text = _("The reporter says this is still a problem: %(reason)s") % {"reason": reason.strip()}
    return _record_without_actor(locked, from_status=from_status, message=text, fields=["status", "closed_at"])


def _record_without_actor(report: Report, *, from_status: str, message: str, fields: list[str]) -> StatusChange:
    report.version += 1
    report.save(update_fields=[*fields, "version", "updated_at"])
    change = StatusChange.objects.create(
        report=report, actor=None, from_status=from_status, to_status=report.status,
        from_department_id=report.department_id, to_department_id=report.department_id, message=message,
    )
    _notify_after_commit(report, change)
    _counts_changed_after_commit()
    return change


@transaction.atomic
def link_societal_challenges(*, report: Report | int, actor: User, link: list[SocietalChallenge],
                             unlink: list[SocietalChallenge]) -> None:
    """Link a report to societal challenges or unlink it. Adding a link twice does nothing."""
    report_id = report.pk if isinstance(report, Report) else report
    # FOR NO KEY UPDATE, as an UPDATE of the row takes: a transaction that inserted a link of this report before (an
    # accepted suggestion, say) checks its foreign key when it commits, and that check must not wait for this lock
    # while this link waits for that transaction's row.
    locked = Report.objects.select_for_update(no_key=True).get(pk=report_id)
    if not permissions.can_link_report_to_societal_challenge(actor, locked):
        raise WorkflowError(_("You cannot link this report to societal challenges."))
    if link:
        locked.societal_challenges.add(*link)
    if unlink:
        locked.societal_challenges.remove(*unlink)


@transaction.atomic
def set_priority(*, report: Report | int, actor: User, priority: str, version: int | None) -> Correction | None:
    """Set a report's priority (normal or high), with a correction row. None when it already had that priority."""
    if priority not in Report.Priority.values:
        raise WorkflowError(_("“%(priority)s” is not a priority.") % {"priority": priority})
    locked = _lock(report, version, actor)
    if locked.priority == priority:
        return None
    before = locked.priority
    locked.priority = priority
    locked.version += 1
    locked.save(update_fields=["priority", "version", "updated_at"])
    _counts_changed_after_commit()
    return Correction.objects.create(report=locked, actor=actor, field=Correction.Field.PRIORITY,
                                     from_value=before, to_value=priority)


@transaction.atomic
def move(*, report: Report | int, actor: User, latitude: float, longitude: float,
         version: int | None) -> Correction | None:
    """Correct where a report is (staff dragged the pin): the point, and with it the neighbourhood, which the
    statistics count by (insight refreshes the days of reports changed since its last run, updated_at)."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise WorkflowError(_("That point is not on the map."))
    locked = _lock(report, version, actor)
    latitude, longitude = round(latitude, 6), round(longitude, 6)
    if (locked.latitude, locked.longitude) == (latitude, longitude):
        return None
    before = f"{locked.latitude:.6f},{locked.longitude:.6f}"
    locked.latitude, locked.longitude = latitude, longitude
    locked.area = Area.objects.for_point(latitude, longitude)
    locked.version += 1
    locked.save(update_fields=["latitude", "longitude", "area", "version", "updated_at"])
    _counts_changed_after_commit()
    return Correction.objects.create(report=locked, actor=actor, field=Correction.Field.LOCATION,
                                     from_value=before, to_value=f"{latitude:.6f},{longitude:.6f}")


def bulk(*, reports: list[tuple[int, int | None]], actor: User, to_status: str = "", department: Department | None = None,
         message: str = "") -> list[Outcome]:
    """Route and/or change the status of several reports with one message. Each goes through act() on its own
    (its own transaction): one refused report does not stop the others, and each reporter gets one email."""
    outcomes: list[Outcome] = []
    for report_id, version in reports:
        try:
            change = act(report=report_id, actor=actor, department=department, to_status=to_status, message=message,
                         version=version)
        except Report.DoesNotExist:
            continue
        except WorkflowError as error:
            outcomes.append(Outcome(Report.objects.get(pk=report_id), False, error.message))
        else:
            outcomes.append(Outcome(change.report, True, ""))
    return outcomes
