"""Merging a duplicate (workflow.merge): supporters and followers carry over
without anyone counted twice, the duplicate points to the target, and both reporters hear of it."""
from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation

from participation import workflow
from participation.models import Follow, Report, Support
from smartcity.models import User
from tests.participation.staff_factories import make_report

S = Report.Status


@pytest.fixture(autouse=True)
def english():
    """The workflow's messages are asserted in English, whatever LANGUAGE_CODE is."""
    with translation.override("en"):
        yield


def _resident(email: str) -> User:
    return User.objects.create_user(email=email, password="x")


@pytest.fixture
def pair(department_a):
    reporter_a, reporter_b = _resident("first@example.org"), _resident("second@example.org")
    target = make_report("Broken streetlight on Dunne Bierkade", status=S.ACCEPTED, department=department_a, author=reporter_a)
    duplicate = make_report("Streetlight out", author=reporter_b)
    return target, duplicate


def test_supporters_carry_over_and_nobody_counts_twice(admin_user, pair):
    target, duplicate = pair
    both, only_dup, only_target = _resident("both@example.org"), _resident("dup@example.org"), _resident("t@example.org")
    for report, supporters in [(target, [both, only_target]), (duplicate, [both, only_dup])]:
        for user in supporters:
            Support.objects.create(report=report, user=user)
    Support.objects.create(report=target, email="anon@example.org")
    Support.objects.create(report=duplicate, email="anon@example.org")
    Support.objects.create(report=duplicate, email="other@example.org")

    workflow.merge(report=duplicate, target=target, actor=admin_user, message="Same streetlight.", version=1)

    target.refresh_from_db()
    supporters = set(target.supports.values_list("user__email", "email"))
    assert supporters == {
        ("both@example.org", None), ("t@example.org", None), ("dup@example.org", None),
        (None, "anon@example.org"), (None, "other@example.org"),
        ("second@example.org", None),  # the duplicate's reporter now supports the original
    }
    assert target.support_count == 6 == target.supports.count()


def test_followers_carry_over_once_and_the_duplicate_points_to_the_target(admin_user, pair):
    target, duplicate = pair
    shared, newcomer = _resident("shared@example.org"), _resident("new@example.org")
    Follow.objects.create(report=target, user=shared)
    Follow.objects.create(report=duplicate, user=shared)
    Follow.objects.create(report=duplicate, user=newcomer)

    workflow.merge(report=duplicate, target=target, actor=admin_user, message="Same streetlight.", version=1)

    duplicate.refresh_from_db()
    assert duplicate.status == S.DUPLICATE and duplicate.duplicate_of == target and duplicate.closed_at
    followers = list(target.follows.values_list("user__email", flat=True).order_by("user__email"))
    assert followers == ["new@example.org", "second@example.org", "shared@example.org"]


def test_both_reports_get_a_history_row_and_both_reporters_an_email(admin_user, pair, django_capture_on_commit_callbacks):
    target, duplicate = pair
    Follow.objects.create(report=target, user=target.author)
    Follow.objects.create(report=duplicate, user=duplicate.author)
    with django_capture_on_commit_callbacks(execute=True):
        own, other = workflow.merge(report=duplicate, target=target, actor=admin_user,
                                    message="Already reported; we follow up there.", version=1)
    assert (own.report, own.from_status, own.to_status, own.message) == (
        duplicate, S.NEW, S.DUPLICATE, "Already reported; we follow up there.")
    assert other.report == target and other.to_status == S.ACCEPTED and str(duplicate.pk) in other.message
    recipients = sorted(address for message in mail.outbox for address in message.to)
    # the first reporter hears of the merge on their report; the second of theirs, and (now following) of the target's row
    assert "first@example.org" in recipients and "second@example.org" in recipients


@pytest.mark.parametrize("case", ["itself", "target_is_duplicate", "closed", "no_message"])
def test_merging_is_refused_when_it_makes_no_sense(admin_user, pair, case):
    target, duplicate = pair
    message = "Same."
    if case == "itself":
        target = duplicate
    elif case == "target_is_duplicate":
        target = make_report("An old duplicate", status=S.DUPLICATE, duplicate_of=pair[0])
    elif case == "closed":
        duplicate.status = S.RESOLVED
        duplicate.save()
    else:
        message = ""
    with pytest.raises(workflow.WorkflowError):
        workflow.merge(report=duplicate, target=target, actor=admin_user, message=message, version=1)
    duplicate.refresh_from_db()
    assert duplicate.duplicate_of is None and duplicate.status != S.DUPLICATE


def test_a_stale_merge_is_refused(admin_user, pair):
    target, duplicate = pair
    with pytest.raises(workflow.ReportChanged):
        workflow.merge(report=duplicate, target=target, actor=admin_user, message="Same.", version=7)
    assert not target.supports.exists()
