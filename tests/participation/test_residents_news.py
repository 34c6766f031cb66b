"""Residents hear of open calls and pilots through the follows they already have (issue #21): participation
answers the hub's `residents_news`, which the pilot portfolio sends after the commit."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from participation.models import Follow
from pilots import services
from pilots.models import Call, Pilot, Stage
from smartcity.models import Area, SocietalChallenge
from tests.participation.conftest import make_report
from tests.pilots.conftest import ALL_ANSWERS


@pytest.fixture(autouse=True)
def in_english(settings):
    """The city's language is English here: residents who stored no language get their mail in it."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def challenge(db):
    return SocietalChallenge.objects.create(title="Liveable boulevard", description="Noise in the evening.")


@pytest.fixture
def area(db):
    # A small square around the boulevard.
    return Area.objects.create(slug="boulevard", name="Boulevard", geometry={"type": "Polygon", "coordinates": [[
        [4.270, 52.110], [4.280, 52.110], [4.280, 52.115], [4.270, 52.115], [4.270, 52.110]]]},
        min_longitude=4.270, min_latitude=52.110, max_longitude=4.280, max_latitude=52.115)


def _follower_of(report, email):
    from tests.conftest import _user

    user = _user(email)
    Follow.objects.create(report=report, user=user)
    return user


@pytest.fixture
def near_and_far(challenge):
    near = make_report(latitude=52.1120, longitude=4.2750)  # inside the area
    far = make_report(latitude=52.0500, longitude=4.3500)   # kilometres away
    unlinked = make_report(latitude=52.1121, longitude=4.2751)
    near.societal_challenges.add(challenge)
    far.societal_challenges.add(challenge)
    _follower_of(near, "near@example.org")
    _follower_of(far, "far@example.org")
    _follower_of(unlinked, "unlinked@example.org")
    return near, far


def test_a_published_call_is_mailed_once_to_the_followers_of_its_challenges(
        challenge, near_and_far, innovation_member, mailoutbox, django_capture_on_commit_callbacks):
    call = Call.objects.create(title="Quieter evenings", description="d", criteria="",
                               deadline=timezone.localdate() + dt.timedelta(days=9))
    call.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.call_publish(call=call, by=innovation_member)
    with django_capture_on_commit_callbacks(execute=True):
        assert not services.call_publish(call=call, by=innovation_member)  # published already: no second mail
    assert sorted(m.to[0] for m in mailoutbox) == ["far@example.org", "near@example.org"]
    assert "Quieter evenings" in mailoutbox[0].subject


def test_each_resident_hears_in_the_language_they_follow_in(challenge, innovation_member, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    report = make_report(latitude=52.1120, longitude=4.2750)
    report.societal_challenges.add(challenge)
    from tests.conftest import _user

    for email, language in [("nl@example.org", "nl"), ("sv@example.org", "sv"), ("none@example.org", "")]:
        Follow.objects.create(report=report, user=_user(email), language=language)
    call = Call.objects.create(title="Stillere avonden", description="d", criteria="",
                               deadline=timezone.localdate() + dt.timedelta(days=9))
    call.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.call_publish(call=call, by=innovation_member)
    subjects = {mail.to[0]: mail.subject for mail in mailoutbox}
    assert subjects["nl@example.org"] == "Open uitvraag: Stillere avonden"
    assert subjects["sv@example.org"] == "Öppen utlysning: Stillere avonden"
    assert subjects["none@example.org"] == "Open call: Stillere avonden"


def test_residents_near_a_pilot_hear_when_it_starts(challenge, area, near_and_far, innovation_member, mailoutbox,
                                                     django_capture_on_commit_callbacks, settings):
    settings.PILOT_NEARBY_METRES = 300
    pilot = Pilot.objects.create(title="Sound sensors", description="d", stage=Stage.PROOF_OF_CONCEPT, area=area)
    pilot.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        services.pilot_advance(pilot=pilot, to_stage=Stage.PILOT, by=innovation_member, answers=ALL_ANSWERS,
                               public_message="We start in May on the boulevard.")
    assert [m.to for m in mailoutbox] == [["near@example.org"]]
    assert "starts near you" in mailoutbox[0].subject and "We start in May" in mailoutbox[0].body


def test_the_radius_is_configurable(challenge, area, near_and_far, innovation_member, mailoutbox,
                                    django_capture_on_commit_callbacks, settings):
    settings.PILOT_NEARBY_METRES = 20_000
    pilot = Pilot.objects.create(title="Sound sensors", description="d", stage=Stage.PROOF_OF_CONCEPT, area=area)
    pilot.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        services.pilot_advance(pilot=pilot, to_stage=Stage.PILOT, by=innovation_member, answers=ALL_ANSWERS)
    assert sorted(m.to[0] for m in mailoutbox) == ["far@example.org", "near@example.org"]


def test_a_stop_closes_the_loop_with_the_teams_reason(challenge, area, near_and_far, innovation_member, mailoutbox,
                                                      django_capture_on_commit_callbacks):
    pilot = Pilot.objects.create(title="Sound sensors", description="d", stage=Stage.PILOT, area=area)
    pilot.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        services.pilot_advance(pilot=pilot, to_stage=Stage.STOPPED, by=innovation_member, lessons_learned="Too costly.",
                               public_message="The sensors could not tell traffic from music.")
    assert sorted(m.to[0] for m in mailoutbox) == ["far@example.org", "near@example.org"]
    assert all("could not tell traffic" in m.body for m in mailoutbox)
    assert "could not tell traffic" in pilot.gates.get(kind="stop").public_message


def test_a_no_go_tells_nobody(challenge, near_and_far, innovation_member, mailoutbox, django_capture_on_commit_callbacks):
    pilot = Pilot.objects.create(title="Sound sensors", description="d", stage=Stage.PROOF_OF_CONCEPT)
    pilot.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        services.pilot_advance(pilot=pilot, to_stage=Stage.PILOT, by=innovation_member, decision="no_go")
    assert mailoutbox == []
